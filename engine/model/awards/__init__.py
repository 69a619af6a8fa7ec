"""Award forms: one class per file in this package, found by the keyword that names it in a policy file."""

from __future__ import annotations

import importlib
import pkgutil

from engine.model.awards.base import AwardForm


def _discover() -> dict[str, type[AwardForm]]:
    """Every concrete AwardForm defined in a module of this package, by keyword (import order is file order)."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name != "base":
            importlib.import_module(f"{__name__}.{info.name}")
    forms: dict[str, type[AwardForm]] = {}
    pending = list(AwardForm.__subclasses__())
    while pending:
        cls = pending.pop(0)
        pending.extend(cls.__subclasses__())
        if getattr(cls, "keyword", None):
            forms[cls.keyword] = cls
    return forms


FORMS: dict[str, type[AwardForm]] = _discover()
