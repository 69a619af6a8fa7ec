"""A plan as one SQL query over a whole round: the set-at-a-time twin of engine.runtime.generate.

`compile_sql(policy, dialect)` writes the policy's plan as one query (DuckDB's dialect, transpiled by sqlglot to
Spark or PostgreSQL) over a typed input relation `applicants`, one row per applicant:

- `"$row"` (BIGINT: the row's number), `"$recipient"` (VARCHAR: one kind's id), `"$area"` (VARCHAR, stripped,
  NULL if none), `"$claim_date"` (DATE) — `$` keeps them apart from facts of the same names;
- one column per declared fact, named as the fact, of its kind's `column(fact)` (money DECIMAL(18,2), a list a
  list of STRUCTs of its items' fields, …);
- `"granted.<clause>"` (DECIMAL(18,2)) for each clause whose earlier grants count, and `"$granted"` (BOOLEAN:
  the applicant said what was granted; NULL columns then count 0).

It returns, per row, `"$row"`, `"$rows_engine"` (BOOLEAN), and per clause (measures aside) `"<id>:outcome"`,
`"<id>:amount"` (exact DECIMAL, rounded by the policy's money rule as the engine rounds), `"<id>:reason"` (the
reason code the row engine writes: engine.runtime.trace's `Why.reason`, `missing:<keys>` or `missing` for an
undetermined one), `"<id>:missing"` (the facts it waits for: always empty here, see below), and `"$total"`.

The query decides a row only where it decides exactly as the engine does; everything else it marks
`"$rows_engine"`, and that row's columns mean nothing: the row engine (engine.runtime.evaluate) decides it.

Missing values are NULL, and every expression is Kleene's as the engine's (`Kleene`: its value NULL exactly where
the engine's is Unknown, and per key of what may be missing, where it is among what the value misses), so a
clause waiting for facts is decided here: undetermined, its reason `missing:<keys>` with the keys in the engine's
order (engine.core.values.by_key) — the area, the fund year, the conditions not known, what a required clause
waits for, what the amount (its form says what it reads: `SqlAward.needs`, and a list's items: `SqlAward.missing`),
the grants counted, the cap and the offset miss — or decided whatever they would say (a condition known to fail,
a cap used up, …). A list fact's items are a list of STRUCTs (engine.model.kinds.items), read with lambdas.

A row still goes to the row engine when its fund year is missing where its period cannot be read per day, when
it is of several kinds, when a group would weigh earlier grants or members wait beside eligible ones (but for
one case of 就高不重复: a member paid earlier without its fund year is not live and every live member is eligible —
those wait, undetermined, `missing:granted.<id>.year`, as the engine says), when a required clause waits for a
list's items or a group changed what it waits for, when the ledger would key grants by a fact not given, and
when a clause of its kind is one the query does not translate (`SqlQuery.rows_engine` names them, with why: a
division, a date function, a form without `sql`, a reference followed into a linked document). A policy the
query cannot express at all (a money rule other than rounding half up to a power of ten) raises
`SqlUnsupported`.

Each tree node kind writes its own SQL (`SQL_WRITERS`), each award form its own parts (`AwardForm.sql`, through
`engine.model.awards.base.SqlEmitter`), each kind of fact its column type and its parse from a cell's text
(`FactKind.sql_parse`, used by engine.rounds.sql). Nothing the author wrote becomes SQL text but through
`literal` (strings with their quotes doubled, exact decimals) and `ident` (names quoted).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Mapping, cast

from engine.core.messages import Message, msg
from engine.core.values import MissingFact, MissingParameter
from engine.lang.expressions import Expr
from engine.lang.tree import Arith, Call, Choices, Compare, IfElse, Lit, Logic, Name, Node, Unary, children
from engine.model.awards.base import AwardForm, SqlAward
from engine.model.outcome import Why
from engine.model.policy import Group, Policy
from engine.runtime.interpret import out_of_period
from engine.runtime.plan import Choose, Decide, Plan, prepare
from engine.runtime.trace import (
    MISSING_AREA,
    CapUsed,
    ConditionsFailed,
    FiledLate,
    FundYearNotPaid,
    HeldByGroup,
    LostToGroup,
    MissingDocument,
    MissingGrant,
    MissingGrantYear,
    NotComputable,
    OnceGranted,
    OtherRecipient,
    OutOfClausePeriod,
    OutOfPolicyPeriod,
    OutsideJurisdiction,
    RequiresFailed,
)

DIALECTS = ("duckdb", "spark", "postgres")
_LISTS = ("duckdb", "spark")  # the dialects with functions over lists (lambdas): a list fact's items are read there
SOURCE = "applicants"
ROW, ROWS_ENGINE, TOTAL, GRANTED_KNOWN, DAY = "$row", "$rows_engine", "$total", "$granted", "$day"
RECIPIENT, AREA_COLUMN, CLAIM_DATE = "$recipient", "$area", "$claim_date"  # the input's own columns
YEAR_WAITS = '"$year_waits"'  # as SQL: the fund year is missing and decides whether the policy pays
MISSING = "missing"  # the reason code of an undetermined clause (engine.rounds.run: `missing:<keys>`)
KIND, AREA, CLAIM = '"$recipient"', '"$area"', '"$claim_date"'  # as SQL
GRANTED = "granted."  # engine.rounds.columns.GRANTED
_MAX_INTEGER_DIGITS = 16  # engine.core.amounts.MAX_INTEGER_DIGITS
_MAX_DEPTH = 60


class SqlUnsupported(Exception):
    """Something the query does not translate: a clause (its rows go to the row engine) or a whole policy. Its
    one argument is a catalogue Message (what is not translated), shown in the reader's language."""

    def __init__(self, why: Message):
        super().__init__(why)
        self.why = why


def ident(name: str) -> str:
    """A quoted identifier: whatever the name, it stays one name."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: object) -> str:
    """A constant as SQL: exact decimals, text with its quotes doubled, dates, yes/no."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        value = Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise SqlUnsupported(msg("sql.why.infinite"))
        text = f"{value:f}"
        digits = text.lstrip("-")
        whole, _, frac = digits.partition(".")
        scale = len(frac)
        precision = max(len(whole.lstrip("0")) + scale, scale, 1)
        if precision > 38:
            raise SqlUnsupported(msg("sql.why.digits"))
        return f"CAST('{text}' AS DECIMAL({precision},{scale}))"
    if isinstance(value, str):
        if "\x00" in value:
            raise SqlUnsupported(msg("sql.why.nul"))
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    raise SqlUnsupported(msg("sql.why.constant", type=type(value).__name__))


# --- expressions ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kleene:
    """An expression as SQL, by Kleene's rules as engine.lang.closures.kleene computes it: `value` is NULL
    exactly where the engine's value is Unknown (SQL's AND, OR, NOT and comparisons are Kleene's already), and
    `missing` gives, per key of what may be missing (a fact's name, `parameter <name>`), an SQL boolean that
    holds exactly where the value is Unknown and that key is among what it misses."""

    value: str
    missing: Mapping[str, str] = field(default_factory=dict)
    # False for a quotient (engine: 60 digits, DuckDB: a DOUBLE): its value then says only whether it is known,
    # and it is compared exactly where it is compared with what does not divide (`_compare`, `SqlEmitter.compare`)
    exact: bool = True


