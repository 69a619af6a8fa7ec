"""The expression language: parse once behind an AST allow-list, type-check names, evaluate on simpleeval.

Evaluation is three-valued: a missing fact yields `Unknown` (carrying which facts are missing), and
`and`/`or` follow Kleene's rules, so `False and <missing>` is decided (False) while
`True and <missing>` stays undetermined. Nothing missing is ever read as 0 or false.
"""

from __future__ import annotations

import ast
import datetime as dt
import operator
import re
from dataclasses import dataclass, field
from decimal import Decimal, DivisionByZero, InvalidOperation, localcontext
from typing import Callable, Collection, Mapping

import simpleeval

from .amounts import AMOUNT_IN_TEXT, CONTEXT, UNITS, plain
from .suggest import did_you_mean, one_of

MAX_LENGTH = 500
MAX_DEPTH = 24

NUM, BOOL, TEXT, DATE, LIST = "number", "yes/no", "text", "date", "list"


@dataclass(frozen=True)
class NameInfo:
    """What the type checker knows of a name: its type, and for text the allowed values if any."""

    type: str
    choices: tuple[str, ...] = ()


class ExpressionError(Exception):
    """A problem in one expression; `offset` is a 0-based position in the text as the user wrote it."""

    def __init__(self, message: str, offset: int | None = None, suggestion: str | None = None):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.suggestion = suggestion


@dataclass(frozen=True)
class Unknown:
    """The value of an expression that depends on facts not supplied."""

    missing: frozenset[str]

    def __bool__(self):  # a programming error if ever asked; Kleene logic handles Unknown explicitly
        raise TypeError("Unknown has no truth value")


@dataclass(frozen=True, eq=False)
class Expr:
    """A parsed, checked expression. `names` are the facts and parameters it reads."""

    text: str
    tree: ast.expr = field(repr=False)
    names: frozenset[str]
    type: str
    ordered_names: tuple[str, ...] = ()  # the same names, in the order they appear: for explanations

    def __str__(self) -> str:
        return self.text


# --- parsing ---------------------------------------------------------------------------------------

def _expand_amounts(text: str) -> tuple[str, list[tuple[int, int, int, int]]]:
    """Rewrite 10万元 / 2亿元 / 50% as plain decimals for Python's parser.

    Returns the new text and, per rewrite, (new_start, new_end, old_start, old_end) so that an error
    position in the new text can be shown in the text the user wrote.
    """
    out, shifts, last, new_pos = [], [], 0, 0
    for m in AMOUNT_IN_TEXT.finditer(text):
        number, unit = m.groups()
        literal = plain(CONTEXT.multiply(Decimal(number.replace(",", "")), UNITS[unit]))
        out.append(text[last:m.start()])
        new_pos += m.start() - last
        shifts.append((new_pos, new_pos + len(literal), m.start(), m.end()))
        out.append(literal)
        new_pos += len(literal)
        last = m.end()
    out.append(text[last:])
    return "".join(out), shifts


def _original_offset(offset: int, shifts) -> int:
    delta = 0
    for new_start, new_end, old_start, old_end in shifts:
        if offset < new_start:
            break
        if offset < new_end:
            return old_start
        delta = old_end - new_end
    return offset + delta


_FORBIDDEN = {
    ast.Attribute: ("attribute access (a.b) is not allowed", "use a declared fact or parameter name"),
    ast.Subscript: ("indexing (a[b]) is not allowed", "declare the value as its own fact"),
    ast.Lambda: ("lambda is not allowed", None),
    ast.ListComp: ("comprehensions are not allowed", "use a per_item award to count list items"),
    ast.SetComp: ("comprehensions are not allowed", None),
    ast.DictComp: ("comprehensions are not allowed", None),
    ast.GeneratorExp: ("comprehensions are not allowed", "use a per_item award to count list items"),
    ast.NamedExpr: ("assignment (:=) is not allowed", None),
    ast.JoinedStr: ("f-strings are not allowed", None),
    ast.Dict: ("dictionaries are not allowed", None),
    ast.Set: ("sets are not allowed", "write a list in brackets after 'in': x in ['a', 'b']"),
    ast.Starred: ("* unpacking is not allowed", None),
    ast.Await: ("await is not allowed", None),
    ast.Yield: ("yield is not allowed", None),
    ast.YieldFrom: ("yield is not allowed", None),
    ast.Slice: ("slices are not allowed", None),
}
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_BINOP_HELP = {
    ast.Pow: "'**' (power) is not allowed",
    ast.Mod: "'%' is only for percentages written after a number, such as 50%",
    ast.FloorDiv: "'//' is not allowed; use '/'",
    ast.BitAnd: "'&' is not allowed; use 'and'",
    ast.BitOr: "'|' is not allowed; use 'or'",
    ast.BitXor: "'^' is not allowed",
    ast.LShift: "'<<' is not allowed",
    ast.RShift: "'>>' is not allowed",
    ast.MatMult: "'@' is not allowed",
}
_CMPOPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
           ast.In: "in", ast.NotIn: "not in"}

