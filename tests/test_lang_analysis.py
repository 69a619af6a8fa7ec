"""engine.lang.analysis: bounds read from the engine's own tree (flips, chains, `not`, bare names, `or`)."""

from __future__ import annotations

import datetime as dt
import pickle
from decimal import Decimal

import pytest

from engine.lang import expressions
from engine.lang.analysis import Bound, bounds, bounds_in, comparison_parts, names_breadth_first
from engine.lang.expressions import BOOL, DATE, NUM, TEXT, NameInfo, parse
from engine.lang.tree import Arith, Call, Choices, Compare, Lit, Logic, Name, Unary

SCOPE = {"turnover": NameInfo(NUM), "fees": NameInfo(NUM), "share": NameInfo(NUM), "registered": NameInfo(BOOL),
         "kind": NameInfo(TEXT, ("seller", "school")), "opened": NameInfo(DATE),
         "cap": NameInfo(NUM), "floor": NameInfo(NUM), "on": NameInfo(BOOL)}  # the last three: parameters
FACTS = {"turnover", "fees", "share", "registered", "kind", "opened"}


def found(text: str, conjunctive: bool = True) -> list[Bound]:
    return bounds(parse(text, SCOPE), FACTS, conjunctive)


def lit(number: int | str) -> Lit:
    return Lit(Decimal(number))


@pytest.mark.parametrize("text, expected", [
    ("turnover >= 500万元", [Bound("turnover", ">=", Lit(Decimal(5000000)))]),
    ("500万元 <= turnover", [Bound("turnover", ">=", Lit(Decimal(5000000)))]),  # literal OP name is flipped
    ("10 > fees", [Bound("fees", "<", Lit(Decimal(10)))]),
    ("share == 50%", [Bound("share", "==", Lit(Decimal("0.5")))]),
    ("turnover > cap", [Bound("turnover", ">", Name("cap"))]),  # a parameter is an operand
    ("cap <= turnover", [Bound("turnover", ">=", Name("cap"))]),
    ("kind == 'seller'", [Bound("kind", "==", Lit("seller"))]),
    ("registered == false", [Bound("registered", "==", Lit(False))]),
    ("true == registered", [Bound("registered", "==", Lit(True))]),
])
def test_a_comparison_with_a_literal_or_a_parameter(text, expected):
    assert found(text) == expected


def test_a_chain_gives_a_bound_per_link():
    assert found("5 <= turnover < 10") == [Bound("turnover", ">=", lit(5)), Bound("turnover", "<", lit(10))]
    assert found("floor < turnover <= cap") == [Bound("turnover", ">", Name("floor")),
                                                Bound("turnover", "<=", Name("cap"))]
    # A link between two facts, or two operands, bounds nothing; the links beside it still do.
    assert found("5 < turnover < fees < 10") == [Bound("turnover", ">", lit(5)), Bound("fees", "<", lit(10))]


def test_bare_names_and_not():
    assert found("registered") == [Bound("registered", "==", Lit(True))]
    assert found("not registered") == [Bound("registered", "==", Lit(False))]
    assert found("on") == []  # a parameter is no subject
    assert found("not on") == []


def test_what_is_no_bound():
    assert found("turnover != 5") == []
    assert found("kind in ['seller', 'school']") == []
    assert found("kind not in ['seller']") == []
    assert found("turnover + fees >= 10") == []  # not a name alone
    assert found("turnover >= -5") == []  # a signed number is an expression, not a literal
    assert found("turnover > fees") == []  # two subjects
    assert found("opened >= date('2021-01-01')") == []  # a date bounds nothing (as before the engine tree)


def test_conjunctive_descends_only_through_and():
    text = "registered and turnover >= 10 and (fees > 1 or share < 0.5) and not (turnover > 99)"
    assert found(text) == [Bound("registered", "==", Lit(True)), Bound("turnover", ">=", lit(10))]
    assert found("turnover > 1 or fees > 2") == []
    assert found("(turnover > 1 if registered else fees > 2)") == []


