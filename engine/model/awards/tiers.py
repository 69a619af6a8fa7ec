"""Tiers: 超过1亿美元、5000万美元的分别给予不超过500万元、100万元 — the highest band reached pays."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, Mapping

from engine.core.amounts import CONTEXT
from engine.core.messages import msg
from engine.core.values import Unknown, unknown_of
from engine.lang.expressions import Expr
from engine.lang.tree import Lit
from engine.model.awards.base import (
    AwardForm,
    Compiler,
    Constant,
    Emitter,
    Finding,
    Run,
    Spec,
    SqlAward,
    SqlEmitter,
    Step,
    Stop,
    Upper,
    Words,
    kind_of,
)
from engine.model.awards.rate import BaseStep, ProductStep
from engine.model.awards.steps import check_kind, shown, written
from engine.model.outcome import Why

# How a band's lower bound reads: from: includes it (达到, 以上), above: does not (超过).
_BAND = {True: "tiers.from", False: "tiers.above"}


@dataclass(frozen=True)
class Band:
    """One band: its lower bound, whether the bound itself is in it, and what it pays."""

    bound: Expr
    inclusive: bool  # from: (>=) or above: (>)
    amount: Expr | None = None  # a fixed amount …
    rate: Expr | None = None  # … or a rate of the table's base,
    cap: Expr | None = None  # at most this (with rate)

    @property
    def key(self) -> str:
        return "from" if self.inclusive else "above"

    def expressions(self) -> tuple[Expr, ...]:
        return tuple(e for e in (self.bound, self.amount, self.rate, self.cap) if e is not None)

    def formula(self) -> str:
        pays = self.amount.text if self.amount is not None else f"base × {self.rate.text if self.rate else '?'}"
        if self.cap is not None:
            pays += f" ≤ {self.cap.text}"
        return f"{'≥' if self.inclusive else '>'} {self.bound.text} → {pays}"


@dataclass(frozen=True)
class Otherwise:
    """What every applicant gets who reaches no band, or does not state the input (一档给所有人, 达到…的提高至…):
    an amount, or a rate of the table's base at most a cap."""

    amount: Expr | None = None
    rate: Expr | None = None
    cap: Expr | None = None

    def expressions(self) -> tuple[Expr, ...]:
        return tuple(e for e in (self.amount, self.rate, self.cap) if e is not None)

    def formula(self) -> str:
        pays = self.amount.text if self.amount is not None else f"base × {self.rate.text if self.rate else '?'}"
        return pays + (f" ≤ {self.cap.text}" if self.cap is not None else "")


def _band(w: Words, measure: str, bound: object, inclusive: bool, on: str = "") -> str:
    return w.t(_BAND[inclusive], bound=shown(w, measure, bound, on))


def _pays(w: Words, amount: object, rate: object, cap: object, up_to: bool, short: bool = False) -> str:
    """What a band pays, as the sheet says it: an amount (a ceiling with up_to), or a rate (at most a cap)."""
    if rate is not None:
        text = w.t("tiers.pay.rate", rate=w.percent(rate))
        if cap is not None:
            text += w.t("tiers.pay.cap", cap=w.money(cap))
        return text + (w.t("tiers.up_to.note") if up_to and not short else "")
    if up_to:
        return w.t("tiers.up_to.short" if short else "tiers.up_to", amount=w.money(amount))
    return w.money(amount)


def _what(w: Words, on: str, label: str | None) -> str:
    return label or (w.label(on) if on.isidentifier() else on)