# name -> (argument type, minimum arguments, maximum arguments or None, result type)
FUNCTIONS: dict[str, tuple[str, int, int | None, str]] = {
    "min": (NUM, 2, None, NUM),
    "max": (NUM, 2, None, NUM),
    "abs": (NUM, 1, 1, NUM),
    "date": (TEXT, 1, 1, DATE),
}


def parse(text: str, scope: Mapping[str, NameInfo], expect: str | None = None) -> Expr:
    """Parse and check `text` against the declared names in `scope`; raise ExpressionError at its offset."""
    if not isinstance(text, str):
        text = plain(text) if isinstance(text, Decimal) else str(text)
    if not text.strip():
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}",
                              suggestion="split it into several conditions, or name a part as a parameter")
    if "\n" in text.strip():
        text = " ".join(text.split())
    expanded, shifts = _expand_amounts(text.strip())
    try:
        tree = ast.parse(expanded, mode="eval").body
    except SyntaxError as exc:
        offset = _original_offset((exc.offset or 1) - 1, shifts)
        raise ExpressionError(f"not a valid expression: {exc.msg}", offset,
                              suggestion=_syntax_hint(text)) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("the expression is nested too deeply or is malformed",
                              suggestion=f"use at most {MAX_DEPTH} levels of brackets") from None
    checker = _Checker(expanded, shifts, scope)
    kind = checker.check(tree, 0)
    if expect is not None and kind != expect:
        raise ExpressionError(f"this must give {_article(expect)}, but it gives {_article(kind)}", 0,
                              suggestion=_expect_hint(expect, kind))
    return Expr(text=text.strip(), tree=tree, names=frozenset(checker.names), type=kind,
                ordered_names=tuple(n for n in names_in(tree) if n in checker.names))


def _article(kind: str) -> str:
    return {NUM: "a number", BOOL: "yes/no", TEXT: "text", DATE: "a date", LIST: "a list"}.get(kind, kind)


def _expect_hint(expect: str, kind: str) -> str | None:
    if expect == BOOL and kind == NUM:
        return "compare it with a bound, e.g. cbec_turnover >= 500万元"
    if expect == NUM and kind == BOOL:
        return "a condition belongs under when:, an amount here"
    return None


def _syntax_hint(text: str) -> str | None:
    if "=" in text and not re.search(r"[=!<>]=", text):
        return "to compare, write '==' (or >=, <=); '=' alone assigns"
    if re.search(r"&&|\|\|", text):
        return "write 'and' / 'or' instead of && / ||"
    if re.search(r"[（）≥≤，]", text):
        return "use ASCII brackets and operators: ( ) >= <= ,"
    if "万元" in text or "亿元" in text:
        return "write amounts right after the number, e.g. 500万元"
    return "check brackets and operators; conditions look like: cbec_turnover >= 500万元 and registered_cbec"


