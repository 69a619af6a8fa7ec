"""Outcomes, and why a clause has the outcome it has: typed, so renderers never parse strings."""

from __future__ import annotations

import enum
from typing import ClassVar, Protocol

from engine.lang.expressions import Expr


class Outcome(str, enum.Enum):
    """Every clause of every evaluation ends in exactly one of these."""

    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    UNDETERMINED = "undetermined"
    REFERRED = "referred"
    NOT_APPLICABLE = "not_applicable"

    def __str__(self) -> str:
        return self.value


class Words(Protocol):
    """How a form's steps and descriptions are put into words: the catalogue and the one formatter."""

    lang: str

    def t(self, key: str, /, **values: object) -> str: ...
    def money(self, value: object) -> str: ...
    def percent(self, value: object) -> str: ...
    def number(self, value: object) -> str: ...
    def value(self, name: str, value: object) -> str: ...  # as the named fact or parameter is shown
    def label(self, name: str) -> str: ...  # a fact's, field's or parameter's label
    def expr(self, expr: Expr, kind: str | None = None, item_fields: str | None = None) -> str: ...



class Why:
    """Why a clause is not simply eligible: a frozen dataclass per reason, with the values the sheet shows.

    `reason` is its stable name in JSON output; `text()` the sentence the calculation sheet shows.
    """

    reason: ClassVar[str] = ""

    def text(self, w: Words) -> str:
        raise NotImplementedError
