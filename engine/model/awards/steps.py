"""Whole increments: 每增加100万美元奖励10万元, 每满X给予Y — whole steps above a start, never rounded up."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, Mapping

from engine.core.amounts import CONTEXT, plain
from engine.core.format import format_percent, officer_money
from engine.core.messages import msg
from engine.core.values import Unknown, unknown_of
from engine.lang.expressions import Expr
from engine.lang.tree import Lit
from engine.model.awards.base import (
    AwardForm,
    Compiler,
    Constant,
    Emitter,
    Finding,
    Key,
    Run,
    Sanity,
    Spec,
    SqlAward,
    SqlEmitter,
    Step,
    Stop,
    Upper,
    Words,
    kind_of,
)
from engine.model.outcome import Why

_ZERO = Decimal(0)


def shown(w: Words, kind: str, value: object, of: str = "") -> str:
    """A value of the measured input `of` (or a bound on it, or a part of it) as the sheet shows it: as the named
    fact or parameter is shown (its currency or unit), else as its kind is."""
    if of.isidentifier():
        return w.value(of, value)
    return w.money(value) if kind == "money" else w.percent(value) if kind == "percent" else w.number(value)


def written(kind: str, value: Decimal) -> str:
    """`value` as an officer writes a literal of `kind` in the policy file: 500万元, 10%, 3."""
    return officer_money(value) if kind == "money" else format_percent(value) if kind == "percent" else plain(value)


def check_kind(c: Compiler, key: Key, expr: Expr | None, measure: str | None, of: Expr) -> None:
    """Report `expr` (written under `key`) if it is a number of another kind than `of`, whose kind is `measure`:
    a bound of 10 on a percentage, 1000000 on money, 50% on money."""
    if expr is not None and expr.dim is not None and of.dim is not None and expr.dim.kind == of.dim.kind == "money" \
            and expr.dim.detail != of.dim.detail:  # 1000万元 as a step of an amount in 美元: never relabelled
        name = key if isinstance(key, str) else str(key[-1])
        c.error(key, msg("steps.kind", key=name, expr=expr.text, kind=expr.dim.words(), of=of.text,
                         of_kind=of.dim.words()), msg("steps.kind.hint.other", kind=of.dim.words()))
        return
    kind = kind_of(expr, c) if expr is not None else None
    if expr is None or kind is None or measure is None or kind == measure:
        return
    node = expr.node
    example = None
    if isinstance(node, Lit) and isinstance(node.value, Decimal) and kind == "number":
        # A plain number where a percentage or money is meant: 10 for 10%, 5000000 for 500万元.
        example = f"{plain(node.value)}%" if measure == "percent" else officer_money(node.value) \
            if measure == "money" else None
    name = key if isinstance(key, str) else str(key[-1])
    c.error(key, msg("steps.kind", key=name, expr=expr.text, kind=msg(_KIND_WORDS[kind]), of=of.text,
                     of_kind=msg(_KIND_WORDS[measure])),
            msg("steps.kind.hint", example=example) if example is not None
            else msg("steps.kind.hint.other", kind=msg(_KIND_WORDS[measure])))


# The words for a kind of number, in the message that says a literal is of another kind than what it bounds.
_KIND_WORDS = {"money": "steps.kind.money", "percent": "steps.kind.percent", "number": "steps.kind.number"}


def _what(w: Words, of: str, label: str | None) -> str:
    """What the steps are counted in: the label given, the fact's label, or the expression as written."""
    return label or (w.label(of) if of.isidentifier() else of)


@dataclass(frozen=True)
class StepsStep(Step):
    kind: ClassVar[str] = "steps"
    of: str  # the measured input as written
    label: str | None
    of_value: object
    start: object  # `from:`, 0 when not given
    every: object
    each: object  # the amount per whole step
    measure: str  # money | percent | number: how of, start, every and the remainder are shown
    count: int | None = None  # whole steps, once everything is known
    remainder: Decimal | None = None  # what is left over and not counted
    value: Decimal | None = None

    def lines(self, w: Words) -> list[str]:
        what, m, of = _what(w, self.of, self.label), self.measure, self.of
        values = {"label": what, "of_value": shown(w, m, self.of_value, of), "every": shown(w, m, self.every, of),
                  "each": w.money(self.each), "count": "?" if self.count is None else self.count,
                  "value": w.money(self.value)}
        if isinstance(self.start, Decimal) and self.start != 0:
            over = CONTEXT.subtract(self.of_value, self.start) if isinstance(self.of_value, Decimal) else None
            line = w.t("steps.step.from", start=shown(w, m, self.start, of), over=shown(w, m, over, of), **values)
        else:
            line = w.t("steps.step", **values)
        if self.remainder:
            line += w.t("steps.remainder", remainder=shown(w, m, self.remainder, of))
        return [line]


