"""Lint a compiled policy for what the schema cannot see: unused names, dead clauses, implausible numbers."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from decimal import Decimal
from itertools import combinations
from typing import Callable, Iterable, Iterator, Mapping, NamedTuple, TypedDict, TypeVar, cast

from engine.core.amounts import AMOUNT_IN_TEXT, READING, UNITS, plain
from engine.core.errors import Problem
from engine.core.format import as_written
from engine.core.messages import msg
from engine.lang.analysis import Bound, bounds
from engine.lang.expressions import Expr
from engine.lang.reference import EvaluationFailure, TooLarge, evaluate
from engine.lang.tree import Arith, Call, Compare, IfElse, Lit, Name, Node, Unary, Value, walk
from engine.model.compile import compile_policy, reading_problems
from engine.model.facts import names_of_clause
from engine.model.policy import Clause, Policy
from engine.syntax.loader import Loaded, Path_
from engine.syntax.schema import Document
from engine.tools.numbers import TextNumber, literals_in, matches, numbers_in
from engine.workspace import Library, load_resolved

WARNING, INFO = "warning", "info"
EXPIRY_WARNING_DAYS = 180
MAX_STEP_RATIO = Decimal(10)  # a dated value more than 10x (or under 1/10 of) the one before is likely a typo

# Every sentence lint shows is in the message catalogue under lint.* (engine/core/locale/*.json).
# The words for a bound a fact's declaration sets, by which bound it is.
# A bound a fact's kind implies (money is never negative) is worded by the kind (engine.model.kinds).
_DECLARED_KEYS = {"min": "lint.declared_min", "max": "lint.declared_max"}

T = TypeVar("T")


class _Limit(NamedTuple):
    """A bound every eligible applicant must meet, `fact op value`, and where it is written: a bound in a
    condition, or the fact's declared minimum or maximum (`declared`: min, max, or implied: the least value
    its kind allows, money's 0)."""

    op: str  # >= > <= < ==
    value: Value
    path: Path_
    fact: str
    bound: Bound | None = None
    declared: str | None = None


Limits = dict[str, list[_Limit]]  # per fact
Shown = dict[str, str]  # the values a finding shows, by the name its message gives each


class _RuleNumber(NamedTuple):
    """A number a clause's rule uses, and where it is written: a literal in a condition, the award or the cap
    (`param` None), or the value of a parameter the rule reads."""

    value: Decimal
    currency: str | None
    shown: str
    path: Path_
    param: str | None = None
    condition: bool = False


class _Members(TypedDict):
    """Two clauses of an exclusive group, as the group findings name them."""

    group: str
    pick: str
    a: str
    b: str


def lint_file(path: str, today: dt.date, library: Library | None = None) -> tuple[Policy, list[Problem]]:
    """Load (following `extends:`), validate and compile a policy file, then lint it, and compile it read each
    other way (every reading's alternatives with a change:): what is wrong there is an error at the change.

    Raises PolicyError if it does not compile. Findings in inherited lines point at the parent's file.
    Returns the compiled policy too, whose language the findings are shown in.
    """
    loaded = load_resolved(path, library)
    policy = compile_policy(loaded)
    found = lint(policy, loaded, today) + reading_problems(loaded)  # each reading's alternatives compile too
    return policy, sorted(found, key=lambda p: (p.line or 0, p.column or 0))


