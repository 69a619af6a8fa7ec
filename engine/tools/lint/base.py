"""What every family of lint checks shares: the findings list, the policy's days and parameter values, and the helpers
that evaluate what parameters alone decide."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from decimal import Decimal
from typing import Callable, Iterable, Mapping, NamedTuple, TypedDict, TypeVar, cast

from engine.core.errors import Problem
from engine.core.format import as_written
from engine.core.messages import msg
from engine.lang.analysis import Bound, bounds
from engine.lang.expressions import Expr
from engine.lang.reference import EvaluationFailure, TooLarge, evaluate
from engine.lang.tree import Value
from engine.model.policy import Clause, Policy
from engine.syntax.loader import Loaded, Path_
from engine.syntax.schema import Document
from engine.tools.numbers import TextNumber

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


def _show(value: object, kind: str = "number") -> str:
    """A value as written in a policy file: 500万元 for money, 50% for a percentage."""
    return as_written(value, kind, digits=True)




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
    """How many problems of each severity (error, warning, info)."""
    out = {"error": 0, "warning": 0, "info": 0}
    for p in problems:
        out[p.severity] = out.get(p.severity, 0) + 1
    return out


class LinterBase:
    """The state and helpers every family of checks uses."""

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
