"""Lint: conditions that can never all hold (contradicting bounds), in a clause and between the members of an exclusive
group."""

from __future__ import annotations

from decimal import Decimal
from itertools import combinations
from typing import Iterator, Mapping

from engine.core.messages import msg
from engine.lang.analysis import Bound
from engine.lang.tree import Lit, Name, Value
from engine.model.policy import Clause
from engine.tools.lint.awards import AwardChecks
from engine.tools.lint.base import (
    _DECLARED_KEYS,
    Limits,
    _apart,
    _compatible,
    _disjoint_pairs,
    _Interval,
    _interval,
    _kind,
    _Limit,
    _Members,
    _pairs,
    _show,
)


class ConditionChecks(AwardChecks):
    # -- clauses -------------------------------------------------------------------------------
    def limits(self, clause: Clause, env: Mapping[str, Decimal]) -> tuple[Limits, tuple[_Limit, _Limit] | None]:
        """The clause's bounds per fact (as `constraints`) and its first contradiction, made once per distinct
        set of values of the parameters it reads. The mapping is shared: do not change it."""
        i = self.index[clause.id]
        key = (i, tuple(env.get(n) for n in self._params[i]))
        if key not in self._limits:
            found = self.constraints(clause, env)
            self._limits[key] = found, self.contradiction(found)
        return self._limits[key]

    def constraints(self, clause: Clause, env: Mapping[str, Decimal]) -> Limits:
        """Per fact, the bounds every eligible applicant must meet."""
        out: Limits = {}
        facts = self.policy.facts
        i = self.index[clause.id]
        for n, found in enumerate(self._bounds[i]):
            for b in found:
                value = self.operand(b, env)
                if value is not None:
                    out.setdefault(b.name, []).append(_Limit(b.op, value, ("clauses", i, "when", n), b.name, b))
        for name in list(out):
            fact = facts[name]
            declared: list[tuple[str, Decimal | None, str]] = [(">=", fact.minimum, "min"),
                                                                ("<=", fact.maximum, "max")]
            implied = fact.kind.implied_minimum(fact)
            if implied is not None and fact.minimum is None:
                declared[0] = (">=", implied, "implied")
            for op, value, bound in declared:
                if value is not None:
                    out[name].append(_Limit(op, value, ("facts", name), name, declared=bound))
        return out

    def text(self, limit: _Limit) -> str:
        """A bound as a finding shows it: `x >= 500万元`, or the declared minimum 0."""
        if limit.bound is not None:
            return self.bound_text(limit.bound, limit.value)
        assert limit.declared is not None, "a bound not written in a condition is a declared one"
        kind = self.policy.facts[limit.fact].kind
        if limit.declared == "implied":
            return kind.implied_minimum_words(limit.fact, _show(limit.value, kind.measure))
        return msg(_DECLARED_KEYS[limit.declared], name=limit.fact, value=_show(limit.value, kind.measure))

    @staticmethod
    def operand(b: Bound, env: Mapping[str, Decimal]) -> Value | None:
        """The value a bound compares with: its literal, or its parameter's value (None if it has none)."""
        if isinstance(b.operand, Lit):
            return b.operand.value
        return env.get(b.operand.id)

    def bound_text(self, b: Bound, value: Value) -> str:
        kind = self.policy.facts[b.name].type
        if isinstance(b.operand, Name):
            return f"`{b.name} {b.op} {b.operand.id}` ({b.operand.id} = {_show(value, kind)})"
        if b.op == "==" and isinstance(value, bool):
            return f"`{'' if value else 'not '}{b.name}`"
        return f"`{b.name} {b.op} {_show(value, kind)}`"

    def contradiction(self, constraints: Limits) -> tuple[_Limit, _Limit] | None:
        # Bounds on one line are all satisfiable together exactly when every pair is (intervals), so a
        # pair is both the test and the explanation.
        for items in constraints.values():
            for a, b in combinations(items, 2):
                if _kind(a.value) != _kind(b.value):  # e.g. `x` (yes/no) and `x > 0`: the checker reports those
                    continue
                if not _compatible(a.op, a.value, b.op, b.value):
                    return a, b
        return None

    def clauses(self) -> None:
        p = self.policy
        for clause in p.clauses:
            i = self.index[clause.id]
            if (clause.end and clause.end < p.start) or (clause.start and p.end and clause.start > p.end):
                self.add("lint.outside_period", "lint.outside_period.hint",
                         ("clauses", i), clause=clause.id, start=clause.start or p.start,
                         end=clause.end or "—", pstart=p.start, pend=p.end or "—")

            def contradiction(env: Mapping[str, Decimal], clause: Clause = clause) -> tuple[_Limit, _Limit] | None:
                return self.limits(clause, env)[1]

            found = self.per_day(clause, contradiction)
            if found:
                bad = list(found)
                a, b = found[bad[0]]
                self.add("lint.never_eligible", "lint.never_eligible.hint",
                         b.path if b.path[0] == "clauses" else a.path, clause=clause.id,
                         when=self.when(bad), a=self.text(a), b=self.text(b))
            if clause.award is not None:
                self.award(clause, i)

    # -- groups --------------------------------------------------------------------------------
    def groups(self) -> None:
        p = self.policy
        by_id = {c.id: c for c in p.clauses}
        for gi, group in enumerate(p.groups):
            if group.pick == "all":
                continue
            members = [by_id[m] for m in group.members if m in by_id]
            for i, j, finding in sorted(self.group_findings(members)):
                a, b = members[i], members[j]
                info = _Members(group=group.id, pick=group.pick, a=a.id, b=b.id)
                if finding == "kinds":
                    self.add("lint.group_kinds", "lint.group_kinds.hint", ("groups", gi, "members"), **info)
                elif finding == "periods":
                    self.add("lint.group_periods", "lint.group.hint", ("groups", gi, "members"), **info)
                else:
                    pair = self.merged_contradiction(a, b, 0)
                    assert pair is not None, "a pair found contradictory on every day is so on the first"
                    x, y = pair
                    self.add("lint.group_bounds", "lint.group.hint", ("groups", gi, "members"),
                             x=self.text(x), y=self.text(y), **info)

    def merged_contradiction(self, a: Clause, b: Clause, k: int) -> tuple[_Limit, _Limit] | None:
        """The first contradiction between the bounds of `a` and `b` together on the `k`th of `days`."""
        names = self._params[self.index[a.id]] + self._params[self.index[b.id]]
        env = {n: v for n in names if (v := self.series(n)[k]) is not None}
        merged = dict(self.limits(a, env)[0])
        for name, items in self.limits(b, env)[0].items():
            merged[name] = merged.get(name, []) + items
        return self.contradiction(merged)

    def group_findings(self, members: list[Clause]) -> Iterator[tuple[int, int, str]]:
        """Each pair (i, j), i < j, of members that cannot both apply, and why: kinds (no recipient kind in
        common), periods (never in force on one day), bounds (their bounds contradict on every day).

        The same pairs as comparing every pair on every day, found without doing so: members are compared by
        what decides each finding (their kinds, their periods, per fact the interval their bounds leave), so
        the work grows with the members and the pairs found, not with every pair times every day.
        """
        p = self.policy
        kinds: set[tuple[int, int]] = set()
        by_kinds: dict[frozenset[str], list[int]] = {}  # members by their set of recipient kinds: few sets
        for i, clause in enumerate(members):
            by_kinds.setdefault(frozenset(clause.recipients), []).append(i)
        for (ka, ia), (kb, ib) in combinations(by_kinds.items(), 2):
            if not ka & kb:
                kinds |= _pairs(ia, ib)
        if frozenset() in by_kinds:  # no kind at all: nothing in common even with each other
            kinds |= _pairs(by_kinds[frozenset()], by_kinds[frozenset()])
        periods = _disjoint_pairs([(c.start or p.start, c.end or p.end) for c in members]) - kinds
        candidates: set[tuple[int, int]] | None = None
        names = {n for c in members for n in self._params[self.index[c.id]]}
        for env, _idx in self.classes(names):
            now = self.contradicting_pairs(members, env)
            candidates = now if candidates is None else candidates & now
            if not candidates:
                break
        yield from ((i, j, "kinds") for i, j in kinds)
        yield from ((i, j, "periods") for i, j in periods)
        yield from ((i, j, "bounds") for i, j in (candidates or set()) - kinds - periods)

    def contradicting_pairs(self, members: list[Clause], env: Mapping[str, Decimal]) -> set[tuple[int, int]]:
        """The pairs of members whose bounds together cannot all hold with the parameters' values in `env`.

        Bounds on one fact leave an interval (or one value); two members contradict exactly when one of them
        contradicts itself or, on some fact, their intervals (of one kind of value) do not meet.
        """
        out: set[tuple[int, int]] = set()
        everyone = list(range(len(members)))
        intervals: dict[str, list[tuple[int, _Interval]]] = {}
        equal: dict[tuple[str, type], dict[object, list[int]]] = {}
        for i, clause in enumerate(members):
            limits, self_contradiction = self.limits(clause, env)
            if self_contradiction is not None:
                out |= _pairs([i], everyone)
                continue
            for name, items in limits.items():
                numbers = [x for x in items if _kind(x.value) is Decimal]
                if numbers:
                    intervals.setdefault(name, []).append((i, _interval(numbers)))
                for x in items:
                    if x.op == "==" and _kind(x.value) is not Decimal:  # yes/no and text: only == bounds them
                        equal.setdefault((name, _kind(x.value)), {}).setdefault(x.value, []).append(i)
        for found in intervals.values():
            out |= _apart(found)
        for by_value in equal.values():
            for (_va, ia), (_vb, ib) in combinations(by_value.items(), 2):
                out |= _pairs(ia, ib)
        return out
