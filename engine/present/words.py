"""Words for one policy in one language: the catalogue and the one formatter, bound to the policy's declarations.

Award forms, steps and reasons put themselves into words through this (engine.model.outcome.Words).
"""

from __future__ import annotations

from decimal import Decimal

from engine.core.amounts import CURRENCIES
from engine.core.format import format_money, format_percent, show
from engine.core.messages import t
from engine.core.values import Missing, MissingField, MissingParameter
from engine.lang.expressions import Expr
from engine.lang.units import MONEY, PERCENT, Dim
from engine.model.policy import Policy
from engine.runtime.trace import MissingDocument, MissingGrant, MissingGrantYear, NotComputable


def _dim_kind(dim: Dim | None) -> tuple[str, str | None]:
    """(type, unit) to show a value that measures `dim`: money in its currency, a percentage, a unit."""
    if dim is None:
        return "number", None
    if dim.kind == MONEY:
        return "money", CURRENCIES.get(dim.detail, dim.detail)
    if dim.kind == PERCENT:
        return "percent", None
    return "number", dim.detail or None


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
            return f.kind.measure, f.kind.shown_unit(f), f.label
        if name in self.policy.parameters:
            p = self.policy.parameters[name]
            return p.type, CURRENCIES[p.currency] if p.currency else p.unit, p.label
        if name == "claim_date":  # engine.model.compile.CLAIM_DATE
            return "date", None, self.t("head.date")
        derived = self.policy.derived.get(name)
        if derived is not None:
            return _dim_kind(derived.expr.dim) + (derived.label,)
        for f in facts.values():
            if name in f.items:
                item = f.items[name]
                return item.kind.measure, item.kind.shown_unit(item), item.label
        raise KeyError(f"{name!r} is not a fact, a list item's field or a parameter of {self.policy.id}")

    def value(self, name: str, value: object) -> str:
        kind, unit, _label = self.kind(name)
        return show(value, kind, unit, self.lang)

    # How a condition's detail is worded (engine.present.sheet.condition_detail): for case workers, formulas as
    # written and `label = value`; the people's sheet (engine.present.sheet_html) words them otherwise.
    brief_yes_no = False  # a labelled yes/no condition shows only 是/否
    cannot_compute_apart = True  # a total's formulas that cannot be computed: a line of their own

    def formula(self, expr: Expr) -> str:
        """A derived value's formula."""
        return str(expr.text)

    def reading(self, name: str, value: object, derived: bool = False) -> str:
        """A fact the condition read, with its value (`derived`: beside a derived value's formula)."""
        return f"{self.label(name)} = {self.value(name, value)}"

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
