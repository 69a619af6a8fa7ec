"""The checked expression as the engine's own tree: small frozen nodes, compared by meaning, never Python's ast."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Iterator, Union

Value = Union[Decimal, bool, str, dt.date]


@dataclass(frozen=True)
class Lit:
    """A literal: an exact Decimal (10万元 is already 100000), yes/no, text, or a date."""

    value: Value


@dataclass(frozen=True)
class Name:
    """A declared fact, parameter, or (inside `where:`) a field of a list item."""

    id: str


@dataclass(frozen=True)
class Unary:
    """A sign or `not` before one operand."""

    op: str  # "-" | "+" | "not"
    operand: Node


@dataclass(frozen=True)
class Arith:
    """One arithmetic operation on two operands, computed exactly in Decimal."""

    op: str  # "+" | "-" | "*" | "/"
    left: Node
    right: Node


@dataclass(frozen=True)
class Logic:
    """`and` or `or` over two or more values, by Kleene's rules when one is unknown."""

    op: str  # "and" | "or"
    values: tuple[Node, ...]


@dataclass(frozen=True)
class Compare:
    """`a < b <= c`: each op links the operand before it with the one after it."""

    left: Node
    ops: tuple[str, ...]  # "==" "!=" "<" "<=" ">" ">=" "in" "not in"
    rights: tuple[Node, ...]


@dataclass(frozen=True)
class Choices:
    """The literal list on the right of `in`."""

    items: tuple[Lit, ...]


@dataclass(frozen=True)
class IfElse:
    """`body if test else orelse`."""

    test: Node
    body: Node
    orelse: Node


@dataclass(frozen=True)
class Call:
    """One of the few functions the language has, with its arguments."""

    func: str  # min | max | abs (date('…') is folded into a Lit when checked)
    args: tuple[Node, ...]


Node = Union[Lit, Name, Unary, Arith, Logic, Compare, Choices, IfElse, Call]

# Symbols as officers read them, for explanations.
SYMBOLS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "=", "!=": "≠", "in": "属于", "not in": "不属于"}
FLIPPED = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "==": "==", "!=": "!="}


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Arith):
        return (node.left, node.right)
    if isinstance(node, Logic):
        return node.values
    if isinstance(node, Compare):
        return (node.left,) + node.rights
    if isinstance(node, Choices):
        return node.items
    if isinstance(node, IfElse):
        return (node.test, node.body, node.orelse)
    if isinstance(node, Call):
        return node.args
    return ()


def walk(node: Node) -> Iterator[Node]:
    """Every node, parents before children, without recursion (depth is bounded, but a stack is cheap)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))



_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
_SHOWN = {"+": "+", "-": "−", "*": "×", "/": "÷"}


def working(node: Node, name: Callable[[str], str], number: Callable[[object], str], floor: int = 0) -> str:
    """An arithmetic expression with each name replaced by its value as shown: `a - b` → `1,000.00元 − 400.00元`.

    Keeps the expression's own operators and adds brackets only where precedence needs them.
    """
    if isinstance(node, Name):
        return name(node.id)
    if isinstance(node, Lit):
        return number(node.value)
    if isinstance(node, Arith):
        level = _PRECEDENCE[node.op]
        # the right side of - and / binds tighter: a - (b - c) keeps its brackets
        text = (f"{working(node.left, name, number, level)} {_SHOWN[node.op]} "
                f"{working(node.right, name, number, level + (node.op in '-/'))}")
        return f"({text})" if level < floor else text
    if isinstance(node, Unary) and node.op in "+-":
        return f"{_SHOWN.get(node.op, node.op)}{working(node.operand, name, number, 3)}"
    if isinstance(node, Call):
        return f"{node.func}({', '.join(working(a, name, number) for a in node.args)})"
    if isinstance(node, IfElse):
        return f"({working(node.body, name, number)} / {working(node.orelse, name, number)})"
    return "…"


def substitute(node: Node, names: dict[str, Node]) -> Node:
    """The tree with each Name in `names` replaced by its node (a derived value by its formula)."""
    if isinstance(node, Name):
        return names.get(node.id, node)
    if isinstance(node, Unary):
        return Unary(node.op, substitute(node.operand, names))
    if isinstance(node, Arith):
        return Arith(node.op, substitute(node.left, names), substitute(node.right, names))
    if isinstance(node, Logic):
        return Logic(node.op, tuple(substitute(v, names) for v in node.values))
    if isinstance(node, Compare):
        return Compare(substitute(node.left, names), node.ops, tuple(substitute(r, names) for r in node.rights))
    if isinstance(node, IfElse):
        return IfElse(substitute(node.test, names), substitute(node.body, names), substitute(node.orelse, names))
    if isinstance(node, Call):
        return Call(node.func, tuple(substitute(a, names) for a in node.args))
    return node
