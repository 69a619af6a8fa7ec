"""Kinds of fact: one class per file in this package, found by the keyword a policy file declares (`type:`).

`kind_of(fact)` (or `fact.kind`) is how every other module asks about a fact's kind; none compares a fact's
type by name (tests/test_model_kinds.py checks both that and that each kind has every part).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Any

from engine.model.kinds.base import FactKind

if TYPE_CHECKING:
    from engine.model.declared import Fact

_HELPERS = frozenset({"base", "amounts"})  # modules of shared parts, defining no kind of their own


def _discover() -> dict[str, FactKind]:
    """An instance of every concrete FactKind defined in a module of this package, by keyword (file order)."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name not in _HELPERS:
            importlib.import_module(f"{__name__}.{info.name}")
    kinds: dict[str, FactKind] = {}
    pending = list(FactKind.__subclasses__())
    while pending:
        cls = pending.pop(0)
        pending.extend(cls.__subclasses__())
        if cls.__dict__.get("keyword"):
            kinds[cls.keyword] = cls()
    return dict(sorted(kinds.items(), key=lambda kv: type(kv[1]).__module__))  # in file order


KINDS: dict[str, FactKind] = _discover()


def kind_of(fact: Fact) -> FactKind:
    """The kind of `fact` (its `type:`); a compiled policy's facts are always of a known kind."""
    return KINDS[fact.type]


def kind_named(keyword: str) -> FactKind | None:
    """The kind a policy file names `keyword`, if there is one."""
    return KINDS.get(keyword)


def value_schema(fact: Fact) -> dict[str, Any]:
    """The JSON Schema of a value of `fact` in a facts file, with its label (and unit) as description."""
    schema = kind_of(fact).schema(fact)
    schema["description"] = fact.label + (f"（{fact.unit}）" if fact.unit else "")
    return schema
