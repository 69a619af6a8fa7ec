"""Rate × base: 50% of the fees paid (给予……费用50%补助)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar, Mapping

from engine.core.amounts import CONTEXT
from engine.core.values import Unknown, unknown_of
from engine.lang.expressions import Expr
from engine.lang.tree import Lit, Name, Node, working
from engine.model.awards.base import (
    AwardForm,
    Compiler,
    Emitter,
    Run,
    Sanity,
    Spec,
    SqlAward,
    SqlEmitter,
    Step,
    Upper,
    Words,
)


@dataclass(frozen=True)
class BaseStep(Step):
    """The base a rate applies to, with the value of each name it reads."""

    kind: ClassVar[str] = "base"
    expr: str
    label: str | None
    value: object
    parts: tuple[tuple[str, object], ...]  # (name, value) of each name the base reads, in order
    node: Node | None = field(default=None, compare=False)  # the base's tree: its working keeps its operators

    def data(self) -> dict[str, object]:
        out = super().data()
        del out["node"]
        return out

    def lines(self, w: Words) -> list[str]:
        detail = ""
        if self.node is not None and not isinstance(self.node, (Name, Lit)):
            values = dict(self.parts)
            detail = working(self.node, lambda n: w.value(n, values.get(n)), w.number) + " = "
        label = w.t("step.base.label", label=self.label) if self.label else ""
        return [w.t("step.base", label=label, expr=self.expr, detail=detail, value=w.money(self.value))]


@dataclass(frozen=True)
class RateStep(Step):
    """The rate applied to the base."""

    kind: ClassVar[str] = "rate"
    expr: str
    value: object

    def lines(self, w: Words) -> list[str]:
        return [w.t("step.rate", value=w.percent(self.value))]


@dataclass(frozen=True)
class ProductStep(Step):
    """The base times the rate."""

    kind: ClassVar[str] = "product"
    base: Decimal
    rate: Decimal
    value: Decimal

    def lines(self, w: Words) -> list[str]:
        return [w.t("step.product", base=w.money(self.base), rate=w.percent(self.rate), value=w.money(self.value))]


@dataclass(frozen=True)
class RateAward(AwardForm):
    """A base amount times a rate."""

    keyword: ClassVar[str] = "rate"
    example: ClassVar[Mapping[str, object]] = {"base": "costs + 1万元", "base_label": "费用", "rate": "50%"}
    required: ClassVar[frozenset[str]] = frozenset({"base", "rate"})
    optional: ClassVar[frozenset[str]] = frozenset({"base_label"})

    base: Expr
    rate: Expr
    base_label: str | None = None

    @classmethod
    def build(cls, spec: Spec, c: Compiler) -> RateAward | None:
        base, rate = c.paid("base"), c.number("rate")
        if base is None or rate is None:
            return None
        return cls(base, rate, spec.get("base_label"))

    def expressions(self) -> tuple[Expr, ...]:
        return (self.base, self.rate)

    def compute(self, run: Run) -> Decimal | Unknown:
        base, rate = run.value(self.base), run.value(self.rate)
        if run.tracing:
            run.step(BaseStep(self.base.text, self.base_label, base,
                              tuple((n, run.name(n)) for n in self.base.ordered_names), self.base.node))
            run.step(RateStep(self.rate.text, rate))
        unknown = unknown_of((base, rate))
        if unknown is not None:
            return unknown
        assert isinstance(base, Decimal) and isinstance(rate, Decimal)
        product = CONTEXT.multiply(base, rate)
        if run.tracing:
            run.step(ProductStep(base, rate, product))
        return product

    def emit(self, e: Emitter) -> tuple[str, ...]:
        return (f"base = {e.expr(self.base)}", f"rate = {e.expr(self.rate)}", "raw = C.multiply(base, rate)")

    def sql(self, e: SqlEmitter) -> SqlAward:
        return SqlAward(f"({e.expr(self.base)}) * ({e.expr(self.rate)})")

    def upper(self, up: Upper) -> Decimal | None:
        base, rate = up(self.base), up(self.rate)
        if base is None or rate is None or base < 0 or rate < 0:
            return None
        return CONTEXT.multiply(base, rate)

    def sanity(self) -> tuple[Sanity, ...]:
        return (Sanity("rate_range", "rate", self.rate),)

    def describe(self, w: Words) -> tuple[str, ...]:
        spelled = w.expr(self.base, "money")
        items = [f"{self.base_label or spelled} × {w.expr(self.rate, 'percent')}"]
        if self.base_label and spelled != self.base_label:
            items.append(f"{w.t('review.base')}{w.t('review.colon')}{spelled}")
        return tuple(items)

    def formula(self, w: Words) -> str:
        return f"({self.base.text}) × {self.rate.text}"