@dataclass(frozen=True)
class NoWholeStep(Why):
    """The input does not reach one whole step above the start."""

    reason: ClassVar[str] = "no_whole_step"
    of: str
    label: str | None
    of_value: Decimal
    start: Decimal
    every: Decimal
    measure: str

    def text(self, w: Words) -> str:
        what, m, of = _what(w, self.of, self.label), self.measure, self.of
        if self.start and self.of_value <= self.start:
            return w.t("steps.none.below", label=what, of_value=shown(w, m, self.of_value, of),
                       start=shown(w, m, self.start, of))
        if self.start:
            return w.t("steps.none.from", label=what, of_value=shown(w, m, self.of_value, of),
                       start=shown(w, m, self.start, of), every=shown(w, m, self.every, of),
                       over=shown(w, m, CONTEXT.subtract(self.of_value, self.start), of))
        return w.t("steps.none", label=what, of_value=shown(w, m, self.of_value, of), every=shown(w, m, self.every, of))


@dataclass(frozen=True)
class EveryNotPositive(Why):
    """The size of a step, from a parameter or a fact, is 0 or less: no count of steps means anything."""

    reason: ClassVar[str] = "step_not_positive"
    every: str  # as written
    value: Decimal
    measure: str

    def text(self, w: Words) -> str:
        return w.t("steps.every_not_positive.why", every=self.every, value=shown(w, self.measure, self.value))


