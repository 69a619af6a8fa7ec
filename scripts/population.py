"""A deterministic synthetic population of applicants for any policy, for benchmarks and broad tests.

`population(policy, n, seed)` returns plain facts dicts in the facts-file shape
(`{"applicant", "recipient", "area", "date", "facts", "granted"}`), each accepted by
`engine.applicant_from_data`. Everything is derived from the policy itself — its recipient kinds, areas,
period in force, the facts each kind needs, the bounds its conditions compare facts with, and its capped
clauses — so no fact or clause of any particular policy is named here.

The mix, per applicant (drawn from `random.Random(seed)`):

- kind: 70% the first declared recipient kind (the main applicant, e.g. sellers), the rest round-robin over
  the other kinds, so every kind occurs;
- area: ~3% outside the jurisdiction, ~1% none given, otherwise one of the policy's areas;
- date: ~3% outside the period in force (before its start, or after its end), ~2% on its first or last day;
- granted: ~5% omitted (unknown), otherwise `{}` or amounts for some capped clauses (nothing, part of the
  cap, exactly the cap, just over it);
- ~5% with one fact dropped or given as null (unknown), so clauses become undetermined;
- ~30% "edge" applicants whose thresholded facts sit exactly at, just below or just above a bound taken from
  a condition (a literal, or a parameter's value on the claim's date); the others spread around the bounds.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from decimal import Decimal

from engine.lang.analysis import Operand, bounds
from engine.lang.tree import Lit, Name, Node
from engine.model.facts import facts_for

MAIN_SHARE = 0.70
OUT_OF_AREA, NO_AREA = 0.03, 0.01
OUT_OF_PERIOD, PERIOD_EDGE = 0.03, 0.02
GRANTED_UNKNOWN, GRANTED_NONE = 0.05, 0.45
MISSING_FACT = 0.05
EDGE = 0.30

_CENT, _BASIS_POINT = Decimal("0.01"), Decimal("0.0001")
_STEP = {"money": _CENT, "percent": _BASIS_POINT, "number": _CENT, "integer": Decimal(1)}
_QUANTUM = {"money": _CENT, "percent": _BASIS_POINT, "number": _CENT, "integer": Decimal(1)}
_WAN = Decimal(10_000)


def population(policy, n: int, seed: int = 0) -> list[dict]:
    """`n` applicants' facts dicts for `policy`; the same `seed` always gives the same list."""
    plan = _Plan(policy)
    rng = random.Random(seed)
    return [plan.applicant(rng, i) for i in range(n)]


