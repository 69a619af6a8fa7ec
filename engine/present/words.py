"""Words for one policy in one language: the catalogue and the one formatter, bound to the policy's declarations.

Award forms, steps and reasons put themselves into words through this (engine.model.outcome.Words).
"""

from __future__ import annotations

from decimal import Decimal

from engine.core.format import format_money, format_percent, show
from engine.core.messages import t
from engine.core.values import Missing, MissingField, MissingParameter
from engine.lang.expressions import Expr
from engine.model.policy import Policy
from engine.runtime.trace import MissingDocument, MissingGrant, MissingGrantYear, NotComputable


class PolicyWords:
    """engine.model.outcome.Words for `policy` in `lang`."""

    def __init__(self, policy: Policy, lang: str):
        self.policy, self.lang = policy, lang

    def t(self, key: str, /, **values: object) -> str:
        return t(key, self.lang, **values)

    def money(self, value: object) -> str:
        return format_money(value) if isinstance(value, Decimal) else "?"

    def percent(self, value: object) -> str:
        return format_percent(value) if isinstance(value, Decimal) else "?"

    def number(self, value: object) -> str:
        return show(value, lang=self.lang)

    def kind(self, name: str) -> tuple[str, str | None, str]:
        """(type, unit, label) of a fact, list-item field or parameter."""
        facts = self.policy.all_facts()  # a followed reference may ask for another document's facts
        if name in facts:
            f = facts[name]
            return f.type, f.unit, f.label
        if name in self.policy.parameters:
            p = self.policy.parameters[name]
            return p.type, p.unit, p.label
        for f in facts.values():
            if name in f.items:
                item = f.items[name]
                return item.type, item.unit, item.label
        raise KeyError(f"{name!r} is not a fact, a list item's field or a parameter of {self.policy.id}")

    def value(self, name: str, value: object) -> str:
        kind, unit, _label = self.kind(name)
        return show(value, kind, unit, self.lang)

    def label(self, name: str) -> str:
        return self.kind(name)[2]

    def expr(self, expr: Expr, kind: str | None = None, item_fields: str | None = None) -> str:
        return expr.text

    def missing(self, m: Missing) -> str:
        """What a missing thing is, for an officer: its label, and the name to use in a facts file."""
        if m.key == "area":
            return self.t("missing.area")
        if isinstance(m, MissingDocument):
            return self.t("missing.document", document=m.document)
        if isinstance(m, MissingGrant):
            return self.t("missing.granted", clause=m.clause)
        if isinstance(m, MissingGrantYear):
            return self.t("missing.granted_year", clause=m.clause)
        if isinstance(m, NotComputable):
            return self.t("missing.cannot_compute", clause=m.clause, expr=m.expr, where=m.location or "-")
        if isinstance(m, MissingField):
            return f"{self.label(m.field)} ({m.key})"
        if isinstance(m, MissingParameter):
            return f"{self.label(m.name)} ({m.key})"
        return f"{self.label(m.key)} ({m.key})"
