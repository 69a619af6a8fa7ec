"""What a policy declares about its applicants' facts, and where in its file: below the award forms, which
build conditions over a list's item fields, and below the compiled policy (engine.model.policy re-exports both)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Mapping

from engine.model.kinds import KINDS
from engine.model.kinds.base import FactKind


@dataclass(frozen=True)
class Where:
    """A position in a policy file, for messages about a compiled element."""

    file: str | None = None
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class Fact:
    name: str
    type: str  # money | number | integer | percent | boolean | text | date | list
    label: str
    unit: str | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    choices: tuple[str, ...] = ()
    description: str | None = None
    items: Mapping[str, "Fact"] = field(default_factory=dict)  # for type list: the fields of each item
    # For type list: item fields that identify what an item stands for (an enterprise's name or credit code);
    # two items with the same value in one of them are the same thing listed twice, an input error.
    unique: tuple[str, ...] = ()
    currency: str | None = None  # for money: its ISO code when not the policy's (USD for 美元)
    # Another fact of the same type this one can never exceed (a part and its whole): both facts checkers
    # refuse values where it does, naming both.
    at_most: str | None = None
    where: Where = Where()

    @property
    def kind(self) -> FactKind:
        """Everything about this fact's kind of value (engine.model.kinds): how it is read, shown and stored."""
        return KINDS[self.type]
