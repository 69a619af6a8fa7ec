"""Award forms: one class per file in this package, found by the keyword that names it in a policy file.

`FORMS` (keyword → class) imports every form's module on first use: compiling a policy needs them all, while
evaluating a compiled one (a cached policy, unpickled) imports only the forms it uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from engine.model.awards.base import AwardForm

if TYPE_CHECKING:
    FORMS: dict[str, type[AwardForm]]


def _discover() -> dict[str, type[AwardForm]]:
    """Every concrete AwardForm defined in a module of this package, by keyword (import order is file order)."""
    import pkgutil

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


def __getattr__(name: str) -> Any:
    if name == "FORMS":
        forms = globals()["FORMS"] = _discover()
        return forms
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
