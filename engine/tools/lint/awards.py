"""Lint: an award's own numbers on every day (amounts, rates, caps that never bind) and the most it can pay."""

from __future__ import annotations

from decimal import Decimal
from typing import Callable, Mapping

from engine.lang.expressions import Expr
from engine.lang.tree import Arith, Lit, Name, Node
from engine.model.policy import Clause
from engine.syntax.loader import Path_
from engine.tools.lint.base import Shown, _if, _show
from engine.tools.lint.units import UnitChecks


class AwardChecks(UnitChecks):  # an award's numbers are read with the units checks' reading of them
    def award(self, clause: Clause, i: int) -> None:
        award, path = clause.award, ("clauses", i, "award")
        assert award is not None, "only clauses with an award are checked here"
        for check in award.sanity():
            expr = check.expr
            if check.rule == "amount_not_positive":
                self.each_day("lint.amount_not_positive", "lint.amount_not_positive.hint",
                              path + (check.field,), clause, self.value_test(expr, lambda v: v <= 0))
            elif check.rule == "rate_range" and not self.is_percent_parameter(expr):
                self.each_day("lint.rate_range", "lint.rate_range.hint", path + (check.field,), clause,
                              self.value_test(expr, lambda v: not 0 <= v <= 1), kind="percent")
        # What the form itself finds (bands out of order, a step of 0): each reported once, from the first day on.
        reported: set[tuple[tuple[str | int, ...], str]] = set()
        for env, idx in self.classes(self._params[i]):
            def value(e: Expr, env: Mapping[str, Decimal] = env) -> Decimal | None:
                return self.constant(e, env)

            for finding in award.findings(value):
                if (finding.at, finding.message) not in reported:
                    reported.add((finding.at, finding.message))
                    self.add("lint.form", "lint.form.hint", path + finding.at, clause=clause.id,
                             finding=finding.message, advice=finding.hint, when=self.when([self.days[d] for d in idx]))
        # A constant award or cap past what is computed exactly: every evaluation of the clause is refused.
        computed: list[tuple[Expr, Path_]] = [(e, path) for e in award.expressions()]
        if clause.cap is not None:
            computed.append((clause.cap, ("clauses", i, "cap")))
        for expr, where in computed:
            self.each_day("lint.too_large", "evaluate.amount_out_of_range.hint", where, clause,
                          lambda env, e=expr: {"expr": e.text} if self.too_large(e, env) else None)  # type: ignore[misc]
        if clause.cap is None:
            return
        cap = clause.cap
        self.each_day("lint.cap_zero", "lint.cap_zero.hint",
                      ("clauses", i, "cap"), clause, self.value_test(cap, lambda v: v <= 0))
        # A cap is money: a percentage there (50% typed for 50万元) would cap the award at a few fen. A rate inside
        # a cap that is money (min(base * rate, 30万元)) is not one.
        if self.kind(cap.node, self.written(cap)) == "percent":
            param = self.policy.parameters.get(cap.text)
            where = ("parameters", cap.text) if param is not None else ("clauses", i, "cap")  # where the % was typed
            self.add("lint.cap_percent", "lint.cap_percent.hint", where, clause=clause.id, name=cap.text)

        def never_binds(env: Mapping[str, Decimal]) -> Shown | None:
            limit, top = self.constant(cap, env), self.upper_award(clause, env)
            # A cap equal to the largest award of a once/yearly clause is the idiom for "at most one award
            # per period" (it binds through amounts already granted), so only a cap above the award is odd.
            idiom = clause.period in ("once", "year") and top == limit
            if limit is not None and top is not None and 0 < top <= limit and not idiom:
                return {"cap": _show(limit, "money"), "award": _show(top, "money")}
            return None

        self.each_day("lint.cap_never_binds", "lint.cap_never_binds.hint",
                      ("clauses", i, "cap"), clause, never_binds, all_days=True)

    def value_test(self, expr: Expr, test: Callable[[Decimal], bool]) -> Callable[[Mapping[str, Decimal]],
                                                                                    Decimal | None]:
        """For each_day: the value of `expr` in an environment, when parameters alone give it and it passes `test`."""
        return lambda env: _if(self.constant(expr, env), test)

    def each_day(self, key: str, hint: str, path: Path_, clause: Clause,
                 test: Callable[[Mapping[str, Decimal]], Decimal | Shown | None], all_days: bool = False,
                 kind: str = "money") -> None:
        """Report once, for the first day `test` finds something (with all_days: only if it does every day).

        `test(env)` gets the parameters' values on a day and returns None, or the values to show (a value alone
        is shown as {value}).
        """
        found = self.per_day(clause, test)
        if not found or (all_days and len(found) != len(self.days)):
            return
        days = list(found)
        shown = found[days[0]]
        values = shown if isinstance(shown, dict) else {"value": _show(shown, kind)}
        self.report(key, hint, path, {"clause": clause.id, "when": self.when(days), **values})

    def is_percent_parameter(self, expr: Expr) -> bool:
        # Bare percentage parameters are checked once, at their own values, by parameters().
        param = self.policy.parameters.get(expr.text)
        return param is not None and param.kind.measure == "percent"

    def upper_award(self, clause: Clause, env: Mapping[str, Decimal]) -> Decimal | None:
        """The most the award can pay before its cap, when parameters and declared maxima bound it."""
        if clause.award is None:
            return None
        return clause.award.upper(lambda e: self.upper(e.node, env))

    def upper(self, node: Node, env: Mapping[str, Decimal]) -> Decimal | None:
        if isinstance(node, Lit) and isinstance(node.value, Decimal) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, Name):
            value = env.get(node.id)
            if value is None and node.id in self.policy.facts:
                value = self.policy.facts[node.id].maximum
            return value if isinstance(value, Decimal) else None
        if isinstance(node, Arith) and node.op in ("+", "*"):
            left, right = self.upper(node.left, env), self.upper(node.right, env)
            if left is None or right is None or left < 0 or right < 0:
                return None
            return left + right if node.op == "+" else left * right
        return None