@dataclass(frozen=True)
class TierStep(Step):
    kind: ClassVar[str] = "tier"
    on: str  # the input as written
    label: str | None
    value: object
    measure: str  # money | percent | number: how the input and the bounds are shown
    up_to: bool  # amounts are ceilings the bureau decides within (不超过)
    band: int | None = None  # the band that applied: its place in the file's list, from 1
    bound: object = None
    inclusive: bool | None = None
    amount: object = None
    rate: object = None
    cap: object = None
    next_band: int | None = None  # the band one up, if any
    next_bound: object = None
    next_inclusive: bool | None = None
    next_amount: object = None
    next_rate: object = None
    next_cap: object = None

    def lines(self, w: Words) -> list[str]:
        what, m = _what(w, self.on, self.label), self.measure
        if self.band is None or self.inclusive is None:  # not decided: something is missing
            return [w.t("tiers.step.unknown", label=what, value=shown(w, m, self.value, self.on))]
        line = w.t("tiers.step", label=what, value=shown(w, m, self.value, self.on),
                   band=_band(w, m, self.bound, self.inclusive, self.on),
                   pay=_pays(w, self.amount, self.rate, self.cap, self.up_to))
        if self.next_band is not None and self.next_inclusive is not None:
            line += w.t("tiers.step.next", band=_band(w, m, self.next_bound, self.next_inclusive, self.on),
                        pay=_pays(w, self.next_amount, self.next_rate, self.next_cap, self.up_to, short=True))
        else:
            line += w.t("tiers.step.top")
        return [line]


@dataclass(frozen=True)
class OtherwiseStep(Step):
    """The table's band for everyone: the input reaches no band, or is not stated (value None)."""

    kind: ClassVar[str] = "tier_otherwise"
    on: str
    label: str | None
    value: object  # None: not stated
    measure: str
    up_to: bool
    amount: object = None
    rate: object = None
    cap: object = None
    next_bound: object = None  # the lowest band: what raises the award
    next_inclusive: bool | None = None
    next_amount: object = None
    next_rate: object = None
    next_cap: object = None

    def lines(self, w: Words) -> list[str]:
        what, m = _what(w, self.on, self.label), self.measure
        pay = _pays(w, self.amount, self.rate, self.cap, self.up_to)
        line = (w.t("tiers.otherwise.unknown", label=what, pay=pay) if self.value is None
                else w.t("tiers.otherwise.step", label=what, value=shown(w, m, self.value, self.on), pay=pay))
        if self.next_inclusive is not None:
            line += w.t("tiers.otherwise.next", band=_band(w, m, self.next_bound, self.next_inclusive, self.on),
                        pay=_pays(w, self.next_amount, self.next_rate, self.next_cap, self.up_to, short=True))
        return [line]


@dataclass(frozen=True)
class TierCapStep(Step):
    kind: ClassVar[str] = "tier_cap"
    cap: Decimal
    before: Decimal
    value: Decimal

    def lines(self, w: Words) -> list[str]:
        return [w.t("tiers.cap.bit", cap=w.money(self.cap), before=w.money(self.before), value=w.money(self.value))]


@dataclass(frozen=True)
class BelowBands(Why):
    """The input reaches no band."""

    reason: ClassVar[str] = "below_bands"
    on: str
    label: str | None
    value: Decimal
    measure: str
    bound: Decimal  # the lowest band's
    inclusive: bool

    def text(self, w: Words) -> str:
        return w.t("tiers.none", label=_what(w, self.on, self.label), value=shown(w, self.measure, self.value, self.on),
                   band=_band(w, self.measure, self.bound, self.inclusive, self.on))


