"""The expression language: allow-list, types, exact arithmetic, and three-valued logic."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.lang.expressions import (
    BOOL,
    NUM,
    TEXT,
    ExpressionError,
    NameInfo,
    Unknown,
    parse,
)
from engine.lang.reference import EvaluationFailure, evaluate

SCOPE = {"turnover": NameInfo(NUM), "registered": NameInfo(BOOL), "fees": NameInfo(NUM),
         "kind": NameInfo(TEXT, ("seller", "school"))}


def missing(*names):
    """What an Unknown is compared by: the keys of what it misses (here, missing facts by name)."""
    return frozenset(names)


def value(expr, names):
    """The value of `expr`, an Unknown as the keys it misses; a missing fact is a name absent from `names`."""
    result = evaluate(expr, names)
    return frozenset(m.key for m in result.missing) if isinstance(result, Unknown) else result


def test_amount_literals_are_exact_decimals():
    e = parse("turnover >= 500万元 and fees * 50% <= 2亿元", SCOPE)
    assert evaluate(e, {"turnover": Decimal("5000000"), "fees": Decimal("4E8")}) is True
    assert evaluate(e, {"turnover": Decimal("4999999.99"), "fees": Decimal(0)}) is False
    assert evaluate(parse("0.1 + 0.2", SCOPE), {}) == Decimal("0.3")


@pytest.mark.parametrize("names, expected", [
    ({"turnover": Decimal(1)}, False),  # False and ? -> False
    ({"turnover": Decimal(10 ** 7)}, missing("registered")),
    ({}, missing("turnover", "registered")),
])
def test_and_is_kleene(names, expected):
    assert value(parse("turnover >= 500万元 and registered", SCOPE), names) == expected


def test_or_decides_on_one_true_even_with_missing_facts():
    e = parse("registered or turnover > 0", SCOPE)
    assert value(e, {"registered": True}) is True
    assert value(e, {"registered": False}) == missing("turnover")


def test_missing_fact_in_arithmetic_stays_missing_never_zero():
    assert value(parse("fees * 50%", SCOPE), {}) == missing("fees")


@pytest.mark.parametrize("text, fragment", [
    ("turnover.real", "attribute access"),
    ("kind[0]", "indexing"),
    ("9**9**9", "'**' (power) is not allowed"),
    ("turnover % 3", "only for percentages"),
    ("__import__('os')", "unknown function '__import__'"),
    ("lambda: 1", "lambda is not allowed"),
    ("[x for x in 'ab']", "comprehensions are not allowed"),
    ("(x := 1)", "assignment (:=) is not allowed"),
    ("f'{turnover}'", "f-strings are not allowed"),
    ("turnovr > 1", "did you mean"),
    ("registered >= 1", "cannot compare yes/no with a number"),
    ("kind == 'sellr'", "'sellr' is not one of the values of 'kind'"),
    ("turnover >= '500万元'", "cannot compare a number with text"),
    ("turnover = 5", "not a valid expression"),
    ("-" * 100 + "turnover", "more than 24 levels deep"),
    ("(" * 400 + "1" + ")" * 400, "characters long"),
])
def test_forbidden_or_wrong_expressions_are_refused(text, fragment):
    with pytest.raises(ExpressionError) as caught:
        parse(text, SCOPE)
    assert fragment in caught.value.message + " " + (caught.value.suggestion or "")


def test_error_offset_points_into_the_text_as_written():
    with pytest.raises(ExpressionError) as caught:
        parse("turnover >= 500万元 and turnovr > 1", SCOPE)
    assert caught.value.offset == len("turnover >= 500万元 and ")


def test_expected_type_is_checked():
    with pytest.raises(ExpressionError, match="must give a number"):
        parse("turnover > 1", SCOPE, expect=NUM)


def test_division_by_zero_is_reported_not_infinity():
    with pytest.raises(EvaluationFailure, match="division by zero"):
        evaluate(parse("fees / turnover", SCOPE), {"fees": Decimal(1), "turnover": Decimal(0)})


def test_membership_and_min_max():
    assert evaluate(parse("kind in ['seller', 'school']", SCOPE), {"kind": "school"}) is True
    assert evaluate(parse("min(fees, 10万元)", SCOPE), {"fees": Decimal("250000")}) == Decimal("100000")