def lint(policy: Policy, loaded: Loaded, today: dt.date) -> list[Problem]:
    """Findings about a compiled policy, ordered by position in the file; each with a suggestion."""
    linter = _Linter(policy, loaded, today)
    for check in (linter.unused_names, linter.unused_references, linter.unused_readings, linter.clauses,
                  linter.units, linter.groups, linter.parameters, linter.in_force, linter.text_numbers):
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
        # What only parameters decide is decided once per distinct set of their values, not once per day:
        # a clause that reads no parameter is checked once however many days the parameters change on.
        self._series: dict[str, list[Decimal | None]] = {}
        self._classes: dict[tuple[str, ...], list[tuple[dict[str, Decimal], list[int]]]] = {}
        self._limits: dict[tuple[int, tuple[Decimal | None, ...]], tuple[Limits, tuple[_Limit, _Limit] | None]] = {}
        self._params = [tuple(sorted(n for n in c.reads() if n in policy.parameters)) for c in policy.clauses]
        self._bounds = [[bounds(cond.expr, policy.facts.keys()) for cond in c.conditions] for c in policy.clauses]
        self._constants: dict[tuple[int, tuple[Decimal | None, ...]], Decimal | None] = {}
        self._too_large: set[tuple[int, tuple[Decimal | None, ...]]] = set()  # keys of constants past CONTEXT

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
                if v.end is not None and v.end < dt.date.max:  # a value to the last date has no day after it
                    days.add(v.end + dt.timedelta(days=1))
        return sorted(d for d in days if d >= p.start and (p.end is None or d <= p.end))

    def series(self, name: str) -> list[Decimal | None]:
        """The value of parameter `name` on each of `days` (None where it has none), in one pass."""
        if name not in self._series:
            values = self.policy.parameters[name].values
            starts = [v.start for v in values]
            if starts != sorted(set(starts)):  # not in order (compile sees to it): ask each day
                found = [self.policy.parameters[name].value_on(day) for day in self.days]
                self._series[name] = [v.value if v is not None else None for v in found]
            else:
                out: list[Decimal | None] = []
                for day in self.days:
                    i = bisect_left(starts, day + dt.timedelta(days=1)) - 1 if day < dt.date.max \
                        else len(starts) - 1
                    current = values[i] if i >= 0 else None
                    out.append(current.value if current is not None and (current.end is None or day <= current.end)
                               else None)
                self._series[name] = out
        return self._series[name]

    def classes(self, names: Iterable[str]) -> list[tuple[dict[str, Decimal], list[int]]]:
        """The days (indexes into `days`) grouped by the values the parameters `names` take on them, each group
        with those values as an environment; in order of each group's first day."""
        key = tuple(sorted(n for n in set(names) if n in self.policy.parameters))
        if key not in self._classes:
            series = [self.series(n) for n in key]
            groups: dict[tuple[Decimal | None, ...], list[int]] = {}
            for i in range(len(self.days)):
                groups.setdefault(tuple(s[i] for s in series), []).append(i)
            self._classes[key] = [({n: v for n, v in zip(key, values, strict=True) if v is not None}, idx)
                                  for values, idx in groups.items()]
        return self._classes[key]

    def per_day(self, clause: Clause, test: Callable[[Mapping[str, Decimal]], T | None]) -> dict[dt.date, T]:
        """`test` run once per distinct set of values of the parameters `clause` reads: the days it finds
        something on (in order), with what it found."""
        found: dict[int, T] = {}
        for env, idx in self.classes(self._params[self.index[clause.id]]):
            value = test(env)
            if value is not None:
                found.update(dict.fromkeys(idx, value))
        return {self.days[i]: found[i] for i in sorted(found)}

    def constant(self, expr: Expr | None, env: Mapping[str, Decimal]) -> Decimal | None:
        """The value of a number expression that reads only parameters, in `env`; None if it reads facts."""
        if expr is None or not expr.names <= set(env):
            return None
        key = (id(expr), tuple(env[n] for n in sorted(expr.names)))  # an expression of the policy: alive as long
        if key not in self._constants:
            try:
                value = evaluate(expr, dict(env))
            except TooLarge:
                value = None
                self._too_large.add(key)
            except EvaluationFailure:
                value = None
            self._constants[key] = value if isinstance(value, Decimal) else None  # not Unknown: it reads only env
        return self._constants[key]

    def too_large(self, expr: Expr, env: Mapping[str, Decimal]) -> bool:
        """Whether a number expression that reads only parameters computes a number too large to be exact."""
        self.constant(expr, env)
        return (id(expr), tuple(env[n] for n in sorted(expr.names))) in self._too_large \
            if expr.names <= set(env) else False

    def when(self, days: list[dt.date]) -> str:
        """'' when something holds on every day the parameters change, else ' from <first day>'."""
        return "" if days == self.days else msg("lint.from_date", day=days[0])

    # -- unused declarations -------------------------------------------------------------------
    def unused_names(self) -> None:
        used: set[str] = {self.policy.fund_year} if self.policy.fund_year else set()
        for clause in self.policy.clauses:
            used |= names_of_clause(clause)
            if clause.per is not None:
                used.add(clause.per)
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
        used = {g.reading for g in self.policy.groups} | {self.policy.period_reading, self.policy.areas_reading,
                                                          self.policy.fund_year_reading}
        for clause in self.policy.clauses:
            used |= set(clause.readings) | {c.reading for c in clause.conditions}
        for rid, reading in self.policy.readings.items():
            if rid not in used and self.own(("readings", rid)):
                self.add("lint.unused_reading", "lint.unused_reading.hint", ("readings", rid), prefer_key=True, id=rid)
            if not reading.alternatives and self.own(("readings", rid)):
                # A reading is a choice between readings of the text: one with no other is not yet written down.
                self.add("lint.reading_without_alternative", "lint.reading_without_alternative.hint",
                         ("readings", rid), prefer_key=True, id=rid)

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
        # What the form itself finds (bands out of order, a step of 0): each reported once, from the first day on.
        reported: set[tuple[tuple[str | int, ...], str]] = set()
        for env, idx in self.classes(self._params[i]):
            def value(e: Expr, env: Mapping[str, Decimal] = env) -> Decimal | None:
                return self.constant(e, env)

            for finding in award.findings(value):
                if (finding.at, finding.message) not in reported:
                    reported.add((finding.at, finding.message))
                    self.add("lint.form", "lint.form.hint", path + finding.at, clause=clause.id,
                             finding=finding.message, advice=finding.hint, when=self.when([self.days[d] for d in idx]))
        # A constant award or cap past what is computed exactly: every evaluation of the clause is refused.
        computed: list[tuple[Expr, Path_]] = [(e, path) for e in award.expressions()]
        if clause.cap is not None:
            computed.append((clause.cap, ("clauses", i, "cap")))
        for expr, where in computed:
            self.each_day("lint.too_large", "evaluate.amount_out_of_range.hint", where, clause,
                          lambda env, e=expr: {"expr": e.text} if self.too_large(e, env) else None)  # type: ignore[misc]
        if clause.cap is None:
            return
        cap = clause.cap
        self.each_day("lint.cap_zero", "lint.cap_zero.hint",
                      ("clauses", i, "cap"), clause, self.value_test(cap, lambda v: v <= 0))
        # A cap is money: a percentage there (50% typed for 50万元) would cap the award at a few fen. A rate inside
        # a cap that is money (min(base * rate, 30万元)) is not one.
        if self.kind(cap.node, self.written(cap)) == "percent":
            param = self.policy.parameters.get(cap.text)
            where = ("parameters", cap.text) if param is not None else ("clauses", i, "cap")  # where the % was typed
            self.add("lint.cap_percent", "lint.cap_percent.hint", where, clause=clause.id, name=cap.text)

        def never_binds(env: Mapping[str, Decimal]) -> Shown | None:
            limit, top = self.constant(cap, env), self.upper_award(clause, env)
            # A cap equal to the largest award of a once/yearly clause is the idiom for "at most one award
            # per period" (it binds through amounts already granted), so only a cap above the award is odd.
            idiom = clause.period in ("once", "year") and top == limit
            if limit is not None and top is not None and 0 < top <= limit and not idiom:
                return {"cap": _show(limit, "money"), "award": _show(top, "money")}
            return None

        self.each_day("lint.cap_never_binds", "lint.cap_never_binds.hint",
                      ("clauses", i, "cap"), clause, never_binds, all_days=True)

    def value_test(self, expr: Expr, test: Callable[[Decimal], bool]) -> Callable[[Mapping[str, Decimal]],
                                                                                    Decimal | None]:
        """For each_day: the value of `expr` in an environment, when parameters alone give it and it passes `test`."""
        return lambda env: _if(self.constant(expr, env), test)

    def each_day(self, key: str, hint: str, path: Path_, clause: Clause,
                 test: Callable[[Mapping[str, Decimal]], Decimal | Shown | None], all_days: bool = False,
                 kind: str = "money") -> None:
        """Report once, for the first day `test` finds something (with all_days: only if it does every day).

        `test(env)` gets the parameters' values on a day and returns None, or the values to show (a value alone
        is shown as {value}).
        """
        found = self.per_day(clause, test)
        if not found or (all_days and len(found) != len(self.days)):
            return
        days = list(found)
        shown = found[days[0]]
        values = shown if isinstance(shown, dict) else {"value": _show(shown, kind)}
        self.report(key, hint, path, {"clause": clause.id, "when": self.when(days), **values})

    def is_percent_parameter(self, expr: Expr) -> bool:
        # Bare percentage parameters are checked once, at their own values, by parameters().
        param = self.policy.parameters.get(expr.text)
        return param is not None and param.kind.measure == "percent"

    def upper_award(self, clause: Clause, env: Mapping[str, Decimal]) -> Decimal | None:
        """The most the award can pay before its cap, when parameters and declared maxima bound it."""
        if clause.award is None:
            return None
        return clause.award.upper(lambda e: self.upper(e.node, env))

    def upper(self, node: Node, env: Mapping[str, Decimal]) -> Decimal | None:
        if isinstance(node, Lit) and isinstance(node.value, Decimal) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, Name):
            value = env.get(node.id)
            if value is None and node.id in self.policy.facts:
                value = self.policy.facts[node.id].maximum
            return value if isinstance(value, Decimal) else None
        if isinstance(node, Arith) and node.op in ("+", "*"):
            left, right = self.upper(node.left, env), self.upper(node.right, env)
            if left is None or right is None or left < 0 or right < 0:
                return None
            return left + right if node.op == "+" else left * right
        return None

    # -- money compared with a percentage ----------------------------------------------------------
    def units(self) -> None:
        """A condition comparing money with a percentage (`cbec_turnover >= 50%`, 50% typed for 50万元) reads
        the percentage as a fraction of a yuan: the bound is a few fen, and almost every applicant passes it."""
        for i, clause in enumerate(self.policy.clauses):
            for n, cond in enumerate(clause.conditions):
                found = self.money_and_percent(cond.expr)
                if found is not None:
                    money, percent = found
                    path: Path_ = ("clauses", i, "when", n)
                    if isinstance(self.doc["clauses"][i]["when"][n], dict):  # {if: …, label: …}: at the expression
                        path += ("if",)
                    self.add("lint.money_percent", "lint.money_percent.hint", path,
                             clause=clause.id, money=money, percent=percent, expr=cond.expr.text)

    @staticmethod
    def written(expr: Expr) -> dict[Decimal, set[str]]:
        """The literals of `expr` written as money (10万元) or as a percentage (50%), by value."""
        written: dict[Decimal, set[str]] = {}
        for m in AMOUNT_IN_TEXT.finditer(expr.text):
            number, unit = m.groups()
            kind = "percent" if unit == "%" else "money" if unit.endswith("元") else None
            if kind is not None:
                written.setdefault(READING.multiply(Decimal(number), UNITS[unit]), set()).add(kind)
        return written

    def kind(self, node: Node, written: Mapping[Decimal, set[str]]) -> str | None:
        """money, percent, or another kind, of what `node` computes, as far as its names and literals say:
        a rate times money is money, money less money is money, min(money, …) is money."""
        if isinstance(node, (Name, Lit)):
            return self.side_kind(node, written)
        if isinstance(node, Unary) and node.op != "not":
            return self.kind(node.operand, written)
        if isinstance(node, Arith):
            left, right = self.kind(node.left, written), self.kind(node.right, written)
            if node.op == "/":
                return None if right == "money" else left
            known = {left, right} - {None}
            return "money" if "money" in known else "percent" if known == {"percent"} else None
        if isinstance(node, (Call, IfElse)):
            branches = node.args if isinstance(node, Call) else (node.body, node.orelse)
            kinds = {self.kind(a, written) for a in branches}
            return "money" if "money" in kinds else "percent" if kinds == {"percent"} else None
        return None

    def money_and_percent(self, expr: Expr) -> tuple[str, str] | None:
        """The first comparison in `expr` of an amount of money with a percentage: how each side is written."""
        written = self.written(expr)
        for node in walk(expr.node):
            if not isinstance(node, Compare):
                continue
            left = node.left
            for op, right in zip(node.ops, node.rights, strict=True):
                if op not in ("in", "not in"):
                    sides = {self.side_kind(left, written): left, self.side_kind(right, written): right}
                    if "money" in sides and "percent" in sides:
                        return self.side_text(sides["money"], "money"), self.side_text(sides["percent"], "percent")
                left = right
        return None

    def side_kind(self, node: Node, written: Mapping[Decimal, set[str]]) -> str | None:
        """money or percent, when what `node` computes is one of them as far as its names and literals say."""
        while True:
            if isinstance(node, Name):
                known = self.policy.facts.get(node.id) or self.policy.parameters.get(node.id)
                return known.type if known is not None else None
            if isinstance(node, Lit):
                typed = written.get(node.value, set()) if isinstance(node.value, Decimal) \
                    and not isinstance(node.value, bool) else set()
                return next(iter(typed)) if len(typed) == 1 else None
            if isinstance(node, Unary) and node.op != "not":
                node = node.operand
            elif isinstance(node, Arith) and node.op in ("+", "-"):
                kind = self.side_kind(node.left, written)
                if kind is not None:
                    return kind
                node = node.right
            elif isinstance(node, (Call, IfElse)):  # min, max, abs; a if c else b: what every branch agrees on
                branches = node.args if isinstance(node, Call) else (node.body, node.orelse)
                kinds = {self.side_kind(a, written) for a in branches} - {None}
                return kinds.pop() if len(kinds) == 1 else None
            else:
                return None

    @staticmethod
    def side_text(node: Node, kind: str) -> str:
        if isinstance(node, Name):
            return node.id
        if isinstance(node, Lit):
            return _show(node.value, kind)
        return next((n.id for n in walk(node) if isinstance(n, Name)), "…")

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

    # -- parameters ----------------------------------------------------------------------------
    def parameters(self) -> None:
        for name, param in self.policy.parameters.items():
            dated = "values" in self.doc["parameters"][name]

            def vpath(i: int, name: str = name, dated: bool = dated) -> Path_:
                return ("parameters", name, "values", i, "value") if dated else ("parameters", name, "value")

            kind = param.kind
            for i, v in enumerate(param.values):
                beyond = kind.out_of_range(v.value, {"value": _show(v.value, kind.measure), "name": name,
                                                     "label": param.label, "start": v.start})
                if beyond is not None:  # a percentage above 100%, money below 0
                    self.found.append(self.source.problem(beyond[0], vpath(i), severity=WARNING,
                                                          suggestion=beyond[1]))
            for i, (old, new) in enumerate(zip(param.values, param.values[1:], strict=False), start=1):
                if old.value and new.value and (new.value / old.value > MAX_STEP_RATIO or
                                                old.value / new.value > MAX_STEP_RATIO):
                    self.add("lint.step", "lint.step.hint",
                             vpath(i), name=name, label=param.label, old=_show(old.value, param.type),
                             new=_show(new.value, param.type), start=new.start, ratio=plain(MAX_STEP_RATIO))

    # -- numbers checked against the source text ---------------------------------------------------
    def text_numbers(self) -> None:
        """Each number a clause's rule uses against the numbers its `text:` states, and back; each parameter's
        value against its own `text:`. A transcription slip (5万元 typed for 50万元) shows as a number on one side
        the other does not have (engine.tools.numbers reads the sentences)."""
        p = self.policy
        slipped = self.parameter_texts()
        rules = [self.rule_numbers(i, c) for i, c in enumerate(p.clauses)]
        texts = [numbers_in(c.text) if c.text else [] for c in p.clauses]
        everywhere = [(r.value, r.currency) for found in rules for r in found]
        for i, clause in enumerate(p.clauses):
            rule, text = rules[i], texts[i]
            if clause.text is None or not rule:  # a measure, a reference: its numbers are another document's
                continue
            # Tiers written as clauses bound each other: 150万元 for "超过1亿元" is "未超过2亿元" too, and 2亿元 is
            # the threshold of the clause beside it (same article), not of this one's sentence.
            thresholds = [t for j in self.beside(clause) for t in texts[j]
                          if any(r.condition and matches(r.value, r.currency, t) for r in rules[j])]
            unused = [t for t in text if t.reported and not any(matches(r.value, r.currency, t) for r in rule)]
            missing = False
            for r in rule:
                if r.value == 0 or (r.param is not None and p.parameters[r.param].text):  # see parameter_texts
                    continue
                if any(matches(r.value, r.currency, t) for t in text) or \
                        (r.condition and any(matches(r.value, r.currency, t) for t in thresholds)):
                    continue
                missing = True
                values = {"clause": clause.id, "value": r.shown, "numbers": _listed(unused)}
                self.report("lint.text.rule_number",
                            "lint.text.rule_number.unused" if unused else "lint.text.rule_number.hint",
                            r.path, values)
            if missing or slipped & {r.param for r in rule} or not self.own(("clauses", i, "text")):
                continue  # the slip is reported once, where the rule has it; a county cannot edit the city's words
            for t in unused:
                # A number this clause's rule never uses may restate another clause's (the 500万元 of the clause
                # it builds on): only one no rule uses at all is reported.
                if not any(matches(v, c, t) for v, c in everywhere):
                    self.report("lint.text.unused", "lint.text.unused.hint", ("clauses", i, "text"),
                                {"clause": clause.id, "number": t.shown,
                                 "used": "、".join(dict.fromkeys(r.shown for r in rule))})

    def parameter_texts(self) -> set[str]:
        """Each parameter's values (those this document sets) against the numbers its own `text:` states; the
        names of the parameters found to differ."""
        found: set[str] = set()
        for name, param in self.policy.parameters.items():
            if not param.text:
                continue
            words = self.source.locate(("parameters", name, "text"))[0]
            stated = numbers_in(param.text)
            for k, v in enumerate(param.values):
                path = self.value_path(name, k)
                # A county's value under the city's words, or an amendment's under the original's, is not
                # stated by these words.
                if not self.from_this_document(v.source) or self.source.locate(path)[0] != words:
                    continue
                if v.value == 0 or any(matches(v.value, None, t) for t in stated):
                    continue
                found.add(name)
                self.add("lint.text.parameter",
                         "lint.text.parameter.hint" if stated else "lint.text.parameter.none", path,
                         name=name, label=param.label, value=_show(v.value, param.type), text=param.text,
                         numbers=_listed(stated))
        return found

    def rule_numbers(self, i: int, clause: Clause) -> list[_RuleNumber]:
        """The numbers clause `i`'s rule uses: in its conditions, its award and its cap, and the values of the
        parameters these read (those this document sets)."""
        out: list[_RuleNumber] = []
        spec = self.doc["clauses"][i]
        own = [c for c in clause.conditions if not c.shared]  # shared ones are the policy's, not the clause's text
        for n, cond in enumerate(own):
            path: Path_ = ("clauses", i, "when", n)
            if isinstance(spec["when"][n], dict):
                path += ("if",)
            out += [_RuleNumber(x.value, x.currency, x.shown, path, condition=True)
                    for x in literals_in(cond.expr.text)]
        if clause.award is not None:
            written = {e.text for e in clause.award.expressions()}

            def entries(value: object, at: Path_) -> Iterator[tuple[Path_, object]]:
                # nested entries too: the bands of a tiers award
                if isinstance(value, dict):
                    for key, item in value.items():
                        yield from entries(item, at + (key,))
                elif isinstance(value, list):
                    for k, item in enumerate(value):
                        yield from entries(item, at + (k,))
                else:
                    yield at, value

            for at, value in entries(spec.get("award", {}), ("clauses", i, "award")):
                text = plain(value) if isinstance(value, Decimal) and not isinstance(value, bool) \
                    else " ".join(value.split()) if isinstance(value, str) else None
                if text in written:  # an expression: not a label, a unit or a clause id (bonus_to: "5.1")
                    out += [_RuleNumber(x.value, x.currency, x.shown, at) for x in literals_in(text)]
        if clause.cap is not None:
            out += [_RuleNumber(x.value, x.currency, x.shown, ("clauses", i, "cap"))
                    for x in literals_in(clause.cap.text)]
        for name in sorted(n for n in clause.reads() if n in self.policy.parameters):
            param = self.policy.parameters[name]
            out += [_RuleNumber(v.value, None, _show(v.value, param.type), self.value_path(name, k), name)
                    for k, v in enumerate(param.values) if self.from_this_document(v.source)]
        return out

    def beside(self, clause: Clause) -> list[int]:
        """The other clauses of the same article."""
        return [j for j, c in enumerate(self.policy.clauses)
                if c.id != clause.id and clause.article is not None and c.article == clause.article]

    def from_this_document(self, source: str | None) -> bool:
        """Whether a dated value is set by the document this file encodes (no source, or a source naming it)."""
        return source is None or self.policy.document in source

    def value_path(self, name: str, k: int) -> Path_:
        """Where the `k`th value of parameter `name` is written."""
        dated = "values" in self.doc["parameters"][name]
        return ("parameters", name, "values", k, "value") if dated else ("parameters", name, "value")

    # -- period of force -----------------------------------------------------------------------
    def in_force(self) -> None:
        p, today = self.policy, self.today
        if p.fund_year is not None and p.fund_year_in_force is None and self.own(("fund_year",)):
            # Claims state their fund year, and nothing says which years the policy pays: a year wholly before
            # or after the period in force would be paid.
            self.add("lint.fund_year_in_force", "lint.fund_year_in_force.hint", ("fund_year",), prefer_key=True,
                     severity=INFO, name=p.fund_year)
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


