"""What a number measures, checked before any applicant is evaluated: money in a currency, a percentage, a
quantity in a unit (平方米, 人, 月), an exchange rate (元/美元), or a plain count.

The type checker (engine.lang.expressions) knows that an expression is a number; this pass knows which kind of
number, so that nonsense is refused at its line: money × money, dollars added to 元 or compared with them
without a conversion, money compared with a bare number (`cbec_turnover >= 5000000` — write 500万元), a
percentage compared with money, a count of enterprises compared with an area. Converting is multiplying by a
rate whose unit says so: 万美元 × (元/美元) is 元.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable, Mapping, NoReturn

from engine.core.amounts import CURRENCIES
from engine.core.messages import msg

MONEY, PERCENT, PLAIN, UNIT = "money", "percent", "plain", "unit"
SQUARED = "money²"  # money × money: meaningless unless divided by money again


@dataclass(frozen=True)
class Dim:
    """A number's kind: money (detail: its currency code), percent, a unit (detail: 平方米, 元/美元), or plain."""

    kind: str
    detail: str = ""

    def words(self) -> str:
        """How a message names it: 美元金额, 百分比, 平方米, 数."""
        if self.kind == MONEY:
            return msg("unit.money", currency=CURRENCIES.get(self.detail, self.detail))
        if self.kind == PERCENT:
            return msg("unit.percent")
        if self.kind == UNIT:
            return msg("unit.unit", unit=self.detail)
        if self.kind == SQUARED:
            return msg("unit.squared")
        return msg("unit.plain")

    def rate(self) -> tuple[str, str] | None:
        """For an exchange rate (unit 元/美元): (to, from) currency codes; else None."""
        if self.kind != UNIT or "/" not in self.detail:
            return None
        to, _, frm = self.detail.partition("/")
        codes = {word: code for code, word in CURRENCIES.items()}
        if to in codes and frm in codes:
            return codes[to], codes[frm]
        return None


PLAIN_DIM, PERCENT_DIM = Dim(PLAIN), Dim(PERCENT)
# Whole units between dates count in the units officers write on such facts (运营年限: unit 年).
_DATE_UNITS = {"days_between": "天", "months_between": "月", "years_between": "年"}


def money(currency: str) -> Dim:
    return Dim(MONEY, currency)


Fail = Callable[[ast.AST, str, "str | None"], NoReturn]


class _Unset:
    """No value given (None is a Dim's "not a number")."""


_UNSET = _Unset()


