"""What tools read in a checked expression, on the engine's own tree (engine.lang.tree): bounds and comparisons.

Lint (contradictory bounds), `policy test` coverage (thresholds no case meets exactly) and the synthetic
population (values at and around thresholds) all ask the same question of a condition: which facts does it
compare with what? They ask it here, never of Python's ast.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Collection, Protocol, Union

from engine.lang.tree import FLIPPED, SYMBOLS, Compare, Lit, Logic, Name, Node, Unary, children


class Checked(Protocol):
    """What analysis reads of a checked expression (engine.lang.expressions.Expr): its engine tree. A protocol,
    so this module stays below the checker, which re-exports it."""

    @property
    def node(self) -> Node: ...

Operand = Union[Lit, Name]

# The comparisons a bound can be: an order, or equality (!=, in and not in bound nothing).
_BOUND_OPS = frozenset((">=", ">", "<=", "<", "=="))


@dataclass(frozen=True)
class Bound:
    """A comparison of one name with a literal or another name, read as `name OP operand`."""

    name: str
    op: str  # >= > <= < ==
    operand: Operand  # a Lit (its value a Decimal, bool or str) or a Name outside the subjects (a parameter)


def bounds(expr: Checked, subjects: Collection[str], conjunctive: bool = True) -> list[Bound]:
    """The simple bounds on `subjects` (usually facts) in `expr`: `x >= 500万元`, `5 <= x < 10`, `x`, `not x`.

    See `bounds_in`.
    """
    return bounds_in(expr.node, subjects, conjunctive)


def bounds_in(node: Node, subjects: Collection[str], conjunctive: bool = True) -> list[Bound]:
    """The simple bounds on `subjects` in the tree `node`, in the order they are written.

    A bound's operand is a literal or a name outside `subjects` (a parameter); `literal OP x` is read as
    `x FLIPPED-OP literal`, each link of a chain is a bound of its own, a bare `x` is `x == true` and `not x`
    is `x == false`. A date('…') literal bounds nothing: tools compare and show numbers, yes/no and text.
    With `conjunctive`, only bounds that must all hold for the whole to be true (joined by `and` at the
    top); otherwise every comparison anywhere in the expression.
    """
    found: list[Bound] = []

    def operand(n: Node) -> Operand | None:
        if isinstance(n, Lit) and not isinstance(n.value, dt.date):
            return n
        if isinstance(n, Name) and n.id not in subjects:
            return n
        return None

    def subject(n: Node) -> str | None:
        return n.id if isinstance(n, Name) and n.id in subjects else None

    def visit(n: Node) -> None:
        if isinstance(n, Logic):
            if conjunctive and n.op != "and":
                return
            for value in n.values:
                visit(value)
        elif isinstance(n, Compare):
            left = n.left
            for op, right in zip(n.ops, n.rights, strict=True):
                if op in _BOUND_OPS:
                    name, other = subject(left), operand(right)
                    if name is not None and other is not None:
                        found.append(Bound(name, op, other))
                    else:
                        name, other = subject(right), operand(left)
                        if name is not None and other is not None:
                            found.append(Bound(name, FLIPPED[op], other))
                left = right
        elif (name := subject(n)) is not None:
            found.append(Bound(name, "==", Lit(True)))
        elif isinstance(n, Unary) and n.op == "not" and (name := subject(n.operand)) is not None:
            found.append(Bound(name, "==", Lit(False)))
        elif not conjunctive:
            for child in children(n):
                visit(child)

    visit(node)
    return found


def comparison_parts(expr: Checked) -> tuple[Node, str, Node] | None:
    """For a simple comparison `a OP b`: its two sides and the symbol officers read (≥, 属于 …); else None."""
    node = expr.node
    if isinstance(node, Compare) and len(node.ops) == 1:
        return node.left, SYMBOLS[node.ops[0]], node.rights[0]
    return None


def names_breadth_first(node: Node) -> tuple[str, ...]:
    """The names `node` reads, each once, level by level (shallowest first, left to right within a level).

    The order explanations list what a condition read in (`a + b > x` lists x, then a and b), as they always have.
    """
    seen: dict[str, None] = {}
    level: list[Node] = [node]
    while level:
        for n in level:
            if isinstance(n, Name):
                seen.setdefault(n.id, None)
        level = [child for n in level for child in children(n)]
    return tuple(seen)

