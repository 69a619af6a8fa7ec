"""An amount per unit per period over a bounded span: 每平方米每月5元，最长补助36个月."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, Mapping

from engine.core.amounts import CONTEXT
from engine.core.values import Unknown, unknown_of
from engine.lang.expressions import Expr
from engine.model.awards.base import (
    AwardForm,
    Compiler,
    Emitter,
    Run,
    Spec,
    SqlAward,
    SqlEmitter,
    Step,
    Stop,
    Upper,
    Words,
)
from engine.model.outcome import Why


@dataclass(frozen=True)
class PerUnitStep(Step):
    """A rate per unit times the quantity, over the periods paid (and those an earlier grant used)."""

    kind: ClassVar[str] = "per_unit"
    rate: object
    unit: str | None
    quantity: object
    quantity_expr: str
    periods: object
    max_periods: object
    periods_used: object
    paid_periods: Decimal | None = None
    value: Decimal | None = None
    exhausted: bool = False

    def data(self) -> dict[str, object]:
        out = super().data()
        for key in ("paid_periods", "value", "exhausted"):  # present only when reached, as before
            if not out[key]:
                del out[key]
        return out

    def lines(self, w: Words) -> list[str]:
        if self.exhausted:
            return [w.t("step.per_unit.bounded", periods=w.number(self.periods), max_periods=w.number(self.max_periods),
                        used=w.number(self.periods_used), paid="0")]
        lines = []
        if self.max_periods is not None and self.paid_periods is not None:
            lines.append(w.t("step.per_unit.bounded", periods=w.number(self.periods),
                             max_periods=w.number(self.max_periods),
                             used=w.number(self.periods_used if self.periods_used is not None else Decimal(0)),
                             paid=w.number(self.paid_periods)))
        lines.append(w.t("step.per_unit", rate=w.number(self.rate), unit=self.unit or "",
                         quantity=w.value(self.quantity_expr, self.quantity) if self.quantity_expr.isidentifier()
                         else w.number(self.quantity),
                         periods=w.number(self.paid_periods if self.paid_periods is not None else self.periods),
                         value=w.money(self.value)))
        return lines


@dataclass(frozen=True)
class PeriodsUsed(Why):
    """Every period the clause pays for was already paid."""

    reason: ClassVar[str] = "periods_used"
    max_periods: Decimal
    used: Decimal

    def text(self, w: Words) -> str:
        return w.t("reason.periods_used", max_periods=w.number(self.max_periods), used=w.number(self.used))


@dataclass(frozen=True)
class PerUnitAward(AwardForm):
    """rate × quantity × min(periods, max_periods − periods_used)."""

    keyword: ClassVar[str] = "per_unit"
    example: ClassVar[Mapping[str, object]] = {"per_unit": 5, "unit": "元/m²/月", "quantity": "area",
                                             "periods": "months", "max_periods": 36, "periods_used": "months_paid"}
    required: ClassVar[frozenset[str]] = frozenset({"per_unit", "quantity", "periods"})
    optional: ClassVar[frozenset[str]] = frozenset({"unit", "max_periods", "periods_used"})

    rate: Expr
    quantity: Expr
    periods: Expr
    unit: str | None = None
    max_periods: Expr | None = None
    periods_used: Expr | None = None

    @classmethod
    def build(cls, spec: Spec, c: Compiler) -> PerUnitAward | None:
        rate, quantity, periods = c.paid("per_unit"), c.number("quantity"), c.number("periods")
        if rate is None or quantity is None or periods is None:
            return None
        return cls(rate, quantity, periods, spec.get("unit"), c.number("max_periods"), c.number("periods_used"))

    def expressions(self) -> tuple[Expr, ...]:
        return tuple(e for e in (self.rate, self.quantity, self.periods, self.max_periods, self.periods_used)
                     if e is not None)

    def stop_reads(self) -> frozenset[str]:
        return frozenset().union(*(e.names for e in (self.max_periods, self.periods_used) if e is not None))

    def compute(self, run: Run) -> Decimal | Unknown | Stop:
        def v(e: Expr | None) -> object:  # a number expression's value (Decimal or Unknown); None if absent
            return run.value(e) if e is not None else None

        rate, quantity, periods = v(self.rate), v(self.quantity), v(self.periods)
        max_periods, used = v(self.max_periods), v(self.periods_used)

        def step(paid_periods: Decimal | None = None, value: Decimal | None = None,
                 exhausted: bool = False) -> PerUnitStep:
            return PerUnitStep(rate, self.unit, quantity, self.quantity.text, periods, max_periods, used,
                               paid_periods, value, exhausted)

        if isinstance(max_periods, Decimal) and isinstance(used, Decimal) and used >= max_periods:
            if run.tracing:
                run.step(step(exhausted=True))
            return Stop(PeriodsUsed(max_periods, used))
        unknown = unknown_of((rate, quantity, periods, max_periods, used))
        if unknown is not None:
            if run.tracing:
                run.step(step())
            return unknown
        assert isinstance(rate, Decimal) and isinstance(quantity, Decimal) and isinstance(periods, Decimal)
        paid = periods
        if max_periods is not None:
            assert isinstance(max_periods, Decimal) and (used is None or isinstance(used, Decimal))
            left = max(Decimal(0), CONTEXT.subtract(max_periods, used or Decimal(0)))
            paid = min(periods, left)
        amount = CONTEXT.multiply(CONTEXT.multiply(rate, quantity), paid)
        if run.tracing:
            run.step(step(paid_periods=paid, value=amount))
        return amount

    def emit(self, e: Emitter) -> tuple[str, ...]:
        lines = [f"rate = {e.expr(self.rate)}", f"quantity = {e.expr(self.quantity)}",
                 f"periods = {e.expr(self.periods)}"]
        if self.max_periods is None:
            return (*lines, "raw = C.multiply(C.multiply(rate, quantity), periods)")
        lines.append(f"most = {e.expr(self.max_periods)}")
        used = "ZERO"
        if self.periods_used is not None:
            lines += [f"used = {e.expr(self.periods_used)}",
                      "if used >= most:", f"    stop = {e.const(PeriodsUsed)}(most, used)"]
            used = "used"
        lines += ["if stop is None:", f"    left = max(ZERO, C.subtract(most, {used}))",
                  "    raw = C.multiply(C.multiply(rate, quantity), min(periods, left))"]
        return tuple(lines)

    def sql(self, e: SqlEmitter) -> SqlAward:
        product = f"({e.expr(self.rate)}) * ({e.expr(self.quantity)})"
        periods = f"({e.expr(self.periods)})"
        if self.max_periods is None:
            return SqlAward(f"{product} * {periods}")
        most = f"({e.expr(self.max_periods)})"
        used, stop = "0", None
        if self.periods_used is not None:
            used = f"({e.expr(self.periods_used)})"
            stop = f"CASE WHEN {used} >= {most} THEN {e.reason(PeriodsUsed)} END"
        return SqlAward(f"{product} * LEAST({periods}, GREATEST(0, {most} - {used}))", stop)

    def upper(self, up: Upper) -> Decimal | None:
        spans = [x for x in (up(self.periods), up(self.max_periods) if self.max_periods else None) if x is not None]
        rate, quantity = up(self.rate), up(self.quantity)
        if rate is None or quantity is None or not spans or min(rate, quantity, *spans) < 0:
            return None
        return CONTEXT.multiply(CONTEXT.multiply(rate, quantity), min(spans))

    def can_fail(self) -> bool:
        return self.max_periods is not None

    def describe(self, w: Words) -> tuple[str, ...]:
        rate = w.expr(self.rate) + ("" if self.rate.names else (self.unit or ""))
        text = f"{rate} × {w.expr(self.quantity)} × {w.expr(self.periods)}"
        bounds = []
        if self.max_periods is not None:
            bounds.append(w.t("review.per_unit.max", max=w.expr(self.max_periods)))
        if self.periods_used is not None:
            bounds.append(w.t("review.per_unit.used", used=w.expr(self.periods_used)))
        if bounds:
            text += "，" + "，".join(bounds)
        return (text,)

    def formula(self, w: Words) -> str:
        text = f"{self.rate.text} {self.unit or ''} × {self.quantity.text} × {self.periods.text}"
        if self.max_periods is not None:
            text += w.t("award.formula.max_periods", max=self.max_periods.text)
        if self.periods_used is not None:
            text += w.t("award.formula.periods_used", used=self.periods_used.text)
        return text