def any_of(tests: list[str]) -> str:
    """SQL: one of `tests` holds (FALSE for none); each test is written once."""
    unique = list(dict.fromkeys(tests))
    return unique[0] if len(unique) == 1 else "(" + " OR ".join(unique) + ")" if unique else "FALSE"


def union(parts: list[Mapping[str, str]], within: str | None = None) -> dict[str, str]:
    """The keys of `parts` together, each where one part misses it (and `within` holds, if given)."""
    keys: dict[str, list[str]] = {}
    for part in parts:
        for key, test in part.items():
            keys.setdefault(key, []).append(test)
    return {k: any_of(t) if within is None else f"({within} AND {any_of(t)})" for k, t in keys.items()}


class _Scope:
    """What an expression's SQL reads: facts and the claim date as columns, parameters as per-day columns."""

    def __init__(self, policy: Policy, params: Mapping[str, str]):
        self.facts = policy.all_facts()
        self.policy = policy
        self.params = params
        self.strays: list[str] = []  # where a quotient written divides by zero: the row engine's (NotComputable)

    def read(self, name: str) -> Kleene:
        if name == "claim_date" and name not in self.facts:
            return Kleene(ident(DAY))
        fact = self.facts.get(name)
        if fact is not None:
            if fact.kind.takes_items:
                raise SqlUnsupported(msg("sql.why.list_fact", name=name))
            return Kleene(ident(name), {MissingFact(name).key: f"{ident(name)} IS NULL"})
        if name in self.params:
            column = ident(self.params[name])
            return Kleene(column, {MissingParameter.of(name).key: f"{column} IS NULL"})
        raise SqlUnsupported(msg("sql.why.name", name=name))


class _ItemScope(_Scope):
    """An expression read for one item of a list (a per_item award's `where`): the item's fields as the item's
    (NULL where it lacks one: MissingField's key, with the item's index), every other name as the row's, which
    must be known there (noted in `row_names`: the row engine's where one is not)."""

    def __init__(self, row: _Scope, item: str, index: str, list_name: str, fields: tuple[str, ...]):
        self.facts, self.policy, self.params, self.strays = row.facts, row.policy, row.params, row.strays
        self.row, self.item, self.index, self.list_name, self.fields = row, item, index, list_name, fields
        self.keys: dict[str, str] = {}  # a field's stand-in key -> SQL text of its key for this item
        self.row_names: set[str] = set()

    def read(self, name: str) -> Kleene:
        if name not in self.fields:
            self.row_names.add(name)
            return Kleene(self.row.read(name).value)
        key = "\x00" + name
        # MissingField.of(list, index, field).key, with the index as SQL
        self.keys[key] = (f"concat({literal(self.list_name + '[')}, CAST({self.index} AS VARCHAR), "
                          f"{literal('].' + name)})")
        column = f"{self.item}.{ident(name)}"
        return Kleene(column, {key: f"{column} IS NULL"})


def _strict(value: str, parts: list[Kleene]) -> Kleene:
    """An operation that is Unknown whenever one of its parts is (engine.lang.closures._lifted)."""
    return Kleene(value, union([p.missing for p in parts]))


def _lit(node: Lit, s: _Scope) -> Kleene:
    return Kleene(literal(node.value))


def _name(node: Name, s: _Scope) -> Kleene:
    return s.read(node.id)


def _choices(node: Choices, s: _Scope) -> Kleene:
    return Kleene("(" + ", ".join(literal(i.value) for i in node.items) + ")")


def _unary(node: Unary, s: _Scope) -> Kleene:
    inner = write(node.operand, s)
    v = inner.value
    return _strict(f"(NOT {v})" if node.op == "not" else f"(-{v})" if node.op == "-" else v, _exact([inner]))


def _arith(node: Arith, s: _Scope) -> Kleene:
    left, right = write(node.left, s), write(node.right, s)
    if node.op == "/":  # DECIMAL division is inexact (a DOUBLE) in DuckDB: known or not, and compared exactly
        s.strays.append(f"COALESCE({right.value} = 0, FALSE)")
        return Kleene(f"(CASE WHEN {left.value} IS NULL OR {right.value} IS NULL THEN NULL ELSE 0 END)",
                      union([left.missing, right.missing]), exact=False)
    return _strict(f"({left.value} {node.op} {right.value})", _exact([left, right]))


def _exact(parts: list[Kleene]) -> list[Kleene]:
    """The parts, each exact; a quotient computed with is the row engine's (its digits are the engine's)."""
    if not all(p.exact for p in parts):
        raise SqlUnsupported(msg("sql.why.division"))
    return parts


_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _quotient_compare(node: Compare, s: _Scope, whole: bool = False) -> Kleene | None:
    """`n / d op x` (or `x op n / d`) exactly, as n op x·d where d > 0 and n op' x·d where d < 0 (d = 0: the row
    engine's). The engine compares the quotient to 60 digits: where n, d and x have at most 40 decimals between
    them and |n| < 10^18, a quotient other than x differs from it by more than its rounding, so the answers
    agree. None when neither side is a quotient."""
    if len(node.ops) != 1 or node.ops[0] in ("in", "not in"):
        return None
    op, left, right = node.ops[0], node.left, node.rights[0]
    if isinstance(right, Arith) and right.op == "/" and not (isinstance(left, Arith) and left.op == "/"):
        op, left, right = _FLIPPED[op], right, left
    if not (isinstance(left, Arith) and left.op == "/"):
        return None
    n, d, x = write(left.left, s), write(left.right, s), write(right, s)
    _exact([n, d, x])
    if not whole:  # the quotient is a whole expression's value: Unknown where it divides by 0 (Emitter.kleene)
        s.strays.append(f"COALESCE({d.value} = 0, FALSE)")
    sql = _COMPARE[op]
    value = (f"(CASE WHEN {d.value} > 0 THEN {n.value} {sql} ({x.value}) * ({d.value}) WHEN {d.value} < 0 THEN "
             f"{n.value} {_COMPARE[_FLIPPED[op]]} ({x.value}) * ({d.value}) END)")
    return _strict(value, [n, d, x])


def _logic(node: Logic, s: _Scope) -> Kleene:
    # Kleene's and/or: Unknown only where no part decides it, missing what the Unknown parts miss
    parts = _exact([write(v, s) for v in node.values])
    value = "(" + f" {node.op.upper()} ".join(p.value for p in parts) + ")"
    return Kleene(value, union([p.missing for p in parts], f"{value} IS NULL"))


_COMPARE = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "in": "IN", "not in": "NOT IN"}


def _compare(node: Compare, s: _Scope) -> Kleene:
    quotient = _quotient_compare(node, s)
    if quotient is not None:
        return quotient
    codes, left = [], write(node.left, s)
    parts = [left]
    for op, right in zip(node.ops, node.rights, strict=True):
        if op in ("in", "not in") and not isinstance(right, Choices):
            raise SqlUnsupported(msg("sql.why.membership"))
        code = write(right, s)
        parts.append(code)
        _exact([left, code])
        codes.append(f"{left.value} {_COMPARE[op]} {code.value}")
        left = code
    value = "(" + " AND ".join(codes) + ")"
    if len(codes) == 1:
        return _strict(value, parts)
    # a chain: False where a link whose sides are known fails, whatever the others miss
    return Kleene(value, union([p.missing for p in parts], f"{value} IS NULL"))


