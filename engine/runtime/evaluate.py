"""Evaluate a compiled Policy against an Applicant: one outcome per clause, each with its working."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Mapping

from engine.core.errors import EvaluateError, Problem
from engine.lang.expressions import EvaluationFailure, Evaluator, Expr, Unknown, comparison_parts
from engine.model.facts import Applicant
from engine.core.messages import msg
from engine.model.policy import (BonusAward, Clause, FixedAward, Group, PerItemAward, PerUnitAward, Policy, RateAward,
                    Reference)
from engine.core.suggest import closest

ELIGIBLE, INELIGIBLE, UNDETERMINED, REFERRED, NOT_APPLICABLE = (
    "eligible", "ineligible", "undetermined", "referred", "not_applicable")
OUTCOMES = (ELIGIBLE, INELIGIBLE, UNDETERMINED, REFERRED, NOT_APPLICABLE)


@dataclass(frozen=True)
class ConditionResult:
    """One condition as evaluated: met / failed / unknown, with the values it read."""

    text: str
    label: str | None
    status: str  # met | failed | unknown
    reads: tuple[tuple[str, object], ...]  # (name, value) for each fact/parameter the condition reads
    comparison: tuple[object, str, object] | None = None  # (left value, symbol, right value) for a <op> b
    missing: tuple[str, ...] = ()
    reading: str | None = None


@dataclass(frozen=True)
class Step:
    """A line of the calculation sheet: what was computed (`kind`) and the numbers involved."""

    kind: str
    data: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ClauseResult:
    clause: Clause
    outcome: str
    amount: Decimal | None = None  # what this clause pays (eligible only)
    reason: str | None = None  # why not eligible / applicable: a key the renderers explain
    detail: Mapping[str, object] = field(default_factory=dict)
    conditions: tuple[ConditionResult, ...] = ()
    steps: tuple[Step, ...] = ()
    missing: tuple[str, ...] = ()
    reference: Reference | None = None
    uncapped: Decimal | None = None  # the rounded amount before the cap, for bonuses that raise a cap
    cap_remaining: Decimal | None = None
    hop: "Hop | None" = None  # a followed reference: the other document's clause, as evaluated


@dataclass(frozen=True)
class Hop:
    """A reference followed into another document: which clause there, and its own result and working."""

    document: str
    title: str
    policy: Policy
    result: ClauseResult


@dataclass(frozen=True)
class Result:
    policy: Policy
    applicant: Applicant
    date: dt.date
    date_source: str  # option | facts | today
    clauses: tuple[ClauseResult, ...]
    total: Decimal
    complete: bool

    def clause(self, clause_id: str) -> ClauseResult:
        for r in self.clauses:
            if r.clause.id == clause_id:
                return r
        raise KeyError(clause_id)

    @property
    def undetermined(self) -> list[str]:
        return [r.clause.id for r in self.clauses if r.outcome == UNDETERMINED]

    @property
    def referred(self) -> list[str]:
        return [r.clause.id for r in self.clauses if r.outcome == REFERRED]


def granted_key(clause_id: str) -> str:
    return f"granted.{clause_id}"


def evaluate(policy: Policy, applicant: Applicant, on: dt.date | None = None,
             today: dt.date | None = None, *, trace: bool = True) -> Result:
    """Evaluate every clause for this applicant on a date: `on`, else the facts' date, else today."""
    if on is not None:
        day, source = on, "option"
    elif applicant.date is not None:
        day, source = applicant.date, "facts"
    else:
        day, source = today or dt.date.today(), "today"
    return _Evaluation(policy, applicant, day, source).run()