def test_every_comparison_anywhere_when_not_conjunctive():
    text = "registered and turnover >= 10 and (fees > 1 or share < 0.5) and not (turnover > 99)"
    assert found(text, conjunctive=False) == [
        Bound("registered", "==", Lit(True)), Bound("turnover", ">=", lit(10)), Bound("fees", ">", lit(1)),
        Bound("share", "<", lit("0.5")), Bound("turnover", ">", lit(99))]
    assert found("turnover > 1 if registered else 2 > fees", conjunctive=False) == [  # test, body, else
        Bound("registered", "==", Lit(True)), Bound("turnover", ">", lit(1)), Bound("fees", "<", lit(2))]
    assert found("not (not registered)", conjunctive=False) == [Bound("registered", "==", Lit(False))]


def test_bounds_in_a_bare_tree():
    tree = Logic("and", (Compare(Lit(Decimal(3)), ("<",), (Name("x"),)), Unary("not", Name("y")),
                         Compare(Name("x"), ("in",), (Choices((Lit(Decimal(1)),)),))))
    assert bounds_in(tree, {"x", "y"}) == [Bound("x", ">", Lit(Decimal(3))), Bound("y", "==", Lit(False))]


def test_the_old_names_still_import():
    assert expressions.bounds is bounds and expressions.Bound is Bound


def test_comparison_parts():
    assert comparison_parts(parse("turnover >= 500万元", SCOPE)) == (Name("turnover"), "≥", Lit(Decimal(5000000)))
    assert comparison_parts(parse("kind in ['seller']", SCOPE)) == (Name("kind"), "属于", Choices((Lit("seller"),)))
    assert comparison_parts(parse("1 < turnover < 2", SCOPE)) is None
    assert comparison_parts(parse("registered", SCOPE)) is None


def test_names_level_by_level():
    assert names_breadth_first(parse("fees + share > turnover", SCOPE).node) == ("turnover", "fees", "share")
    assert parse("fees + share > turnover", SCOPE).ordered_names == ("turnover", "fees", "share")


# --- the tree parse builds, from a Python tree the checker reads and leaves as it is -----------------------

def test_literals_are_built_from_their_text():
    e = parse("turnover >= 10万元 and share < 0.10 and registered == true and opened > date('2021-02-03')", SCOPE)
    assert e.node == Logic("and", (
        Compare(Name("turnover"), (">=",), (Lit(Decimal("100000")),)),
        Compare(Name("share"), ("<",), (Lit(Decimal("0.10")),)),
        Compare(Name("registered"), ("==",), (Lit(True),)),
        Compare(Name("opened"), (">",), (Lit(dt.date(2021, 2, 3)),))))
    assert str(e.node.values[1].rights[0].value) == "0.10"  # exact, as written (0.10 == 0.1 as a Decimal)
    assert e.source == "turnover >= 100000 and share < 0.10 and registered == true and opened > date('2021-02-03')"


def test_an_amount_after_another_keeps_its_own_text():
    e = parse("min(fees, 5万元) + 1.5万元 * 2", SCOPE)
    assert e.node == Arith("+", Call("min", (Name("fees"), Lit(Decimal(50000)))),
                           Arith("*", Lit(Decimal(15000)), Lit(Decimal(2))))


def test_errors_still_point_into_the_text_as_written():
    with pytest.raises(expressions.ExpressionError) as err:
        parse("turnover >= 500万元 and 0x10 > fees", SCOPE)
    assert err.value.offset == len("turnover >= 500万元 and ")


def test_an_expr_has_no_python_tree_and_pickles():
    e = parse("turnover >= 500万元 and registered", SCOPE)
    assert not hasattr(e, "tree")
    assert e.run({"turnover": Decimal(5000000), "registered": True}) is True
    again = pickle.loads(pickle.dumps(e))
    assert again.node == e.node and again.run({"turnover": Decimal(1), "registered": True}) is False
