"""The expression language: parse once behind an AST allow-list, type-check names, build the engine's tree.

Evaluation is three-valued: a missing fact yields `Unknown` (carrying which facts are missing), and
`and`/`or` follow Kleene's rules, so `False and <missing>` is decided (False) while
`True and <missing>` stays undetermined. Nothing missing is ever read as 0 or false. The runtime evaluates
with the compiled closures (`Expr.run`, engine.lang.closures); `engine.lang.reference.evaluate` is the reference
evaluator on simpleeval, which they must agree with.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Mapping, NoReturn

from engine.core.amounts import AMOUNT_IN_TEXT, READING, UNITS, currency_of, out_of_range, plain
from engine.core.dates import MAX_PERIODS
from engine.core.messages import msg
from engine.core.suggest import did_you_mean, one_of
from engine.core.values import Unknown as Unknown  # re-exported: the value of an undetermined expression
from engine.lang.analysis import Bound as Bound  # re-exported, as the two below
from engine.lang.analysis import bounds as bounds
from engine.lang.analysis import comparison_parts as comparison_parts
from engine.lang.analysis import names_breadth_first
from engine.lang.build import BOOLEANS, build, literal_text
from engine.lang.closures import Compiled
from engine.lang.tree import SYMBOLS, Choices, Compare, Lit, Node
from engine.lang.units import PERCENT_DIM, PLAIN_DIM, Dim, Dims, money

MAX_LENGTH = 500
_DECIMAL_LITERAL = re.compile(r"\d+(\.\d+)?")
MAX_DEPTH = 24

NUM, BOOL, TEXT, DATE, LIST = "number", "yes/no", "text", "date", "list"


@dataclass(frozen=True)
class NameInfo:
    """What the type checker knows of a name: its type, and for text the allowed values if any."""

    type: str
    choices: tuple[str, ...] = ()
    dim: Dim | None = None  # for a number: what it measures (engine.lang.units); None: not checked


class ExpressionError(Exception):
    """A problem in one expression; `offset` is a 0-based position in the text as the user wrote it."""

    def __init__(self, message: str, offset: int | None = None, suggestion: str | None = None):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.suggestion = suggestion


@dataclass(frozen=True, eq=False)
class Expr:
    """A parsed, checked expression. `names` are the facts and parameters it reads.

    `node` is the checked expression in the engine's own terms (engine.lang.tree): the runtime, the tools and
    the review page all read that; Python's ast stays inside engine.lang.
    """

    text: str
    node: Node = field(repr=False)
    names: frozenset[str]
    type: str
    ordered_names: tuple[str, ...] = ()  # the same names, level by level (names_breadth_first): for explanations
    origin: tuple[str | None, int | None, int | None] = (None, None, None)  # file, line, column it was written at
    source: str = field(default="", repr=False)  # the text as Python reads it (10万元 spelt 100000): for simpleeval
    dim: Dim | None = None  # for a number: what it measures (money in a currency, a percentage, a unit)
    derived: tuple[str, ...] = ()  # derived values the text names, inlined into `node` (engine.model.compile)

    def __str__(self) -> str:
        return self.text

    def __getstate__(self) -> dict[str, object]:
        """Pickled (engine.cache) without its compiled closures, which are remade on first use."""
        return {k: v for k, v in self.__dict__.items() if k not in ("run", "sides")}

    @cached_property
    def run(self) -> Compiled:
        """The expression compiled to closures, once (engine.lang.closures)."""
        return Compiled(self.node)

    @cached_property
    def sides(self) -> tuple[Compiled, str, Compiled] | None:
        """For a simple comparison `a OP b`: both sides compiled, and the symbol officers read; else None."""
        node = self.node
        if isinstance(node, Compare) and len(node.ops) == 1:
            right = node.rights[0]
            if isinstance(right, Choices):  # shown as the list it is
                right = Lit(tuple(i.value for i in right.items))  # type: ignore[arg-type]
            return Compiled(node.left), SYMBOLS[node.ops[0]], Compiled(right)
        return None


# --- parsing ---------------------------------------------------------------------------------------

# Per amount rewritten: (new_start, new_end, old_start, old_end) of its text before and after.
Shifts = list[tuple[int, int, int, int]]


def _literal_dims(expanded: str, text: str, shifts: Shifts) -> dict[int, Dim]:
    """Per amount written with a unit (500万元, 2000万美元, 50%): what it measures, keyed by where Python's parser
    puts the number (its UTF-8 byte offset in the expanded text)."""
    found: dict[int, Dim] = {}
    for new_start, _new_end, old_start, _old_end in shifts:
        match = AMOUNT_IN_TEXT.match(text, old_start)
        unit = match.group(2) if match else None
        currency = currency_of(unit)
        dim = money(currency) if currency else PERCENT_DIM if unit == "%" else PLAIN_DIM
        found[len(expanded[:new_start].encode("utf-8"))] = dim
    return found


def _expand_amounts(text: str) -> tuple[str, Shifts]:
    """Rewrite 10万元 / 2亿元 / 50% as plain decimals for Python's parser.

    Returns the new text and, per rewrite, (new_start, new_end, old_start, old_end) so that an error
    position in the new text can be shown in the text the user wrote.
    """
    out: list[str] = []
    shifts: Shifts = []
    last = new_pos = 0
    for m in AMOUNT_IN_TEXT.finditer(text):
        number, unit = m.groups()
        literal = plain(READING.multiply(Decimal(number.replace(",", "")), UNITS[unit]))
        out.append(text[last:m.start()])
        new_pos += m.start() - last
        shifts.append((new_pos, new_pos + len(literal), m.start(), m.end()))
        out.append(literal)
        new_pos += len(literal)
        last = m.end()
    out.append(text[last:])
    return "".join(out), shifts


def _as_written(node: ast.AST, expanded: str, text: str, shifts: Shifts) -> str:
    """A node's text as the author wrote it (1亿元, not 100000000), for messages."""
    data = expanded.encode("utf-8")
    start, end = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
    if start is None or end is None:
        return "?"
    first = len(data[:start].decode("utf-8", "replace"))
    last = len(data[:end].decode("utf-8", "replace"))
    old_start = _original_offset(first, shifts)
    old_end = _original_offset(last - 1, shifts) + 1
    for new_start, new_end, _o_start, o_end in shifts:  # the end of a rewritten amount is the end of its unit
        if new_start <= last - 1 < new_end:
            old_end = o_end
    return text[old_start:old_end]