class _Plan:
    """What the policy says about its applicants, gathered once."""

    def __init__(self, policy):
        self.policy = policy
        self.kinds = list(policy.recipients)
        self.main, self.others = self.kinds[0], self.kinds[1:]
        self._next_other = 0
        self.facts = {kind: facts_for(policy, kind) for kind in self.kinds}
        everything = facts_for(policy)
        subjects = set(policy.facts) | {f.name for f in everything}
        # name -> [(op, operand node)], from every comparison in every condition (and per-item filters).
        self.bounds: dict[str, list[tuple[str, Operand]]] = {}
        self.item_bounds: dict[str, dict[str, list[tuple[str, Operand]]]] = {}
        by_name = {f.name: f for f in everything}
        for clause in policy.clauses:
            for condition in clause.conditions:
                for b in bounds(condition.expr, subjects=subjects, conjunctive=False):
                    self.bounds.setdefault(b.name, []).append((b.op, b.operand))
            award = clause.award
            items, where = getattr(award, "items", None), getattr(award, "where", None)
            if isinstance(items, str) and where is not None and items in by_name:
                fields = set(by_name[items].items)
                for b in bounds(where, subjects=fields, conjunctive=False):
                    self.item_bounds.setdefault(items, {}).setdefault(b.name, []).append((b.op, b.operand))
        # Clauses whose past grants matter: an award with a cap, or paid once.
        self.capped = {kind: [(c.id, c.cap) for c in policy.clauses
                              if c.award is not None and kind in c.recipients
                              and (c.cap is not None or c.period == "once")]
                       for kind in self.kinds}
        self.start = policy.start
        self.end = policy.end or policy.start + dt.timedelta(days=5 * 365)

    # --- who, where, when ---------------------------------------------------------------------------

    def kind(self, rng: random.Random) -> str:
        if not self.others or rng.random() < MAIN_SHARE:
            return self.main
        kind = self.others[self._next_other % len(self.others)]
        self._next_other += 1
        return kind

    def area(self, rng: random.Random) -> str | None:
        areas = self.policy.areas
        r = rng.random()
        if r < OUT_OF_AREA or not areas:
            name = "辖区外某县"
            while name in areas:
                name += "外"
            return name if areas else None
        if r < OUT_OF_AREA + NO_AREA:
            return None
        return rng.choice(areas)

    def date(self, rng: random.Random) -> dt.date:
        r = rng.random()
        if r < OUT_OF_PERIOD:
            if self.policy.end is not None and rng.random() < 0.5:
                return self.policy.end + dt.timedelta(days=rng.randint(1, 400))
            return self.start - dt.timedelta(days=rng.randint(1, 400))
        if r < OUT_OF_PERIOD + PERIOD_EDGE:
            return rng.choice((self.start, self.end))
        return self.start + dt.timedelta(days=rng.randint(0, (self.end - self.start).days))

    # --- values ---------------------------------------------------------------------------------------

    def operand(self, node: Node, day: dt.date):
        """The value a bound compares with: a literal, or a parameter's value on the day (else its first)."""
        if isinstance(node, Lit):
            return node.value
        if isinstance(node, Name) and node.id in self.policy.parameters:
            param = self.policy.parameters[node.id]
            value = param.value_on(day) or param.value_on(self.start) or (param.values[0] if param.values else None)
            return value.value if value is not None else None
        return None

    def thresholds(self, found: list[tuple[str, Operand]], day: dt.date) -> list:
        out = []
        for _op, node in found:
            value = self.operand(node, day)
            if value is not None and value not in out:
                out.append(value)
        return out

    def value(self, fact, rng: random.Random, day: dt.date, edge: bool, found: list[tuple[str, Operand]]):
        """A raw value for one fact, as an applicant would write it in a facts file."""
        kind = fact.type
        limits = self.thresholds(found, day)
        if kind == "boolean":
            wanted = {v for v in limits if isinstance(v, bool)}
            p_true = 0.5 if len(wanted) != 1 else (0.8 if True in wanted else 0.2)
            return rng.random() < p_true
        if kind == "text":
            options = list(fact.choices) or [v for v in limits if isinstance(v, str)]
            if options and (fact.choices or rng.random() < 0.6):
                return rng.choice(options)
            return f"名称{rng.randrange(10_000):04d}"
        if kind == "date":
            dates = [v for v in limits if isinstance(v, dt.date)]
            if dates and rng.random() < 0.5:
                return (rng.choice(dates) + dt.timedelta(days=rng.choice((-1, 0, 1)))).isoformat()
            return (day - dt.timedelta(days=rng.randint(0, 1500))).isoformat()
        if kind == "list":
            items = [self.item(fact, rng, day, edge) for _ in range(rng.choice((0, 1, 2, 2, 3, 3, 4, 5)))]
            for i, item in enumerate(items):  # one enterprise is not listed twice (by chance, names collide)
                for field in getattr(fact, "unique", ()):
                    if isinstance(item.get(field), str) and not fact.items[field].choices:
                        item[field] = f"{item[field]}-{i + 1}"
            return items
        return _write(fact, self.number(fact, rng, edge, [v for v in limits
                                                          if isinstance(v, Decimal) and not isinstance(v, bool)]), rng)

    def number(self, fact, rng: random.Random, edge: bool, limits: list[Decimal]) -> Decimal:
        kind = fact.type if fact.type in _STEP else "number"
        if limits and (edge or rng.random() < 0.15):
            value = rng.choice(limits) + rng.choice((-1, 0, 1)) * _STEP[kind]
        elif limits and rng.random() < 0.8:
            value = rng.choice(limits) * Decimal(str(round(math.exp(rng.uniform(-1.2, 1.2)), 4)))
        elif kind == "money":
            value = Decimal(str(round(10 ** rng.uniform(2, 8), 2)))
            if rng.random() < 0.4:
                value = (value / _WAN).quantize(Decimal(1)) * _WAN
        elif kind == "percent":
            value = Decimal(rng.randint(0, 100)) / 100
        elif kind == "integer":
            value = Decimal(rng.randint(0, 60))
        else:
            value = Decimal(str(round(10 ** rng.uniform(0, 4), 1)))
        low = max(Decimal(0), fact.minimum if fact.minimum is not None else Decimal(0))
        high = fact.maximum if fact.maximum is not None else (Decimal(1) if kind == "percent" else None)
        value = max(low, value)
        if high is not None:
            value = min(high, value)
        return value.quantize(_QUANTUM[kind])

    def item(self, fact, rng: random.Random, day: dt.date, edge: bool) -> dict:
        found = self.item_bounds.get(fact.name, {})
        return {name: self.value(field, rng, day, edge, found.get(name, [])) for name, field in fact.items.items()}

    def granted(self, kind: str, rng: random.Random, day: dt.date):
        capped = self.capped[kind]
        if not capped or rng.random() < GRANTED_NONE:
            return {}
        out = {}
        for clause_id, cap in capped:
            if rng.random() < 0.5:
                continue
            limit = self.operand(cap.node, day) if cap is not None else None
            if not isinstance(limit, Decimal):
                limit = Decimal(rng.choice((1, 5, 10, 30, 50))) * _WAN
            share = rng.choice((Decimal(0), Decimal("0.25"), Decimal("0.5"), Decimal("0.9"), Decimal(1), None))
            amount = limit + _CENT if share is None else (limit * share).quantize(_CENT)
            out[clause_id] = _money_text(amount, rng)
        return out

    # --- one applicant ----------------------------------------------------------------------------------

    def applicant(self, rng: random.Random, i: int) -> dict:
        kind = self.kind(rng)
        area = self.area(rng)
        day = self.date(rng)
        edge = rng.random() < EDGE
        facts = {f.name: self.value(f, rng, day, edge, self.bounds.get(f.name, [])) for f in self.facts[kind]}
        fund_year = self.policy.fund_year
        if fund_year in facts:  # the year claimed for: the claim date's, or (filed next spring) the one before
            year = day.year - (1 if rng.random() < 0.4 else 0)
            lowest = self.policy.facts[fund_year].minimum
            if lowest is not None and year < lowest:  # before the first year the fact allows: that year, if the
                year = int(lowest)                     # claim is not earlier still (then the year is not known)
            if year <= day.year:
                facts[fund_year] = year
            else:
                del facts[fund_year]
        for fact in self.facts[kind]:  # a part is never more than its whole (at_most:)
            whole = fact.at_most
            if whole in facts and fact.name in facts:
                limit = self.policy.facts[whole]
                facts[fact.name] = _write(fact, (_read(facts[whole], limit) * Decimal(rng.choice(
                    ("0", "0.25", "0.5", "1")))).quantize(_QUANTUM[fact.type if fact.type in _QUANTUM else "number"]),
                    rng)
        if facts and rng.random() < MISSING_FACT:
            dropped = rng.choice(sorted(facts))
            if rng.random() < 0.3:
                facts[dropped] = None  # null: "not known", the same as leaving it out
            else:
                del facts[dropped]
        data: dict = {"applicant": f"合成申请人{i:05d}", "recipient": kind}
        if area is not None:
            data["area"] = area
        data["date"] = day.isoformat()
        data["facts"] = facts
        if rng.random() >= GRANTED_UNKNOWN:  # else omitted: what was granted before is unknown
            data["granted"] = self.granted(kind, rng, day)
        return data