def _if_else(node: IfElse, s: _Scope) -> Kleene:
    test, body, orelse = _exact([write(node.test, s), write(node.body, s), write(node.orelse, s)])
    t = test.value
    value = f"(CASE WHEN {t} THEN {body.value} WHEN NOT {t} THEN {orelse.value} END)"  # test Unknown: Unknown
    missing = {}
    for key in dict.fromkeys([*test.missing, *body.missing, *orelse.missing]):
        missing[key] = (f"(CASE WHEN {t} IS NULL THEN {test.missing.get(key, 'FALSE')} WHEN {t} THEN "
                        f"{body.missing.get(key, 'FALSE')} ELSE {orelse.missing.get(key, 'FALSE')} END)")
    return Kleene(value, missing)


_CALLS = {"min": "LEAST", "max": "GREATEST", "abs": "ABS"}


def _months(start: str, end: str) -> str:
    """Whole months from `start` to `end`, end not before start (engine.core.dates.months_between): a month is
    complete on the same day of the next month, or its last day where it has fewer."""
    return (f"((YEAR({end}) - YEAR({start})) * 12 + (MONTH({end}) - MONTH({start})) - CASE WHEN DAY({end}) < "
            f"LEAST(DAY({start}), DAY(LAST_DAY({end}))) THEN 1 ELSE 0 END)")


def _months_between(a: str, b: str) -> str:
    return f"(CASE WHEN {b} < {a} THEN -{_months(b, a)} ELSE {_months(a, b)} END)"


def _years_between(a: str, b: str) -> str:
    months = _months_between(a, b)  # whole years toward zero (the remainder takes the months' sign)
    return f"CAST(({months} - {months} % 12) / 12 AS BIGINT)"


# the date counts engine.core.dates computes, over dates known (a Call is strict)
_DATE_CALLS: dict[str, Callable[[str, str], str]] = {"months_between": _months_between,
                                                     "years_between": _years_between}


def _call(node: Call, s: _Scope) -> Kleene:
    if node.func in _DATE_CALLS:
        a, b = _exact([write(x, s) for x in node.args])
        return _strict(_DATE_CALLS[node.func](a.value, b.value), [a, b])
    if node.func not in _CALLS:  # days_between, *_after: not yet in SQL (the row engine computes them)
        raise SqlUnsupported(msg("sql.why.function", name=node.func))
    args = _exact([write(a, s) for a in node.args])
    value = f"{_CALLS[node.func]}({', '.join(a.value for a in args)})"
    if len(args) > 1:  # LEAST and GREATEST pass over NULLs: min and max of an Unknown are Unknown
        value = f"(CASE WHEN {' OR '.join(f'{a.value} IS NULL' for a in args)} THEN NULL ELSE {value} END)"
    return _strict(value, args)


# One writer per node kind of engine.lang.tree.Node (tests/test_runtime_sql.py checks that none is missing).
SQL_WRITERS: dict[type, Callable[..., Kleene]] = {
    Lit: _lit, Name: _name, Choices: _choices, Unary: _unary, Arith: _arith, Logic: _logic, Compare: _compare,
    IfElse: _if_else, Call: _call}


def write(node: Node, s: _Scope) -> Kleene:
    writer = SQL_WRITERS.get(type(node))
    if writer is None:
        raise SqlUnsupported(msg("sql.why.node", type=type(node).__name__))
    return writer(node, s)


def _names(node: Node) -> set[str]:
    found, stack, depth = set(), [(node, 1)], 0
    while stack:
        current, d = stack.pop()
        depth = max(depth, d)
        if isinstance(current, Name):
            found.add(current.id)
        stack.extend((c, d + 1) for c in children(current))
    if depth > _MAX_DEPTH:
        raise SqlUnsupported(msg("sql.why.depth", depth=depth))
    return found


# --- the query --------------------------------------------------------------------------------------------

@dataclass
class _Emitter:
    """engine.model.awards.base.SqlEmitter for one clause: expressions as SQL (Kleene), each noted with what it
    may miss."""

    scope: _Scope
    reads: set[str] = field(default_factory=set)
    clause: str | None = None
    query: _Query | None = None
    written: dict[int, tuple[Expr, Kleene]] = field(default_factory=dict)  # id(expr) -> (expr, its SQL)

    def kleene(self, expr: Expr) -> Kleene:
        _names(expr.node)
        found = self.written.get(id(expr))
        if found is None:
            found = (expr, self._whole(expr.node))
            self.written[id(expr)] = found
        return found[1]

    def _whole(self, node: Node) -> Kleene:
        """An expression as a whole: a quotient that divides by 0 is Unknown, missing `cannot_compute.<clause>`
        alone (engine.runtime.interpret._Run._not_computable), where what it divides is known."""
        if not (isinstance(node, Arith) and node.op == "/") or self.clause is None:
            return write(node, self.scope)
        n, d = _exact([write(node.left, self.scope), write(node.right, self.scope)])
        zero = f"({n.value} IS NOT NULL AND {d.value} = 0)"
        return Kleene(f"(CASE WHEN {n.value} IS NULL OR {d.value} IS NULL OR {d.value} = 0 THEN NULL ELSE 0 END)",
                      {**union([n.missing, d.missing]),
                       NotComputable.of(self.clause, "", (None, None, None), ()).key: zero}, exact=False)

    def expr(self, expr: Expr) -> str:
        return _exact([self.kleene(expr)])[0].value

    def compare(self, expr: Expr, op: str, value: Decimal) -> str:
        _names(expr.node)
        node = Compare(expr.node, (op,), (Lit(value),))
        found = _quotient_compare(node, self.scope, whole=self.clause is not None)
        return (found or write(node, self.scope)).value

    def item_expr(self, expr: Expr, item: str, index: str, list_name: str, fields: tuple[str, ...]
                  ) -> tuple[str, str, str]:
        self.column(list_name)
        _names(expr.node)
        for name in (item, index, "k"):
            if any(name.casefold() == n.casefold() for n in (*self.scope.facts, *self.scope.params)):
                raise SqlUnsupported(msg("sql.why.name", name=name))  # a lambda's parameter would hide it
        scope = _ItemScope(self.scope, item, index, list_name, fields)
        k = write(expr.node, scope)
        self.reads |= scope.row_names  # the row's names it reads: known, or the row engine's
        keys = [f"CASE WHEN {test} THEN {scope.keys[key]} END" for key, test in k.missing.items()]
        listed = (f"list_filter([{', '.join(keys)}], lambda k: k IS NOT NULL)" if keys
                  else "CAST([] AS VARCHAR[])")
        return k.value, listed, any_of([f"({test})" for test in k.missing.values()])

    def each_item(self, items: str, make: Callable[[str, str], str]) -> str:
        # DuckDB: a lambda over the items with their index (from 1), capturing nothing (a lambda that reads the row's
        # list by index runs row by row); elsewhere the indexes' range, which every dialect counts alike (Spark's
        # TRANSFORM counts a lambda's index from 0)
        if self.query is not None and self.query.portable:
            return (f"list_transform(range(array_length({items})), lambda pi_index: "
                    f"{make(f'{items}[CAST(pi_index AS BIGINT) + 1]', 'pi_index')})")
        return f"list_transform({items}, lambda pi_item, pi_index: {make('pi_item', '(pi_index - 1)')})"

    def column(self, name: str) -> str:
        if self.query is not None and not self.query.lists:
            raise SqlUnsupported(msg("sql.why.list_fact", name=name))
        return ident(name)

    def literal(self, value: object) -> str:
        return literal(value)

    def reason(self, why: type[Why]) -> str:
        return literal(why.reason)

    def target(self, clause_id: str) -> tuple[str, str]:
        return (f"COALESCE({ident(clause_id + ':uncapped')}, 0)", ident(clause_id + ":remaining"))

    def counted(self) -> str:
        assert self.clause is not None and self.query is not None
        said = f"COALESCE({ident(GRANTED_KNOWN)}, FALSE)"
        assert self.clause in self.query.granted
        return f"CASE WHEN {said} THEN {self.query.round(f'COALESCE({ident(GRANTED + self.clause)}, 0)')} END"


