"""A policy prepared for evaluation, once: the order clauses and groups are decided in, and parameters by day.

Dependencies between clauses (requires:, a bonus's clause) and exclusive groups form a graph; the plan
orders it so that each clause is decided exactly once, after everything it depends on is final:
a clause depends on the *final* outcome of another, and a member of an exclusive group is final only
once its group has chosen between its members. The order is computed without recursion.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Mapping, Union

from engine.core.errors import CompileError, Problem
from engine.core.messages import msg
from engine.core.values import Missing, MissingParameter, Unknown
from engine.lang.closures import Fast, all_of
from engine.model.order import decision_order
from engine.model.outcome import Outcome
from engine.model.policy import Clause, Group, Policy
from engine.runtime.trace import ClauseResult, ConditionsFailed, MeasureOnly, OtherRecipient


@dataclass(frozen=True)
class Decide:
    """Decide one clause on its own terms (final at once unless it is in an exclusive group)."""

    clause: Clause
    deps: tuple[str, ...]  # clauses whose final outcome it reads (requires:, a bonus's clause)
    failed: tuple[ClauseResult, ...]  # its result when condition i fails first and nothing is explained: the
    # same for everyone
    when: Fast | None = None  # all its conditions as one fast closure (engine.lang.closures.all_of)
    dated: bool = False  # the clause has its own from:/until:
    cap_per_day: bool = False  # its cap reads parameters only: the same for every applicant on a day


@dataclass(frozen=True)
class Choose:
    """Choose between the members of an exclusive group, once each is decided on its own terms."""

    group: Group


Task = Union[Decide, Choose]


@dataclass(frozen=True)
class KindPlan:
    """The plan for one set of recipient kinds: the tasks that can apply, and the clauses decided up front."""

    tasks: tuple[Task, ...]
    fixed: Mapping[str, ClauseResult]  # measures and other kinds' clauses: not applicable, whatever the facts


@dataclass(frozen=True)
class Day:
    """The parameters in force on one day: values, and those with none (missing)."""

    values: Mapping[str, Decimal]
    unknowns: Mapping[str, Missing]
    caps: dict[str, Decimal | Unknown]  # caps that read parameters only, by clause id, as first computed on the day


class Plan:
    """Immutable after construction, shared by every evaluation of the policy."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.tasks: tuple[Task, ...] = _order(policy)
        self.by_id: Mapping[str, Clause] = {c.id: c for c in policy.clauses}
        self.clause_ids: tuple[str, ...] = tuple(c.id for c in policy.clauses)
        self.list_fields: Mapping[str, tuple[str, ...]] = {
            name: tuple(f.items) for name, f in policy.all_facts().items() if f.kind.takes_items}
        # Results the same object for every applicant who gets them (other kinds' clauses, measures, failed
        # conditions untraced), by id: what presents a result may word such a one once (engine.present.result_json).
        self.shared: dict[int, ClauseResult] = {}
        for task in self.tasks:
            if isinstance(task, Decide):
                for failed in task.failed:
                    self.share(failed)
        self._days: dict[dt.date, Day] = {}
        self._kinds: dict[tuple[str, ...], KindPlan] = {}
        self._needed: dict[str, tuple[Decide, ...]] = {}

    def for_kinds(self, kinds: tuple[str, ...]) -> KindPlan:
        """The tasks for an applicant of these kinds (kept: a policy has a handful of kinds)."""
        found = self._kinds.get(kinds)
        if found is None:
            fixed: dict[str, ClauseResult] = {}
            tasks: list[Task] = []
            for task in self.tasks:
                if isinstance(task, Choose):
                    tasks.append(task)
                    continue
                clause = task.clause
                if clause.measure is not None:
                    fixed[clause.id] = ClauseResult(clause, Outcome.NOT_APPLICABLE, why=MeasureOnly(clause.measure))
                elif not any(k in clause.recipients for k in kinds):
                    labels = tuple(self.policy.recipients[k].label for k in clause.recipients)
                    fixed[clause.id] = ClauseResult(clause, Outcome.NOT_APPLICABLE,
                                                    why=OtherRecipient(clause.recipients, labels))
                else:
                    tasks.append(task)
            found = KindPlan(tuple(tasks), fixed)
            for r in fixed.values():
                self.share(r)
            if len(self._kinds) < 256:
                self._kinds[kinds] = found
        return found

    def share(self, result: ClauseResult) -> ClauseResult:
        """Register a result given, as this very object, to every applicant who gets it (bounded)."""
        if len(self.shared) < 65536:
            self.shared[id(result)] = result
        return result

    def needed_for(self, clause_id: str) -> tuple[Decide, ...]:
        """The clause and every clause it depends on, in order, on their own terms (no group chooses): what a
        reference followed from another document evaluates there."""
        found = self._needed.get(clause_id)
        if found is None:
            wanted, todo = {clause_id}, [clause_id]
            while todo:
                for dep in self.by_id[todo.pop()].dependencies():
                    if dep in self.by_id and dep not in wanted:
                        wanted.add(dep)
                        todo.append(dep)
            found = tuple(t for t in self.tasks if isinstance(t, Decide) and t.clause.id in wanted)
            self._needed[clause_id] = found
        return found

    def day(self, day: dt.date) -> Day:
        """The parameters in force on `day` (kept: a round of applicants shares a few claim dates)."""
        found = self._days.get(day)
        if found is None:
            values: dict[str, Decimal] = {}
            unknowns: dict[str, Missing] = {}
            for name, param in self.policy.parameters.items():
                value = param.value_on(day)
                if value is None:
                    unknowns[name] = MissingParameter.of(name)
                else:
                    values[name] = value.value
            found = Day(values, unknowns, {})
            if len(self._days) < 4096:  # bounded: a simulation over every day of a decade still fits
                self._days[day] = found
        return found


