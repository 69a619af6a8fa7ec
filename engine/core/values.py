"""Values of expressions: what is unknown, and why (typed, never encoded in strings)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Missing:
    """Something an evaluation needed and was not given. `key` is its stable name in JSON output."""

    key: str


@dataclass(frozen=True)
class MissingFact(Missing):
    """A fact the applicant did not supply (or supplied as ~)."""

    @property
    def name(self) -> str:
        return self.key


@dataclass(frozen=True)
class MissingField(Missing):
    """A field of one item of a list fact: `incubated[2].started_cbec`."""

    list: str = ""
    index: int = 0
    field: str = ""

    @classmethod
    def of(cls, list_name: str, index: int, field: str) -> MissingField:
        return cls(f"{list_name}[{index}].{field}", list_name, index, field)


@dataclass(frozen=True)
class MissingParameter(Missing):
    """A parameter with no value in force on the claim date."""

    name: str = ""

    @classmethod
    def of(cls, name: str) -> MissingParameter:
        return cls(f"parameter {name}", name)


@dataclass(frozen=True)
class Unknown:
    """The value of an expression that depends on something not supplied; `missing` says what."""

    missing: frozenset[Missing]

    def __bool__(self) -> bool:  # a programming error if ever asked; Kleene logic handles Unknown explicitly
        raise TypeError("Unknown has no truth value")

    @staticmethod
    def of(*missing: Missing) -> Unknown:
        return Unknown(frozenset(missing))


def unknown_of(values: tuple[object, ...]) -> Unknown | None:
    """The union of the Unknowns among `values`, or None when every value is known."""
    found = None
    for v in values:
        if isinstance(v, Unknown):
            found = v.missing if found is None else found | v.missing
    return None if found is None else Unknown(found)


def by_key(missing: Iterable[Missing]) -> tuple[Missing, ...]:
    """Missing things in a stable order: by the name they are known by."""
    return tuple(sorted(set(missing), key=lambda m: m.key))