@dataclass(frozen=True)
class SqlQuery:
    """The query and what it needs: its text (DuckDB), its columns, and the clauses whose rows it leaves."""

    text: str
    clause_ids: tuple[str, ...]  # the clauses with results, measures aside, in the policy's order
    facts: Mapping[str, str]  # fact name -> its column type
    granted: tuple[str, ...]  # clause ids whose earlier grants count, or raise a cap (a "granted.<id>" column each)
    rows_engine: Mapping[str, str]  # clause id -> why its applicants' rows go to the row engine
    places: int = 2  # the money rule's places: "$total" is a DECIMAL(38,places)


class _Query:
    def __init__(self, plan: Plan, lists: bool = True, portable: bool = False):
        self.plan, self.lists, self.portable = plan, lists, portable
        p = self.policy = plan.policy
        money = p.money
        _sign, _digits, exponent = money.round_to.as_tuple()
        if money.rounding != "half_up" or not money._decimal_step or not isinstance(exponent, int):
            raise SqlUnsupported(msg("sql.why.money_rule", round_to=money.round_to, rounding=money.rounding))
        self.places = max(0, -exponent)
        self.params = {name: f"$p.{name}" for name in p.parameters}
        self.scope = _Scope(p, self.params)
        self.ctes: list[str] = []
        self.current: dict[str, tuple[str, str, str]] = {}  # clause id -> its (outcome, amount, reason) columns
        self.fallbacks: list[str] = []  # boolean columns: the row goes to the row engine
        self.unsupported: dict[str, str] = {}
        self.keys: dict[str, dict[str, str]] = {}  # clause id -> key -> its column: waiting for that key
        self.listed: set[str] = set()  # clauses whose award lists keys of its own (a list's items)
        self.rekeyed: set[str] = set()  # clauses a group may leave waiting for other keys (engine: top_up)
        self.pending: dict[str, str] = {}  # clause id -> its column: waiting on its group's top_up, not live
        # clauses whose keys another reads: required by a clause, or a member of a group
        self.waited_on = {d for t in plan.tasks if isinstance(t, Decide) for d in t.deps} | {
            m for g in p.groups for m in g.members}
        # what was granted under a clause counts against its cap or once-rule, or a cap its bonus raises
        counted = {c.id for c in p.counted_clauses()}
        self.granted = tuple(c.id for c in p.clauses if c.award is not None and (
            c.id in counted or c.award.builds_on_spent_cap()))
        self.ids = tuple(c.id for c in p.clauses if c.measure is None)
        # clauses a bonus builds on (engine.model.awards.bonus: raising their cap)
        self.targets = {t for c in p.clauses if c.award is not None and c.award.builds_on_spent_cap()
                        for t in c.award.depends_on()}
        self.last = SOURCE

    # -- helpers -----------------------------------------------------------------------------------
    def round(self, code: str) -> str:
        """`code` rounded by the money rule (half up, away from zero, as ROUND rounds a DECIMAL), exact."""
        return f"CAST(ROUND({code}, {self.places}) AS DECIMAL(38,{self.places}))"

    def cte(self, columns: list[str]) -> None:
        name = f"t{len(self.ctes)}"
        self.ctes.append(f"{name} AS (SELECT *, {', '.join(columns)} FROM {self.last})")
        self.last = name

    def next_fallback(self) -> str:
        column = f"$fb{len(self.fallbacks)}"
        self.fallbacks.append(column)
        return column

    def fallback(self, condition: str) -> str:
        return f"COALESCE({condition}, TRUE) AS {ident(self.next_fallback())}"

    # -- the day: parameters in force, the policy's period and fund years --------------------------
    def day(self) -> None:
        p = self.policy
        cols = [f"{CLAIM} AS {ident(DAY)}"]
        # a claim filed after the period (within its fund year's filing window) reads the period's last day
        on = CLAIM if p.end is None else f"LEAST({CLAIM}, {literal(p.end)})"
        for name, param in p.parameters.items():
            cases = []
            for value in reversed(param.values):  # the latest value starting on or before the day, if not ended
                test = f"{on} >= {literal(value.start)}"
                if value.end is not None:
                    test += f" AND {on} <= {literal(value.end)}"
                cases.append(f"WHEN {test} THEN {literal(value.value)}")
            code = f"CASE {' '.join(cases)} END" if cases else "NULL"
            cols.append(f"{code} AS {ident(self.params[name])}")
        unsaid = self.year_unsaid()
        period, waits = self.period(), "FALSE"
        if unsaid is not None:
            assert p.fund_year is not None
            period = f"CASE WHEN {ident(p.fund_year)} IS NULL THEN {unsaid[0]} ELSE {period} END"
            waits = f"({ident(p.fund_year)} IS NULL AND {unsaid[1]})"
        cols.append(f"{period} AS \"$period\"")
        cols.append(f"{waits} AS {YEAR_WAITS}")
        stray = [f"{CLAIM} IS NULL"]
        if p.fund_year is not None:
            year = ident(p.fund_year)
            # a fund year after the claim date (an error the row engine words); a missing one where its period
            # cannot be read per day (year_unsaid)
            stray.append(f"COALESCE({year} > YEAR({CLAIM}), FALSE)")
            if unsaid is None:
                stray.append(f"{year} IS NULL")
        if len(p.recipients) > 1:
            kinds = ", ".join(literal(k) for k in p.recipients)
            stray.append(f"{KIND} IS NULL OR {KIND} NOT IN ({kinds})")
        cols.append(self.fallback(" OR ".join(f"({s})" for s in stray)))
        if p.areas:
            areas = ", ".join(literal(a) for a in p.areas)
            cols.append(f"({AREA} NOT IN ({areas})) AS \"$outside\"")
        self.cte(cols)

    def year_unsaid(self) -> tuple[str, str] | None:
        """For a row without its fund year: the reason no clause applies (SQL text, NULL if none) and whether the
        missing year decides whether the policy pays (SQL boolean), as engine.runtime.interpret.out_of_period
        says. Both depend on the claim date alone, and change only on the policy's first day, the day after its
        last, a year's first day or the day after a filing deadline: out_of_period is read on each such day and
        holds until the next. None when the years paid have no end (the row engine's)."""
        p = self.policy
        if p.fund_year is None:
            return None
        first, last = p.fund_years_paid()
        if last is None:
            return None
        one = dt.timedelta(days=1)
        top = last + 3 + (p.filing_months // 12 + 1 if p.filing_months is not None else 0)
        days = {p.start}
        if p.end is not None:
            days.add(p.end + one)
        for y in range(min(p.start.year, first) - 1, top + 1):
            days.add(dt.date(y, 1, 1))
            deadline = p.filing_deadline(y)
            if deadline is not None:
                days.add(deadline + one)
        ordered = sorted(days)
        pieces: list[tuple[dt.date | None, str, bool]] = []  # (until, reason, decides), the last without end
        for start, until in zip([ordered[0] - one] + ordered, ordered + [None], strict=True):
            why, decides = out_of_period(p, None, start, cast(Any, None))
            reason = literal(why.reason) if why is not None else "NULL"
            if pieces and pieces[-1][1:] == (reason, decides is not None):
                pieces[-1] = (until, reason, decides is not None)
            else:
                pieces.append((until, reason, decides is not None))
        reasons = " ".join(f"WHEN {CLAIM} < {literal(until)} THEN {reason}" for until, reason, _d in pieces[:-1])
        waits = " ".join(f"WHEN {CLAIM} < {literal(until)} THEN {literal(d)}" for until, _r, d in pieces[:-1])
        return (f"CASE {reasons} ELSE {pieces[-1][1]} END" if reasons else pieces[-1][1],
                f"CASE {waits} ELSE {literal(pieces[-1][2])} END" if waits else literal(pieces[-1][2]))

    def period(self) -> str:
        """The reason no clause applies on this day for this fund year (engine.runtime.interpret.out_of_period
        with the fund year known), or NULL."""
        p = self.policy
        day = CLAIM
        before = f"{day} < {literal(p.start)}"
        after = f"{day} > {literal(p.end)}" if p.end is not None else "FALSE"
        period = literal(OutOfPolicyPeriod.reason)
        if p.fund_year is None:
            return f"CASE WHEN {before} OR {after} THEN {period} END"
        if p.fund_year_in_force is None:  # every fund year is paid (Policy.fund_year_paid), within the period
            if p.filing_months is not None:
                raise SqlUnsupported(msg("sql.why.filing"))
            return f"CASE WHEN {before} OR {after} THEN {period} END"
        year = ident(p.fund_year)
        first, last = p.fund_years_paid()
        unpaid = [f"{year} < {first}"] if first is not None else []
        if last is not None:
            unpaid.append(f"{year} > {last}")
        cases = [f"WHEN {before} THEN {period}"]
        if unpaid:
            cases.append(f"WHEN {' OR '.join(unpaid)} THEN {literal(FundYearNotPaid.reason)}")
        if first is None or last is None:  # the years paid have no end: a deadline per year would be unbounded
            if p.filing_months is not None:
                raise SqlUnsupported(msg("sql.why.filing"))
            cases.append(f"WHEN {after} THEN {period}")
            return f"CASE {' '.join(cases)} END"
        late = []
        for y in range(first, last + 1):
            deadline = p.filing_deadline(y)
            if deadline is None:
                late.append(f"WHEN {year} = {y} AND {after} THEN {period}")
            else:
                late.append(f"WHEN {year} = {y} AND {day} > {literal(deadline)} THEN {literal(FiledLate.reason)}")
        return f"CASE {' '.join(cases + late)} END"

    # -- one clause --------------------------------------------------------------------------------
    def parts(self, task: Decide) -> Callable[[str], list[str]]:
        """The clause's columns, or SqlUnsupported before anything is written."""
        clause, p = task.clause, self.policy
        if clause.refers_to is not None and clause.refers_clause is not None and clause.refers_to in p.linked:
            raise SqlUnsupported(msg("sql.why.reference"))
        e = _Emitter(self.scope, clause=clause.id, query=self)
        self.scope.strays.clear()
        conditions = _exact([e.kleene(c.expr) for c in clause.conditions])
        award: SqlAward | None = None
        needs: list[tuple[str, Kleene]] = []
        if clause.refers_to is None:
            assert clause.award is not None
            before = len(e.written)
            award = clause.award.sql(e)
            if award is None:
                raise SqlUnsupported(msg("sql.why.form", form=clause.award.keyword))
            if type(clause.award).settle is not AwardForm.settle and award.settle is None:
                raise SqlUnsupported(msg("sql.why.settles", form=clause.award.keyword))
            if award.needs is None:  # every expression the form wrote, always read
                needs = [("TRUE", k) for _e, k in list(e.written.values())[before:]]
            else:
                needs = [(test, e.kleene(expr)) for test, expr in award.needs]
        cap = _exact([e.kleene(clause.cap)])[0] if clause.cap is not None else None
        offset = _exact([e.kleene(clause.offset.amount)])[0] if clause.offset is not None else None
        divides = list(dict.fromkeys(self.scope.strays))  # where a quotient it reads divides by zero
        counted = clause.refers_to is None and (clause.cap is not None or clause.period == "once")
        deps = [(d, self.current[d]) for d in task.deps]
        spent_cap = clause.award is not None and clause.award.builds_on_spent_cap()
        places = self.places

        def columns(applies: str) -> list[str]:
            o, a, r = (f"{clause.id}:outcome", f"{clause.id}:amount", f"{clause.id}:reason")
            cid = clause.id
            # the row engine's: a name an item's `where` reads of the row, not given
            stray = [f"{self.scope.read(n).value} IS NULL" for n in sorted(e.reads)] + divides
            unsaid = f"NOT COALESCE({ident(GRANTED_KNOWN)}, FALSE)"
            for dep, (do, _da, dr) in deps:
                if spent_cap and dep not in clause.requires:
                    stray.append(f"COALESCE({ident(dr)} = {literal(CapUsed.reason)}, FALSE)")
                if dep in self.listed or dep in self.rekeyed:
                    # what it waits for is a list's items, or was changed by its group: the row engine's
                    stray.append(f"COALESCE({ident(do)} = 'undetermined', FALSE)")
            # What it waits for, by key (engine.runtime.interpret._Run._decide): the area and the fund year where
            # missing, the conditions not known, what a required clause waits for, what the amount, the grants
            # counted, the cap and the offset miss. Each key's test holds where it is missing.
            waits: list[Mapping[str, str]] = []
            if p.areas:
                waits.append({MISSING_AREA.key: f"{AREA} IS NULL"})
            if p.fund_year is not None:
                waits.append({MissingFact(p.fund_year).key: YEAR_WAITS})
            waits += [c.missing for c in conditions]
            waits += [self.keys.get(d, {}) for d, _cols in deps]
            # keys the award lists itself (a list's items), each block where it sorts among the others
            listed = award.missing if award is not None and award.missing else ()
            if listed:
                # each read over the items once, in CTEs of their own (DuckDB builds a lambda's state again for
                # every vector it is called on, and would call it in each CASE the test and keys are written in):
                # whether it waits where the clause applies, then its keys where it waits
                tests, texts, read = [], [], []
                for i, (key, text, test) in enumerate(listed):
                    w, k = ident(f"{cid}:lw{i}"), ident(f"{cid}:lk{i}")
                    tests.append(f"COALESCE(CASE WHEN {applies} THEN {test} END, FALSE) AS {w}")
                    texts.append(f"CASE WHEN {w} THEN {text} END AS {k}")
                    read.append((key, k, w))
                self.cte(tests)
                self.cte(texts)
                listed = tuple(read)
            raw_unknown = any_of([f"COALESCE({test} AND {k.value} IS NULL, FALSE)" if test != "TRUE"
                                  else f"{k.value} IS NULL" for test, k in needs]
                                 + [waits for _k, _text, waits in listed])
            waits += [union([k.missing], None if test == "TRUE" else f"COALESCE({test}, FALSE)") for test, k in needs]
            if counted:
                waits.append({MissingGrant.of(cid).key: unsaid})
            if cap is not None:
                waits.append(cap.missing)
            if offset is not None:
                waits.append(offset.missing)
            missing = union(waits)
            waiting_any = any_of(list(missing.values()) + [waits for _k, _text, waits in listed])
            keys = [(k, f"CASE WHEN {t} THEN {literal(k)} END") for k, t in missing.items()] + [
                (k, text) for k, text, _waits in listed]
            keys.sort(key=lambda kv: kv[0])
            why_missing = f"concat({literal(MISSING + ':')}, concat_ws(';', {', '.join(c for _k, c in keys)}))" \
                if keys else literal(MISSING)
            g = f"COALESCE({ident(GRANTED + cid)}, 0)" if counted else "0"
            raw = f"({award.raw})" if award is not None else "NULL"
            if award is not None:
                # beyond 16 digits before the point the engine stops (a number too large): the row engine says so
                stray.append(f"COALESCE(NOT {raw_unknown} AND ABS({raw}) >= "
                             f"{literal(Decimal(10) ** _MAX_INTEGER_DIGITS)}, FALSE)")
            if cap is not None:
                stray.append(f"COALESCE(({cap.value}) < 0, FALSE)")
            if award is not None and award.fallback is not None:
                stray.append(f"COALESCE({award.fallback}, FALSE)")
            cases = [(f"NOT ({applies})", "not_applicable", literal(OtherRecipient.reason))]
            # the reason of a clause decided whatever its fund year but for whether the year is paid (the engine's
            # _Run.decide): it waits for the year alone
            year_key = MissingFact(p.fund_year).key if p.fund_year is not None else None
            year_alone = literal(f"{MISSING}:{year_key}") if year_key is not None else None
            outcome_cases = ["WHEN \"$period\" IS NOT NULL THEN 'not_applicable'"]
            reason_cases = ["WHEN \"$period\" IS NOT NULL THEN \"$period\""]
            if task.dated:
                tests = []
                if clause.start is not None:
                    tests.append(f"{ident(DAY)} < {literal(clause.start)}")
                if clause.end is not None:
                    tests.append(f"{ident(DAY)} > {literal(clause.end)}")
                cases.append((" OR ".join(tests), "not_applicable", literal(OutOfClausePeriod.reason)))
            if p.areas:
                cases.append(("\"$outside\"", "not_applicable", literal(OutsideJurisdiction.reason)))
            # Past here, a row whose missing fund year decides whether the policy pays waits for it
            # (engine.runtime.interpret._Run.decide): undetermined, `missing` where it would be ineligible,
            # whatever the reason, else waiting for the year and whatever else it misses.
            waiting = len(cases)
            if conditions:  # a condition known to fail decides, whatever the others miss (Kleene's and)
                cases.append((f"NOT ({' AND '.join(c.value for c in conditions)})", "ineligible",
                              literal(ConditionsFailed.reason)))
            if deps:  # a required clause decided, not eligible (one waiting is waited for)
                cases.append((" OR ".join(f"({ident(do)} NOT IN ('eligible', 'undetermined'))"
                                          for _d, (do, _a, _r) in deps),
                              "ineligible", literal(RequiresFailed.reason)))
            capped = f"{self.round(cap.value)} - {self.round(g)}" if cap is not None else None
            if award is None:  # referred: the same for everyone referred
                cases.append((waiting_any, "undetermined", why_missing))
                cases.append(("TRUE", "referred", "''"))
            else:
                if clause.period == "once":
                    cases.append((f"{self.round(g)} > 0", "ineligible", literal(OnceGranted.reason)))
                if capped is not None:
                    # a cap used up only when what was granted is said
                    cases.append((f"NOT ({unsaid}) AND {capped} <= 0", "ineligible", literal(CapUsed.reason)))
                if award.stop is not None:
                    cases.append((f"({award.stop}) IS NOT NULL", "ineligible", f"({award.stop})"))
                cases.append((waiting_any, "undetermined", why_missing))
                cases.append(("TRUE", "eligible", "''"))
            for i, (test, outcome, reason) in enumerate(cases):
                if i == waiting and year_alone is not None:
                    failing = " ".join(f"WHEN {t} THEN {year_alone}" for t, o, _r in cases[i:] if o == "ineligible")
                    outcome_cases.append(f"WHEN {YEAR_WAITS} THEN 'undetermined'")
                    reason_cases.append(f"WHEN {YEAR_WAITS} THEN " + (f"CASE {failing} ELSE {why_missing} END"
                                                                       if failing else why_missing))
                outcome_cases.append(f"WHEN {test} THEN '{outcome}'")
                reason_cases.append(f"WHEN {test} THEN {reason}")
            amount = "NULL"
            if award is not None:
                amount = self.round(raw)
                amount = f"GREATEST({amount}, {literal(Decimal(0))})"
                if capped is not None:
                    amount = f"LEAST({amount}, {capped})"
                if award.settle is not None:
                    amount = award.settle(amount)
                    # settled off the money grid: the engine writes it as it is, the query would round it
                    stray.append(f"COALESCE({ident(o + '$')} = 'eligible' AND ({amount}) <> {self.round(amount)}, "
                                 "FALSE)")
                if offset is not None:
                    received = self.round(f"GREATEST({offset.value}, 0)")
                    amount = self.round(f"GREATEST({amount} - {received}, 0)")
                amount = f"CASE WHEN {ident(o + '$')} = 'eligible' THEN CAST({amount} AS DECIMAL(38,{places})) END"
            targets = []
            if clause.id in self.targets:  # a bonus raises its cap: its amount before the cap, what the cap leaves
                before = f"GREATEST({self.round(raw)}, {literal(Decimal(0))})" if award is not None else "0"
                targets = [f"CASE WHEN {ident(o + '$')} = 'eligible' THEN {before} END AS {ident(cid + ':uncapped')}",
                           f"CASE WHEN {ident(o + '$')} = 'eligible' THEN {capped or 'NULL'} END "
                           f"AS {ident(cid + ':remaining')}"]
            # what it waits for, per key, where it is undetermined with its keys listed (a clause requiring it
            # waits for the same)
            own = {}
            # waiting for the fund year alone is waiting for nothing else its tests would say
            for n, (key, test) in enumerate(missing.items() if cid in self.waited_on else ()):
                column = f"{cid}:m{n}"
                own[key] = ident(column)
                alone = f" AND {ident(r + '$')} <> {year_alone}" if year_alone is not None and key != year_key else ""
                targets.append(f"CASE WHEN {ident(o + '$')} = 'undetermined' THEN COALESCE({ident(r + '$')} <> "
                               f"{literal(MISSING)}{alone} AND {test}, FALSE) ELSE FALSE END AS {ident(column)}")
            if listed:
                self.listed.add(cid)
            self.keys[cid] = own
            return [f"CASE {' '.join(outcome_cases)} END AS {ident(o + '$')}",
                    f"CASE {' '.join(reason_cases)} END AS {ident(r + '$')}",
                    # evaluated only for its applicants (a CASE's branches are, an AND's are not)
                    f"CASE WHEN ({applies}) AND \"$period\" IS NULL THEN COALESCE({' OR '.join(stray) or 'FALSE'}, "
                    f"TRUE) ELSE FALSE END AS {ident(self.next_fallback())}",
                    ] + [f"__TARGETS__{chr(1).join(targets)}"] + [f"__AMOUNT__{amount}__{a}"]

        def finish(applies: str) -> list[str]:
            cols = columns(applies)
            o, a, r = (f"{clause.id}:outcome", f"{clause.id}:amount", f"{clause.id}:reason")
            amount, column = cols[-1][len("__AMOUNT__"):].rsplit("__", 1)
            targets = [t for t in cols[-2][len("__TARGETS__"):].split(chr(1)) if t]
            self.current[clause.id] = (o, a, r)
            self.cte(cols[:-2])
            return [f"{ident(o + '$')} AS {ident(o)}", f"{ident(r + '$')} AS {ident(r)}",
                    f"{amount} AS {ident(a)}"] + targets
        return finish

    # -- one exclusive group ----------------------------------------------------------------------
    def group(self, group: Group, n: int) -> None:
        members = [m for m in group.members if m in self.current]
        if len(members) < 2:
            return
        if group.earlier == "top_up":
            self.top_up(group, members, n)
        cols = [self.current[m] for m in members]
        # live: eligible, waiting or referred, and not waiting on the group's top_up (no longer in its choice)
        pend = [self.pending.get(m, "FALSE") for m in members]
        live = [f"({ident(o)} IN ('eligible', 'undetermined', 'referred') AND NOT {pend[i]})"
                for i, (o, _a, _r) in enumerate(cols)]
        count = " + ".join(f"CAST({x} AS INTEGER)" for x in live)
        # members waiting (undetermined, referred) beside others live: the eligible ones wait too, for what the
        # waiting ones wait for (engine.runtime.interpret._Run.choose: `missing:<their keys>`, a referred
        # member's document); none eligible: nothing changes
        wait = [f"({ident(o)} IN ('undetermined', 'referred') AND NOT {pend[i]})" for i, (o, _a, _r) in enumerate(cols)]
        waiting = " OR ".join(wait)
        group_waits = f"({count} >= 2 AND ({waiting}))"
        stray = [f"({group_waits} AND ({ident(o)} = 'undetermined'))" for m, (o, _a, _r) in zip(members, cols,
                                                                                                  strict=True)
                 if m in self.listed or (m in self.rekeyed and m not in self.pending)]
        by_key: dict[str, list[str]] = {}
        for i, m in enumerate(members):
            o = cols[i][0]
            for key, column in self.keys.get(m, {}).items():
                by_key.setdefault(key, []).append(f"({wait[i]} AND {column})")
            clause = self.plan.by_id[m]
            if clause.refers_to is not None:
                by_key.setdefault(MissingDocument.of(clause.refers_to).key, []).append(f"({ident(o)} = 'referred')")
        keys = sorted(by_key)
        listed = "concat_ws(';', " + ", ".join(f"CASE WHEN {any_of(by_key[k])} THEN {literal(k)} END"
                                               for k in keys) + ")" if keys else "''"
        pending_reason = (f"CASE WHEN {listed} = '' THEN {literal(MISSING)} ELSE concat({literal(MISSING + ':')}, "
                          f"{listed}) END")
        if group.earlier == "hold":  # with a member live, earlier grants under any member are weighed there
            earlier = [f"COALESCE({ident(GRANTED + m)}, 0) <> 0" for m in members if m in self.granted]
            if self.granted:
                earlier.append(f"NOT COALESCE({ident(GRANTED_KNOWN)}, FALSE)")
            if earlier:
                stray.append(f"(({' OR '.join(live)}) AND ({' OR '.join(earlier)}))")
        wins = []
        for i, (_o, a, _r) in enumerate(cols):
            if group.pick == "best":  # the largest amount, the first of equals
                beats = [f"(NOT {live[j]} OR COALESCE({ident(a)}, 0) {'>' if j < i else '>='} "
                         f"COALESCE({ident(cols[j][1])}, 0))" for j in range(len(cols)) if j != i]
            else:  # the first live member
                beats = [f"NOT {live[j]}" for j in range(i)]
            wins.append(f"({live[i]} AND {' AND '.join(beats) or 'TRUE'})")
        new = []
        for i, m in enumerate(members):
            o, a, r = cols[i]
            lost = f"({count} >= 2 AND {live[i]} AND NOT {wins[i]} AND NOT ({waiting}))"
            held = f"({group_waits} AND {ident(o)} = 'eligible')"
            no, na, nr = f"{m}:outcome#{n}", f"{m}:amount#{n}", f"{m}:reason#{n}"
            new += [f"CASE WHEN {lost} THEN 'ineligible' WHEN {held} THEN 'undetermined' ELSE {ident(o)} END "
                    f"AS {ident(no)}",
                    f"CASE WHEN {lost} OR {held} THEN NULL ELSE {ident(a)} END AS {ident(na)}",
                    f"CASE WHEN {lost} THEN {literal(LostToGroup.reason)} WHEN {held} THEN {pending_reason} "
                    f"ELSE {ident(r)} END AS {ident(nr)}"]
            self.current[m] = (no, na, nr)
        self.rekeyed.update(members)  # an eligible member may now wait for the others' keys
        new.append(self.fallback(f"\"$period\" IS NULL AND ({' OR '.join(stray) or 'FALSE'})"))
        self.cte(new)

    def top_up(self, group: Group, members: list[str], n: int) -> None:
        """就高不重复 (engine.runtime.interpret._Run.top_up): each eligible member pays what the others were paid for
        this fund year less, or is held by the group when that leaves nothing. Where what another member was paid
        this year is not known — not said (`granted.<id>`), or said summed for no particular year under a clause
        paid once, for a lifetime or per claim (`granted.<id>.year`) — the eligible member waits for it
        (undetermined, those keys) and is no longer live for the group's choice (`self.pending`)."""
        by_id = self.plan.by_id
        cols = [self.current[m] for m in members]
        paid = {m: f"COALESCE({ident(GRANTED + m)}, 0)" if m in self.granted else "0" for m in members}
        unsaid = f"NOT COALESCE({ident(GRANTED_KNOWN)}, FALSE)" if self.granted else "FALSE"
        # members paid earlier under a clause summed without its fund year: what they were paid this year is unknown
        yearless = {m: f"({paid[m]} <> 0)" for m in members if m in self.granted and by_id[m].period != "year"}
        new = []
        for i, m in enumerate(members):
            o, a, r = cols[i]
            others = [x for x in members if x != m]
            unknown = any_of([yearless[x] for x in others if x in yearless])
            deducted = " + ".join(f"GREATEST({paid[x]}, 0)" for x in others) or "0"
            topped = f"({ident(o)} = 'eligible' AND ({deducted}) > 0)"
            after = f"GREATEST({ident(a)} - ({deducted}), 0)"
            held = f"({topped} AND {after} <= 0)"
            pending = f"(({unsaid} OR {unknown}) AND {ident(o)} = 'eligible')"
            unsaid_keys = ";".join(sorted(MissingGrant.of(x).key for x in others))
            year_keys = "concat_ws(';', " + ", ".join(
                f"CASE WHEN {yearless[x]} THEN {literal(MissingGrantYear.of(x).key)} END"
                for x in sorted((x for x in others if x in yearless), key=lambda x: MissingGrantYear.of(x).key)
            ) + ")" if unknown != "FALSE" else "''"
            no, na, nr = f"{m}:outcome#t{n}", f"{m}:amount#t{n}", f"{m}:reason#t{n}"
            np = f"{m}:pending#t{n}"
            new += [f"CASE WHEN {pending} THEN 'undetermined' WHEN {held} THEN 'ineligible' ELSE {ident(o)} END "
                    f"AS {ident(no)}",
                    f"CASE WHEN {pending} OR {held} THEN NULL WHEN {topped} THEN {after} ELSE {ident(a)} END "
                    f"AS {ident(na)}",
                    f"CASE WHEN {pending} AND {unsaid} THEN {literal(MISSING + ':' + unsaid_keys)} "
                    f"WHEN {pending} THEN concat({literal(MISSING + ':')}, {year_keys}) "
                    f"WHEN {held} THEN {literal(HeldByGroup.reason)} ELSE {ident(r)} END AS {ident(nr)}",
                    f"{pending} AS {ident(np)}"]
            self.current[m] = (no, na, nr)
            self.pending[m] = ident(np)
        self.rekeyed.update(members)  # what a pending member waits for is the group's: see columns
        self.cte(new)

    # -- the whole query ---------------------------------------------------------------------------
    def build(self) -> SqlQuery:
        self.day()
        for n, task in enumerate(self.plan.tasks):
            if isinstance(task, Choose):
                self.group(task.group, n)
            elif task.clause.measure is None:
                finish = self.parts_or_none(task)
                if finish is not None:
                    self.cte(finish)
        out = [ident(ROW), "(" + " OR ".join(ident(f) for f in self.fallbacks) + f") AS {ident(ROWS_ENGINE)}"]
        amounts = []
        for cid in self.ids:
            o, a, r = self.current[cid]
            out += [f"{ident(o)} AS {ident(cid + ':outcome')}", f"{ident(a)} AS {ident(cid + ':amount')}",
                    f"{ident(r)} AS {ident(cid + ':reason')}", f"'' AS {ident(cid + ':missing')}"]
            amounts.append(f"COALESCE({ident(a)}, 0)")
        total = self.round(" + ".join(amounts) or "0")
        out.append(f"{total} AS {ident(TOTAL)}")
        text = "WITH " + ",\n".join(self.ctes) + f"\nSELECT {', '.join(out)} FROM {self.last}"
        facts = {name: f.kind.column(f) for name, f in self.policy.all_facts().items()}
        return SqlQuery(text, self.ids, facts, self.granted, dict(self.unsupported), self.places)

    def parts_or_none(self, task: Decide) -> list[str] | None:
        clause = task.clause
        applies = f"{KIND} IN ({', '.join(literal(k) for k in clause.recipients)})"
        try:
            finish = self.parts(task)
        except SqlUnsupported as why:
            self.unsupported[clause.id] = why.why
            o, a, r = (f"{clause.id}:outcome", f"{clause.id}:amount", f"{clause.id}:reason")
            self.current[clause.id] = (o, a, r)
            # decided here only where it does not apply; elsewhere by the row engine
            return [f"CASE WHEN \"$period\" IS NOT NULL OR NOT ({applies}) THEN 'not_applicable' END AS {ident(o)}",
                    f"CAST(NULL AS DECIMAL(38,{self.places})) AS {ident(a)}",
                    f"CASE WHEN \"$period\" IS NOT NULL THEN \"$period\" WHEN NOT ({applies}) THEN "
                    f"{literal(OtherRecipient.reason)} END AS {ident(r)}",
                    self.fallback(f"({applies}) AND \"$period\" IS NULL")]
        return finish(applies)


def sql_query(policy: Policy, lists: bool = True, portable: bool = False) -> SqlQuery:
    """The policy's query (DuckDB), made on first use and kept with its plan; SqlUnsupported if it cannot be.
    Without `lists`, a clause reading a list fact's items is left to the row engine (for a dialect with no
    functions over lists: PostgreSQL). `portable`: written only with what sqlglot translates as it means (for
    another dialect), where DuckDB has a cheaper form (SqlEmitter.each_item)."""
    plan = prepare(policy)
    key = "_sql" if lists and not portable else "_sql_portable" if lists else "_sql_without_lists"
    found = plan.__dict__.get(key)
    if found is None:
        try:
            found = _Query(plan, lists, portable).build()
        except SqlUnsupported as why:
            found = why
        plan.__dict__[key] = found
    if isinstance(found, SqlUnsupported):
        raise found
    return found


def input_columns(policy: Policy) -> dict[str, str]:
    """The columns of the `applicants` relation the query reads, name -> SQL type (DuckDB's), in order: the
    row's number, the applicant's kind, area and claim date, one per fact (a list fact's items as a list of
    STRUCTs), what was granted earlier per clause that counts it, and whether that was said."""
    q = sql_query(policy)
    columns: dict[str, str] = {ROW: "BIGINT", RECIPIENT: "VARCHAR", AREA_COLUMN: "VARCHAR", CLAIM_DATE: "DATE"}
    columns.update(q.facts)
    columns.update({GRANTED + cid: "DECIMAL(18,2)" for cid in q.granted})
    columns[GRANTED_KNOWN] = "BOOLEAN"
    return columns


def rows_engine(policy: Policy, dialect: str = "duckdb") -> Mapping[str, str]:
    """The clauses whose applicants' rows the query (in `dialect`) hands to the row engine, with why
    (SqlUnsupported if the whole policy cannot be a query)."""
    return sql_query(policy, lists=dialect in _LISTS).rows_engine


def compile_sql(policy: Policy, dialect: str = "duckdb") -> str:
    """The policy's plan as one SQL query over `applicants` in `dialect` (duckdb, spark or postgres): see the
    module's docstring for the columns it reads and returns. SqlUnsupported when the policy cannot be."""
    if dialect not in DIALECTS:
        raise ValueError(f"dialect {dialect!r}: one of {', '.join(DIALECTS)}")
    text = sql_query(policy, lists=dialect in _LISTS, portable=dialect != "duckdb").text
    if dialect == "duckdb":
        return text
    import sqlglot

    return str(sqlglot.transpile(text, read="duckdb", write=dialect, pretty=True)[0])
