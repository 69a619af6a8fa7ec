"""Checked expressions compiled to Python closures, once: a fast path and a three-valued (Kleene) path.

The fast path assumes every name it reads is in the environment and raises KeyError at the first one
that is not; the caller then runs the Kleene path, where a missing name is Unknown and `and`/`or`
follow Kleene's rules (`False and unknown` is False, `True and unknown` is unknown). Both paths compute
with the one Decimal context (engine.core.amounts.CONTEXT), whatever context the caller is in.
simpleeval, the reference evaluator (engine.lang.reference), must agree with both: a property test
checks it.
"""

from __future__ import annotations

import operator
from decimal import Decimal
from typing import Callable, Mapping

from engine.core.amounts import CONTEXT
from engine.core.dates import days_after, days_between, months_after, months_between, years_after, years_between
from engine.core.values import Missing, MissingFact, Unknown, unknown_of
from engine.lang.tree import Arith, Call, Choices, Compare, IfElse, Lit, Logic, Name, Node, Unary

Env = Mapping[str, object]
Unknowns = Mapping[str, Missing]  # how to report a name that is absent (default: a missing fact)
Fast = Callable[[Env], object]
Kleene = Callable[[Env, Unknowns], object]

_ARITH: dict[str, Callable[[Decimal, Decimal], Decimal]] = {
    "+": CONTEXT.add, "-": CONTEXT.subtract, "*": CONTEXT.multiply, "/": CONTEXT.divide}