def _read(raw, fact) -> Decimal:
    """A value as _write wrote it, back to a number (万元 and 元 as written)."""
    if isinstance(raw, str):
        text = raw.removesuffix("元")
        return Decimal(text[:-1]) * _WAN if text.endswith("万") else Decimal(text.removesuffix("%")) / (
            100 if raw.endswith("%") else 1)
    return Decimal(raw)


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _money_text(value: Decimal, rng: random.Random):
    """Money as officers write it: "123456.78", "35万元", "1200元", or a JSON number when whole."""
    r = rng.random()
    if r < 0.3 and value % 100 == 0:
        return _plain(value / _WAN) + "万元"
    if r < 0.4:
        return _plain(value) + "元"
    if r < 0.5 and value == value.to_integral_value():
        return int(value)
    return format(value.quantize(_CENT), "f")


def _write(fact, value: Decimal, rng: random.Random):
    kind = fact.type
    if kind == "money":
        return _money_text(value, rng)
    if kind == "percent":
        return _plain(value * 100) + "%"
    if kind == "integer":
        return int(value)
    if value == value.to_integral_value() and rng.random() < 0.5:
        return int(value)
    if value % 100 == 0 and value > 0 and rng.random() < 0.3:
        return _plain(value / _WAN) + "万"
    return _plain(value)