class Dims:
    """Infers the Dim of each numeric node of a checked Python tree; `fail` raises at a node's position."""

    def __init__(self, names: Mapping[str, Dim], literals: Mapping[int, Dim], fail: Fail,
                 text: Callable[[ast.AST], str]):
        self.names, self.literals, self.fail, self.text = names, literals, fail, text

    def literal(self, node: ast.AST) -> bool:
        return isinstance(node, ast.Constant) or (isinstance(node, ast.UnaryOp) and isinstance(node.operand,
                                                                                                  ast.Constant))

    def zero(self, node: ast.AST) -> bool:
        return isinstance(node, ast.Constant) and not isinstance(node.value, bool) and node.value == 0

    def of(self, node: ast.expr) -> Dim | None:  # one dispatch over the node kinds
        """The node's Dim; None for what is not a number (a yes/no, text, a date)."""
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                return None
            return self.literals.get(node.col_offset, PLAIN_DIM)
        if isinstance(node, ast.Name):
            return self.names.get(node.id)
        if isinstance(node, ast.UnaryOp):
            inner = self.of(node.operand)
            return inner if isinstance(node.op, (ast.USub, ast.UAdd)) else None
        if isinstance(node, ast.BinOp):
            # a flat chain `a + b - c …` leans left, one BinOp per operator: walk its spine without recursing,
            # so a sum as long as MAX_LENGTH allows costs no more stack than one operator
            spine = []
            while isinstance(node, ast.BinOp):
                spine.append(node)
                node = node.left
            dim = self.of(node)
            for operation in reversed(spine):
                dim = self.arith(operation, dim)
            return dim
        if isinstance(node, ast.BoolOp):
            for value in node.values:
                self.of(value)
            return None
        if isinstance(node, ast.Compare):
            left_node = node.left
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                if not isinstance(op, (ast.In, ast.NotIn)):
                    self.same(left_node, right_node, node, "unit.compare")
                left_node = right_node
            return None
        if isinstance(node, ast.IfExp):
            self.of(node.test)
            return self.same(node.body, node.orelse, node, "unit.branches")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("min", "max"):
                found = self.of(node.args[0])
                for arg in node.args[1:]:
                    found = self.same(node.args[0], arg, node, "unit.arguments")
                return found
            if node.func.id == "abs":
                return self.of(node.args[0])
            if node.func.id in _DATE_UNITS:
                return Dim(UNIT, _DATE_UNITS[node.func.id])
            return None
        return None

    def same(self, a: ast.expr, b: ast.expr, at: ast.AST, key: str, left: Dim | None | _Unset = _UNSET) -> Dim | None:
        """Two sides that must measure the same thing (compared, added, the branches of an if); `left`, when
        given, is the Dim of `a`, already found."""
        left = self.of(a) if isinstance(left, _Unset) else left
        right = self.of(b)
        for side, node in ((left, a), (right, b)):
            if side is not None and side.kind == SQUARED:
                self.squared(node)
        if left is None or right is None:
            return None
        if left == right:
            return left
        for x, y, _x_node, y_node in ((left, right, a, b), (right, left, b, a)):
            if self.zero(y_node):
                return x  # 0 is nothing in any unit
            if y.kind == PLAIN and x.kind != MONEY:
                return x  # a bare number (30, 1万) counts in the other side's unit, or is a fraction of a percent
            if y.kind == PLAIN and x.kind == MONEY and self.literal(y_node):
                self.fail(y_node, msg(key, left=left.words(), right=right.words(), a=self.text(a), b=self.text(b)),
                          msg("unit.bare_number.hint", number=self.text(y_node),
                              currency=CURRENCIES.get(x.detail, x.detail)))
        hint = None
        if left.kind == MONEY and right.kind == MONEY:
            hint = msg("unit.convert.hint", a=CURRENCIES.get(left.detail, left.detail),
                       b=CURRENCIES.get(right.detail, right.detail))
        self.fail(at, msg(key, left=left.words(), right=right.words(), a=self.text(a), b=self.text(b)), hint)

    def squared(self, node: ast.AST) -> NoReturn:
        """Money × money used as it stands: report the product where it was written."""
        product = node
        while isinstance(product, ast.BinOp) and not isinstance(product.op, ast.Mult):
            product = product.left
        a, b = (product.left, product.right) if isinstance(product, ast.BinOp) else (product, product)
        self.fail(product, msg("unit.money_times_money", a=self.text(a), b=self.text(b)),
                  msg("unit.money_times_money.hint"))

    def whole(self, tree: ast.expr) -> Dim | None:
        """The Dim of a whole expression: money × money must not be its value."""
        dim = self.of(tree)
        if dim is not None and dim.kind == SQUARED:
            self.squared(tree)
        return dim

    def arith(self, node: ast.BinOp, left: Dim | None) -> Dim | None:
        """The Dim of `node`, its left side's Dim being `left`."""
        if isinstance(node.op, (ast.Add, ast.Sub)):
            return self.same(node.left, node.right, node, "unit.add", left)
        right = self.of(node.right)
        if left is None or right is None:
            return None  # a side whose kind is not known: nothing to check, nothing known of the result
        if isinstance(node.op, ast.Mult):
            if left.kind == MONEY and right.kind == MONEY:
                if left.detail != right.detail:
                    self.fail(node, msg("unit.money_times_money", a=self.text(node.left), b=self.text(node.right)),
                              msg("unit.money_times_money.hint"))
                return Dim(SQUARED, left.detail)  # fine only if divided by money again: fees × sales ÷ last_sales
            for money_side, other in ((left, right), (right, left)):
                if money_side.kind == MONEY:
                    rate = other.rate()
                    if rate is not None:
                        to, frm = rate
                        if frm != money_side.detail:
                            self.fail(node, msg("unit.wrong_rate", rate=other.detail, money=money_side.words()), None)
                        return money(to)
                    return money_side
            if left.kind in (PLAIN, PERCENT):
                return right if right.kind != PLAIN or left.kind == PLAIN else left
            if right.kind in (PLAIN, PERCENT):
                return left
            return Dim(UNIT, f"{left.detail}·{right.detail}")
        if isinstance(node.op, ast.Div):
            if left.kind == SQUARED and right == money(left.detail):
                return money(left.detail)
            if left == right and left.kind in (MONEY, UNIT):
                return PERCENT_DIM  # a ratio of like quantities: growth, a share
            if left.kind == MONEY and right.kind == MONEY:
                self.fail(node, msg("unit.add", left=left.words(), right=right.words(), a=self.text(node.left),
                                    b=self.text(node.right)),
                          msg("unit.convert.hint", a=CURRENCIES.get(left.detail, left.detail),
                              b=CURRENCIES.get(right.detail, right.detail)))
            if right.kind in (PLAIN, PERCENT):
                return left
            if left.kind in (PLAIN, PERCENT):
                return left if right.kind != MONEY else PLAIN_DIM
            return Dim(UNIT, f"{left.detail}/{right.detail}")
        return None
