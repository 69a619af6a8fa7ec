"""Lint a compiled policy for what the schema cannot see: unused names, dead clauses, implausible numbers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import combinations
from typing import Callable, Iterable, Mapping, NamedTuple, TypedDict, TypeVar, cast

from engine.core.amounts import plain
from engine.core.errors import Problem
from engine.core.format import as_written
from engine.core.messages import msg
from engine.lang.analysis import Bound, bounds
from engine.lang.expressions import Expr
from engine.lang.reference import EvaluationFailure, evaluate
from engine.lang.tree import Arith, Lit, Name, Node, Value
from engine.model.compile import compile_policy
from engine.model.facts import names_of_clause
from engine.model.policy import Clause, Policy
from engine.syntax.loader import Loaded, Path_
from engine.syntax.schema import Document
from engine.workspace import Library, load_resolved

WARNING, INFO = "warning", "info"
EXPIRY_WARNING_DAYS = 180
MAX_STEP_RATIO = Decimal(10)  # a dated value more than 10x (or under 1/10 of) the one before is likely a typo

# Every sentence lint shows is in the message catalogue under lint.* (engine/core/locale/*.json).
# The words for a bound a fact's declaration sets, by which bound it is.
_DECLARED_KEYS = {"min": "lint.declared_min", "max": "lint.declared_max", "money_min": "lint.money_min"}

T = TypeVar("T")


class _Limit(NamedTuple):
    """A bound every eligible applicant must meet, `fact op value`: as lint words it, and where it is written."""

    op: str  # >= > <= < ==
    value: Value
    text: str
    path: Path_


Limits = dict[str, list[_Limit]]  # per fact
Shown = dict[str, str]  # the values a finding shows, by the name its message gives each


class _Members(TypedDict):
    """Two clauses of an exclusive group, as the group findings name them."""

    group: str
    pick: str
    a: str
    b: str


def lint_file(path: str, today: dt.date, library: Library | None = None) -> tuple[Policy, list[Problem]]:
    """Load (following `extends:`), validate and compile a policy file, then lint it.

    Raises PolicyError if it does not compile. Findings in inherited lines point at the parent's file.
    Returns the compiled policy too, whose language the findings are shown in.
    """
    loaded = load_resolved(path, library)
    policy = compile_policy(loaded)
    return policy, lint(policy, loaded, today)


def lint(policy: Policy, loaded: Loaded, today: dt.date) -> list[Problem]:
    """Findings about a compiled policy, ordered by position in the file; each with a suggestion."""
    linter = _Linter(policy, loaded, today)
    for check in (linter.unused_names, linter.unused_references, linter.unused_readings, linter.clauses,
                  linter.groups, linter.parameters, linter.in_force):
        check()
    seen: set[tuple[int | None, int | None, str]] = set()
    unique = []
    for p in linter.found:
        key = (p.line, p.column, p.message)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return sorted(unique, key=lambda p: (p.line or 0, p.column or 0))


def _show(value: object, kind: str = "number") -> str:
    """A value as written in a policy file: 500万元 for money, 50% for a percentage."""
    return as_written(value, kind, digits=True)


class _Linter:
    def __init__(self, policy: Policy, loaded: Loaded, today: dt.date):
        self.policy, self.source, self.today = policy, loaded.source, today
        self.doc = cast(Document, loaded.data)  # a policy that compiled is schema-valid: a mapping
        self.found: list[Problem] = []
        self.index = {c.id: i for i, c in enumerate(policy.clauses)}
        self.days = self._days()
        self.envs = {day: self._env(day) for day in self.days}

    # -- helpers -------------------------------------------------------------------------------
    def add(self, key: str, hint: str, path: Path_, severity: str = WARNING, prefer_key: bool = False,
            **values: object) -> None:
        """A finding: the message `key` and the message `hint`, both filled with `values`; `clause` names
        the clause."""
        self.report(key, hint, path, values, severity, prefer_key)

    def report(self, key: str, hint: str, path: Path_, values: Mapping[str, object], severity: str = WARNING,
               prefer_key: bool = False) -> None:
        """`add`, with the values to fill in as a mapping."""
        clause = values.get("clause")
        # In a county file an inherited line is reported in the parent's file, "inherited by" the county.
        self.found.append(self.source.problem(msg(key, **values), path, prefer_key=prefer_key,
                                              clause=str(clause) if clause else None, severity=severity,
                                              suggestion=msg(hint, **values)))

    def own(self, path: Path_) -> bool:
        """Whether `path` is written in the file being linted (not inherited from a parent it cannot edit)."""
        return self.source.locate(path, True)[0] == self.source.file

    def _days(self) -> list[dt.date]:
        """The days on which some parameter takes a new value, within the period of force."""
        p = self.policy
        days = {p.start}
        for param in p.parameters.values():
            for v in param.values:
                days.add(v.start)
                if v.end is not None:
                    days.add(v.end + dt.timedelta(days=1))
        return sorted(d for d in days if d >= p.start and (p.end is None or d <= p.end))

    def _env(self, day: dt.date) -> dict[str, Decimal]:
        env: dict[str, Decimal] = {}
        for name, param in self.policy.parameters.items():
            value = param.value_on(day)
            if value is not None:
                env[name] = value.value
        return env

    def constant(self, expr: Expr | None, day: dt.date) -> Decimal | None:
        """The value of a number expression that reads only parameters, on `day`; None if it reads facts."""
        if expr is None or not expr.names <= set(self.envs[day]):
            return None
        try:
            value = evaluate(expr, self.envs[day])
        except EvaluationFailure:
            return None
        return value if isinstance(value, Decimal) else None  # not Unknown: every name it reads is there

    def when(self, days: list[dt.date]) -> str:
        """'' when something holds on every day the parameters change, else ' from <first day>'."""
        return "" if days == self.days else msg("lint.from_date", day=days[0])

    # -- unused declarations -------------------------------------------------------------------
    def unused_names(self) -> None:
        used: set[str] = set()
        for clause in self.policy.clauses:
            used |= names_of_clause(clause)
        # A county that removes a clause leaves the parent's declarations for it unused; it cannot remove
        # those, so only what this file declares itself is reported.
        for name, fact in self.policy.facts.items():
            if name not in used and self.own(("facts", name)):
                self.add("lint.unused_fact", "lint.unused_fact.hint",
                         ("facts", name), prefer_key=True, name=name, label=fact.label)
        for name, param in self.policy.parameters.items():
            if name not in used and self.own(("parameters", name)):
                self.add("lint.unused_parameter", "lint.unused_parameter.hint",
                         ("parameters", name), prefer_key=True, name=name, label=param.label)

    def unused_references(self) -> None:
        referred = {c.refers_to for c in self.policy.clauses}
        # A document cited in a clause's text or a fact's wording is in use, e.g. the rules by which a
        # yes/no fact (recognised as meeting the standard) is decided, without setting an amount.
        cited = " ".join([c.text or "" for c in self.policy.clauses] +
                         [f"{f.label} {f.description or ''}" for f in self.policy.facts.values()])
        for ref in self.policy.references.values():
            if ref.role == "rules" and ref.id not in referred and ref.id not in cited \
                    and self.own(("references", ref.id)):
                self.add("lint.unused_reference", "lint.unused_reference.hint",
                         ("references", ref.id), prefer_key=True, id=ref.id)

    def unused_readings(self) -> None:
        used = {g.reading for g in self.policy.groups} | {self.policy.period_reading, self.policy.areas_reading}
        for clause in self.policy.clauses:
            used |= set(clause.readings) | {c.reading for c in clause.conditions}
        for rid in self.policy.readings:
            if rid not in used and self.own(("readings", rid)):
                self.add("lint.unused_reading", "lint.unused_reading.hint", ("readings", rid), prefer_key=True, id=rid)

    # -- clauses -------------------------------------------------------------------------------
    def constraints(self, clause: Clause, day: dt.date) -> Limits:
        """Per fact, the bounds every eligible applicant must meet."""
        out: Limits = {}
        env, facts = self.envs[day], self.policy.facts
        i = self.index[clause.id]
        for n, cond in enumerate(clause.conditions):
            for b in bounds(cond.expr, facts.keys()):
                value = self.operand(b, env)
                if value is not None:
                    out.setdefault(b.name, []).append(_Limit(b.op, value, self.bound_text(b, value),
                                                             ("clauses", i, "when", n)))
        for name in list(out):
            fact = facts[name]
            declared: list[tuple[str, Decimal | None, str]] = [(">=", fact.minimum, "min"),
                                                                ("<=", fact.maximum, "max")]
            if fact.type == "money" and fact.minimum is None:
                declared[0] = (">=", Decimal(0), "money_min")
            for op, value, bound in declared:
                if value is not None:
                    out[name].append(_Limit(op, value, msg(_DECLARED_KEYS[bound], name=name,
                                                           value=_show(value, fact.type)), ("facts", name)))
        return out

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
            found = {day: pair for day in self.days if (pair := self.contradiction(self.constraints(clause, day)))}
            if found:
                bad = list(found)
                a, b = found[bad[0]]
                self.add("lint.never_eligible", "lint.never_eligible.hint",
                         b.path if b.path[0] == "clauses" else a.path, clause=clause.id,
                         when=self.when(bad), a=a.text, b=b.text)
            if clause.award is not None:
                self.award(clause, i)

    def award(self, clause: Clause, i: int) -> None:
        award, path = clause.award, ("clauses", i, "award")
        assert award is not None, "only clauses with an award are checked here"
        for check in award.sanity():
            expr = check.expr
            if check.rule == "amount_not_positive":
                self.each_day("lint.amount_not_positive", "lint.amount_not_positive.hint",
                              path + (check.field,), clause, self.value_test(expr, lambda v: v <= 0))
            elif check.rule == "rate_range" and not self.is_percent_parameter(expr):
                self.each_day("lint.rate_range", "lint.rate_range.hint", path + (check.field,), clause,
                              self.value_test(expr, lambda v: not 0 <= v <= 1), kind="percent")
        if clause.cap is None:
            return
        cap = clause.cap
        self.each_day("lint.cap_zero", "lint.cap_zero.hint",
                      ("clauses", i, "cap"), clause, self.value_test(cap, lambda v: v <= 0))
        # A cap is money: a percentage there (50% typed for 50万元) would cap the award at a few fen.
        percent = [n for n in cap.names if n in self.policy.parameters and self.policy.parameters[n].type == "percent"]
        if percent or "%" in cap.text:
            where = ("parameters", percent[0]) if percent else ("clauses", i, "cap")  # where the % was typed
            self.add("lint.cap_percent", "lint.cap_percent.hint",
                     where, clause=clause.id, name=", ".join(percent) or cap.text)

        def never_binds(day: dt.date) -> Shown | None:
            limit, top = self.constant(cap, day), self.upper_award(clause, day)
            # A cap equal to the largest award of a once/yearly clause is the idiom for "at most one award
            # per period" (it binds through amounts already granted), so only a cap above the award is odd.
            idiom = clause.period in ("once", "year") and top == limit
            if limit is not None and top is not None and 0 < top <= limit and not idiom:
                return {"cap": _show(limit, "money"), "award": _show(top, "money")}
            return None

        self.each_day("lint.cap_never_binds", "lint.cap_never_binds.hint",
                      ("clauses", i, "cap"), clause, never_binds, all_days=True)

    def value_test(self, expr: Expr, test: Callable[[Decimal], bool]) -> Callable[[dt.date], Decimal | None]:
        """For each_day: the value of `expr` on a day, when parameters alone give it and it passes `test`."""
        return lambda day: _if(self.constant(expr, day), test)

    def each_day(self, key: str, hint: str, path: Path_, clause: Clause,
                 test: Callable[[dt.date], Decimal | Shown | None], all_days: bool = False,
                 kind: str = "money") -> None:
        """Report once, for the first day `test` finds something (with all_days: only if it does every day).

        `test(day)` returns None, or the values to show (a value alone is shown as {value}).
        """
        found = {d: v for d in self.days if (v := test(d)) is not None}
        if not found or (all_days and len(found) != len(self.days)):
            return
        days = list(found)
        shown = found[days[0]]
        values = shown if isinstance(shown, dict) else {"value": _show(shown, kind)}
        self.report(key, hint, path, {"clause": clause.id, "when": self.when(days), **values})

    def is_percent_parameter(self, expr: Expr) -> bool:
        # Bare percentage parameters are checked once, at their own values, by parameters().
        param = self.policy.parameters.get(expr.text)
        return param is not None and param.type == "percent"

    def upper_award(self, clause: Clause, day: dt.date) -> Decimal | None:
        """The most the award can pay before its cap, when parameters and declared maxima bound it."""
        if clause.award is None:
            return None
        return clause.award.upper(lambda e: self.upper(e.node, day))

    def upper(self, node: Node, day: dt.date) -> Decimal | None:
        if isinstance(node, Lit) and isinstance(node.value, Decimal) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, Name):
            value = self.envs[day].get(node.id)
            if value is None and node.id in self.policy.facts:
                value = self.policy.facts[node.id].maximum
            return value if isinstance(value, Decimal) else None
        if isinstance(node, Arith) and node.op in ("+", "*"):
            left, right = self.upper(node.left, day), self.upper(node.right, day)
            if left is None or right is None or left < 0 or right < 0:
                return None
            return left + right if node.op == "+" else left * right
        return None

    # -- groups --------------------------------------------------------------------------------
    def groups(self) -> None:
        p = self.policy
        by_id = {c.id: c for c in p.clauses}
        for gi, group in enumerate(p.groups):
            if group.pick == "all":
                continue
            for a_id, b_id in combinations([m for m in group.members if m in by_id], 2):
                a, b = by_id[a_id], by_id[b_id]
                info = _Members(group=group.id, pick=group.pick, a=a.id, b=b.id)
                if not set(a.recipients) & set(b.recipients):
                    self.add("lint.group_kinds", "lint.group_kinds.hint", ("groups", gi, "members"), **info)
                    continue
                if _disjoint(a, b, p.start, p.end):
                    self.add("lint.group_periods", "lint.group.hint", ("groups", gi, "members"), **info)
                    continue
                found: dict[dt.date, tuple[_Limit, _Limit] | None] = {}
                for day in self.days:
                    merged = self.constraints(a, day)
                    for name, items in self.constraints(b, day).items():
                        merged[name] = merged.get(name, []) + items
                    found[day] = self.contradiction(merged)
                first = found[self.days[0]]
                if first is not None and all(found.values()):
                    x, y = first
                    self.add("lint.group_bounds", "lint.group.hint", ("groups", gi, "members"), x=x.text, y=y.text,
                             **info)

    # -- parameters ----------------------------------------------------------------------------
    def parameters(self) -> None:
        for name, param in self.policy.parameters.items():
            dated = "values" in self.doc["parameters"][name]

            def vpath(i: int, name: str = name, dated: bool = dated) -> Path_:
                return ("parameters", name, "values", i, "value") if dated else ("parameters", name, "value")

            for i, v in enumerate(param.values):
                if param.type == "percent" and v.value > 1:
                    self.add("lint.percent_range", "lint.percent_range.hint", vpath(i),
                             value=_show(v.value, "percent"), name=name, label=param.label, start=v.start)
                if param.type == "money" and v.value < 0:
                    self.add("lint.money_negative", "lint.money_negative.hint", vpath(i),
                             value=_show(v.value, "money"), name=name, label=param.label, start=v.start)
            for i, (old, new) in enumerate(zip(param.values, param.values[1:], strict=False), start=1):
                if old.value and new.value and (new.value / old.value > MAX_STEP_RATIO or
                                                old.value / new.value > MAX_STEP_RATIO):
                    self.add("lint.step", "lint.step.hint",
                             vpath(i), name=name, label=param.label, old=_show(old.value, param.type),
                             new=_show(new.value, param.type), start=new.start, ratio=plain(MAX_STEP_RATIO))

    # -- period of force -----------------------------------------------------------------------
    def in_force(self) -> None:
        p, today = self.policy, self.today
        if p.start > today:
            self.add("lint.not_in_force", "lint.not_in_force.hint",
                     ("in_force", "from"), severity=INFO, start=p.start, today=today,
                     days=(p.start - today).days)
        if p.end is None:
            return
        if p.end < today:
            self.add("lint.expired", "lint.expired.hint",
                     ("in_force", "until"), end=p.end, today=today, days=(today - p.end).days)
        elif (p.end - today).days <= EXPIRY_WARNING_DAYS:
            self.add("lint.expires", "lint.expires.hint",
                     ("in_force", "until"), end=p.end, today=today, days=(p.end - today).days)


def _kind(value: object) -> type:
    """bool before Decimal: True is an int, and must not be ordered against amounts."""
    return bool if isinstance(value, bool) else type(value)


def _compatible(op_a: str, a: Value, op_b: str, b: Value) -> bool:
    """Whether some value meets both `x op_a a` and `x op_b b` (`a` and `b` of one kind)."""
    if op_a == "==" and op_b == "==":
        return a == b
    if not isinstance(a, Decimal) or not isinstance(b, Decimal):  # only numbers are ordered (the checker sees to it)
        return True
    if op_a == "==":
        return _holds(a, op_b, b)
    if op_b == "==":
        return _holds(b, op_a, a)
    if op_a[0] == op_b[0]:  # both lower or both upper bounds
        return True
    lo_op, lo = (op_a, a) if op_a[0] == ">" else (op_b, b)
    hi_op, hi = (op_b, b) if lo_op == op_a else (op_a, a)
    if lo < hi:
        return True
    return lo == hi and lo_op == ">=" and hi_op == "<="


def _holds(value: Decimal, op: str, bound: Decimal) -> bool:
    return {">=": value >= bound, ">": value > bound, "<=": value <= bound, "<": value < bound,
            "==": value == bound}[op]


def _if(value: T | None, test: Callable[[T], bool]) -> T | None:
    """`value` when it is known and passes `test`, else None."""
    return value if value is not None and test(value) else None


def _disjoint(a: Clause, b: Clause, start: dt.date, end: dt.date | None) -> bool:
    a_start, b_start = a.start or start, b.start or start
    a_end, b_end = a.end or end, b.end or end
    return (a_end is not None and a_end < b_start) or (b_end is not None and b_end < a_start)


def counts(problems: Iterable[Problem]) -> dict[str, int]:
    out = {"error": 0, "warning": 0, "info": 0}
    for p in problems:
        out[p.severity] = out.get(p.severity, 0) + 1
    return out