class _Checker:
    def __init__(self, text: str, shifts, scope: Mapping[str, NameInfo]):
        self.text, self.shifts, self.scope = text, shifts, scope
        self.names: set[str] = set()

    def fail(self, node, message: str, suggestion: str | None = None):
        offset = getattr(node, "col_offset", None)
        if offset is not None:
            offset = _original_offset(offset, self.shifts)
        raise ExpressionError(message, offset, suggestion)

    def check(self, node, depth: int) -> str:  # noqa: C901 - one dispatch, kept flat on purpose
        if depth > MAX_DEPTH:
            self.fail(node, f"the expression is nested more than {MAX_DEPTH} levels deep",
                      "split it into several conditions")
        if type(node) in _FORBIDDEN:
            message, hint = _FORBIDDEN[type(node)]
            self.fail(node, message, hint)
        d = depth + 1
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool):
                return BOOL
            if isinstance(value, (int, float)):
                node.value = Decimal(ast.get_source_segment(self.text, node))  # exact, from its text
                return NUM
            if isinstance(value, str):
                return TEXT
            self.fail(node, f"the literal {value!r} is not allowed", "use numbers, amounts, 'text', true or false")
        if isinstance(node, ast.Name):
            if node.id in ("true", "false", "True", "False"):
                node.__class__ = ast.Constant  # accept YAML-style booleans inside expressions
                node.value = node.id in ("true", "True")
                return BOOL
            info = self.scope.get(node.id)
            if info is None:
                if node.id.lower() in ("yes", "no", "on", "off"):
                    self.fail(node, f"'{node.id}' is not a yes/no value here", "write true or false, or just the "
                              "fact's name: `registered_cbec` / `not registered_cbec`")
                if node.id in FUNCTIONS:
                    self.fail(node, f"'{node.id}' is a function: call it as {node.id}(...)")
                self.fail(node, f"'{node.id}' is not a declared fact or parameter",
                          did_you_mean(node.id, self.scope) or "declare it under facts: or parameters:")
            self.names.add(node.id)
            return info.type
        if isinstance(node, ast.UnaryOp):
            kind = self.check(node.operand, d)
            if isinstance(node.op, ast.Not):
                self.need(node.operand, kind, BOOL, "'not'")
                return BOOL
            if isinstance(node.op, (ast.USub, ast.UAdd)):
                self.need(node.operand, kind, NUM, "a sign")
                return NUM
            self.fail(node, "'~' is not allowed", "use 'not'")
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                self.fail(node, _BINOP_HELP.get(type(node.op), "this operator is not allowed"))
            for side in (node.left, node.right):
                self.need(side, self.check(side, d), NUM, f"'{_BINOPS[type(node.op)]}'")
            return NUM
        if isinstance(node, ast.BoolOp):
            word = "and" if isinstance(node.op, ast.And) else "or"
            for value in node.values:
                self.need(value, self.check(value, d), BOOL, f"'{word}'")
            return BOOL
        if isinstance(node, ast.Compare):
            left_node, left = node.left, self.check(node.left, d)
            for op, right_node in zip(node.ops, node.comparators):
                if type(op) not in _CMPOPS:
                    self.fail(node, "'is' is not allowed; use '==' or '!='")
                if isinstance(op, (ast.In, ast.NotIn)):
                    self.check_membership(left_node, left, right_node, d)
                    right = left
                else:
                    right = self.check(right_node, d)
                    if left != right:
                        self.fail(right_node, f"cannot compare {_article(left)} with {_article(right)}",
                                  _compare_hint(left, right))
                    if not isinstance(op, (ast.Eq, ast.NotEq)) and left not in (NUM, DATE):
                        self.fail(node, f"'{_CMPOPS[type(op)]}' needs numbers or dates, not {_article(left)}")
                    self.check_choice(left_node, right_node)
                    self.check_choice(right_node, left_node)
                left_node, left = right_node, right
            return BOOL
        if isinstance(node, ast.IfExp):
            self.need(node.test, self.check(node.test, d), BOOL, "'if'")
            body, orelse = self.check(node.body, d), self.check(node.orelse, d)
            if body != orelse:
                self.fail(node, f"both branches of 'if ... else' must give the same kind of value "
                                f"({_article(body)} vs {_article(orelse)})")
            return body
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                self.fail(node, "only the functions " + one_of(FUNCTIONS) + " may be called")
            name = node.func.id
            if name not in FUNCTIONS:
                self.fail(node, f"unknown function '{name}'; allowed: {one_of(FUNCTIONS)}",
                          did_you_mean(name, FUNCTIONS))
            if node.keywords:
                self.fail(node, f"{name}() takes no named arguments")
            arg_type, lo, hi, result = FUNCTIONS[name]
            if len(node.args) < lo or (hi is not None and len(node.args) > hi):
                count = str(lo) if hi == lo else f"at least {lo}"
                self.fail(node, f"{name}() takes {count} argument(s), got {len(node.args)}")
            for arg in node.args:
                self.need(arg, self.check(arg, d), arg_type, f"{name}()")
            if name == "date":
                arg = node.args[0]
                if not isinstance(arg, ast.Constant):
                    self.fail(arg, "date() takes a literal such as date('2024-01-01')")
                try:
                    arg.value = dt.date.fromisoformat(arg.value)
                except ValueError:
                    self.fail(arg, f"'{arg.value}' is not a date; write YYYY-MM-DD")
            return result
        if isinstance(node, (ast.List, ast.Tuple)):
            self.fail(node, "a list may only follow 'in', e.g. area in ['莲都区', '市直']")
        self.fail(node, f"{type(node).__name__} is not allowed in an expression",
                  "use names, numbers, amounts, comparisons, and/or/not, if/else and min/max/abs")
        raise AssertionError("unreachable")

    def need(self, node, kind: str, want: str, what: str) -> None:
        if kind != want:
            shown = ast.get_source_segment(self.text, node) or "this"
            self.fail(node, f"{what} needs {_article(want)}, but '{shown}' is {_article(kind)}",
                      _expect_hint(want, kind))

    def check_membership(self, left_node, left: str, right_node, depth: int) -> None:
        if not isinstance(right_node, (ast.List, ast.Tuple)):
            self.fail(right_node, "'in' must be followed by a list in brackets, e.g. ['a', 'b']")
        if len(right_node.elts) > 200:
            self.fail(right_node, "the list after 'in' has more than 200 items")
        for element in right_node.elts:
            if not isinstance(element, ast.Constant):
                self.fail(element, "the list after 'in' may hold only literal values")
            kind = self.check(element, depth + 1)
            if kind != left:
                self.fail(element, f"the list after 'in' mixes {_article(left)} with {_article(kind)}")
            self.check_choice(left_node, element)

    def check_choice(self, name_node, literal_node) -> None:
        """`kind == 'sellr'` against a fact with declared choices: a likely typo, caught now."""
        if isinstance(name_node, ast.Name) and isinstance(literal_node, ast.Constant) \
                and isinstance(literal_node.value, str):
            info = self.scope.get(name_node.id)
            if info and info.choices and literal_node.value not in info.choices:
                self.fail(literal_node, f"'{literal_node.value}' is not one of the values of "
                                        f"'{name_node.id}': {one_of(info.choices)}",
                          did_you_mean(literal_node.value, info.choices))


