"""The reference evaluator of the expression language, on simpleeval: the oracle the compiled closures must match.

It reads a checked expression's text afresh (`Expr.source`, amounts already spelt as plain numbers) and
evaluates it with a new SimpleEval on each call, so it shares nothing between calls. Semantics, the same as
`Expr.run` (engine.lang.closures):

- a name absent from the environment is Unknown (`unknowns.get(name)`, by default a missing fact);
- `+ - * /`, unary signs, `not`, `min`, `max`, `abs` give Unknown when an operand is Unknown;
- `and`/`or` follow Kleene's rules: a decisive value (false for `and`, true for `or`) decides the whole,
  whatever is unknown; otherwise any Unknown makes the whole Unknown;
- a comparison chain is the `and` of its links: a false link decides it, else an unknown link makes it Unknown;
- `a if test else b` with an unknown test is that Unknown;
- numbers are exact Decimals read from their text, arithmetic is in engine.core.amounts.CONTEXT, and
  division by zero raises EvaluationFailure.

Evaluation is left to right and stops where the language stops: at a decisive value in `and`/`or`, at a false
link of a chain, at an unknown test of an if-else.
"""

from __future__ import annotations

import ast
import datetime as dt
import operator
from decimal import Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Callable, Mapping, Protocol

import simpleeval

from engine.core.amounts import CONTEXT, MAX_COMPUTED_DIGITS
from engine.core.dates import days_after, days_between, months_after, months_between, years_after, years_between
from engine.core.messages import msg
from engine.core.values import Missing, MissingFact, Unknown, unknown_of


class Checked(Protocol):
    """What the reference evaluator reads of a checked expression (engine.lang.expressions.Expr): its text as
    written (for messages) and as Python reads it. A protocol, so this module stays below the checker."""

    @property
    def text(self) -> str: ...

    @property
    def source(self) -> str: ...


class EvaluationFailure(Exception):
    """Arithmetic that cannot be done (division by zero): the policy author's to fix."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TooLarge(EvaluationFailure):
    """A number of more than MAX_COMPUTED_DIGITS integer digits (engine.core.amounts.CONTEXT): its digits could
    not all be kept, so it has no exact value to show."""


def _lift(fn: Callable[..., object]) -> Callable[..., object]:
    """`fn`, except that an Unknown argument gives the Unknown of all of them instead of a value."""

    def lifted(*args: object) -> object:
        unknown = unknown_of(args)
        return unknown if unknown is not None else fn(*args)

    return lifted


_OPERATORS: dict[type, Callable[..., object]] = {
    # arithmetic and `not`: lifted over Unknown
    ast.Add: _lift(CONTEXT.add), ast.Sub: _lift(CONTEXT.subtract),
    ast.Mult: _lift(CONTEXT.multiply), ast.Div: _lift(CONTEXT.divide),
    ast.USub: _lift(CONTEXT.minus), ast.UAdd: _lift(CONTEXT.plus), ast.Not: _lift(operator.not_),
    # comparisons: on known values only (the chain handles Unknown, by Kleene's rules)
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_FUNCTIONS: dict[str, Callable[..., object]] = {
    "min": _lift(min), "max": _lift(max), "abs": _lift(CONTEXT.abs), "date": dt.date.fromisoformat,
    "days_between": _lift(days_between), "months_between": _lift(months_between),
    "years_between": _lift(years_between), "days_after": _lift(days_after), "months_after": _lift(months_after),
    "years_after": _lift(years_after)}
_BOOLEANS = {"true": True, "True": True, "false": False, "False": False}


def evaluate(expr: Checked, env: Mapping[str, object], unknowns: Mapping[str, Missing] = {}) -> object:
    """The value of the checked `expr` with the names in `env` (Unknown if it depends on an absent one)."""
    source = expr.source
    evaluator = simpleeval.SimpleEval(operators=dict(_OPERATORS), functions=dict(_FUNCTIONS), names={})
    standard = evaluator.nodes

    def value(node: ast.AST) -> object:
        return evaluator.eval(source, previously_parsed=node)

    def constant(node: ast.Constant) -> object:
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            literal = ast.get_source_segment(source, node)
            assert literal is not None, "a parsed number keeps its position"
            return Decimal(literal)  # exact, from its text: never a float
        return node.value

    def name(node: ast.Name) -> object:
        if node.id in _BOOLEANS:
            return _BOOLEANS[node.id]
        try:
            return env[node.id]
        except KeyError:
            return Unknown.of(unknowns.get(node.id) or MissingFact(node.id))

    def logic(node: ast.BoolOp) -> object:
        decisive = isinstance(node.op, ast.Or)  # True decides an `or`, False an `and`
        pending = []
        for part in node.values:
            result = value(part)
            if isinstance(result, Unknown):
                pending.append(result)
            elif result is decisive:
                return decisive
        return unknown_of(tuple(pending)) if pending else not decisive

    def compare(node: ast.Compare) -> object:
        left, pending = value(node.left), []
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = value(right_node)
            if isinstance(left, Unknown) or isinstance(right, Unknown):
                pending.append(unknown_of((left, right)))
            elif not evaluator.operators[type(op)](left, right):
                return False
            left = right
        return unknown_of(tuple(pending)) if pending else True

    def if_else(node: ast.IfExp) -> object:
        test = value(node.test)
        if isinstance(test, Unknown):
            return test
        return value(node.body) if test else value(node.orelse)

    def choices(node: ast.List | ast.Tuple) -> tuple[object, ...]:
        return tuple(value(e) for e in node.elts)

    # Only the node types the checker lets through; anything else is simpleeval's FeatureNotAvailable.
    evaluator.nodes = {
        ast.Constant: constant, ast.Name: name, ast.BoolOp: logic, ast.Compare: compare, ast.IfExp: if_else,
        ast.List: choices, ast.Tuple: choices,
        ast.UnaryOp: standard[ast.UnaryOp], ast.BinOp: standard[ast.BinOp], ast.Call: standard[ast.Call],
    }
    tree = ast.parse(source, mode="eval").body
    try:
        return value(tree)
    except Overflow:
        raise TooLarge(msg("expr.too_large", expr=expr.text, digits=MAX_COMPUTED_DIGITS)) from None
    except (DivisionByZero, InvalidOperation):
        raise EvaluationFailure(msg("expr.division_by_zero", expr=expr.text)) from None
