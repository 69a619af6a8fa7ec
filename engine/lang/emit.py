"""The engine tree as Python source: each node kind emits its own code, the fast path of engine.lang.closures.

The emitted text is an expression over names the caller binds (`Scope.read`), reading every value as the fast
closure does: a missing name raises KeyError, arithmetic runs in `C` (engine.core.amounts.CONTEXT) and raises
what CONTEXT traps. Nothing the policy's author wrote becomes code: literals are constants of the generated
namespace (`Scope.const`), names are read through `repr` of their text.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Callable, Protocol

from engine.lang.tree import Arith, Call, Choices, Compare, IfElse, Lit, Logic, Name, Node, Unary


class Scope(Protocol):
    """What emitted code may refer to: a name's value, and constants held by the generated namespace."""

    def read(self, name: str) -> str: ...  # code reading a fact, parameter, field or the claim date
    def const(self, value: object) -> str: ...  # the name of a constant holding `value`


class Unsupported(Exception):
    """A construct the generator does not translate yet: its policy is evaluated by the interpreter."""


_ARITH = {"+": "C.add", "-": "C.subtract", "*": "C.multiply", "/": "C.divide"}
_COMPARE = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "in": "in", "not in": "not in"}
_CALLS = {"min": "min", "max": "max", "abs": "C.abs", "days_between": "days_between",
          "months_between": "months_between", "years_between": "years_between", "days_after": "days_after",
          "months_after": "months_after", "years_after": "years_after"}


def _lit(node: Lit, s: Scope) -> str:
    value = node.value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, Decimal):
        return s.const(value)
    if isinstance(value, str):
        return repr(value)
    return s.const(value)  # a date


def _name(node: Name, s: Scope) -> str:
    return s.read(node.id)


def _choices(node: Choices, s: Scope) -> str:
    return s.const(frozenset(i.value for i in node.items))


def _unary(node: Unary, s: Scope) -> str:
    inner = emit(node.operand, s)
    if node.op == "not":
        return f"(not {inner})"
    return f"C.minus({inner})" if node.op == "-" else f"C.plus({inner})"


def _arith(node: Arith, s: Scope) -> str:
    return f"{_ARITH[node.op]}({emit(node.left, s)}, {emit(node.right, s)})"


def _logic(node: Logic, s: Scope) -> str:
    # all()/any() of the closures give a bool and stop at the first deciding part: so does this
    return "bool(" + f" {node.op} ".join(emit(v, s) for v in node.values) + ")"


def _compare(node: Compare, s: Scope) -> str:
    # Python's own chain: each middle operand computed once, stopping at the first false link, as the closure
    parts = [emit(node.left, s)]
    for op, right in zip(node.ops, node.rights, strict=True):
        parts += [_COMPARE[op], emit(right, s)]
    return "(" + " ".join(parts) + ")"


def _if_else(node: IfElse, s: Scope) -> str:
    return f"({emit(node.body, s)} if {emit(node.test, s)} else {emit(node.orelse, s)})"


def _call(node: Call, s: Scope) -> str:
    if node.func not in _CALLS:
        raise Unsupported(f"function {node.func}")
    return f"{_CALLS[node.func]}({', '.join(emit(a, s) for a in node.args)})"


# One emitter per node kind of engine.lang.tree.Node (tests/test_runtime_generate.py checks that none is missing).
EMITTERS: dict[type, Callable[..., str]] = {
    Lit: _lit, Name: _name, Choices: _choices, Unary: _unary, Arith: _arith, Logic: _logic, Compare: _compare,
    IfElse: _if_else, Call: _call}


def emit(node: Node, s: Scope) -> str:
    """Python source computing `node` on the fast path (KeyError at a missing name)."""
    emitter = EMITTERS.get(type(node))
    if emitter is None:
        raise Unsupported(f"node {type(node).__name__}")
    return emitter(node, s)