def _original_offset(offset: int, shifts: Shifts) -> int:
    delta = 0
    for new_start, new_end, old_start, old_end in shifts:
        if offset < new_start:
            break
        if offset < new_end:
            return old_start
        delta = old_end - new_end
    return offset + delta


# Python syntax the language does not have: node type -> message key (and hint key, where there is one).
_FORBIDDEN = {
    ast.Attribute: "expr.forbidden.attribute",
    ast.Subscript: "expr.forbidden.subscript",
    ast.Lambda: "expr.forbidden.lambda",
    ast.ListComp: "expr.forbidden.comprehension",
    ast.SetComp: "expr.forbidden.comprehension",
    ast.DictComp: "expr.forbidden.comprehension",
    ast.GeneratorExp: "expr.forbidden.comprehension",
    ast.NamedExpr: "expr.forbidden.assignment",
    ast.JoinedStr: "expr.forbidden.fstring",
    ast.Dict: "expr.forbidden.dict",
    ast.Set: "expr.forbidden.set",
    ast.Starred: "expr.forbidden.starred",
    ast.Await: "expr.forbidden.await",
    ast.Yield: "expr.forbidden.yield",
    ast.YieldFrom: "expr.forbidden.yield",
    ast.Slice: "expr.forbidden.slice",
}
_FORBIDDEN_HINTS = {
    ast.Attribute: "expr.forbidden.attribute.hint",
    ast.Subscript: "expr.forbidden.subscript.hint",
    ast.ListComp: "expr.forbidden.comprehension.hint",
    ast.GeneratorExp: "expr.forbidden.comprehension.hint",
    ast.Set: "expr.forbidden.set.hint",
}
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_LEVEL = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2}  # operators of one precedence chain without nesting
# Operators the language does not have: node type -> message key.
_BINOP_HELP = {
    ast.Pow: "expr.operator.pow",
    ast.Mod: "expr.operator.mod",
    ast.FloorDiv: "expr.operator.floordiv",
    ast.BitAnd: "expr.operator.bitand",
    ast.BitOr: "expr.operator.bitor",
    ast.BitXor: "expr.operator.bitxor",
    ast.LShift: "expr.operator.lshift",
    ast.RShift: "expr.operator.rshift",
    ast.MatMult: "expr.operator.matmult",
}
# What to write instead, where the operator or function an officer reached for is one the language lacks on
# purpose: whole steps (每满…) and rounding are not arithmetic in an expression.
_BINOP_HINTS: dict[type[ast.operator], str] = {ast.FloorDiv: "hint.floordiv"}
_NOT_FUNCTIONS = {"int": "hint.fn.round", "round": "hint.fn.round", "floor": "hint.fn.round", "ceil": "hint.fn.round",
                  "trunc": "hint.fn.round", "float": "hint.fn.convert", "Decimal": "hint.fn.convert",
                  "str": "hint.fn.convert", "bool": "hint.fn.convert", "sum": "hint.fn.list", "len": "hint.fn.list",
                  "count": "hint.fn.list", "pow": "hint.fn.pow", "divmod": "hint.floordiv"}
_CMPOPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
           ast.In: "in", ast.NotIn: "not in"}

# name -> (argument type, minimum arguments, maximum arguments or None, result type)
FUNCTIONS: dict[str, tuple[str, int, int | None, str]] = {
    "min": (NUM, 2, None, NUM),
    "max": (NUM, 2, None, NUM),
    "abs": (NUM, 1, 1, NUM),
    "date": (TEXT, 1, 1, DATE),
    "days_between": (DATE, 2, 2, NUM),
    "months_between": (DATE, 2, 2, NUM),
    "years_between": (DATE, 2, 2, NUM),
    # a date and a whole number of periods: the day that many periods later (engine.core.dates)
    "days_after": (DATE, 2, 2, DATE),
    "months_after": (DATE, 2, 2, DATE),
    "years_after": (DATE, 2, 2, DATE),
}
# The functions whose second argument is a count of periods: a whole number written in the expression.
PERIODS_AFTER = {"days_after": "天", "months_after": "月", "years_after": "年"}


def parse(text: str, scope: Mapping[str, NameInfo], expect: str | None = None) -> Expr:
    """Parse and check `text` against the declared names in `scope`; raise ExpressionError at its offset."""
    if not isinstance(text, str):
        text = plain(text) if isinstance(text, Decimal) else str(text)
    if not text.strip():
        raise ExpressionError(msg("expr.empty"))
    if len(text) > MAX_LENGTH:
        raise ExpressionError(msg("expr.too_long", length=len(text), limit=MAX_LENGTH),
                              suggestion=msg("expr.too_long.hint"))
    if "\n" in text.strip():
        text = " ".join(text.split())
    expanded, shifts = _expand_amounts(text.strip())
    try:
        tree = ast.parse(expanded, mode="eval").body
    except SyntaxError as exc:
        offset = _original_offset((exc.offset or 1) - 1, shifts)
        raise ExpressionError(msg("expr.syntax", detail=exc.msg), offset, suggestion=_syntax_hint(text)) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError(msg("expr.malformed"), suggestion=msg("expr.malformed.hint", depth=MAX_DEPTH)) from None
    checker = _Checker(expanded, shifts, scope)
    kind = checker.check(tree, 0)
    if expect is not None and kind != expect:
        raise ExpressionError(msg("expr.wrong_result", want=_article(expect), got=_article(kind)), 0,
                              suggestion=_expect_hint(expect, kind))
    dims = {n: i.dim for n, i in scope.items() if i.dim is not None}
    dim = Dims(dims, _literal_dims(expanded, text.strip(), shifts), checker.fail,
               lambda node: _as_written(node, expanded, text.strip(), shifts)).whole(tree) \
        if kind == NUM or kind == BOOL else None
    node = build(tree, expanded)
    return Expr(text=text.strip(), node=node, names=frozenset(checker.names), type=kind,
                ordered_names=tuple(n for n in names_breadth_first(node) if n in checker.names), source=expanded,
                dim=dim)


