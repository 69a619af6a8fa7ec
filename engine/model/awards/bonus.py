"""A bonus to another clause's award: on top of what it pays, or by raising its cap (一带一路 +10万元)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, Mapping

from engine.core.amounts import CONTEXT
from engine.core.messages import msg
from engine.core.suggest import did_you_mean
from engine.core.values import Unknown
from engine.lang.expressions import Expr
from engine.model.awards.base import AwardForm, Compiler, Run, Sanity, Spec, Step, Upper, Words

ON_TOP, RAISES_CAP = "on_top", "raises_cap"
_DESCRIBE = {ON_TOP: "review.bonus.on_top", RAISES_CAP: "review.bonus.raises_cap"}
_FORMULA = {ON_TOP: "award.formula.on_top", RAISES_CAP: "award.formula.raises_cap"}


@dataclass(frozen=True)
class BonusStep(Step):
    kind: ClassVar[str] = "bonus"
    to: str
    mode: str
    value: object

    def lines(self, w: Words) -> list[str]:
        return [w.t("step.bonus", to=self.to, value=w.money(self.value))]


@dataclass(frozen=True)
class RaisedCapStep(Step):
    kind: ClassVar[str] = "raised_cap"
    to: str
    bonus: Decimal
    target_uncapped: Decimal | None
    target_paid: Decimal | None
    value: Decimal

    def lines(self, w: Words) -> list[str]:
        return [w.t("step.raised_cap", to=self.to, bonus=w.money(self.bonus), uncapped=w.money(self.target_uncapped),
                    paid=w.money(self.target_paid), value=w.money(self.value))]


@dataclass(frozen=True)
class BonusAward(AwardForm):
    """Adds to clause `to`, which must be eligible: `on_top` of its capped amount, or `raises_cap` of it."""

    keyword: ClassVar[str] = "bonus"
    example: ClassVar[Mapping[str, object]] = {"bonus_to": "base", "amount": "10万元", "mode": "raises_cap"}
    required: ClassVar[frozenset[str]] = frozenset({"bonus_to", "amount"})
    optional: ClassVar[frozenset[str]] = frozenset({"mode"})

    to: str
    amount: Expr
    mode: str = ON_TOP

    @classmethod
    def build(cls, spec: Spec, c: Compiler) -> BonusAward | None:
        to = spec["bonus_to"]
        if to not in c.clause_ids():
            c.error("bonus_to", msg("compile.unknown_bonus_to", id=to), did_you_mean(to, c.clause_ids()))
        amount = c.number("amount")
        return cls(to, amount, spec.get("mode", ON_TOP)) if amount is not None else None

    def expressions(self) -> tuple[Expr, ...]:
        return (self.amount,)

    def depends_on(self) -> tuple[str, ...]:
        return (self.to,)

    def compute(self, run: Run) -> Decimal | Unknown:
        amount = run.value(self.amount)
        if run.tracing:
            run.step(BonusStep(self.to, self.mode, amount))
        assert isinstance(amount, (Decimal, Unknown))
        if self.mode == RAISES_CAP and not isinstance(amount, Unknown):
            return Decimal(0)  # what it adds is settled against the other clause's cap, below
        return amount

    def settle(self, run: Run, amount: Decimal) -> Decimal:
        """raises_cap: the other clause's cap rises by the bonus; this clause pays the difference it makes."""
        if self.mode != RAISES_CAP:
            return amount
        target = run.target(self.to)
        bonus = run.value(self.amount)
        assert isinstance(bonus, Decimal)
        uncapped = target.uncapped if target.uncapped is not None else Decimal(0)
        if target.cap_remaining is None:
            combined = CONTEXT.add(uncapped, bonus)
        else:
            combined = min(uncapped, CONTEXT.add(target.cap_remaining, bonus))
        extra = max(Decimal(0), CONTEXT.subtract(combined, target.amount or Decimal(0)))
        if run.tracing:
            run.step(RaisedCapStep(self.to, bonus, target.uncapped, target.amount, extra))
        return CONTEXT.add(amount, extra)

    def upper(self, up: Upper) -> Decimal | None:
        return None  # a bonus has no cap of its own to compare with

    def sanity(self) -> tuple[Sanity, ...]:
        return (Sanity("amount_not_positive", "amount", self.amount),)

    def can_fail(self) -> bool:
        return True  # ineligible whenever the clause it adds to is

    def describe(self, w: Words) -> tuple[str, ...]:
        return (w.t(_DESCRIBE[self.mode], to=self.to, amount=w.expr(self.amount, "money")),)

    def formula(self, w: Words) -> str:
        return w.t(_FORMULA[self.mode], amount=self.amount.text, to=self.to)