@dataclass(frozen=True)
class StepsAward(AwardForm):
    """floor((of − from) / every) × steps: only whole steps count, nothing below `from`."""

    keyword: ClassVar[str] = "steps"
    example: ClassVar[Mapping[str, object]] = {"steps": "1万元", "of": "costs", "from": "5万元", "every": "10万元",
                                             "of_label": "费用"}
    required: ClassVar[frozenset[str]] = frozenset({"steps", "of", "every"})
    optional: ClassVar[frozenset[str]] = frozenset({"from", "of_label"})

    each: Expr  # the amount per whole step (`steps:`)
    of: Expr
    every: Expr
    start: Expr | None = None  # `from:`
    of_label: str | None = None
    measure: str = "number"  # the kind of `of`: money, percent or number
    constant_steps: bool = False  # every and from read no fact (lint may bound the count by them)

    @classmethod
    def build(cls, spec: Spec, c: Compiler) -> StepsAward | None:
        each, of, every, start = c.paid("steps"), c.number("of"), c.number("every"), c.number("from")
        if each is None or of is None or every is None or ("from" in spec and start is None):
            return None
        measure = kind_of(of, c)
        check_kind(c, "every", every, measure, of)
        check_kind(c, "from", start, measure, of)
        if not every.names:
            from engine.lang.reference import EvaluationFailure, evaluate  # simpleeval: only compiling pays

            try:
                size = evaluate(every, {})
            except EvaluationFailure:
                size = None
            if isinstance(size, Decimal) and size <= 0:
                c.error("every", msg("steps.every_not_positive", every=every.text),
                        msg("steps.every_not_positive.hint"))
        reads = every.names | (start.names if start is not None else frozenset())
        constant = all((c.declared(n) or ("fact", ""))[0] == "parameter" for n in reads)
        return cls(each, of, every, start, spec.get("of_label"),
                   measure or kind_of(every, c) or "number", constant)

    def expressions(self) -> tuple[Expr, ...]:
        return (self.each, self.of, self.every) + ((self.start,) if self.start is not None else ())

    def compute(self, run: Run) -> Decimal | Unknown | Stop:
        each, of, every = run.value(self.each), run.value(self.of), run.value(self.every)
        start = run.value(self.start) if self.start is not None else _ZERO

        def step(count: int | None = None, remainder: Decimal | None = None, value: Decimal | None = None) -> None:
            if run.tracing:
                run.step(StepsStep(self.of.text, self.of_label, of, start, every, each, self.measure, count,
                                   remainder, value))

        if isinstance(every, Decimal) and every <= 0:  # a parameter or fact of 0: this clause cannot be counted
            return Stop(EveryNotPositive(self.every.text, every, self.measure))
        unknown = unknown_of((each, of, every, start))
        if unknown is not None:
            step()
            return unknown
        assert isinstance(each, Decimal) and isinstance(of, Decimal) and isinstance(every, Decimal)
        assert isinstance(start, Decimal)
        over = CONTEXT.subtract(of, start)
        # Whole steps only: both positive, so the integer quotient is the floor (never half-up).
        count = CONTEXT.divide_int(over, every) if over > 0 else _ZERO
        if count == 0:  # the reason says it all: no working to show
            return Stop(NoWholeStep(self.of.text, self.of_label, of, start, every, self.measure))
        remainder = CONTEXT.subtract(over, CONTEXT.multiply(count, every))
        amount = CONTEXT.multiply(count, each)
        step(int(count), remainder, amount)
        return amount

    def emit(self, e: Emitter) -> tuple[str, ...]:
        start = e.expr(self.start) if self.start is not None else "ZERO"
        return (f"each = {e.expr(self.each)}", f"of = {e.expr(self.of)}", f"every = {e.expr(self.every)}",
                f"start = {start}",
                "if every <= 0:",
                f"    stop = {e.const(EveryNotPositive)}({e.const(self.every.text)}, every, {e.const(self.measure)})",
                "else:",
                "    over = C.subtract(of, start)",
                "    count = C.divide_int(over, every) if over > 0 else ZERO",
                "    if count == 0:",
                f"        stop = {e.const(NoWholeStep)}({e.const(self.of.text)}, {e.const(self.of_label)}, of, start, "
                f"every, {e.const(self.measure)})",
                "    else:",
                "        raw = C.multiply(count, each)")

    def sql(self, e: SqlEmitter) -> SqlAward:
        of, every, each = f"({e.expr(self.of)})", f"({e.expr(self.every)})", f"({e.expr(self.each)})"
        start = f"({e.expr(self.start)})" if self.start is not None else "0"
        over = f"({of} - {start})"
        # whole steps, exactly: the remainder taken off first, so the quotient is a whole number before it is
        # computed (DuckDB divides DECIMALs as DOUBLE; a whole quotient below 2**52 comes out exact when rounded)
        count = (f"(CASE WHEN {over} > 0 THEN CAST(ROUND(({over} - {over} % {every}) / {every}) AS DECIMAL(38,0)) "
                 "ELSE 0 END)")
        # no whole step only where every value is known (compute waits first); every step not positive, always
        known = " AND ".join(f"{v} IS NOT NULL" for v in (each, over, every))
        stop = (f"CASE WHEN {every} <= 0 THEN {e.reason(EveryNotPositive)} WHEN {known} AND {count} = 0 THEN "
                f"{e.reason(NoWholeStep)} END")
        return SqlAward(f"CASE WHEN {every} > 0 THEN {count} * {each} END", stop,
                        f"{every} > 0 AND {over} > 0 AND {over} / {every} >= 4503599627370496")

    def upper(self, up: Upper) -> Decimal | None:
        each, top, every = up(self.each), up(self.of), up(self.every)
        start = up(self.start) if self.start is not None else _ZERO
        # `every` and `from` must be the day's values, not a fact's declared maximum, to bound the count.
        if not self.constant_steps or None in (each, top, every, start):
            return None
        assert each is not None and top is not None and every is not None and start is not None
        if each < 0 or every <= 0:
            return None
        over = CONTEXT.subtract(top, start)
        return CONTEXT.multiply(CONTEXT.divide_int(over, every), each) if over > 0 else _ZERO

    def sanity(self) -> tuple[Sanity, ...]:
        return (Sanity("amount_not_positive", "steps", self.each),)

    def findings(self, value: Constant) -> tuple[Finding, ...]:
        size = value(self.every)
        if size is not None and size <= 0:
            return (Finding(("every",), msg("steps.lint.every", every=self.every.text, value=written(self.measure,
                                                                                                       size)),
                            msg("steps.every_not_positive.hint")),)
        return ()

    def can_fail(self) -> bool:
        return True  # less than one whole step pays nothing

    def describe(self, w: Words) -> tuple[str, ...]:
        what = self.of_label or w.expr(self.of, self.measure)
        values = {"of": what, "every": w.expr(self.every, self.measure), "each": w.expr(self.each, "money")}
        if self.start is not None:
            return (w.t("steps.review.from", start=w.expr(self.start, self.measure), **values),)
        return (w.t("steps.review", **values),)

    def formula(self, w: Words) -> str:
        if self.start is not None:
            return w.t("steps.formula.from", of=self.of.text, start=self.start.text, every=self.every.text,
                       each=self.each.text)
        return w.t("steps.formula", of=self.of.text, every=self.every.text, each=self.each.text)

