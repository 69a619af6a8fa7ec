"""Turn a checked Python expression tree into the engine's own tree (engine.lang.tree).

The Python tree is read, never changed: literals become exact values here (a number from its text, `true` a
yes/no, `date('…')` a date), so nothing past engine.lang sees Python's ast.
"""

from __future__ import annotations

import ast
import datetime as dt
from decimal import Decimal

from engine.lang.tree import Arith, Call, Choices, Compare, IfElse, Lit, Logic, Name, Node, Unary

_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_UNARY = {ast.USub: "-", ast.UAdd: "+", ast.Not: "not"}
_COMPARE = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
            ast.In: "in", ast.NotIn: "not in"}
# Yes/no as YAML writes them (true, false) and as Python does.
BOOLEANS = {"true": True, "false": False, "True": True, "False": False}


def literal_text(source: str, node: ast.expr) -> str:
    """The text of `node` in `source`, the text it was parsed from ('' if the parser kept no position)."""
    return ast.get_source_segment(source, node) or ""


def build(node: ast.expr, source: str) -> Node:
    """The engine's node for a Python node the checker accepted; `source` is the text it was parsed from
    (10万元 already spelt 100000), from which each number is read as an exact Decimal."""
    if isinstance(node, ast.Constant):
        return _literal(node, source)
    if isinstance(node, ast.Name):
        if node.id in BOOLEANS:
            return Lit(BOOLEANS[node.id])
        return Name(node.id)
    if isinstance(node, ast.UnaryOp):
        return Unary(_UNARY[type(node.op)], build(node.operand, source))
    if isinstance(node, ast.BinOp):
        return Arith(_ARITH[type(node.op)], build(node.left, source), build(node.right, source))
    if isinstance(node, ast.BoolOp):
        return Logic("and" if isinstance(node.op, ast.And) else "or", tuple(build(v, source) for v in node.values))
    if isinstance(node, ast.Compare):
        return Compare(build(node.left, source), tuple(_COMPARE[type(op)] for op in node.ops),
                       tuple(build(c, source) for c in node.comparators))
    if isinstance(node, (ast.List, ast.Tuple)):
        return Choices(tuple(_literal(e, source) for e in node.elts))
    if isinstance(node, ast.IfExp):
        return IfElse(build(node.test, source), build(node.body, source), build(node.orelse, source))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == "date":
            (arg,) = node.args
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                return Lit(dt.date.fromisoformat(arg.value))
            raise ValueError(f"unchecked date {ast.dump(arg)}")
        return Call(node.func.id, tuple(build(a, source) for a in node.args))
    raise ValueError(f"unchecked node {type(node).__name__}")


def _literal(node: ast.expr, source: str) -> Lit:
    """A literal the checker accepted: yes/no, text, or a number, read exactly from its text."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, (bool, str)):
            return Lit(value)
        if isinstance(value, (int, float)):
            return Lit(Decimal(literal_text(source, node)))
    raise ValueError(f"unchecked literal {ast.dump(node)}")