def _compare_hint(left: str, right: str) -> str | None:
    if BOOL in (left, right):
        return "a yes/no fact is a condition on its own: write `registered_cbec`, or `not registered_cbec`"
    if TEXT in (left, right) and NUM in (left, right):
        return "write numbers and amounts without quotes: 500万元, not '500万元'"
    return None


# --- evaluation ------------------------------------------------------------------------------------

def _unknown_of(*values) -> Unknown | None:
    missing = frozenset().union(*(v.missing for v in values if isinstance(v, Unknown)))
    return Unknown(missing) if any(isinstance(v, Unknown) for v in values) else None


def _lift(fn: Callable) -> Callable:
    """Make an operator propagate Unknown instead of computing on it."""

    def lifted(*args):
        unknown = _unknown_of(*args)
        return unknown if unknown is not None else fn(*args)

    return lifted


_OPERATORS = {
    ast.Add: _lift(operator.add), ast.Sub: _lift(operator.sub), ast.Mult: _lift(operator.mul),
    ast.Div: _lift(operator.truediv),
    ast.Eq: _lift(operator.eq), ast.NotEq: _lift(operator.ne), ast.Lt: _lift(operator.lt),
    ast.LtE: _lift(operator.le), ast.Gt: _lift(operator.gt), ast.GtE: _lift(operator.ge),
    ast.USub: _lift(operator.neg), ast.UAdd: _lift(operator.pos), ast.Not: _lift(operator.not_),
    ast.In: _lift(lambda a, b: a in b), ast.NotIn: _lift(lambda a, b: a not in b),
}
_FUNCTIONS = {"min": _lift(min), "max": _lift(max), "abs": _lift(abs), "date": lambda d: d}


class EvaluationFailure(Exception):
    """Arithmetic that cannot be done (division by zero): the policy author's to fix."""


class _Evaluator(simpleeval.SimpleEval):
    """simpleeval's whitelist dispatch, narrowed to the checked node types and made three-valued."""

    def __init__(self, names: Mapping[str, object]):
        super().__init__(operators=_OPERATORS, functions=_FUNCTIONS, names=dict(names))
        allowed = (ast.Name, ast.UnaryOp, ast.BinOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call,
                   ast.Constant)
        self.nodes = {k: v for k, v in self.nodes.items() if k in allowed}
        self.nodes[ast.List] = self.nodes[ast.Tuple] = lambda node: tuple(self._eval(e) for e in node.elts)

    def _eval_boolop(self, node):
        decisive = isinstance(node.op, ast.Or)  # the value that decides the whole: True for or, False for and
        unknowns = []
        for value_node in node.values:
            value = self._eval(value_node)
            if isinstance(value, Unknown):
                unknowns.append(value)
            elif value is decisive:
                return decisive
        return _unknown_of(*unknowns) if unknowns else (not decisive)

    def _eval_compare(self, node):
        left = self._eval(node.left)
        unknowns = []
        for op, comp in zip(node.ops, node.comparators):
            right = self._eval(comp)
            result = self.operators[type(op)](left, right)
            if isinstance(result, Unknown):
                unknowns.append(result)
            elif not result:
                return False
            left = right
        return _unknown_of(*unknowns) if unknowns else True

    def _eval_ifexp(self, node):
        test = self._eval(node.test)
        if isinstance(test, Unknown):
            return test
        return self._eval(node.body) if test else self._eval(node.orelse)