def _order(policy: Policy) -> tuple[Task, ...]:
    """Clauses and exclusive groups in an order where each comes after everything it needs
    (engine.model.order, whose loops the compiler refuses)."""
    by_id = {c.id: c for c in policy.clauses}
    order, stuck = decision_order(policy.clauses, policy.groups)
    if stuck:  # a policy compiled by engine.model.compile has no loop; one built by hand may
        clause = next(by_id[cid] for kind, cid in stuck if kind == "c")
        loop = " → ".join(cid for _kind, cid in stuck)
        raise CompileError(Problem(msg("compile.loop", loop=loop), file=clause.where.file, line=clause.where.line,
                                   column=clause.where.column, clause=clause.id))
    groups = {g.id: g for g in policy.groups}

    def needs(clause: Clause) -> tuple[str, ...]:
        return tuple(dict.fromkeys(d for d in clause.dependencies() if d in by_id))

    return tuple(_decide(policy, by_id[cid], needs(by_id[cid])) if kind == "c" else Choose(groups[cid])
                 for kind, cid in order)


def _decide(policy: Policy, clause: Clause, deps: tuple[str, ...]) -> Decide:
    when = all_of(tuple(c.expr.node for c in clause.conditions)) if clause.conditions else None
    cap_per_day = clause.cap is not None and clause.cap.names <= set(policy.parameters)
    dated = clause.start is not None or clause.end is not None
    failed = tuple(ClauseResult(clause, Outcome.INELIGIBLE, why=ConditionsFailed(i))
                   for i in range(len(clause.conditions)))
    return Decide(clause, deps, failed, when=when, cap_per_day=cap_per_day, dated=dated)


def prepare(policy: Policy) -> Plan:
    """The policy's plan, made on first use and kept with the policy (a Policy is immutable, so is its plan)."""
    found = policy.__dict__.get("_plan")
    if found is None:
        found = Plan(policy)
        object.__setattr__(policy, "_plan", found)  # a cache beside the frozen fields, not one of them
    return found