@dataclass(frozen=True)
class TiersAward(AwardForm):
    """A table of bands on one input: the highest band whose lower bound is met pays its amount or rate × base."""

    keyword: ClassVar[str] = "tiers"
    example: ClassVar[Mapping[str, object]] = {"tiers": {
        "on": "area", "up_to": True,
        "bands": [{"above": 5000, "amount": "20万元"}, {"from": 1000, "amount": "10万元"},
                  {"from": 500, "amount": "5万元"}]}}
    required: ClassVar[frozenset[str]] = frozenset({"tiers"})

    on: Expr
    bands: tuple[Band, ...]
    base: Expr | None = None
    base_label: str | None = None
    on_label: str | None = None
    up_to: bool = False
    measure: str = "number"  # the kind of `on`: money, percent or number
    otherwise: Otherwise | None = None  # paid below every band and when `on` is not stated

    @classmethod
    def build(cls, spec: Spec, c: Compiler) -> TiersAward | None:
        table = spec["tiers"]
        on, base = c.number(("tiers", "on")), c.paid(("tiers", "base"))
        ok = on is not None and ("base" not in table or base is not None)
        measure = kind_of(on, c) if on is not None else None
        bands = []
        for i, item in enumerate(table["bands"]):
            at = ("tiers", "bands", i)
            bounds = [k for k in ("from", "above") if k in item]
            pays = [k for k in ("amount", "rate") if k in item]
            if len(bounds) != 1:
                c.error(at, msg("tiers.band.bound", n=i + 1, keys=", ".join(bounds)) if bounds
                        else msg("tiers.band.no_bound", n=i + 1), msg("tiers.band.bound.hint"))
            if len(pays) != 1:
                c.error(at, msg("tiers.band.pays", n=i + 1, keys=", ".join(pays)) if pays
                        else msg("tiers.band.no_pays", n=i + 1), msg("tiers.band.pays.hint"))
            if "cap" in item and "rate" not in item:
                c.error(at + ("cap",), msg("tiers.band.cap", n=i + 1), msg("tiers.band.cap.hint"))
            if "rate" in item and "base" not in table:
                c.error(at + ("rate",), msg("tiers.band.base", n=i + 1), msg("tiers.band.base.hint"))
            if len(bounds) != 1 or len(pays) != 1:
                ok = False
                continue
            bound = c.number(at + (bounds[0],))
            amount, rate, cap = c.paid(at + ("amount",)), c.number(at + ("rate",)), c.paid(at + ("cap",))
            if bound is None or (amount is None and rate is None) or ("cap" in item and cap is None):
                ok = False
                continue
            if on is not None:
                check_kind(c, at + (bounds[0],), bound, measure, on)
            bands.append(Band(bound, bounds[0] == "from", amount, rate, cap))
        otherwise = None
        if "otherwise" in table:
            item, where = table["otherwise"], ("tiers", "otherwise")
            pays = [k for k in ("amount", "rate") if k in item]
            if len(pays) != 1:
                c.error(where, msg("tiers.otherwise.pays", keys=", ".join(pays)) if pays
                        else msg("tiers.otherwise.no_pays"), msg("tiers.band.pays.hint"))
                ok = False
            if "cap" in item and "rate" not in item:
                c.error(where + ("cap",), msg("tiers.otherwise.cap"), msg("tiers.band.cap.hint"))
                ok = False
            if "rate" in item and "base" not in table:
                c.error(where + ("rate",), msg("tiers.otherwise.base"), msg("tiers.band.base.hint"))
                ok = False
            amount, rate, cap = c.number(where + ("amount",)), c.number(where + ("rate",)), c.number(where + ("cap",))
            if (amount is None and rate is None) or ("cap" in item and cap is None):
                ok = False
            otherwise = Otherwise(amount, rate, cap)
        if not ok or on is None:
            return None
        return cls(on, tuple(bands), base, table.get("base_label"), table.get("on_label"),
                   bool(table.get("up_to", False) or spec.get("up_to", False)), measure or next(
                       (k for b in bands if (k := kind_of(b.bound, c)) is not None), "number"), otherwise)

    def expressions(self) -> tuple[Expr, ...]:
        head = (self.on,) + ((self.base,) if self.base is not None else ())
        tail = self.otherwise.expressions() if self.otherwise is not None else ()
        return head + tuple(e for b in self.bands for e in b.expressions()) + tail

    def meaning(self) -> tuple[object, ...]:
        return tuple((b.key, b.amount is not None) for b in self.bands) + (self.up_to, self.otherwise is not None)

    @staticmethod
    def _order(bound: Decimal, band: Band) -> tuple[Decimal, int]:
        """Bands from low to high: by bound, and above a bound is higher than from it."""
        return bound, 0 if band.inclusive else 1

    def compute(self, run: Run) -> Decimal | Unknown | Stop:
        value = run.value(self.on)
        bounds = [run.value(b.bound) for b in self.bands]

        unknown = unknown_of((value, *bounds))
        if unknown is not None and self.otherwise is not None and unknown_of(tuple(bounds)) is None:
            # 达到…的提高至…: the band for everyone does not wait for the input that only raises it
            return self._otherwise(run, None, [b for b in bounds if isinstance(b, Decimal)])
        if unknown is not None:
            if run.tracing:
                run.step(TierStep(self.on.text, self.on_label, value, self.measure, self.up_to))
            return unknown
        assert isinstance(value, Decimal)
        known = [b for b in bounds if isinstance(b, Decimal)]
        order = [self._order(b, band) for b, band in zip(known, self.bands, strict=True)]
        met = [i for i, (b, band) in enumerate(zip(known, self.bands, strict=True))
               if (value >= b if band.inclusive else value > b)]
        if not met and self.otherwise is not None:
            return self._otherwise(run, value, known)
        if not met:
            low = min(range(len(order)), key=lambda i: order[i])
            return Stop(BelowBands(self.on.text, self.on_label, value, self.measure, known[low],
                                   self.bands[low].inclusive))
        chosen = max(met, key=lambda i: order[i])  # the first listed of equal bands (lint reports those)
        band = self.bands[chosen]
        amount = run.value(band.amount) if band.amount is not None else None
        rate = run.value(band.rate) if band.rate is not None else None
        cap = run.value(band.cap) if band.cap is not None else None
        base = run.value(self.base) if band.rate is not None and self.base is not None else None
        if run.tracing:
            if base is not None and self.base is not None:
                run.step(BaseStep(self.base.text, self.base_label, base,
                                  tuple((n, run.name(n)) for n in self.base.ordered_names), self.base.node))
            up = [i for i in range(len(order)) if order[i] > order[chosen]]
            if up:
                nxt = min(up, key=lambda i: order[i])
                other = self.bands[nxt]

                def v(e: Expr | None) -> object:
                    return run.value(e) if e is not None else None

                run.step(TierStep(self.on.text, self.on_label, value, self.measure, self.up_to, chosen + 1,
                                  known[chosen], band.inclusive, amount, rate, cap, nxt + 1, known[nxt],
                                  other.inclusive, v(other.amount), v(other.rate), v(other.cap)))
            else:
                run.step(TierStep(self.on.text, self.on_label, value, self.measure, self.up_to, chosen + 1,
                                  known[chosen], band.inclusive, amount, rate, cap))
        return self._pay(run, amount, rate, cap, base)

    def _otherwise(self, run: Run, value: Decimal | None, bounds: list[Decimal]) -> Decimal | Unknown | Stop:
        """The band for everyone: below every band (value), or the input not stated (None)."""
        other = self.otherwise
        assert other is not None

        def v(e: Expr | None) -> object:
            return run.value(e) if e is not None else None

        amount, rate, cap = v(other.amount), v(other.rate), v(other.cap)
        base = v(self.base) if other.rate is not None else None
        if run.tracing:
            if base is not None and self.base is not None:
                run.step(BaseStep(self.base.text, self.base_label, base,
                                  tuple((n, run.name(n)) for n in self.base.ordered_names), self.base.node))
            low = min(range(len(bounds)), key=lambda i: self._order(bounds[i], self.bands[i]))
            band = self.bands[low]
            run.step(OtherwiseStep(self.on.text, self.on_label, value, self.measure, self.up_to, amount, rate, cap,
                                   bounds[low], band.inclusive, v(band.amount), v(band.rate), v(band.cap)))
        return self._pay(run, amount, rate, cap, base)

    def _pay(self, run: Run, amount: object, rate: object, cap: object, base: object) -> Decimal | Unknown:
        """What a band pays: its amount, or base × rate at most its cap."""
        unknown = unknown_of((amount, rate, cap, base))
        if unknown is not None:
            return unknown
        if isinstance(amount, Decimal):
            return amount
        assert isinstance(base, Decimal) and isinstance(rate, Decimal)
        product = CONTEXT.multiply(base, rate)
        if run.tracing:
            run.step(ProductStep(base, rate, product))
        if isinstance(cap, Decimal) and product > cap:
            if run.tracing:
                run.step(TierCapStep(cap, product, cap))
            return cap
        return product

    def choose(self, value: Decimal, bounds: tuple[Decimal, ...]) -> int | BelowBands:
        """The band `value` falls in (its index), or why it falls in none: as `compute` chooses, for the
        generated path."""
        order = [self._order(b, band) for b, band in zip(bounds, self.bands, strict=True)]
        met = [i for i, (b, band) in enumerate(zip(bounds, self.bands, strict=True))
               if (value >= b if band.inclusive else value > b)]
        if not met and self.otherwise is not None:
            return len(self.bands)  # the band for everyone
        if not met:
            low = min(range(len(order)), key=lambda i: order[i])
            return BelowBands(self.on.text, self.on_label, value, self.measure, bounds[low], self.bands[low].inclusive)
        return max(met, key=lambda i: order[i])

    def emit(self, e: Emitter) -> tuple[str, ...]:
        bounds = "".join(f"{e.expr(b.bound)}, " for b in self.bands)
        lines = [f"value = {e.expr(self.on)}", f"chosen = {e.const(self.choose)}(value, ({bounds}))",
                 "if chosen.__class__ is not int:", "    stop = chosen"]
        pays: list[Band | Otherwise] = [*self.bands, *((self.otherwise,) if self.otherwise is not None else ())]
        for i, band in enumerate(pays):
            lines.append(f"elif chosen == {i}:  # " + (f"band {i + 1}" if i < len(self.bands) else "otherwise"))
            if band.amount is not None:
                lines.append(f"    raw = {e.expr(band.amount)}")
                continue
            assert band.rate is not None and self.base is not None
            lines.append(f"    rate = {e.expr(band.rate)}")
            if band.cap is not None:
                lines.append(f"    cap_band = {e.expr(band.cap)}")
            lines += [f"    raw = C.multiply({e.expr(self.base)}, rate)"]
            if band.cap is not None:
                lines += ["    if raw > cap_band:", "        raw = cap_band"]
        return tuple(lines)

    def sql(self, e: SqlEmitter) -> SqlAward | None:
        if self.otherwise is not None:
            return None  # the band for everyone (paid also when `on` is not stated): the row engine decides it
        bounds: list[Decimal] = []
        for b in self.bands:
            node = b.bound.node
            if not isinstance(node, Lit) or not isinstance(node.value, Decimal) or isinstance(node.value, bool):
                return None  # bounds that are parameters may change order by day: the row engine chooses
            bounds.append(node.value)
        order = sorted(range(len(self.bands)), key=lambda i: (self._order(bounds[i], self.bands[i]), -i),
                       reverse=True)  # the highest band met, the first of equals
        cases = []
        # what the amount waits for (compute): the value tiered; then the chosen band's own expressions only
        needs: list[tuple[str, Expr]] = [("TRUE", self.on)]
        higher: list[str] = []
        for i in order:
            band = self.bands[i]
            test = f"({e.compare(self.on, '>=' if band.inclusive else '>', bounds[i])})"
            if band.amount is not None:
                raw = e.expr(band.amount)
            else:
                assert band.rate is not None and self.base is not None
                raw = f"({e.expr(self.base)}) * ({e.expr(band.rate)})"
                if band.cap is not None:
                    raw = f"LEAST({raw}, {e.expr(band.cap)})"
            cases.append(f"WHEN {test} THEN {raw}")
            chosen = " AND ".join([test] + [f"NOT ({h})" for h in higher])
            needs += [(chosen, x) for x in (band.amount, band.rate, band.cap) if x is not None]
            if band.rate is not None and self.base is not None:
                needs.append((chosen, self.base))
            higher.append(test)
        met = " OR ".join(f"({e.compare(self.on, '>=' if b.inclusive else '>', bounds[i])})"
                          for i, b in enumerate(self.bands))
        return SqlAward(f"CASE {' '.join(cases)} END", f"CASE WHEN NOT ({met}) THEN {e.reason(BelowBands)} END",
                        needs=tuple(needs))

    def upper(self, up: Upper) -> Decimal | None:
        tops: list[Decimal] = []
        for band in [*self.bands, *((self.otherwise,) if self.otherwise is not None else ())]:
            if band.amount is not None:
                top = up(band.amount)
            else:
                assert band.rate is not None and self.base is not None
                base, rate = up(self.base), up(band.rate)
                top = CONTEXT.multiply(base, rate) if base is not None and rate is not None and min(base, rate) >= 0 \
                    else None
                cap = up(band.cap) if band.cap is not None else None
                if cap is not None:
                    top = cap if top is None else min(top, cap)
            if top is None:
                return None
            tops.append(top)
        return max(tops) if tops else None

    def ceiling(self) -> bool:
        return self.up_to

    def can_fail(self) -> bool:
        return self.otherwise is None  # below the lowest band pays nothing, unless a band is for everyone

    def findings(self, value: Constant) -> tuple[Finding, ...]:
        """Bands out of order, two bands on one bound, a higher band paying less, amounts and rates out of range."""
        m, out = self.measure, []
        bounds = [value(b.bound) for b in self.bands]

        def words(i: int) -> str:
            bound = bounds[i]
            assert bound is not None
            return msg(_BAND[self.bands[i].inclusive], bound=written(m, bound))

        def at(i: int, key: str) -> tuple[str | int, ...]:
            return ("tiers", "bands", i, key)

        known = [i for i, b in enumerate(bounds) if b is not None]
        for n, b in enumerate(known):  # two bands on one bound: one never applies, or applies at one value only
            a = next((a for a in known[:n] if bounds[a] == bounds[b]), None)
            if a is not None:
                bound = bounds[b]
                assert bound is not None
                same = self.bands[a].inclusive == self.bands[b].inclusive
                out.append(Finding(at(b, self.bands[b].key),
                                   msg("tiers.lint.duplicate" if same else "tiers.lint.point", n=b + 1, m=a + 1,
                                       bound=written(m, bound)),
                                   msg("tiers.lint.duplicate.hint")))
        # Written from the highest down or the lowest up, as the first and last band say; a band against that is
        # out of order (the highest band reached still applies, but the list was most likely mistyped).
        distinct = [i for i in known if bounds[i] != bounds[known[0]]]
        if distinct:
            first, last = bounds[known[0]], bounds[distinct[-1]]
            assert first is not None and last is not None
            rising = last > first
            for a, b in zip(known, known[1:], strict=False):
                ba, bb = bounds[a], bounds[b]
                assert ba is not None and bb is not None
                if ba != bb and (bb > ba) != rising:
                    out.append(Finding(at(b, self.bands[b].key),
                                       msg("tiers.lint.order", n=b + 1, band=words(b), m=a + 1, other=words(a)),
                                       msg("tiers.lint.order.hint")))
        amounts = [value(b.amount) if b.amount is not None else None for b in self.bands]
        for i, band in enumerate(self.bands):
            amount = amounts[i]
            if amount is not None and amount <= 0:
                out.append(Finding(at(i, "amount"), msg("tiers.lint.amount", n=i + 1, amount=written("money", amount)),
                                   msg("tiers.lint.amount.hint")))
            rate = value(band.rate) if band.rate is not None else None
            if rate is not None and not 0 <= rate <= 1:
                out.append(Finding(at(i, "rate"), msg("tiers.lint.rate", n=i + 1, rate=written("percent", rate)),
                                   msg("tiers.lint.rate.hint")))
        for i in known:  # money is never negative: a band from 0 is every applicant's, and makes `on` required
            if m == "money" and self.bands[i].inclusive and bounds[i] == 0:
                out.append(Finding(at(i, "from"), msg("tiers.lint.from_zero", n=i + 1),
                                   msg("tiers.lint.from_zero.hint")))
        if self.otherwise is not None:
            amount = value(self.otherwise.amount) if self.otherwise.amount is not None else None
            if amount is not None and amount <= 0:
                out.append(Finding(("tiers", "otherwise", "amount"),
                                   msg("tiers.lint.otherwise.amount", amount=written("money", amount)),
                                   msg("tiers.lint.amount.hint")))
            rate = value(self.otherwise.rate) if self.otherwise.rate is not None else None
            if rate is not None and not 0 <= rate <= 1:
                out.append(Finding(("tiers", "otherwise", "rate"),
                                   msg("tiers.lint.otherwise.rate", rate=written("percent", rate)),
                                   msg("tiers.lint.rate.hint")))
        # A higher band paying less than a lower one is most likely two amounts copied into each other's place.
        ranked = sorted((i for i in known if amounts[i] is not None),
                        key=lambda i: self._order(bounds[i], self.bands[i]))  # type: ignore[arg-type]
        for low, high in zip(ranked, ranked[1:], strict=False):
            a_low, a_high = amounts[low], amounts[high]
            assert a_low is not None and a_high is not None
            if bounds[low] != bounds[high] and 0 < a_high < a_low:
                out.append(Finding(at(high, "amount"),
                                   msg("tiers.lint.pays_less", n=high + 1, band=words(high),
                                       amount=written("money", a_high), m=low + 1, other=words(low),
                                       other_amount=written("money", a_low)),
                                   msg("tiers.lint.pays_less.hint")))
        return tuple(out)

    def describe(self, w: Words) -> tuple[str, ...]:
        what = self.on_label or w.expr(self.on, self.measure)
        lines = [w.t("tiers.review", on=what)]
        for band in self.bands:
            bound = w.t(_BAND[band.inclusive], bound=w.expr(band.bound, self.measure))
            lines.append(w.t("tiers.review.band", band=bound, pay=self._describe_pay(w, band)))
        if self.otherwise is not None:
            lines.append(w.t("tiers.review.otherwise", on=what, pay=self._describe_pay(w, self.otherwise)))
        else:
            lines.append(w.t("tiers.review.none"))
        if self.base is not None and self.base_label and w.expr(self.base, "money") != self.base_label:
            lines.append(f"{w.t('review.base')}{w.t('review.colon')}{w.expr(self.base, 'money')}")
        return tuple(lines)

    def _describe_pay(self, w: Words, band: Band | Otherwise) -> str:
        if band.amount is not None:
            amount = w.expr(band.amount, "money")
            return w.t("tiers.up_to", amount=amount) if self.up_to else amount
        assert band.rate is not None and self.base is not None
        pays = f"{self.base_label or w.expr(self.base, 'money')} × {w.expr(band.rate, 'percent')}"
        if band.cap is not None:
            pays += w.t("tiers.pay.cap", cap=w.expr(band.cap, "money"))
        return pays + (w.t("tiers.up_to.note") if self.up_to else "")

    def formula(self, w: Words) -> str:
        base = f"base = {self.base.text}; " if self.base is not None else ""
        bands = [b.formula() for b in self.bands]
        if self.otherwise is not None:
            bands.append(w.t("tiers.formula.otherwise", pays=self.otherwise.formula()))
        return w.t("tiers.formula", on=self.on.text, bands=base + "; ".join(bands),
                   up_to=w.t("tiers.formula.up_to") if self.up_to else "")