class _Evaluation:
    def __init__(self, policy: Policy, applicant: Applicant, day: dt.date, source: str, scoped: bool = True,
                 trail: tuple[tuple[str, str], ...] = ()):
        self.policy, self.applicant, self.day, self.source = policy, applicant, day, source
        # scoped=False: evaluating a referenced document's clause for a referring one. Who, where and when
        # were decided by the referring clause; the referenced one supplies conditions and the amount.
        self.scoped, self.trail = scoped, trail
        self.names: dict[str, object] = {n: Unknown(frozenset({n})) for n in policy.all_facts()}
        self.names.update(applicant.values)
        for name, param in policy.parameters.items():
            value = param.value_on(day)
            self.names[name] = value.value if value is not None else Unknown(frozenset({f"parameter {name}"}))
        self.evaluator = Evaluator(self.names)
        self.results: dict[str, ClauseResult] = {}

    def run(self) -> Result:
        for clause in self.policy.clauses:
            self.result_of(clause.id)
        for group in self.policy.groups:
            self.apply_group(group)
        self.recheck_dependents()
        ordered = tuple(self.results[c.id] for c in self.policy.clauses)
        total = sum((r.amount for r in ordered if r.outcome == ELIGIBLE and r.amount), Decimal("0"))
        complete = not any(r.outcome == UNDETERMINED for r in ordered)
        return Result(self.policy, self.applicant, self.day, self.source, ordered,
                      self.policy.money.round(total), complete)

    def result_of(self, clause_id: str) -> ClauseResult:
        if clause_id not in self.results:
            self.results[clause_id] = self.clause(self.policy.clause(clause_id))
        return self.results[clause_id]

    def value(self, expr: Expr, clause: Clause, names: Mapping[str, object] | None = None):
        try:
            return self.evaluator.value(expr, names)
        except EvaluationFailure as exc:
            file, line, column = expr.origin if expr.origin[1] is not None else (
                clause.where.file, clause.where.line, clause.where.column)
            raise EvaluateError(Problem(exc.message, file=file, line=line, column=column,
                                        clause=clause.id, suggestion=msg("evaluate.division_by_zero.hint"))) from None

    # -- one clause ----------------------------------------------------------------------------
    def clause(self, clause: Clause) -> ClauseResult:  # noqa: C901 - the outcome rules, in order
        p, day = self.policy, self.day
        na = lambda reason, **detail: ClauseResult(clause, NOT_APPLICABLE, reason=reason, detail=detail)  # noqa: E731
        if clause.measure is not None:
            return na("measure", measure=clause.measure)
        if self.scoped:
            if day < p.start or (p.end is not None and day > p.end):
                return na("policy_period", start=p.start, end=p.end, date=day)
            if not set(self.applicant.recipients) & set(clause.recipients):
                return na("recipient", recipients=clause.recipients, applicant=self.applicant.recipients)
            if (clause.start and day < clause.start) or (clause.end and day > clause.end):
                return na("clause_period", start=clause.start, end=clause.end, date=day)
        missing: set[str] = set()
        if p.areas and self.scoped:
            area = self.applicant.area
            if area is None:
                missing.add("area")
            elif area not in p.areas:
                return na("jurisdiction", area=area, areas=p.areas, closest=closest(area, p.areas))

        conditions = tuple(self.condition(c, clause) for c in clause.conditions)
        failed = [c for c in conditions if c.status == "failed"]
        for c in conditions:
            missing.update(c.missing)
        required_failed = []
        for rid in clause.requires + ((clause.award.to,) if isinstance(clause.award, BonusAward) else ()):
            required = self.result_of(rid)
            if required.outcome == UNDETERMINED:
                missing.update(required.missing)
            elif required.outcome != ELIGIBLE:
                required_failed.append(rid)
        base = dict(clause=clause, conditions=conditions)
        if failed or required_failed:
            return ClauseResult(outcome=INELIGIBLE, reason="conditions" if failed else "requires",
                                detail={"requires": tuple(required_failed)}, **base)
        if clause.refers_to is not None:
            if missing:
                return ClauseResult(outcome=UNDETERMINED, missing=tuple(sorted(missing)), reason="missing", **base)
            reference = p.references[clause.refers_to]
            linked = p.linked.get(clause.refers_to) if clause.refers_clause else None
            if linked is None:
                return ClauseResult(outcome=REFERRED, reference=reference, **base)
            hop = self.follow(clause, linked)
            r = hop.result
            return ClauseResult(outcome=r.outcome, amount=r.amount, missing=r.missing, reference=reference,
                                reason=None if r.outcome == ELIGIBLE else "followed", hop=hop, **base)

        steps: list[Step] = []
        raw = self.award(clause, steps)
        if isinstance(raw, Unknown):
            missing.update(raw.missing)
        granted = self.granted(clause)
        if isinstance(granted, Unknown) and (clause.cap is not None or clause.period == "once"):
            missing.update(granted.missing)
        cap = self.cap_value(clause) if clause.cap is not None else None
        if isinstance(cap, Unknown):
            missing.update(cap.missing)
        # Decided whatever the missing facts would say: the cap is used up, or every period was paid.
        elif cap is not None and not isinstance(granted, Unknown) and cap - granted <= 0:
            return ClauseResult(outcome=INELIGIBLE, reason="cap_used", steps=tuple(steps),
                                detail={"cap": cap, "granted": granted}, **base)
        exhausted = next((s.data for s in steps if s.kind == "per_unit" and s.data.get("exhausted")), None)
        if exhausted is not None:
            return ClauseResult(outcome=INELIGIBLE, reason="periods_used", steps=tuple(steps),
                                detail={"max_periods": exhausted["max_periods"], "used": exhausted["periods_used"]},
                                **base)
        if missing:
            return ClauseResult(outcome=UNDETERMINED, missing=tuple(sorted(missing)), reason="missing",
                                steps=tuple(steps), **base)
        if clause.period == "once" and clause.cap is None and granted > 0:
            return ClauseResult(outcome=INELIGIBLE, reason="once_granted", detail={"granted": granted},
                                steps=tuple(steps), **base)
        amount = p.money.round(raw)
        if amount != raw:
            steps.append(Step("round", {"before": raw, "after": amount, "rule": p.money.rounding,
                                        "step": p.money.round_to}))
        if amount < 0:  # e.g. `costs - 1000` below 1000: nothing is paid, and the sheet says why
            steps.append(Step("negative", {"value": amount}))
            amount = Decimal(0)
        uncapped, remaining = amount, None
        if cap is not None:  # known, and not used up (both decided above)
            remaining = cap - granted
            steps.append(Step("cap", {"cap": cap, "expr": clause.cap.text, "period": clause.period,
                                      "granted": granted, "remaining": remaining, "before": amount,
                                      "after": min(amount, remaining)}))
            amount = min(amount, remaining)
        if isinstance(clause.award, BonusAward) and clause.award.mode == "raises_cap":
            amount = self.raise_cap(clause.award, amount, steps)
        return ClauseResult(outcome=ELIGIBLE, amount=amount, steps=tuple(steps), uncapped=uncapped,
                            cap_remaining=remaining, **base)

    def cap_value(self, clause: Clause):
        """The clause's cap, rounded by the money rule; a negative cap is the policy author's to fix."""
        cap = self.value(clause.cap, clause)
        if isinstance(cap, Unknown):
            return cap
        if cap < 0:
            file, line, column = clause.cap.origin
            raise EvaluateError(Problem(msg("evaluate.negative_cap", cap=cap, clause=clause.id), file=file, line=line,
                                        column=column, clause=clause.id, suggestion=msg("evaluate.negative_cap.hint")))
        return self.policy.money.round(cap)

    def recheck_dependents(self) -> None:
        """A clause that requires (or adds to) another follows it when a group made that one lose or wait."""
        changed = True
        while changed:  # dependencies are acyclic (the compiler checks), so this settles in a few rounds
            changed = False
            for clause in self.policy.clauses:
                r = self.results[clause.id]
                deps = clause.requires + ((clause.award.to,) if isinstance(clause.award, BonusAward) else ())
                if r.outcome not in (ELIGIBLE, UNDETERMINED) or not deps:
                    continue
                lost = [d for d in deps if self.results[d].outcome not in (ELIGIBLE, UNDETERMINED)]
                waiting = [d for d in deps if self.results[d].outcome == UNDETERMINED]
                if lost:
                    self.results[clause.id] = replace(r, outcome=INELIGIBLE, amount=None, reason="requires",
                                                      detail={"requires": tuple(lost)})
                    changed = True
                elif waiting and r.outcome == ELIGIBLE:
                    missing = tuple(sorted(set().union(*(self.results[d].missing for d in waiting))))
                    self.results[clause.id] = replace(r, outcome=UNDETERMINED, amount=None, reason="missing",
                                                      missing=missing)
                    changed = True

    def follow(self, clause: Clause, linked: Policy) -> Hop:
        """Evaluate the referenced clause of the linked document for this applicant, on the same date."""
        key = (linked.document, clause.refers_clause)
        if key in self.trail:  # the linker rejects cycles; this guards a policy built by hand in Python
            raise EvaluateError(Problem(msg("references.cycle", loop=" → ".join(f"{d} {c}" for d, c in self.trail)),
                                        file=clause.where.file, line=clause.where.line, clause=clause.id))
        a = self.applicant
        granted = None
        if a.granted is not None:
            # What was granted under the referring clause counts against the referenced clause's cap.
            granted = {clause.refers_clause: a.granted[clause.id]} if clause.id in a.granted else {}
        names = linked.all_facts()
        sub = replace(a, values={k: v for k, v in a.values.items() if k in names}, granted=granted)
        evaluation = _Evaluation(linked, sub, self.day, self.source, scoped=False,
                                 trail=self.trail + ((self.policy.document, clause.id), key))
        return Hop(clause.refers_to, self.policy.references[clause.refers_to].title, linked,
                   evaluation.result_of(clause.refers_clause))

    def condition(self, cond, clause: Clause) -> ConditionResult:
        value = self.value(cond.expr, clause)
        reads = tuple((n, self.names.get(n)) for n in cond.expr.ordered_names)
        comparison = None
        parts = comparison_parts(cond.expr)
        if parts is not None:
            left, symbol, right = parts
            comparison = (self.evaluator.node(left), symbol, self.evaluator.node(right))
        if isinstance(value, Unknown):
            return ConditionResult(cond.expr.text, cond.label, "unknown", reads, comparison,
                                   tuple(sorted(value.missing)), cond.reading)
        return ConditionResult(cond.expr.text, cond.label, "met" if value else "failed", reads, comparison,
                               (), cond.reading)

    def granted(self, clause: Clause):
        granted = self.applicant.granted
        if granted is None:
            return Unknown(frozenset({granted_key(clause.id)}))
        return granted.get(clause.id, Decimal(0))

    # -- awards --------------------------------------------------------------------------------
    def award(self, clause: Clause, steps: list[Step]):
        award = clause.award
        v = lambda e: self.value(e, clause) if e is not None else None  # noqa: E731
        if isinstance(award, RateAward):
            base, rate = v(award.base), v(award.rate)
            steps.append(Step("base", {"expr": award.base.text, "label": award.base_label, "value": base,
                                       "parts": tuple((n, self.names.get(n)) for n in award.base.ordered_names)}))
            steps.append(Step("rate", {"expr": award.rate.text, "value": rate}))
            if isinstance(base, Unknown) or isinstance(rate, Unknown):
                return Unknown(frozenset().union(*(x.missing for x in (base, rate) if isinstance(x, Unknown))))
            product = base * rate
            steps.append(Step("product", {"base": base, "rate": rate, "value": product}))
            return product
        if isinstance(award, FixedAward):
            amount = v(award.amount)
            steps.append(Step("fixed", {"expr": award.amount.text, "value": amount}))
            return amount
        if isinstance(award, PerUnitAward):
            return self.per_unit(award, clause, steps)
        if isinstance(award, PerItemAward):
            return self.per_item(award, clause, steps)
        if isinstance(award, BonusAward):
            amount = v(award.amount)
            steps.append(Step("bonus", {"to": award.to, "mode": award.mode, "value": amount}))
            if award.mode == "raises_cap":
                return Decimal(0) if not isinstance(amount, Unknown) else amount
            return amount
        raise AssertionError(f"unknown award {award!r}")

    def per_unit(self, award: PerUnitAward, clause: Clause, steps: list[Step]):
        v = lambda e: self.value(e, clause) if e is not None else None  # noqa: E731
        rate, quantity, periods = v(award.rate), v(award.quantity), v(award.periods)
        max_periods, used = v(award.max_periods), v(award.periods_used)
        values = [x for x in (rate, quantity, periods, max_periods, used) if x is not None]
        unknown = [x for x in values if isinstance(x, Unknown)]
        data = {"rate": rate, "unit": award.unit, "quantity": quantity, "quantity_expr": award.quantity.text,
                "periods": periods, "max_periods": max_periods, "periods_used": used}
        known = lambda x: x is not None and not isinstance(x, Unknown)  # noqa: E731
        if known(max_periods) and known(used) and used >= max_periods:
            steps.append(Step("per_unit", dict(data, exhausted=True)))
            return Decimal(0)
        if unknown:
            steps.append(Step("per_unit", data))
            return Unknown(frozenset().union(*(u.missing for u in unknown)))
        paid_periods = periods
        if max_periods is not None:
            left = max(Decimal(0), max_periods - (used or Decimal(0)))
            paid_periods = min(periods, left)
        amount = rate * quantity * paid_periods
        steps.append(Step("per_unit", dict(data, paid_periods=paid_periods, value=amount)))
        return amount

    def per_item(self, award: PerItemAward, clause: Clause, steps: list[Step]):
        each = self.value(award.each, clause)
        items = self.names.get(award.items)
        if isinstance(items, Unknown):
            steps.append(Step("items", {"list": award.items, "each": each, "items": ()}))
            return items
        fields = self.policy.all_facts()[award.items].items
        rows, missing = [], set()
        for i, item in enumerate(items):
            names = dict(self.names)
            names.update({f: Unknown(frozenset({f"{award.items}[{i}].{f}"})) for f in fields})
            names.update(item)
            ok = True if award.where is None else self.value(award.where, clause, names)
            status = "unknown" if isinstance(ok, Unknown) else ("counted" if ok else "not counted")
            if isinstance(ok, Unknown):
                missing |= ok.missing
            rows.append((i, item.get("name"), status, tuple(sorted(ok.missing)) if isinstance(ok, Unknown) else ()))
        count = sum(1 for r in rows if r[2] == "counted")
        data = {"list": award.items, "where": award.where.text if award.where else None, "each": each,
                "items": tuple(rows), "count": count, "label": award.item_label}
        if missing or isinstance(each, Unknown):
            steps.append(Step("items", data))
            return Unknown(frozenset(missing | (each.missing if isinstance(each, Unknown) else set())))
        amount = each * count
        steps.append(Step("items", dict(data, value=amount)))
        return amount

    def raise_cap(self, award: BonusAward, amount: Decimal, steps: list[Step]) -> Decimal:
        """Reading 'raises_cap': the target clause's cap rises by the bonus; this clause pays the difference."""
        target = self.results[award.to]
        bonus = self.value(award.amount, target.clause)
        if target.cap_remaining is None:
            combined = target.uncapped + bonus
        else:
            combined = min(target.uncapped, target.cap_remaining + bonus)
        extra = max(Decimal(0), combined - (target.amount or Decimal(0)))
        steps.append(Step("raised_cap", {"to": award.to, "bonus": bonus, "target_uncapped": target.uncapped,
                                         "target_paid": target.amount, "value": extra}))
        return amount + extra

    # -- groups --------------------------------------------------------------------------------
    def apply_group(self, group: Group) -> None:
        if group.pick == "all":
            return
        members = [self.results[m] for m in group.members if m in self.results]
        granted = self.applicant.granted or {}
        holder = next((r for r in members if r.clause.period == "year" and granted.get(r.clause.id, 0) > 0), None)
        if holder is not None:
            # Already paid under one member this year: paying another on top would be stacking them.
            for r in members:
                if r is not holder and r.outcome in (ELIGIBLE, UNDETERMINED):
                    self.results[r.clause.id] = replace(
                        r, outcome=INELIGIBLE, amount=None, reason="group_granted", missing=(),
                        detail={"group": group.id, "holder": holder.clause.id, "granted": granted[holder.clause.id],
                                "reading": group.reading})
            return
        live = [r for r in members if r.outcome in (ELIGIBLE, UNDETERMINED, REFERRED)]
        if len(live) < 2:
            return
        undetermined = [r for r in live if r.outcome in (UNDETERMINED, REFERRED)]
        if undetermined:
            # Which member pays depends on what is still missing (a fact, or the referred document's own
            # rules): no amount can be promised yet.
            missing = tuple(sorted(set().union(*(r.missing or (f"document:{r.reference.id}",)
                                                   for r in undetermined))))
            for r in live:
                if r.outcome == ELIGIBLE:
                    self.results[r.clause.id] = replace(
                        r, outcome=UNDETERMINED, reason="group_pending", missing=missing,
                        detail={"group": group.id, "pick": group.pick, "reading": group.reading,
                                "pending": tuple(u.clause.id for u in undetermined), "would_be": r.amount})
            return
        if group.pick == "best":
            winner = max(live, key=lambda r: r.amount)  # max keeps the first of equals: member order decides ties
        else:
            winner = live[0]
        for r in live:
            if r is not winner:
                self.results[r.clause.id] = replace(
                    r, outcome=INELIGIBLE, amount=None, reason="group",
                    steps=r.steps + (Step("group", {"group": group.id, "pick": group.pick, "winner": winner.clause.id,
                                                    "winner_amount": winner.amount, "would_be": r.amount,
                                                    "reading": group.reading}),),
                    detail={"group": group.id, "pick": group.pick, "winner": winner.clause.id,
                            "winner_amount": winner.amount, "would_be": r.amount, "reading": group.reading})
