"""Lint: money compared with a percentage, and other mixed units in one comparison or sum."""

from __future__ import annotations

from decimal import Decimal
from typing import Mapping

from engine.core.amounts import AMOUNT_IN_TEXT, READING, UNITS
from engine.lang.expressions import Expr
from engine.lang.tree import Arith, Call, Compare, IfElse, Lit, Name, Node, Unary, walk
from engine.syntax.loader import Path_
from engine.tools.lint.base import LinterBase, _show


class UnitChecks(LinterBase):
    # -- money compared with a percentage ----------------------------------------------------------
    def units(self) -> None:
        """A condition comparing money with a percentage (`cbec_turnover >= 50%`, 50% typed for 50万元) reads
        the percentage as a fraction of a yuan: the bound is a few fen, and almost every applicant passes it."""
        for i, clause in enumerate(self.policy.clauses):
            for n, cond in enumerate(clause.conditions):
                found = self.money_and_percent(cond.expr)
                if found is not None:
                    money, percent = found
                    path: Path_ = ("clauses", i, "when", n)
                    if isinstance(self.doc["clauses"][i]["when"][n], dict):  # {if: …, label: …}: at the expression
                        path += ("if",)
                    self.add("lint.money_percent", "lint.money_percent.hint", path,
                             clause=clause.id, money=money, percent=percent, expr=cond.expr.text)

    @staticmethod
    def written(expr: Expr) -> dict[Decimal, set[str]]:
        """The literals of `expr` written as money (10万元) or as a percentage (50%), by value."""
        written: dict[Decimal, set[str]] = {}
        for m in AMOUNT_IN_TEXT.finditer(expr.text):
            number, unit = m.groups()
            kind = "percent" if unit == "%" else "money" if unit.endswith("元") else None
            if kind is not None:
                written.setdefault(READING.multiply(Decimal(number), UNITS[unit]), set()).add(kind)
        return written

    def kind(self, node: Node, written: Mapping[Decimal, set[str]]) -> str | None:
        """money, percent, or another kind, of what `node` computes, as far as its names and literals say:
        a rate times money is money, money less money is money, min(money, …) is money."""
        if isinstance(node, (Name, Lit)):
            return self.side_kind(node, written)
        if isinstance(node, Unary) and node.op != "not":
            return self.kind(node.operand, written)
        if isinstance(node, Arith):
            left, right = self.kind(node.left, written), self.kind(node.right, written)
            if node.op == "/":
                return None if right == "money" else left
            known = {left, right} - {None}
            return "money" if "money" in known else "percent" if known == {"percent"} else None
        if isinstance(node, (Call, IfElse)):
            branches = node.args if isinstance(node, Call) else (node.body, node.orelse)
            kinds = {self.kind(a, written) for a in branches}
            return "money" if "money" in kinds else "percent" if kinds == {"percent"} else None
        return None

    def money_and_percent(self, expr: Expr) -> tuple[str, str] | None:
        """The first comparison in `expr` of an amount of money with a percentage: how each side is written."""
        written = self.written(expr)
        for node in walk(expr.node):
            if not isinstance(node, Compare):
                continue
            left = node.left
            for op, right in zip(node.ops, node.rights, strict=True):
                if op not in ("in", "not in"):
                    sides = {self.side_kind(left, written): left, self.side_kind(right, written): right}
                    if "money" in sides and "percent" in sides:
                        return self.side_text(sides["money"], "money"), self.side_text(sides["percent"], "percent")
                left = right
        return None

    def side_kind(self, node: Node, written: Mapping[Decimal, set[str]]) -> str | None:
        """money or percent, when what `node` computes is one of them as far as its names and literals say."""
        while True:
            if isinstance(node, Name):
                known = self.policy.facts.get(node.id) or self.policy.parameters.get(node.id)
                return known.type if known is not None else None
            if isinstance(node, Lit):
                typed = written.get(node.value, set()) if isinstance(node.value, Decimal) \
                    and not isinstance(node.value, bool) else set()
                return next(iter(typed)) if len(typed) == 1 else None
            if isinstance(node, Unary) and node.op != "not":
                node = node.operand
            elif isinstance(node, Arith) and node.op in ("+", "-"):
                kind = self.side_kind(node.left, written)
                if kind is not None:
                    return kind
                node = node.right
            elif isinstance(node, (Call, IfElse)):  # min, max, abs; a if c else b: what every branch agrees on
                branches = node.args if isinstance(node, Call) else (node.body, node.orelse)
                kinds = {self.side_kind(a, written) for a in branches} - {None}
                return kinds.pop() if len(kinds) == 1 else None
            else:
                return None

    @staticmethod
    def side_text(node: Node, kind: str) -> str:
        if isinstance(node, Name):
            return node.id
        if isinstance(node, Lit):
            return _show(node.value, kind)
        return next((n.id for n in walk(node) if isinstance(n, Name)), "…")
