"""A fixed amount: 给予10万元奖励."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, Mapping

from engine.core.values import Unknown
from engine.lang.expressions import Expr
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
class FixedStep(Step):
    """A fixed amount, as written."""

    kind: ClassVar[str] = "fixed"
    expr: str
    value: object

    def lines(self, w: Words) -> list[str]:
        return [w.t("step.fixed", value=w.money(self.value))]


@dataclass(frozen=True)
class FixedAward(AwardForm):
    """The same amount for every eligible applicant."""

    keyword: ClassVar[str] = "fixed"
    example: ClassVar[Mapping[str, object]] = {"fixed": "10万元"}
    required: ClassVar[frozenset[str]] = frozenset({"fixed"})

    amount: Expr

    @classmethod
    def build(cls, spec: Spec, c: Compiler) -> FixedAward | None:
        amount = c.paid("fixed")
        return cls(amount) if amount is not None else None

    def expressions(self) -> tuple[Expr, ...]:
        return (self.amount,)

    def compute(self, run: Run) -> Decimal | Unknown:
        amount = run.value(self.amount)
        if run.tracing:
            run.step(FixedStep(self.amount.text, amount))
        assert isinstance(amount, (Decimal, Unknown))
        return amount

    def emit(self, e: Emitter) -> tuple[str, ...]:
        return (f"raw = {e.expr(self.amount)}",)

    def sql(self, e: SqlEmitter) -> SqlAward:
        return SqlAward(e.expr(self.amount))

    def upper(self, up: Upper) -> Decimal | None:
        return up(self.amount)

    def sanity(self) -> tuple[Sanity, ...]:
        return (Sanity("amount_not_positive", "fixed", self.amount),)

    def describe(self, w: Words) -> tuple[str, ...]:
        return (w.t("review.fixed", amount=w.expr(self.amount, "money")),)

    def formula(self, w: Words) -> str:
        return w.t("award.formula.fixed", amount=self.amount.text)