_COMPARE: dict[str, Callable[[object, object], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,  # type: ignore[dict-item]
    ">": operator.gt, ">=": operator.ge,  # type: ignore[dict-item]
    "in": lambda a, b: a in b, "not in": lambda a, b: a not in b}  # type: ignore[operator]
_CALLS: dict[str, Callable[..., object]] = {"min": min, "max": max, "abs": CONTEXT.abs,
                                             "days_between": days_between, "months_between": months_between,
                                             "years_between": years_between, "days_after": days_after,
                                             "months_after": months_after, "years_after": years_after}


def fast(node: Node) -> Fast:  # one dispatch over the node kinds
    """A closure computing `node` when every name is present; KeyError names the first that is not."""
    if isinstance(node, Lit):
        value = node.value
        return lambda env: value
    if isinstance(node, Name):
        name = node.id
        return lambda env: env[name]
    if isinstance(node, Choices):
        items = frozenset(i.value for i in node.items)
        return lambda env: items
    if isinstance(node, Unary):
        inner = fast(node.operand)
        if node.op == "not":
            return lambda env: not inner(env)
        if node.op == "-":
            return lambda env: CONTEXT.minus(inner(env))  # type: ignore[arg-type]
        return lambda env: CONTEXT.plus(inner(env))  # type: ignore[arg-type]
    if isinstance(node, Arith):
        fn, left, right = _ARITH[node.op], fast(node.left), fast(node.right)
        return lambda env: fn(left(env), right(env))  # type: ignore[arg-type]
    if isinstance(node, Logic):
        parts = tuple(fast(v) for v in node.values)
        if node.op == "and":
            return lambda env: all(p(env) for p in parts)
        return lambda env: any(p(env) for p in parts)
    if isinstance(node, Compare):
        return _fast_compare(node)
    if isinstance(node, IfElse):
        test, body, orelse = fast(node.test), fast(node.body), fast(node.orelse)
        return lambda env: body(env) if test(env) else orelse(env)
    if isinstance(node, Call):
        fn_call, args = _CALLS[node.func], tuple(fast(a) for a in node.args)
        if len(args) == 1:
            (only,) = args
            return lambda env: fn_call(only(env))
        return lambda env: fn_call(*(a(env) for a in args))
    raise TypeError(f"not a checked node: {node!r}")


def _fast_compare(node: Compare) -> Fast:
    left = fast(node.left)
    if len(node.ops) == 1:
        op, right = _COMPARE[node.ops[0]], fast(node.rights[0])
        return lambda env: op(left(env), right(env))
    links = tuple((_COMPARE[o], fast(r)) for o, r in zip(node.ops, node.rights, strict=True))

    def chain(env: Env) -> bool:
        a = left(env)
        for op, right in links:
            b = right(env)
            if not op(a, b):
                return False
            a = b
        return True

    return chain


def kleene(node: Node) -> Kleene:  # one dispatch over the node kinds
    """A closure computing `node` with missing names as Unknown, by Kleene's rules."""
    if isinstance(node, Lit):
        value = node.value
        return lambda env, unknowns: value
    if isinstance(node, Name):
        name = node.id

        def lookup(env: Env, unknowns: Unknowns) -> object:
            try:
                return env[name]
            except KeyError:
                return Unknown.of(unknowns.get(name) or MissingFact(name))

        return lookup
    if isinstance(node, Choices):
        items = frozenset(i.value for i in node.items)
        return lambda env, unknowns: items
    if isinstance(node, Unary):
        return _lifted((kleene(node.operand),), _unary(node.op))
    if isinstance(node, Arith):
        return _lifted((kleene(node.left), kleene(node.right)), _ARITH[node.op])
    if isinstance(node, Call):
        return _lifted(tuple(kleene(a) for a in node.args), _CALLS[node.func])
    if isinstance(node, Logic):
        parts = tuple(kleene(v) for v in node.values)
        decisive = node.op == "or"  # the value that decides the whole: True for or, False for and

        def logic(env: Env, unknowns: Unknowns) -> object:
            pending = []
            for part in parts:
                value = part(env, unknowns)
                if isinstance(value, Unknown):
                    pending.append(value)
                elif value is decisive:
                    return decisive
            return unknown_of(tuple(pending)) if pending else (not decisive)

        return logic
    if isinstance(node, Compare):
        left = kleene(node.left)
        links = tuple((_COMPARE[o], kleene(r)) for o, r in zip(node.ops, node.rights, strict=True))

        def compare(env: Env, unknowns: Unknowns) -> object:
            a = left(env, unknowns)
            pending = []
            for op, right in links:
                b = right(env, unknowns)
                if isinstance(a, Unknown) or isinstance(b, Unknown):
                    pending.append(unknown_of((a, b)))
                elif not op(a, b):
                    return False
                a = b
            return unknown_of(tuple(pending)) if pending else True

        return compare
    if isinstance(node, IfElse):
        test, body, orelse = kleene(node.test), kleene(node.body), kleene(node.orelse)

        def if_else(env: Env, unknowns: Unknowns) -> object:
            decided = test(env, unknowns)
            if isinstance(decided, Unknown):
                return decided
            return body(env, unknowns) if decided else orelse(env, unknowns)

        return if_else
    raise TypeError(f"not a checked node: {node!r}")


def _unary(op: str) -> Callable[[object], object]:
    if op == "not":
        return operator.not_
    return CONTEXT.minus if op == "-" else CONTEXT.plus  # type: ignore[return-value]


def _lifted(parts: tuple[Kleene, ...], fn: Callable[..., object]) -> Kleene:
    """Apply `fn` to the parts' values, or propagate the Unknowns among them."""

    def lifted(env: Env, unknowns: Unknowns) -> object:
        values = tuple(p(env, unknowns) for p in parts)
        unknown = unknown_of(values)
        return unknown if unknown is not None else fn(*values)

    return lifted


_NO_UNKNOWNS: Unknowns = {}


def all_of(nodes: tuple[Node, ...]) -> Fast:
    """One fast closure for several conditions that must all hold (a clause's `when:`).

    Every condition is computed, even after one is false, as the explained path computes (and shows) each:
    a condition that cannot be computed (a division by zero) is reported the same with or without the trace.
    """
    parts = tuple(fast(n) for n in nodes)
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        a, b = parts

        def both(env: Env) -> bool:
            first, second = a(env), b(env)
            return bool(first) and bool(second)

        return both
    return lambda env: all([p(env) for p in parts])  # noqa: C419  the list computes every part: not lazy on purpose


class Compiled:
    """One checked expression as closures. Call it with the names in force; absent names are unknown."""

    __slots__ = ("_fast", "_kleene", "fast")

    def __init__(self, node: Node):
        self._fast = self.fast = fast(node)  # `fast` raises KeyError at the first absent name
        self._kleene = kleene(node)

    def __call__(self, env: Env, unknowns: Unknowns = _NO_UNKNOWNS) -> object:
        try:
            return self._fast(env)
        except KeyError:
            return self._kleene(env, unknowns)

    def kleene(self, env: Env, unknowns: Unknowns = _NO_UNKNOWNS) -> object:
        """The three-valued path alone (for tests and the reference comparison)."""
        return self._kleene(env, unknowns)