class Evaluator:
    """Evaluates checked expressions against name values; build once per evaluation, reuse for every clause."""

    def __init__(self, names: Mapping[str, object]):
        self._inner = _Evaluator(names)

    @property
    def names(self) -> dict[str, object]:
        return self._inner.names

    def value(self, expr: Expr, names: Mapping[str, object] | None = None):
        """The value of `expr` (Unknown for a missing fact); `names` replaces the current ones for this call."""
        return self.node(expr.tree, names, expr.text)

    def node(self, node: ast.expr, names: Mapping[str, object] | None = None, text: str = ""):
        inner = self._inner
        saved = inner.names
        if names is not None:
            inner.names = names
        try:
            with localcontext(CONTEXT):
                inner.expr = text
                return inner._eval(node)
        except (DivisionByZero, InvalidOperation, ZeroDivisionError):
            raise EvaluationFailure(f"division by zero in '{text}'") from None
        finally:
            inner.names = saved


def evaluate(expr: Expr, names: Mapping[str, object]):
    """The value of `expr` given name values (Unknown for a missing fact). Decimal arithmetic throughout."""
    return Evaluator(names).value(expr)


# --- display ---------------------------------------------------------------------------------------

_SYMBOLS = {ast.GtE: "≥", ast.LtE: "≤", ast.Gt: ">", ast.Lt: "<", ast.Eq: "=", ast.NotEq: "≠",
            ast.In: "属于", ast.NotIn: "不属于"}


def comparison_parts(expr: Expr):
    """For a simple comparison `a OP b`, the two sides as Exprs and the operator symbol; else None."""
    tree = expr.tree
    if isinstance(tree, ast.Compare) and len(tree.ops) == 1 and type(tree.ops[0]) in _SYMBOLS:
        return tree.left, _SYMBOLS[type(tree.ops[0])], tree.comparators[0]
    return None


def names_in(node: ast.expr) -> list[str]:
    seen: list[str] = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id not in seen:
            seen.append(sub.id)
    return seen


# --- analysis --------------------------------------------------------------------------------------

_BOUND_OPS = {ast.GtE: ">=", ast.Gt: ">", ast.LtE: "<=", ast.Lt: "<", ast.Eq: "=="}
_FLIPPED = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "==": "=="}


@dataclass(frozen=True)
class Bound:
    """A comparison of one name with a literal or another name, read as `name OP operand`."""

    name: str
    op: str  # >= > <= < ==
    operand: ast.expr  # ast.Constant (value already a Decimal, bool, str or date) or ast.Name


def bounds(expr: Expr, subjects: Collection[str], conjunctive: bool = True) -> list[Bound]:
    """The simple bounds on `subjects` (usually facts) in `expr`: `x >= 500万元`, `5 <= x < 10`, `x`, `not x`.

    A bound's operand is a literal or a name outside `subjects` (a parameter). With `conjunctive`, only
    bounds that must all hold for the whole to be true (joined by `and` at the top); otherwise every
    comparison anywhere in the expression.
    """
    found: list[Bound] = []

    def operand(node: ast.expr) -> bool:
        return isinstance(node, ast.Constant) or (isinstance(node, ast.Name) and node.id not in subjects)

    def subject(node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id in subjects

    def visit(node: ast.expr) -> None:
        if isinstance(node, ast.BoolOp):
            if conjunctive and not isinstance(node.op, ast.And):
                return
            for value in node.values:
                visit(value)
        elif isinstance(node, ast.Compare):
            left = node.left
            for op, right in zip(node.ops, node.comparators):
                symbol = _BOUND_OPS.get(type(op))
                if symbol and subject(left) and operand(right):
                    found.append(Bound(left.id, symbol, right))
                elif symbol and operand(left) and subject(right):
                    found.append(Bound(right.id, _FLIPPED[symbol], left))
                left = right
        elif subject(node):
            found.append(Bound(node.id, "==", ast.Constant(True)))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) and subject(node.operand):
            found.append(Bound(node.operand.id, "==", ast.Constant(False)))
        elif not conjunctive:
            for child in ast.iter_child_nodes(node):
                visit(child)

    visit(expr.tree)
    return found
