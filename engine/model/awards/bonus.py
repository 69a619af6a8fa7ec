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

ON_TOP, RAISES_CAP = "on_top", "raises_cap"
_DESCRIBE = {ON_TOP: "review.bonus.on_top", RAISES_CAP: "review.bonus.raises_cap"}
_FORMULA = {ON_TOP: "award.formula.on_top", RAISES_CAP: "award.formula.raises_cap"}


@dataclass(frozen=True)
class BonusStep(Step):
    """The bonus added to another clause's amount (`to`), as the sheet shows it."""

    kind: ClassVar[str] = "bonus"
    to: str
    mode: str
    value: object

    def lines(self, w: Words) -> list[str]:
        return [w.t("step.bonus", to=self.to, value=w.money(self.value))]


@dataclass(frozen=True)
class RaisedCapStep(Step):
    """A bonus that raises another clause's cap: what that clause pays under its own cap, and what the
    raised cap lets this one add."""

    kind: ClassVar[str] = "raised_cap"
    to: str
    bonus: Decimal
    target_uncapped: Decimal | None
    target_paid: Decimal | None  # what the other clause pays under its own cap (0 when that cap is used up)
    value: Decimal
    # When the other clause has a cap: what it still allows (below 0 when more than it was granted, under the
    # raised cap), what was granted under this clause, and the room left under the raised cap.
    target_remaining: Decimal | None = None
    granted: Decimal | None = None
    room: Decimal | None = None

    def lines(self, w: Words) -> list[str]:
        lines = [w.t("step.raised_cap", to=self.to, bonus=w.money(self.bonus), uncapped=w.money(self.target_uncapped),
                     paid=w.money(self.target_paid), value=w.money(self.value))]
        if self.room is not None:
            lines.append(w.t("step.raised_cap.room", to=self.to, remaining=w.money(self.target_remaining),
                             bonus=w.money(self.bonus), granted=w.money(self.granted), room=w.money(self.room)))
        return lines


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
        amount = c.paid("amount")
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
            if run.target(self.to).cap_remaining is not None:
                granted = run.counted()  # what was paid under the raised cap by this clause counts against it
                if isinstance(granted, Unknown):
                    return granted
            return Decimal(0)  # what it adds is settled against the other clause's cap, below
        return amount

    def emit(self, e: Emitter) -> tuple[str, ...]:
        if self.mode != RAISES_CAP:
            return (f"raw = {e.expr(self.amount)}",)
        # What it adds is settled against the other clause's cap (emit_settle); what was paid under the raised
        # cap by this clause counts against it, so it must be known when that clause has a cap.
        return (f"bonus = {e.expr(self.amount)}",
                f"if {e.target(self.to)}.cap_remaining is not None and {e.counted()}.__class__ is not Decimal:",
                f"    {e.fallback()}",
                "raw = ZERO")

    def emit_settle(self, e: Emitter) -> tuple[str, ...]:
        if self.mode != RAISES_CAP:
            return ()
        return (f"target = {e.target(self.to)}",
                "target_uncapped = target.uncapped if target.uncapped is not None else ZERO",
                "target_remaining = target.cap_remaining",
                "if target_remaining is None:",
                "    target_paid, combined = target_uncapped, C.add(target_uncapped, bonus)",
                "else:",
                f"    granted = {e.round(e.counted())}",
                "    target_paid = max(ZERO, min(target_uncapped, target_remaining))",
                "    combined = min(target_uncapped, C.subtract(C.add(target_remaining, bonus), granted))",
                "amount = C.add(amount, max(ZERO, C.subtract(combined, target_paid)))")

    def settle(self, run: Run, amount: Decimal) -> Decimal:
        """raises_cap: the other clause's cap rises by the bonus; this clause pays the difference it makes.

        The raised cap counts what was granted under both clauses: the other's cap may be used up (even
        exceeded, by grants under the raised cap) and still leave room here. What the other clause pays is
        taken as its own cap makes it, so a later deduction from it (an offset, a group's top-up) is not paid
        back here.
        """
        if self.mode != RAISES_CAP:
            return amount
        target = run.target(self.to)
        bonus = run.value(self.amount)
        assert isinstance(bonus, Decimal)
        uncapped = target.uncapped if target.uncapped is not None else Decimal(0)
        remaining, granted, room = target.cap_remaining, None, None
        if remaining is None:
            paid, combined = uncapped, CONTEXT.add(uncapped, bonus)
        else:
            counted = run.counted()
            assert isinstance(counted, Decimal)  # compute returned what was unknown
            granted = counted
            paid = max(Decimal(0), min(uncapped, remaining))
            room = CONTEXT.subtract(CONTEXT.add(remaining, bonus), granted)
            combined = min(uncapped, room)
        extra = max(Decimal(0), CONTEXT.subtract(combined, paid))
        if run.tracing:
            run.step(RaisedCapStep(self.to, bonus, target.uncapped, paid, extra, remaining, granted, room))
        return CONTEXT.add(amount, extra)

    def builds_on_spent_cap(self) -> bool:
        return self.mode == RAISES_CAP

    def sql(self, e: SqlEmitter) -> SqlAward | None:
        if self.mode != RAISES_CAP:
            return SqlAward(e.expr(self.amount))
        # settle, in SQL: the other clause's cap rises by the bonus; this clause pays the difference it makes
        bonus, counted = e.expr(self.amount), e.counted()
        uncapped, remaining = e.target(self.to)

        def settle(amount: str) -> str:
            paid = f"GREATEST(0, LEAST({uncapped}, {remaining}))"
            combined = f"LEAST({uncapped}, {remaining} + ({bonus}) - {counted})"
            extra = (f"CASE WHEN {remaining} IS NULL THEN ({uncapped} + ({bonus})) - {uncapped} "
                     f"ELSE {combined} - {paid} END")
            return f"({amount} + GREATEST(0, {extra}))"
        # what was paid under the raised cap not said, while the other clause has a cap: the row engine's
        return SqlAward("0", fallback=f"({remaining} IS NOT NULL AND {counted} IS NULL)", settle=settle)

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
