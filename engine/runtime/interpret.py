"""Evaluate a Plan for one applicant: each clause decided once, in dependency order, in one place.

The explanation (conditions with their values, the steps of the calculation) is made only when
`trace=True`; without it the same decisions are taken and the same amounts paid, faster.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Mapping

from engine.core.amounts import MAX_COMPUTED_DIGITS, MAX_INTEGER_DIGITS
from engine.core.errors import EvaluateError, Problem
from engine.core.messages import msg
from engine.core.suggest import closest
from engine.core.values import Missing, MissingFact, Unknown, by_key
from engine.lang.expressions import Expr
from engine.model.awards.base import Step, Stop
from engine.model.facts import Applicant
from engine.model.outcome import Outcome, Why
from engine.model.policy import Clause, Condition, Group, Policy
from engine.runtime.grants import Grants
from engine.runtime.plan import Choose, Decide, Plan, prepare
from engine.runtime.trace import (
    MISSING_AREA,
    CannotCompute,
    CapStep,
    CapUsed,
    ClauseResult,
    ConditionResult,
    ConditionsFailed,
    FiledLate,
    Followed,
    FundYearNotPaid,
    GroupPending,
    GroupStep,
    HeldByGroup,
    Hop,
    LostToGroup,
    MeasureOnly,
    MissingDocument,
    MissingFacts,
    NegativeStep,
    NotComputable,
    OffsetStep,
    OnceGranted,
    OutOfClausePeriod,
    OutOfPolicyPeriod,
    OutsideJurisdiction,
    RequiresFailed,
    Result,
    RoundStep,
    TopUpStep,
    ZeroStep,
)

ELIGIBLE, INELIGIBLE, UNDETERMINED, REFERRED, NOT_APPLICABLE = (
    Outcome.ELIGIBLE, Outcome.INELIGIBLE, Outcome.UNDETERMINED, Outcome.REFERRED, Outcome.NOT_APPLICABLE)
_ARITHMETIC = (DivisionByZero, InvalidOperation, ZeroDivisionError, Overflow)
_ZERO = Decimal(0)
_MISSING = MissingFacts()  # carries no values: one serves every clause


def totalled(policy: Policy, applicant: Applicant, day: dt.date, source: str, ordered: tuple[ClauseResult, ...],
             traced: bool) -> Result:
    """The result of clauses decided (by either path): the total of what is paid, rounded once, and whether
    anything is left undetermined."""
    total, complete = _ZERO, True
    for r in ordered:
        if r.outcome is ELIGIBLE:
            if r.amount:
                total += r.amount
        elif r.outcome is UNDETERMINED:
            complete = False
    return Result(policy, applicant, day, source, ordered, policy.money.round(total), complete, traced)


def interpret(policy: Policy, applicant: Applicant, day: dt.date, source: str, *, trace: bool,
              reference: bool = False) -> Result:
    """Every clause for this applicant on `day`, decided by the interpreter: the reference the generated code is
    tested against, and the only path that explains (engine.runtime.evaluate chooses the path)."""
    run = None
    try:
        run = _Run(prepare(policy), applicant, day, trace, reference=reference)
        return run.result(source)
    except Overflow:  # in an award form's own arithmetic: an expression's is reported where it is (value)
        clause = run._clause if run is not None else None
        raise _too_large(policy, clause, None) from None


class FailedConditions:
    """For a result evaluated without a trace: the condition each ineligible clause failed first, explained as a
    traced evaluation explains it (its values, the sides it compares). Nothing is computed until a clause is
    asked for; `key` says what an explanation depends on (the clause, the condition, the values it reads), so a
    round words the same failure once for every applicant who has it."""

    def __init__(self, result: Result):
        self.result = result
        self._run: _Run | None = None
        self._params: Mapping[str, object] | None = None

    @staticmethod
    def condition(r: ClauseResult) -> Condition | None:
        why = r.why
        if not isinstance(why, ConditionsFailed) or why.at is None or why.at >= len(r.clause.conditions):
            return None
        return r.clause.conditions[why.at]

    def key(self, r: ClauseResult) -> tuple[object, ...] | None:
        """(clause, condition, the values it reads): equal keys, equal explanations; None when not known."""
        cond = self.condition(r)
        if cond is None:
            return None
        a = self.result.applicant
        if self._params is None:
            plan = prepare(self.result.policy)
            end, day = plan.policy.end, self.result.date
            self._params = plan.day(day if end is None or day <= end else end).values
        params, values = self._params, a.values
        expr = cond.expr
        names = expr.ordered_names if len(expr.ordered_names) == len(expr.names) else sorted(expr.names)
        read = tuple(values[n] if n in values else params.get(n, self.result.date if n == "claim_date" else None)
                     for n in names)
        return (r.clause.id, r.why, read)

    def explain(self, r: ClauseResult) -> ConditionResult | None:
        cond = self.condition(r)
        if cond is None:
            return None
        if self._run is None:
            self._run = _Run(prepare(self.result.policy), self.result.applicant, self.result.date, True)
        self._run._clause = r.clause
        return self._run.explain(cond)


def _too_large(policy: Policy, clause: Clause | None, expr: Expr | None) -> EvaluateError:
    """A number too large to compute exactly (engine.core.amounts.CONTEXT raised Overflow): refused at the
    expression that made it (else the clause's award, else the policy), never shown rounded."""
    file, line, column = expr.origin if expr is not None else (None, None, None)
    if line is None and clause is not None:
        where = clause.award_where if clause.award_where.line is not None else clause.where
        file, line, column = where.file, where.line, where.column
    label = clause.id if clause is not None else "?"
    message = msg("evaluate.too_large", clause=label, expr=expr.text, digits=MAX_COMPUTED_DIGITS) \
        if expr is not None else msg("evaluate.too_large.award", clause=label, digits=MAX_COMPUTED_DIGITS)
    return EvaluateError(Problem(message,
                                 file=file or policy.file, line=line, column=column,
                                 clause=clause.id if clause is not None else None,
                                 suggestion=msg("evaluate.amount_out_of_range.hint")))


def out_of_period(policy: Policy, year: object, day: dt.date, applicant: Applicant
                  ) -> tuple[Why | None, Missing | None]:
    """Why no clause applies on this claim's date for its fund year (`year`, the fund year fact's value), or None;
    and the missing fund year when it decides whether the policy pays, else None.

    Never before the policy starts. With a fund year: only the years the policy pays (fund_year: in_force:),
    filed by the end of their window (filing_months:) where one is declared, else within the period in
    force. A fund year later than the claim date is an input error. A missing fund year that would decide
    it leaves every clause undetermined, never taken as one that is paid. Shared by the interpreter and the
    generated code (engine.runtime.generate), so both read the period the same way.
    """
    p = policy
    after_end = p.end is not None and day > p.end
    period = OutOfPolicyPeriod(p.start, p.end, day)
    if day < p.start:
        return period, None
    if p.fund_year is None:
        return (period if after_end else None), None
    if not isinstance(year, Decimal):
        if p.fund_year_in_force is None and p.filing_months is None:
            return (period if after_end else None), None  # every year is paid: the missing year decides nothing
        # Which years could it be? Any the fact allows, up to the claim date's. Those paid are one run of
        # years (in force, and still within their filing window on this day); when an unpaid year is
        # possible too, the missing year decides, and every clause that could pay waits for it.
        allowed = p.facts[p.fund_year].minimum
        earliest = int(allowed) if allowed is not None else None
        first, last = p.fund_years_paid()
        low = first if earliest is None else max(first, earliest)
        if p.filing_months is not None:
            open_from = day.year  # the oldest fund year whose window is still open on this day
            while (deadline := p.filing_deadline(open_from - 1)) is not None and deadline >= day:
                open_from -= 1
            low = max(low, open_from)
        elif after_end:
            return period, None
        high = day.year if last is None else min(last, day.year)
        if low > high:
            return period, None
        if earliest is None or earliest < low or high < day.year:
            return None, MissingFact(p.fund_year)
        return None, None
    claimed = int(year)
    if claimed > day.year:
        _fund_year_error(p, applicant, claimed, day)
    if not p.fund_year_paid(claimed):
        first, last = p.fund_years_paid()
        return FundYearNotPaid(claimed, first, last), None
    deadline = p.filing_deadline(claimed)
    if deadline is None:
        return (period if after_end else None), None
    return (FiledLate(claimed, deadline, day) if day > deadline else None), None


def _fund_year_error(p: Policy, applicant: Applicant, year: int, day: dt.date) -> None:
    name = p.fund_year
    assert name is not None
    message = msg("evaluate.fund_year_after_claim", year=year, name=name, date=day)
    hint = msg("evaluate.fund_year_after_claim.hint")
    source = applicant.source
    if source is not None:
        raise EvaluateError(source.problem(message, ("facts", name), suggestion=hint))
    raise EvaluateError(Problem(message, file=applicant.file, path=("facts", name), suggestion=hint))


class _Run:
    """One applicant's evaluation: the names in force, and each clause's final result as it is decided."""

    def __init__(self, plan: Plan, applicant: Applicant, day: dt.date, tracing: bool, scoped: bool = True,
                 trail: tuple[tuple[str, str], ...] = (), reference: bool = False):
        self.plan, self.policy, self.applicant, self.day = plan, plan.policy, applicant, day
        self.tracing, self.scoped, self.trail, self.reference = tracing, scoped, trail, reference
        end = plan.policy.end
        # A claim filed after the period in force (within its fund year's filing window) reads the values of
        # the period's last day.
        params = plan.day(day if end is None or day <= end else end)
        env: dict[str, object] = dict(params.values)
        env.update(applicant.values)
        env["claim_date"] = day  # engine.model.compile.CLAIM_DATE: the day of the claim, for date conditions
        self.env = env
        self.unknowns: Mapping[str, Missing] = params.unknowns
        self.caps = params.caps
        self.grants = Grants(plan.policy, applicant, env, day.year)
        self.results: dict[str, ClauseResult] = {}
        self._steps: list[Step] = []
        self._clause: Clause | None = None
        # Where the applicant is, decided once for every clause: None (inside, or no areas), the missing
        # area, or why it is outside.
        self._area: Missing | OutsideJurisdiction | None = None
        self._fund_year: Missing | None = None  # the fund year, missing where it decides whether the policy pays
        p = plan.policy
        if scoped and p.areas:
            area = applicant.area
            if area is None:
                self._area = MISSING_AREA
            elif area not in p.areas:
                self._area = OutsideJurisdiction(area, p.areas, closest(area, p.areas))

    # -- the whole policy ----------------------------------------------------------------------
    def result(self, source: str) -> Result:
        self.decide_all()
        ordered = tuple(map(self.results.__getitem__, self.plan.clause_ids))
        return totalled(self.policy, self.applicant, self.day, source, ordered, self.tracing)

    def decide_all(self) -> None:
        results, p = self.results, self.policy
        why = self.out_of_period()
        if why is not None:
            for clause in p.clauses:
                results[clause.id] = ClauseResult(
                    clause, NOT_APPLICABLE, why=MeasureOnly(clause.measure) if clause.measure is not None else why)
            return
        else:
            kind_plan = self.plan.for_kinds(self.applicant.recipients)
            results.update(kind_plan.fixed)
            tasks = kind_plan.tasks
        for task in tasks:
            if isinstance(task, Choose):
                self.choose(task.group)
            else:
                results[task.clause.id] = self.decide(task)

    def out_of_period(self) -> Why | None:
        """Why no clause applies on this claim's date for its fund year, or None (out_of_period); a missing fund
        year that would decide it is kept (self._fund_year)."""
        why, self._fund_year = out_of_period(self.policy, self.env.get(self.policy.fund_year)
                                             if self.policy.fund_year is not None else None, self.day, self.applicant)
        return why

    # -- what award forms may ask (engine.model.awards.base.Run) ----------------------------------
    def value(self, expr: Expr) -> object:
        if self.reference:
            return self._reference(expr, self.env, self.unknowns)
        compiled = expr.run
        try:
            return compiled.fast(self.env)
        except KeyError:
            try:
                return compiled.kleene(self.env, self.unknowns)
            except Overflow:
                raise _too_large(self.policy, self._clause, expr) from None
            except _ARITHMETIC:
                return self._not_computable(expr, self.env)
        except Overflow:
            raise _too_large(self.policy, self._clause, expr) from None
        except _ARITHMETIC:
            return self._not_computable(expr, self.env)

    def value_in(self, expr: Expr, extra: Mapping[str, object], unknowns: Mapping[str, Missing]) -> object:
        env = dict(self.env)
        env.update(extra)
        for name in unknowns:
            env.pop(name, None)  # a field an item lacks is unknown, never a fact of the same name
        merged = dict(self.unknowns)
        merged.update(unknowns)
        if self.reference:
            return self._reference(expr, env, merged)
        try:
            return expr.run(env, merged)
        except Overflow:
            raise _too_large(self.policy, self._clause, expr) from None
        except _ARITHMETIC:
            return self._not_computable(expr, env)

    def name(self, name: str) -> object:
        try:
            return self.env[name]
        except KeyError:
            return Unknown.of(self.unknowns.get(name) or MissingFact(name))

    def counted(self) -> Decimal | Unknown:
        assert self._clause is not None
        granted = self.grants.counted(self._clause)
        return granted if isinstance(granted, Unknown) else self.policy.money.round(granted)

    def _before_cap(self, raw: Decimal) -> Decimal:
        """An amount as the money rule rounds it, never below 0 (far beyond any amount: as it is)."""
        if not (raw.is_finite() and raw.adjusted() < MAX_INTEGER_DIGITS):
            return raw
        amount = self.policy.money.round(raw)
        return amount if amount > 0 else self.policy.money.round(_ZERO)

    def step(self, step: Step) -> None:
        if self.tracing:
            self._steps.append(step)

    def target(self, clause_id: str) -> ClauseResult:
        return self.results[clause_id]

    def list_fields(self, name: str) -> tuple[str, ...]:
        return self.plan.list_fields.get(name, ())

    def _reference(self, expr: Expr, env: Mapping[str, object], unknowns: Mapping[str, Missing]) -> object:
        from engine.lang.reference import EvaluationFailure, TooLarge
        from engine.lang.reference import evaluate as reference_evaluate

        try:
            return reference_evaluate(expr, env, unknowns)
        except TooLarge:
            raise _too_large(self.policy, self._clause, expr) from None
        except EvaluationFailure:
            return self._not_computable(expr, env)

    def _out_of_range(self, clause: Clause, raw: Decimal) -> EvaluateError:
        where = clause.award_where if clause.award_where.line is not None else clause.where
        return EvaluateError(Problem(msg("evaluate.amount_out_of_range", clause=clause.id, digits=MAX_INTEGER_DIGITS,
                                         value=f"{raw:.6E}"), file=where.file, line=where.line, column=where.column,
                                     clause=clause.id, suggestion=msg("evaluate.amount_out_of_range.hint")))

    def _not_computable(self, expr: Expr, env: Mapping[str, object]) -> Unknown:
        """A division by zero the values read cause: the expression has no value, and no fact would give it one.

        It is unknown to the clause (Kleene's rules decide around it: a condition that fails still makes the
        clause ineligible), which ends undetermined with CannotCompute unless something else decides it; the
        other clauses are decided as usual.
        """
        clause = self._clause
        where = expr.origin
        if where[1] is None and clause is not None:
            where = (clause.where.file, clause.where.line, clause.where.column)
        reads = tuple((n, env[n] if n in env else self.name(n)) for n in expr.ordered_names)
        return Unknown.of(NotComputable.of(clause.id if clause is not None else "", expr.text, where, reads))

    # -- one clause, on its own terms -------------------------------------------------------------
    def decide(self, task: Decide) -> ClauseResult:
        result = self._decide(task)
        if (result.outcome is INELIGIBLE or result.outcome is ELIGIBLE) and self.scoped \
                and self._fund_year is not None:
            # Whether the policy pays this fund year at all is not known: eligible, ineligible or a year the
            # policy does not pay waits for the year (less information never decides another answer).
            return ClauseResult(task.clause, UNDETERMINED, why=_undetermined(task.clause, {self._fund_year}),
                                conditions=result.conditions, missing=(self._fund_year,))
        return result

    def _decide(self, task: Decide) -> ClauseResult:  # the rules, in order
        clause = task.clause
        self._clause = clause
        if clause.measure is not None:
            return ClauseResult(clause, NOT_APPLICABLE, why=MeasureOnly(clause.measure))
        missing: set[Missing] = set()
        if self.scoped:  # the policy's period and the applicant's kind were checked by decide_all
            day = self.day
            if task.dated and ((clause.start and day < clause.start) or (clause.end and day > clause.end)):
                return ClauseResult(clause, NOT_APPLICABLE, why=OutOfClausePeriod(clause.start, clause.end, day))
            area = self._area
            if area is not None:
                if isinstance(area, OutsideJurisdiction):
                    return ClauseResult(clause, NOT_APPLICABLE, why=area)
                missing.add(area)
            if self._fund_year is not None:
                missing.add(self._fund_year)

        failed: int | None = None  # the first condition not met
        conditions: tuple[ConditionResult, ...] = ()
        if self.tracing:
            conditions = tuple(self.explain(c) for c in clause.conditions)
            for i, c in enumerate(conditions):
                if failed is None and c.status == "failed":
                    failed = i
                missing.update(c.missing)
        elif task.when is not None and not self.reference:
            try:
                if not task.when(self.env):
                    found = self.each_condition(clause, set())
                    failed = found if found is not None else 0
            except (KeyError, *_ARITHMETIC):  # something missing (or to be reported where it is): one by one
                failed = self.each_condition(clause, missing)
        elif clause.conditions:
            failed = self.each_condition(clause, missing)
        lost: list[str] = []
        if task.deps:
            for rid in task.deps:
                required = self.results[rid]
                if required.outcome is UNDETERMINED:
                    missing.update(required.missing)
                elif required.outcome is not ELIGIBLE:
                    spent = required.why
                    if (isinstance(spent, CapUsed) and clause.award is not None and rid not in clause.requires
                            and clause.award.builds_on_spent_cap()):
                        # Its own cap is used up, its conditions hold: a bonus raising that cap may still pay.
                        if spent.pending:
                            missing.update(spent.pending)
                        elif required.uncapped is None:
                            lost.append(rid)
                    else:
                        lost.append(rid)
        if failed is not None:
            return ClauseResult(clause, INELIGIBLE, why=ConditionsFailed(failed), conditions=conditions) \
                if self.tracing else task.failed[failed]  # the same for everyone when nothing is explained: made
            # once, by the plan
        if lost:
            return ClauseResult(clause, INELIGIBLE, why=RequiresFailed(tuple(lost)), conditions=conditions)
        if clause.refers_to is not None:
            return self.refer(clause, conditions, missing)

        award = clause.award
        assert award is not None
        steps: list[Step] = []
        self._steps = steps
        raw = award.compute(self)
        if isinstance(raw, Unknown):
            missing.update(raw.missing)
        granted = self.grants.counted(clause)
        if isinstance(granted, Unknown):
            if clause.cap is not None or clause.period == "once":
                missing.update(granted.missing)
        else:
            granted = self.policy.money.round(granted)
            if clause.period == "once" and granted > 0:
                # Paid once (一次性): nothing more is due, whatever the missing facts would say.
                key = self.grants.key(clause)
                return ClauseResult(clause, INELIGIBLE, why=OnceGranted(granted, key if isinstance(key, str) else None),
                                    conditions=conditions, steps=tuple(steps))
        if task.cap_per_day:
            caps = self.caps
            cap: Decimal | Unknown | None = (caps[clause.id] if clause.id in caps
                                             else caps.setdefault(clause.id, self.cap(clause)))
        else:
            cap = self.cap(clause) if clause.cap is not None else None
        if isinstance(cap, Unknown):
            missing.update(cap.missing)
        # Decided whatever the missing facts would say: the cap is used up, or every period was paid.
        elif cap is not None and isinstance(granted, Decimal) and cap - granted <= 0:
            # What it would pay before its cap, and how far the cap is exceeded, stay with the result: a bonus
            # raising this cap pays from them (engine.model.awards.bonus).
            uncapped = self._before_cap(raw) if isinstance(raw, Decimal) else None
            pending = by_key(raw.missing) if isinstance(raw, Unknown) else ()
            return ClauseResult(clause, INELIGIBLE, why=CapUsed(cap, granted, pending), conditions=conditions,
                                steps=tuple(steps), uncapped=uncapped, cap_remaining=cap - granted)
        if isinstance(raw, Stop):
            return ClauseResult(clause, INELIGIBLE, why=raw.why, conditions=conditions, steps=tuple(steps))
        offset = self.value(clause.offset.amount) if clause.offset is not None else None
        if isinstance(offset, Unknown):  # what was received elsewhere is never taken as 0
            missing.update(offset.missing)
        if missing:
            return ClauseResult(clause, UNDETERMINED, why=_undetermined(clause, missing), conditions=conditions,
                                steps=tuple(steps), missing=by_key(missing))
        assert isinstance(raw, Decimal)
        money = self.policy.money
        remaining = None
        if isinstance(cap, Decimal) and isinstance(granted, Decimal):  # known, and not used up (decided above)
            remaining = cap - granted  # both on the money grid, so the total is the sum of the clauses
        if raw.is_finite() and raw.adjusted() < MAX_INTEGER_DIGITS:
            amount = money.round(raw)
        elif remaining is not None and raw > remaining:
            amount = raw  # far beyond any amount, but the cap decides what is paid: no need to round it
        else:
            raise self._out_of_range(clause, raw)
        if amount != raw and self.tracing:
            steps.append(RoundStep(raw, amount, money.rounding, money.round_to))
        if amount < 0:  # e.g. `costs - 1000` below 1000: nothing is paid, and the sheet says why
            if self.tracing:
                steps.append(NegativeStep(amount))
            amount = money.round(_ZERO)
        elif amount == 0:
            amount = amount.copy_abs()  # never "-0.00"
        uncapped = amount
        if remaining is not None and isinstance(cap, Decimal) and isinstance(granted, Decimal):
            capped = min(amount, remaining)
            if self.tracing:
                assert clause.cap is not None
                steps.append(CapStep(cap, clause.cap.text, clause.period, granted, remaining, amount, capped))
            amount = capped
        settled = award.settle(self, amount)
        amount = settled
        received = _ZERO
        if clause.offset is not None:
            assert isinstance(offset, Decimal)
            received = money.round(max(offset, _ZERO))
            amount = money.round(max(settled - received, _ZERO)).copy_abs()  # never "-0.00"
            if self.tracing:
                o = clause.offset
                name = o.amount.text if o.amount.ordered_names == (o.amount.text,) else None
                steps.append(OffsetStep(o.amount.text, o.label, o.source, received, settled, amount, name))
        if self.tracing and amount == 0:
            steps.append(_why_zero(raw, settled, award.depends_on(), received))
        return ClauseResult(clause, ELIGIBLE, amount=amount, conditions=conditions, steps=tuple(steps),
                            uncapped=uncapped, cap_remaining=remaining)

    def each_condition(self, clause: Clause, missing: set[Missing]) -> int | None:
        """Where the first condition not met is (None: none failed); what the unknown ones miss goes to
        `missing`."""
        failed = None
        for i, cond in enumerate(clause.conditions):
            value = self.value(cond.expr)
            if isinstance(value, Unknown):
                missing.update(value.missing)
            elif not value and failed is None:
                failed = i
        return failed

    def explain(self, cond: Condition) -> ConditionResult:
        value = self.value(cond.expr)
        env = self.env
        reads = tuple((n, env[n] if n in env else self.name(n)) for n in cond.expr.ordered_names)
        comparison = None
        sides = cond.expr.sides
        if sides is not None:
            left, symbol, right = sides
            try:
                comparison = (left(env, self.unknowns), symbol, right(env, self.unknowns))
            except _ARITHMETIC:  # the side that divides by zero has no value to show: the reads are shown
                comparison = None
        derived = tuple((n, self.value(self.policy.derived[n].expr)) for n in cond.expr.derived
                        if n in self.policy.derived)
        if isinstance(value, Unknown):
            return ConditionResult(cond.expr.text, cond.label, "unknown", reads, comparison,
                                   by_key(value.missing), cond.reading, derived)
        return ConditionResult(cond.expr.text, cond.label, "met" if value else "failed", reads, comparison, (),
                               cond.reading, derived)

    def cap(self, clause: Clause) -> Decimal | Unknown:
        """The clause's cap, rounded by the money rule; a negative cap is the policy author's to fix."""
        assert clause.cap is not None
        cap = self.value(clause.cap)
        if isinstance(cap, Unknown):
            return cap
        assert isinstance(cap, Decimal)
        if cap < 0:
            file, line, column = clause.cap.origin
            raise EvaluateError(Problem(msg("evaluate.negative_cap", cap=cap, clause=clause.id), file=file, line=line,
                                        column=column, clause=clause.id, suggestion=msg("evaluate.negative_cap.hint")))
        return self.policy.money.round(cap)

    # -- references ---------------------------------------------------------------------------
    def refer(self, clause: Clause, conditions: tuple[ConditionResult, ...], missing: set[Missing]) -> ClauseResult:
        p = self.policy
        if missing:
            return ClauseResult(clause, UNDETERMINED, why=_undetermined(clause, missing), conditions=conditions,
                                missing=by_key(missing))
        assert clause.refers_to is not None
        reference = p.references[clause.refers_to]
        linked = p.linked.get(clause.refers_to) if clause.refers_clause else None
        if linked is None:
            return ClauseResult(clause, REFERRED, reference=reference, conditions=conditions)
        hop = self.follow(clause, linked)
        r = hop.result
        return ClauseResult(clause, r.outcome, amount=r.amount, missing=r.missing, reference=reference,
                            why=None if r.outcome is ELIGIBLE else Followed(), hop=hop, conditions=conditions)

    def follow(self, clause: Clause, linked: Policy) -> Hop:
        """Evaluate the referenced clause of the linked document for this applicant, on the same date.

        Who, where and when were decided by the referring clause; the referenced one supplies its conditions
        and the amount.
        """
        assert clause.refers_to is not None and clause.refers_clause is not None
        key = (linked.document, clause.refers_clause)
        if key in self.trail:  # the linker rejects cycles; this guards a policy built by hand in Python
            raise EvaluateError(Problem(msg("references.cycle", loop=" → ".join(f"{d} {c}" for d, c in self.trail)),
                                        file=clause.where.file, line=clause.where.line, clause=clause.id))
        a = self.applicant
        granted = None
        if a.granted is not None:
            # What was granted under the referring clause counts against the referenced clause's cap.
            granted = {clause.refers_clause: a.granted[clause.id]} if clause.id in a.granted else {}
        ledger = tuple(replace(g, clause=clause.refers_clause) for g in a.ledger if g.clause == clause.id)
        names = linked.all_facts()
        sub = replace(a, values={k: v for k, v in a.values.items() if k in names}, granted=granted, ledger=ledger)
        plan = prepare(linked)
        run = _Run(plan, sub, self.day, self.tracing, scoped=False,
                   trail=self.trail + ((self.policy.document, clause.id), key), reference=self.reference)
        for task in plan.needed_for(clause.refers_clause):  # that clause and what it requires, nothing else
            run.results[task.clause.id] = run.decide(task)
        return Hop(clause.refers_to, self.policy.references[clause.refers_to].title, linked,
                   run.results[clause.refers_clause])

    # -- exclusive groups ---------------------------------------------------------------------
    def choose(self, group: Group) -> None:
        """Make the members of an exclusive group final: one pays, or none until what is missing is known.

        Members paid earlier for the same fund year count, the same way whichever member it was: under
        `earlier: hold` such a member holds the group for that year; under `top_up` (就高不重复) what the
        others were paid is deducted from each member's amount before the group picks; under `separate` they are
        not consulted (each claim's expenses are new; earlier grants count only against a member's own cap).
        """
        results = self.results
        members = [results[m] for m in group.members if m in results]
        live = [r for r in members if r.outcome in (ELIGIBLE, UNDETERMINED, REFERRED)]
        if not live:
            return
        # separate: each claim's expenses are its own; earlier grants count only against each member's own cap.
        earlier = {r.clause.id: self.grants.in_year(r.clause) for r in members} if group.earlier != "separate" \
            else {}
        if group.earlier == "hold":
            holder = next((m for m, v in earlier.items() if not isinstance(v, Unknown) and v > 0), None)
            before = [v for m, v in earlier.items() if isinstance(v, Unknown) and (holder is None or
                                                                                   m != holder)]
            if holder is not None and not any(isinstance(earlier[m], Unknown)
                                              for m in group.members[:group.members.index(holder)] if m in earlier):
                amount = earlier[holder]
                assert isinstance(amount, Decimal)
                held = HeldByGroup(group.id, holder, amount, group.reading)
                for r in live:
                    if r.clause.id != holder:
                        results[r.clause.id] = _final(r, INELIGIBLE, held)
                return
            if before:
                self.pending_on(group, live, tuple(earlier), set().union(*(u.missing for u in before)))
                return
        elif group.earlier == "top_up":
            live = self.top_up(group, live, earlier)
        if len(live) < 2:
            return
        waiting = [r for r in live if r.outcome in (UNDETERMINED, REFERRED)]
        if waiting:
            # Which member pays depends on what is still missing (a fact, or the referred document's own
            # rules): no amount can be promised yet.
            pending: set[Missing] = set()
            for r in waiting:
                if r.missing:
                    pending.update(r.missing)
                elif r.reference is not None:
                    pending.add(MissingDocument.of(r.reference.id))
            ids = tuple(u.clause.id for u in waiting)
            for r in live:
                if r.outcome is ELIGIBLE:
                    results[r.clause.id] = _final(r, UNDETERMINED, GroupPending(group.id, group.pick, ids, r.amount,
                                                                                group.reading),
                                                  missing=by_key(pending), amount=r.amount)
            return
        if group.pick == "best":
            # max keeps the first of equals: member order decides ties
            winner = max(live, key=lambda r: r.amount or _ZERO)
        else:
            winner = live[0]
        for r in live:
            if r is not winner:
                lost = LostToGroup(group.id, group.pick, winner.clause.id, winner.amount, r.amount, group.reading)
                steps = r.steps
                if self.tracing:
                    steps += (GroupStep(group.id, group.pick, winner.clause.id, winner.amount, r.amount,
                                        group.reading),)
                results[r.clause.id] = _final(r, INELIGIBLE, lost, steps=steps)

    def top_up(self, group: Group, live: list[ClauseResult], earlier: Mapping[str, Decimal | Unknown]
               ) -> list[ClauseResult]:
        """就高不重复: each eligible member pays what other members were paid for this fund year less; one left
        with nothing is held by the member paid most; one whose deduction is not known waits. Returns the
        members still live."""
        results, out = self.results, []
        for r in live:
            others = [(m, v) for m, v in earlier.items() if m != r.clause.id]
            unknown = [v for _m, v in others if isinstance(v, Unknown)]
            paid = tuple((m, v) for m, v in others if isinstance(v, Decimal) and v > 0)
            if r.outcome is not ELIGIBLE or not (unknown or paid):
                out.append(r)
            elif unknown:
                self.pending_on(group, [r], tuple(earlier), set().union(*(u.missing for u in unknown)))
            else:
                before = r.amount or _ZERO
                after = max(before - sum(a for _m, a in paid), _ZERO)
                if after <= 0:
                    holder, most = max(paid, key=lambda o: o[1])
                    results[r.clause.id] = _final(r, INELIGIBLE, HeldByGroup(group.id, holder, most, group.reading))
                    continue
                steps = r.steps + (TopUpStep(group.id, paid, before, after, group.reading),) if self.tracing \
                    else r.steps
                changed = ClauseResult(r.clause, ELIGIBLE, after, r.why, r.conditions, steps, r.missing, r.reference,
                                       r.uncapped, r.cap_remaining, r.hop)
                results[r.clause.id] = changed
                out.append(changed)
        return out

    def pending_on(self, group: Group, live: list[ClauseResult], ids: tuple[str, ...], missing: set[Missing]) -> None:
        """Eligible members whose amount waits on what was paid earlier this fund year under the group."""
        for r in live:
            if r.outcome is ELIGIBLE:
                self.results[r.clause.id] = _final(r, UNDETERMINED, GroupPending(group.id, group.pick, ids, r.amount,
                                                                                 group.reading),
                                                   missing=by_key(missing), amount=r.amount)


def _why_zero(raw: Decimal, settled: Decimal, builds_on: tuple[str, ...], received: Decimal) -> ZeroStep:
    """Why an eligible clause pays nothing, from the amounts at each stage (a cap never leaves 0: a used-up
    cap makes the clause ineligible)."""
    if settled > 0:
        return ZeroStep("offset", received)  # what was received elsewhere takes it all
    if builds_on:
        return ZeroStep("builds_on", to=builds_on[0])  # a bonus that adds nothing (its working says why)
    if raw < 0:
        return ZeroStep("negative", raw)
    if raw == 0:
        return ZeroStep("zero")
    return ZeroStep("rounded", raw)  # a fraction of the rounding step


def _undetermined(clause: Clause, missing: set[Missing]) -> Why:
    """Why a clause waits: an expression that cannot be computed (its own first, else that of a clause it
    builds on) rather than missing facts, which alone would not decide it."""
    failed = sorted((m for m in missing if isinstance(m, NotComputable)), key=lambda m: (m.clause != clause.id, m.key))
    return CannotCompute(failed[0]) if failed else _MISSING


def _final(r: ClauseResult, outcome: Outcome, why: Why, *, steps: tuple[Step, ...] | None = None,
           missing: tuple[Missing, ...] = (), amount: Decimal | None = None) -> ClauseResult:
    """A group member's final result: a new outcome and why, its own conditions and working kept."""
    return ClauseResult(r.clause, outcome, amount, why, r.conditions, r.steps if steps is None else steps, missing,
                        r.reference, r.uncapped, r.cap_remaining, r.hop)