_KIND_KEYS = {NUM: "expr.kind.number", BOOL: "expr.kind.boolean", TEXT: "expr.kind.text", DATE: "expr.kind.date",
              LIST: "expr.kind.list"}


def _article(kind: str) -> str:
    return msg(_KIND_KEYS[kind]) if kind in _KIND_KEYS else kind


def _expect_hint(expect: str, kind: str) -> str | None:
    if expect == BOOL and kind == NUM:
        return msg("expr.hint.compare_with_bound")
    if expect == NUM and kind == BOOL:
        return msg("expr.hint.condition_not_amount")
    return None


def _syntax_hint(text: str) -> str | None:
    if "=" in text and not re.search(r"[=!<>]=", text):
        return msg("expr.hint.equals")
    if re.search(r"&&|\|\|", text):
        return msg("expr.hint.and_or")
    if re.search(r"[（）≥≤，]", text):
        return msg("expr.hint.ascii")
    if re.search(r"(?:^|[^\d\s])\s*(万元|亿元)", text):  # a unit with no digits before it, e.g. 五百万元
        return msg("expr.hint.amount_after_number")
    return msg("expr.hint.check_syntax")


class _Checker:
    """Checks a Python tree against the allow-list and the declared names' types; reads it, never changes it."""

    def __init__(self, text: str, shifts: Shifts, scope: Mapping[str, NameInfo]):
        self.text, self.shifts, self.scope = text, shifts, scope
        self.names: set[str] = set()

    def fail(self, node: ast.AST, message: str, suggestion: str | None = None) -> NoReturn:
        offset: int | None = getattr(node, "col_offset", None)
        if offset is not None:
            offset = _original_offset(offset, self.shifts)
        raise ExpressionError(message, offset, suggestion)

    def check(self, node: ast.expr, depth: int) -> str:  # one dispatch, kept flat on purpose
        if depth > MAX_DEPTH:
            self.fail(node, msg("expr.too_deep", depth=MAX_DEPTH), msg("expr.too_deep.hint"))
        if type(node) in _FORBIDDEN:
            self.fail(node, msg(_FORBIDDEN[type(node)]),
                      msg(_FORBIDDEN_HINTS[type(node)]) if type(node) in _FORBIDDEN_HINTS else None)
        d = depth + 1
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool):
                return BOOL
            if isinstance(value, (int, float)):
                literal = literal_text(self.text, node)
                if not _DECIMAL_LITERAL.fullmatch(literal):  # 0x10, 0b1, 1_000, 1e5: not how amounts are written
                    self.fail(node, msg("expr.literal.not_decimal", literal=literal),
                              msg("expr.literal.not_decimal.hint"))
                if out_of_range(Decimal(literal)):  # exact, from its text, as build reads it
                    self.fail(node, msg("amount.out_of_range", value=literal))
                return NUM
            if isinstance(value, str):
                return TEXT
            self.fail(node, msg("expr.literal", value=repr(value)), msg("expr.literal.hint"))
        if isinstance(node, ast.Name):
            if node.id in BOOLEANS:  # YAML-style booleans inside expressions: build makes them literals
                return BOOL
            info = self.scope.get(node.id)
            if info is None:
                if node.id.lower() in ("yes", "no", "on", "off"):
                    self.fail(node, msg("expr.yes_no", name=node.id), msg("expr.yes_no.hint"))
                if node.id in FUNCTIONS:
                    self.fail(node, msg("expr.function_name", name=node.id))
                self.fail(node, msg("expr.unknown_name", name=node.id),
                          did_you_mean(node.id, self.scope) or msg("expr.unknown_name.hint"))
            self.names.add(node.id)
            return info.type
        if isinstance(node, ast.UnaryOp):
            kind = self.check(node.operand, d)
            if isinstance(node.op, ast.Not):
                self.need(node.operand, kind, BOOL, "'not'")
                return BOOL
            if isinstance(node.op, (ast.USub, ast.UAdd)):
                self.need(node.operand, kind, NUM, msg("expr.what.sign"))
                return NUM
            self.fail(node, msg("expr.operator.invert"), msg("expr.operator.invert.hint"))
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                self.fail(node, msg(_BINOP_HELP.get(type(node.op), "expr.operator.other")),
                          msg(_BINOP_HINTS[type(node.op)]) if type(node.op) in _BINOP_HINTS else None)
            # `a + b - c + …` written flat is one level, however long: Python's tree leans left, one BinOp per
            # operator, but only what is nested in brackets or calls counts towards MAX_DEPTH
            # (the length limit bounds the chain: at most MAX_LENGTH / 2 terms).
            chained = isinstance(node.left, ast.BinOp) and _LEVEL.get(type(node.left.op)) == _LEVEL[type(node.op)]
            for side, side_depth in ((node.left, depth if chained else d), (node.right, d)):
                self.need(side, self.check(side, side_depth), NUM, f"'{_BINOPS[type(node.op)]}'")
            return NUM
        if isinstance(node, ast.BoolOp):
            word = "and" if isinstance(node.op, ast.And) else "or"
            for operand in node.values:
                self.need(operand, self.check(operand, d), BOOL, f"'{word}'")
            return BOOL
        if isinstance(node, ast.Compare):
            left_node, left = node.left, self.check(node.left, d)
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                if type(op) not in _CMPOPS:
                    self.fail(node, msg("expr.operator.is"))
                if isinstance(op, (ast.In, ast.NotIn)):
                    self.check_membership(left_node, left, right_node, d)
                    right = left
                else:
                    right = self.check(right_node, d)
                    if left != right:
                        self.fail(right_node, msg("expr.compare", left=_article(left), right=_article(right)),
                                  _compare_hint(left, right, ast.get_source_segment(
                                      self.text, left_node if left == BOOL else right_node) or "x"))
                    if not isinstance(op, (ast.Eq, ast.NotEq)) and left not in (NUM, DATE):
                        self.fail(node, msg("expr.order_needs_numbers", op=_CMPOPS[type(op)], kind=_article(left)))
                    self.check_choice(left_node, right_node)
                    self.check_choice(right_node, left_node)
                left_node, left = right_node, right
            return BOOL
        if isinstance(node, ast.IfExp):
            self.need(node.test, self.check(node.test, d), BOOL, "'if'")
            body, orelse = self.check(node.body, d), self.check(node.orelse, d)
            if body != orelse:
                self.fail(node, msg("expr.if_branches", body=_article(body), orelse=_article(orelse)))
            return body
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                self.fail(node, msg("expr.call_only", names=one_of(FUNCTIONS)))
            name = node.func.id
            if name in _NOT_FUNCTIONS:  # a function officers know from Excel or Python: say what to write instead
                self.fail(node, msg("hint.fn.not_available", name=name, names=one_of(FUNCTIONS)),
                          msg(_NOT_FUNCTIONS[name]))
            if name not in FUNCTIONS:
                self.fail(node, msg("expr.unknown_function", name=name, names=one_of(FUNCTIONS)),
                          did_you_mean(name, FUNCTIONS))
            if node.keywords:
                self.fail(node, msg("expr.keywords", name=name))
            arg_type, lo, hi, result = FUNCTIONS[name]
            if len(node.args) < lo or (hi is not None and len(node.args) > hi):
                count = str(lo) if hi == lo else msg("expr.at_least", count=lo)
                self.fail(node, msg("expr.arguments", name=name, count=count, got=len(node.args)))
            if name in PERIODS_AFTER:
                self.check_periods(name, node.args[1])
            for arg in node.args[:1] if name in PERIODS_AFTER else node.args:
                self.need(arg, self.check(arg, d), arg_type, f"{name}()")
            if name == "date":
                arg = node.args[0]
                if not isinstance(arg, ast.Constant) or not isinstance(arg.value, str):
                    self.fail(arg, msg("expr.date_literal"))
                try:
                    dt.date.fromisoformat(arg.value)  # build makes the call this date
                except ValueError:
                    self.fail(arg, msg("expr.not_a_date", value=arg.value))
            return result
        if isinstance(node, (ast.List, ast.Tuple)):
            self.fail(node, msg("expr.list_outside_in"))
        self.fail(node, msg("expr.not_allowed", what=type(node).__name__), msg("expr.not_allowed.hint"))

    def check_periods(self, name: str, node: ast.expr) -> None:
        """`years_after(settled_on, 1)`: the count is a whole number as written, so the day it names is fixed."""
        literal = literal_text(self.text, node) if isinstance(node, ast.Constant) \
            and isinstance(node.value, int) and not isinstance(node.value, bool) else None
        if literal is None or not literal.isdigit() or int(literal) > MAX_PERIODS:
            shown = ast.get_source_segment(self.text, node) or "?"
            self.fail(node, msg("expr.periods_whole", name=name, shown=shown, limit=MAX_PERIODS),
                      msg("expr.periods_whole.hint", name=name))

    def need(self, node: ast.expr, kind: str, want: str, what: str) -> None:
        if kind != want:
            shown = ast.get_source_segment(self.text, node) or "this"
            self.fail(node, msg("expr.needs", what=what, want=_article(want), shown=shown, kind=_article(kind)),
                      _expect_hint(want, kind))

    def check_membership(self, left_node: ast.expr, left: str, right_node: ast.expr, depth: int) -> None:
        if not isinstance(right_node, (ast.List, ast.Tuple)):
            self.fail(right_node, msg("expr.in_needs_list"))
        if len(right_node.elts) > 200:
            self.fail(right_node, msg("expr.in_too_long", limit=200))
        for element in right_node.elts:
            if not isinstance(element, ast.Constant):
                self.fail(element, msg("expr.in_literals"))
            kind = self.check(element, depth + 1)
            if kind != left:
                self.fail(element, msg("expr.in_mixed", left=_article(left), kind=_article(kind)))
            self.check_choice(left_node, element)

    def check_choice(self, name_node: ast.expr, literal_node: ast.expr) -> None:
        """`kind == 'sellr'` against a fact with declared choices: a likely typo, caught now."""
        if isinstance(name_node, ast.Name) and isinstance(literal_node, ast.Constant) \
                and isinstance(literal_node.value, str):
            info = self.scope.get(name_node.id)
            if info and info.choices and literal_node.value not in info.choices:
                self.fail(literal_node, msg("expr.not_a_choice", value=literal_node.value, name=name_node.id,
                                            choices=one_of(info.choices)),
                          did_you_mean(literal_node.value, info.choices))


def _compare_hint(left: str, right: str, name: str) -> str | None:
    if BOOL in (left, right):
        return msg("expr.hint.yes_no_fact", name=name)
    if TEXT in (left, right) and NUM in (left, right):
        return msg("expr.hint.unquoted_amount")
    return None