# Where the bounds on one fact leave a member: the lowest and highest value, each with whether it is allowed
# itself, keyed so that `hi < lo` says exactly "nothing is both": (v, 1) for v allowed at either end, (v, 0) for a
# highest v not allowed, (v, 2) for a lowest v not allowed. None: unbounded.
_Interval = tuple[tuple[Decimal, int] | None, tuple[Decimal, int] | None]


def _interval(limits: Iterable[_Limit]) -> _Interval:
    """The interval number bounds (that do not contradict each other) leave."""
    lo: tuple[Decimal, int] | None = None
    hi: tuple[Decimal, int] | None = None
    for x in limits:
        value = cast(Decimal, x.value)
        if x.op in (">=", ">", "=="):
            key = (value, 2 if x.op == ">" else 1)
            lo = key if lo is None or key > lo else lo
        if x.op in ("<=", "<", "=="):
            key = (value, 0 if x.op == "<" else 1)
            hi = key if hi is None or key < hi else hi
    return lo, hi


def _apart(found: list[tuple[int, _Interval]]) -> set[tuple[int, int]]:
    """The pairs of members whose intervals do not meet: each member against those that end below its start."""
    ends = sorted((hi, i) for i, (_lo, hi) in found if hi is not None)
    keys = [hi for hi, _i in ends]
    out: set[tuple[int, int]] = set()
    for j, (lo, _hi) in found:
        if lo is not None:
            out |= _pairs([i for _hi, i in ends[:bisect_left(keys, lo)]], [j])
    return out


def _disjoint_pairs(periods: list[tuple[dt.date, dt.date | None]]) -> set[tuple[int, int]]:
    """The pairs of members never in force on one day (from, until; None: open): each member against those
    that end before it starts."""
    ends = sorted((end, i) for i, (_start, end) in enumerate(periods) if end is not None)
    keys = [end for end, _i in ends]
    out: set[tuple[int, int]] = set()
    for j, (start, _end) in enumerate(periods):
        out |= _pairs([i for _end, i in ends[:bisect_left(keys, start)]], [j])
    return out


def _pairs(xs: Iterable[int], ys: Iterable[int]) -> set[tuple[int, int]]:
    """Every pair of two different positions, one from each, smaller first."""
    ys = list(ys)
    return {(min(x, y), max(x, y)) for x in xs for y in ys if x != y}


def _listed(numbers: Iterable[TextNumber]) -> str:
    """Numbers of a sentence as it writes them, once each: 500万元、50%、30万元."""
    return "、".join(dict.fromkeys(n.shown for n in numbers))


def counts(problems: Iterable[Problem]) -> dict[str, int]:
    out = {"error": 0, "warning": 0, "info": 0}
    for p in problems:
        out[p.severity] = out.get(p.severity, 0) + 1
    return out
