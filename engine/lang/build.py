"""Turn a checked Python expression tree into the engine's own tree (engine.lang.tree)."""

from __future__ import annotations

import ast
import datetime as dt
from decimal import Decimal

from engine.lang.tree import Arith, Call, Choices, Compare, IfElse, Lit, Logic, Name, Node, Unary

_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_UNARY = {ast.USub: "-", ast.UAdd: "+", ast.Not: "not"}
_COMPARE = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
            ast.In: "in", ast.NotIn: "not in"}


def build(node: ast.expr) -> Node:
    """The engine's node for a Python node the checker accepted (literals already exact Decimals)."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, (Decimal, bool, str, dt.date)):
            return Lit(value)
        raise ValueError(f"unchecked literal {value!r}")  # the checker turns every number into a Decimal
    if isinstance(node, ast.Name):
        return Name(node.id)
    if isinstance(node, ast.UnaryOp):
        return Unary(_UNARY[type(node.op)], build(node.operand))
    if isinstance(node, ast.BinOp):
        return Arith(_ARITH[type(node.op)], build(node.left), build(node.right))
    if isinstance(node, ast.BoolOp):
        return Logic("and" if isinstance(node.op, ast.And) else "or", tuple(build(v) for v in node.values))
    if isinstance(node, ast.Compare):
        return Compare(build(node.left), tuple(_COMPARE[type(op)] for op in node.ops),
                       tuple(build(c) for c in node.comparators))
    if isinstance(node, (ast.List, ast.Tuple)):
        return Choices(tuple(Lit(e.value) for e in node.elts if isinstance(e, ast.Constant)))
    if isinstance(node, ast.IfExp):
        return IfElse(build(node.test), build(node.body), build(node.orelse))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == "date":
            arg = node.args[0]
            assert isinstance(arg, ast.Constant)
            return Lit(arg.value)
        return Call(node.func.id, tuple(build(a) for a in node.args))
    raise ValueError(f"unchecked node {type(node).__name__}")
