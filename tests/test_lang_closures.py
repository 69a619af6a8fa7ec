"""The compiled closures (engine.lang.closures) agree with the reference evaluator on simpleeval
(engine.lang.reference) on random well-typed expressions and random environments with missing names."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, DivisionByZero, InvalidOperation
from functools import cache

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engine.core.values import MissingFact, MissingParameter, Unknown
from engine.lang.expressions import BOOL, DATE, NUM, TEXT, ExpressionError, NameInfo, parse
from engine.lang.reference import EvaluationFailure, evaluate

CHOICES = ("seller", "school", "factory")
SCOPE = {"n1": NameInfo(NUM), "n2": NameInfo(NUM), "n3": NameInfo(NUM),
         "b1": NameInfo(BOOL), "b2": NameInfo(BOOL),
         "kind": NameInfo(TEXT, CHOICES), "d1": NameInfo(DATE), "d2": NameInfo(DATE)}
DEPTH = 3  # nesting of composite expressions: deep enough for every rule, far below the language's limits

# --- expression text, well typed by construction ---------------------------------------------------------

number_literals = st.one_of(
    st.sampled_from(["0", "1", "2", "0.5", "3", "10", "100", "0.1", "0.0"]),
    st.integers(0, 10 ** 6).map(str),
    st.builds(lambda whole, part: f"{whole}.{part}", st.integers(0, 999), st.integers(0, 99)),
    st.builds(lambda n, unit: f"{n}{unit}", st.sampled_from(["0", "1", "5", "10", "0.5", "2.25", "500"]),
              st.sampled_from(["万元", "亿元", "元", "万", "%"])),
)
date_literals = st.dates(dt.date(2020, 1, 1), dt.date(2025, 12, 31)).map(lambda d: f"date('{d.isoformat()}')")
choice_literals = st.sampled_from(CHOICES).map(repr)
comparisons = st.sampled_from([">=", "<=", ">", "<", "==", "!="])


# Operands whose evaluation fails (division by zero), or with n3 absent is unknown: put now and then where
# evaluation may stop (and/or, chains, if-else), so that where it stops must agree too.
FAILING_NUMBERS, FAILING_TESTS = ["(1 / 0)", "(n3 / 0)"], ["(1 / 0 > 0)", "(n3 / 0 > 0)"]


def now_and_then(strategy: st.SearchStrategy[str], failing: list[str]) -> st.SearchStrategy[str]:
    """`strategy`, or one time in four one of `failing`."""
    return st.tuples(st.integers(0, 3), strategy, st.sampled_from(failing)).map(
        lambda drawn: drawn[1] if drawn[0] else drawn[2])


def _parens(text: str) -> str:
    return f"({text})"


def _join(words: list[str], op: str) -> str:
    return f" {op} ".join(words)


def _chain(first: str, rest: list[tuple[str, str]]) -> str:
    return first + "".join(f" {op} {operand}" for op, operand in rest)


def _if(body: str, test: str, orelse: str) -> str:
    return f"({body} if {test} else {orelse})"


@cache
def numbers(depth: int) -> st.SearchStrategy[str]:
    leaves = st.one_of(number_literals, st.sampled_from(["n1", "n2", "n3"]))
    if depth == 0:
        return leaves
    inner = numbers(depth - 1)
    branch = now_and_then(inner, FAILING_NUMBERS)
    return st.one_of(
        leaves,
        st.builds(lambda a, op, b: f"({a} {op} {b})", inner, st.sampled_from("+-*/"), inner),
        st.builds(lambda sign, a: f"{sign}{a}", st.sampled_from(["-", "+"]), inner),
        st.builds(lambda f, args: f"{f}({', '.join(args)})", st.sampled_from(["min", "max"]),
                  st.lists(inner, min_size=2, max_size=3)),
        inner.map(lambda a: f"abs({a})"),
        st.builds(_if, branch, booleans(depth - 1), branch),
    )


@cache
def texts(depth: int) -> st.SearchStrategy[str]:
    leaves = st.one_of(choice_literals, st.just("kind"))
    if depth == 0:
        return leaves
    inner = texts(depth - 1)
    return st.one_of(leaves, st.builds(_if, inner, booleans(depth - 1), inner))


@cache
def dates(depth: int) -> st.SearchStrategy[str]:
    leaves = st.one_of(date_literals, st.sampled_from(["d1", "d2"]))
    if depth == 0:
        return leaves
    inner = dates(depth - 1)
    return st.one_of(leaves, st.builds(_if, inner, booleans(depth - 1), inner))


@cache
def booleans(depth: int) -> st.SearchStrategy[str]:
    leaves = st.sampled_from(["true", "false", "True", "False", "b1", "b2"])
    if depth == 0:
        return leaves
    inner, num = booleans(depth - 1), numbers(depth - 1)
    operand, num_operand = now_and_then(inner, FAILING_TESTS), now_and_then(num, FAILING_NUMBERS)
    return st.one_of(
        leaves,
        st.builds(_join, st.lists(operand.map(_parens), min_size=2, max_size=3), st.sampled_from(["and", "or"])),
        inner.map(lambda a: f"not {_parens(a)}"),
        # comparison chains of one to three links
        st.builds(_chain, num, st.lists(st.tuples(comparisons, num_operand), min_size=1, max_size=3)),
        st.builds(_chain, dates(depth - 1), st.lists(st.tuples(comparisons, dates(depth - 1)), min_size=1, max_size=2)),
        st.builds(_chain, inner.map(_parens),
                  st.lists(st.tuples(st.sampled_from(["==", "!="]), inner.map(_parens)), min_size=1, max_size=2)),
        st.builds(lambda a, op, b: f"{a} {op} {b}", texts(depth - 1), st.sampled_from(["==", "!="]), texts(depth - 1)),
        # membership in a literal list
        st.builds(lambda a, op, items: f"{a} {op} [{', '.join(items)}]", texts(depth - 1),
                  st.sampled_from(["in", "not in"]), st.lists(choice_literals, min_size=1, max_size=3)),
        st.builds(lambda a, op, items: f"{a} {op} [{', '.join(items)}]", num,
                  st.sampled_from(["in", "not in"]), st.lists(number_literals, min_size=1, max_size=3)),
        st.builds(_if, operand, inner, operand),
    )


expressions = st.one_of(numbers(DEPTH), booleans(DEPTH), texts(DEPTH), dates(DEPTH))

# --- environments: each name present or absent ---------------------------------------------------------

decimals = st.one_of(
    st.just(Decimal(0)),  # often: division by it must fail alike
    st.sampled_from([Decimal(1), Decimal(-1), Decimal("0.5"), Decimal("0.00"), Decimal("-0"), Decimal(100000)]),
    st.decimals(min_value=-10 ** 9, max_value=10 ** 9, places=2, allow_nan=False, allow_infinity=False),
    st.integers(-10 ** 6, 10 ** 6).map(Decimal),
)
VALUES = {"n1": decimals, "n2": decimals, "n3": decimals, "b1": st.booleans(), "b2": st.booleans(),
          "kind": st.sampled_from(CHOICES), "d1": st.dates(dt.date(2020, 1, 1), dt.date(2025, 12, 31)),
          "d2": st.dates(dt.date(2020, 1, 1), dt.date(2025, 12, 31))}
environments = st.fixed_dictionaries({}, optional=VALUES)
# How an absent name is reported: a missing fact by default, or (as the runtime does for them) a parameter.
unknown_kinds = st.fixed_dictionaries({}, optional={name: st.just(MissingParameter.of(name)) for name in SCOPE})

FAILED = ("division failed",)
CLOSURES_FAIL = (DivisionByZero, InvalidOperation)  # the Decimal context's traps, as they are
REFERENCE_FAILS = EvaluationFailure


def outcome(run, *args, fails: type[Exception] | tuple[type[Exception], ...] = CLOSURES_FAIL) -> tuple:
    """What an evaluation gave, comparable across evaluators: a failure (only as `fails`), an Unknown's missing
    things, or a value with its type and exact spelling (Decimal('1.0') is not Decimal('1'), True is not 1)."""
    try:
        value = run(*args)
    except fails:
        return FAILED
    if isinstance(value, Unknown):
        return ("unknown", frozenset(m.key for m in value.missing), value.missing)
    return ("value", type(value), repr(value))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(text=expressions, env=environments, unknowns=unknown_kinds)
def test_closures_agree_with_the_reference_evaluator(text, env, unknowns):
    try:
        expr = parse(text, SCOPE)
    except ExpressionError:
        assume(False)  # a type error the generator did not foresee: rare
        raise
    expected = outcome(evaluate, expr, env, unknowns, fails=REFERENCE_FAILS)
    assert outcome(expr.run, env, unknowns) == expected, (text, env)
    assert outcome(expr.run.kleene, env, unknowns) == expected, (text, env)


# --- Kleene's rules, by example ---------------------------------------------------------------------------

def both(text: str, env: dict) -> tuple:
    """The outcome of `text`, after checking the reference and both closure paths agree on it."""
    expr = parse(text, SCOPE)
    results = {outcome(evaluate, expr, env, fails=REFERENCE_FAILS), outcome(expr.run, env),
               outcome(expr.run.kleene, env)}
    assert len(results) == 1, (text, env, results)
    return results.pop()


def unknown(*names: str) -> tuple:
    missing = frozenset(MissingFact(n) for n in names)
    return ("unknown", frozenset(names), missing)


def value(v: object) -> tuple:
    return ("value", type(v), repr(v))


def test_false_and_unknown_is_false():
    assert both("b1 and b2", {"b1": False}) == value(False)
    assert both("b2 and b1", {"b1": False}) == value(False)


def test_true_or_unknown_is_true():
    assert both("b1 or b2", {"b1": True}) == value(True)
    assert both("b2 or b1", {"b1": True}) == value(True)


def test_unknown_and_true_is_unknown():
    assert both("b2 and b1", {"b1": True}) == unknown("b2")
    assert both("b1 or b2", {"b1": False}) == unknown("b2")
    assert both("b1 and n1 > 0", {}) == unknown("b1", "n1")


def test_chained_comparison_with_a_false_link_and_an_unknown_link_is_false():
    assert both("n1 < n2 < 5", {"n2": Decimal(7)}) == value(False)  # n1 < 7 unknown, 7 < 5 false
    assert both("5 < n2 < n1", {"n2": Decimal(3)}) == value(False)  # false link first
    assert both("0 < n2 < n1", {"n2": Decimal(3)}) == unknown("n1")


def test_unknown_test_of_if_else_is_that_unknown():
    assert both("n1 if b1 else n2", {"n1": Decimal(1), "n2": Decimal(2)}) == unknown("b1")


def test_division_by_zero_fails_in_both_but_not_where_the_language_stops():
    assert both("n1 / n2", {"n1": Decimal(1), "n2": Decimal(0)}) == FAILED
    assert both("0 / 0.0 > 1", {}) == FAILED
    assert both("b1 or 1 / 0 > 1", {"b1": True}) == value(True)
    assert both("5 < 1 < 1 / 0", {}) == value(False)
    assert both("(n1 if b1 else 1 / 0) > 0", {"b1": True, "n1": Decimal(1)}) == value(True)
    assert both("n1 / 0", {}) == unknown("n1")  # nothing to divide yet


def test_absent_names_are_reported_as_the_caller_says():
    expr = parse("n1 + n2", SCOPE)
    unknowns = {"n1": MissingParameter.of("n1")}
    assert evaluate(expr, {}, unknowns) == expr.run({}, unknowns) == Unknown.of(MissingParameter.of("n1"),
                                                                                MissingFact("n2"))
