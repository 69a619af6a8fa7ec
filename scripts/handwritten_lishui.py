"""A hand-written evaluator of the Lishui rules (丽政办发〔2021〕67号), as plain Python: a benchmark yardstick.

This is the reference point the engine's speed is measured against (scripts/benchmark.py prints every engine
figure as a ratio to it): what a programmer would write for this one policy, by hand, with its numbers inline —
exact Decimal, each clause's outcome and amount, the total and whether anything is undetermined. It is NOT a
second implementation to maintain: it knows nothing of readings, explanations, missing-fact names or other
policies, and when the policy file changes it may simply fall behind (the benchmark then reports how many
applicants it disagrees with, and the ratios stop meaning much until it is brought up to date). The policy
file and the engine are the meaning.

`evaluate(applicant)` takes the checked facts (`engine.applicant_from_data`): values are Decimal, bool, str,
lists of item dicts; absent facts are absent. It returns ((clause id, outcome, amount or None), ...), total,
complete.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Context, Decimal

C = Context(prec=60)
ZERO, FEN = Decimal(0), Decimal("0.01")
START, END = dt.date(2022, 2, 1), dt.date(2027, 1, 31)
AREAS = frozenset({"市直", "莲都区", "丽水经济技术开发区"})
WAN = Decimal(10_000)
IDS = ("1", "2.1", "2.2", "2.3", "2.4", "3", "4.1", "4.2", "5.1", "5.2", "5.3", "6.1", "6.2", "7", "8", "9", "10")
E, I, U, R, N = "eligible", "ineligible", "undetermined", "referred", "not_applicable"  # noqa: E741 - the five outcomes, by initial
# Which kinds each clause is for (1 and 10 are measures: never for anyone).
FOR = {"2.1": {"seller"}, "2.2": {"seller"}, "2.3": {"seller"}, "2.4": {"seller", "cbec_sole_trader"},
       "3": {"seller"}, "4.1": {"park_operator"},
       "4.2": {"seller", "ecommerce_enterprise", "supporting_enterprise"}, "5.1": {"warehouse_operator"},
       "5.2": {"warehouse_operator"}, "5.3": {"seller"}, "6.1": {"school"}, "6.2": {"incubator"},
       "7": {"platform"}, "8": {"service_provider"}, "9": {"seller"}}


# The policy's numbers, as constants (written once, not computed per applicant).
W10, W20, W30, W50, W100, W200, W500 = (n * WAN for n in (10, 20, 30, 50, 100, 200, 500))
YI1, YI2 = 10000 * WAN, 20000 * WAN
HALF, SEVENTY, FIFTH, TENTH = Decimal("0.5"), Decimal("0.7"), Decimal("0.2"), Decimal("0.1")
ONE, FIVE, TWENTY, THIRTY, MONTHS = Decimal(1), Decimal(5), Decimal(20), Decimal(30), Decimal(36)
ZERO_FEN = ZERO.quantize(FEN)


def _round(x: Decimal) -> Decimal:
    return x.quantize(FEN, rounding=ROUND_HALF_UP, context=C)


def _ge(v: dict, name: str, bound: Decimal) -> bool | None:
    x = v.get(name)
    return None if x is None else x >= bound


def _flag(v: dict, name: str) -> bool | None:
    return v.get(name)


def _conditions(*values: bool | None) -> tuple[bool, bool]:
    """(a condition failed, a condition is unknown)."""
    return any(x is False for x in values), any(x is None for x in values)


def _rate(v: dict, a: str, b: str | None, rate: Decimal, minus: bool = False) -> Decimal | None:
    x, y = v.get(a), v.get(b) if b else ZERO
    if x is None or y is None:
        return None
    return C.multiply(C.subtract(x, y) if minus else C.add(x, y), rate)


def _paid(raw: Decimal | None, unknown: bool, granted: dict | None, cid: str, cap: Decimal | None, once: bool):
    """(outcome, amount) of a clause whose conditions hold, from its raw amount (None: unknown)."""
    if granted is None:
        g = None
        unknown = unknown or cap is not None or once
    else:
        g = _round(granted.get(cid, ZERO))
        if once and g > 0:
            return I, None
    if cap is not None and g is not None and cap - g <= 0:
        return I, None
    if unknown or raw is None:
        return U, None
    amount = _round(raw)
    if amount < 0:
        amount = ZERO_FEN
    elif amount == 0:
        amount = amount.copy_abs()
    if cap is not None and g is not None:
        amount = min(amount, cap - g)
    return E, amount


def _count(items: list | None, counts) -> tuple[int, bool] | None:
    """How many items meet `counts` (True/False/None), and whether any is unknown; None if the list is."""
    if items is None:
        return None
    n, unknown = 0, False
    for item in items:
        ok = counts(item)
        if ok is None:
            unknown = True
        elif ok:
            n += 1
    return n, unknown


def _incubated(item: dict) -> bool | None:
    parts = (item.get("started_cbec"),
             None if item.get("annual_turnover") is None else item["annual_turnover"] >= W500,
             None if item.get("years_since_incubation") is None else item["years_since_incubation"] <= 2,
             None if item.get("reached_before") is None else not item["reached_before"])
    if any(p is False for p in parts):
        return False
    return None if any(p is None for p in parts) else True


def _new_enterprise(item: dict) -> bool | None:
    t = item.get("annual_turnover")
    return None if t is None else t >= W200


# Fund years (Q22): 2022–2026 are paid (the years that end while the policy is in force); a year's claim may be
# filed through the end of the next year; claim_year is at least 2021.
FIRST_YEAR, LAST_YEAR = 2022, 2026
NONE_APPLY = tuple((cid, N, None) for cid in IDS), ZERO_FEN, True


def evaluate(applicant) -> tuple[tuple[tuple[str, str, Decimal | None], ...], Decimal, bool]:
    day = applicant.date
    if day < START:
        return NONE_APPLY
    year = applicant.values.get("claim_year")
    if year is not None:
        claimed = int(year)
        if not FIRST_YEAR <= claimed <= LAST_YEAR or day > dt.date(claimed + 1, 12, 31):
            return NONE_APPLY  # a year not paid, or filed after its window
        return _evaluate(applicant, day)
    # Missing: the years still open on this day are last year's and this year's; 2021 is allowed and never paid,
    # so whenever any paid year is open the missing year decides: every clause that could pay or fail waits.
    if max(FIRST_YEAR, day.year - 1) > min(LAST_YEAR, day.year):
        return NONE_APPLY
    clauses, _total, _complete = _evaluate(applicant, day)
    waiting = tuple((cid, N, None) if outcome == N else (cid, U, None) for cid, outcome, _amount in clauses)
    return waiting, ZERO_FEN, not any(outcome == U for _cid, outcome, _amount in waiting)


def _evaluate(applicant, day: dt.date) -> tuple[tuple[tuple[str, str, Decimal | None], ...], Decimal, bool]:
    out: dict[str, tuple[str, Decimal | None]] = {}
    kinds = set(applicant.recipients)
    area_unknown = applicant.area is None
    outside = not area_unknown and applicant.area not in AREAS
    v, granted = applicant.values, applicant.granted
    for cid in IDS:
        out[cid] = (N, None)
    mine = [cid for cid in IDS if cid in FOR and FOR[cid] & kinds]
    if outside:
        return tuple((cid, *out[cid]) for cid in IDS), ZERO_FEN, True

    def decide(cid: str, failed: bool, unknown: bool, raw: Decimal | None, cap: Decimal | None = None,
               once: bool = False, extra_unknown: bool = False) -> None:
        if failed:
            out[cid] = (I, None)
        else:
            out[cid] = _paid(raw, unknown or area_unknown or extra_unknown, granted, cid, cap, once)

    if "2.1" in mine:
        f, u = _conditions(_flag(v, "registered_cbec"), _flag(v, "first_time_cbec"))
        decide("2.1", f, u, _rate(v, "platform_fees", "digital_promotion", HALF), W10, once=True)
    if "2.2" in mine:
        f, u = _conditions(_ge(v, "cbec_turnover", W500))
        decide("2.2", f, u, _rate(v, "platform_fees", "digital_promotion", HALF), W30)
    if "2.3" in mine:
        f, u = _conditions(_ge(v, "cbec_turnover", W500), _flag(v, "has_independent_site"),
                           _ge(v, "site_domain_holding", HALF))
        decide("2.3", f, u, _rate(v, "site_costs", "site_costs_in_promotion", HALF, minus=True), W50)
    for cid in ("2.4", "3", "9"):
        if cid in mine:
            out[cid] = (U, None) if area_unknown else (R, None)
    if "4.1" in mine:
        f, u = _conditions(_flag(v, "park_distinct_profile"), _ge(v, "park_area", WAN),
                           _ge(v, "park_cbec_share", SEVENTY), _ge(v, "park_cbec_turnover", YI2))
        decide("4.1", f, u, W100, once=True)
    if "4.2" in mine:
        f, u = _conditions(_flag(v, "in_recognised_park"))
        used = v.get("months_in_park_before")
        if f:
            out["4.2"] = (I, None)
        elif used is not None and used >= MONTHS:
            out["4.2"] = (I, None)  # every month of the 36 already passed
        else:
            area, months = v.get("rented_area"), v.get("rent_months")
            raw = None
            if area is not None and months is not None and used is not None:
                raw = C.multiply(C.multiply(FIVE, area), min(months, max(ZERO, MONTHS - used)))
            decide("4.2", f, u, raw)
    if "5.1" in mine:
        f, u = _conditions(_flag(v, "warehouse_recognised"), _ge(v, "warehouse_operating_years", ONE))
        decide("5.1", f, u, _rate(v, "warehouse_build_cost", None, HALF), W50, once=True)
    if "5.2" in mine:
        f, u = _conditions(_flag(v, "warehouse_newly_built_belt_and_road"))
        first = out["5.1"][0]
        if not f and first not in (E, U):
            out["5.2"] = (I, None)  # a bonus to 5.1, which does not pay
        else:
            # Q3: raises 5.1's ceiling from 50万 to 60万 — pays what 5.1's own rate makes above 50万, up to 10万
            built = _rate(v, "warehouse_build_cost", None, HALF)
            uncapped = max(_round(built), ZERO) if built is not None else None
            raw = max(ZERO, min(uncapped, W50 + W10) - min(uncapped, W50)) if uncapped is not None else None
            decide("5.2", f, u, raw, once=True, extra_unknown=first == U)
    if "5.3" in mine:
        f, u = _conditions(_flag(v, "uses_public_warehouse"))
        decide("5.3", f, u, _rate(v, "warehouse_service_cost", None, FIFTH), W20)
    if "6.1" in mine:
        f, u = _conditions(_flag(v, "new_cbec_major_approved"), _flag(v, "in_enrolment_plan"),
                           _ge(v, "annual_enrolment", THIRTY))
        decide("6.1", f, u, W30, once=True)
    if "6.2" in mine:
        counted = _count(v.get("incubated_enterprises"), _incubated)
        raw = None if counted is None or counted[1] else C.multiply(WAN, Decimal(counted[0]))
        decide("6.2", False, False, raw)
    if "7" in mine:
        f, u = _conditions(_ge(v, "platform_turnover", YI2))
        counted = _count(v.get("new_enterprises"), _new_enterprise)
        raw = None if counted is None or counted[1] else C.multiply(WAN, Decimal(counted[0]))
        decide("7", f, u, raw, W100)
    if "8" in mine:
        f, u = _conditions(_ge(v, "served_enterprises", TWENTY), _ge(v, "served_turnover", YI1))
        decide("8", f, u, _rate(v, "annual_service_fees", None, TENTH), W20)
    if "2.1" in mine:
        _platform_expenses(out, granted)
    total, complete = ZERO, True
    for cid in IDS:
        outcome, amount = out[cid]
        if outcome == E and amount:
            total += amount
        elif outcome == U:
            complete = False
    return tuple((cid, *out[cid]) for cid in IDS), _round(total), complete


def _platform_expenses(out: dict, granted: dict | None) -> None:
    """2.1 and 2.2 do not stack (the better pays, 2.2 on a tie: 2.1 is once only); paid earlier this fund year
    under either: only the difference (Q1). 2.1 is paid once, so an amount granted under it is of an unknown
    fund year."""
    live = [m for m in ("2.1", "2.2") if out[m][0] in (E, U, R)]
    if not live:
        return
    if granted is None:
        earlier = {"2.1": None, "2.2": None}
    else:
        g1 = granted.get("2.1", ZERO)
        earlier = {"2.1": None if g1 else ZERO, "2.2": granted.get("2.2", ZERO)}
    still = []
    for m in live:
        outcome, amount = out[m]
        other = earlier["2.2" if m == "2.1" else "2.1"]
        if outcome != E or other == 0:
            still.append(m)
        elif other is None:
            out[m] = (U, amount)
        else:
            after = max(amount - other, ZERO)
            if after <= 0:
                out[m] = (I, None)
            else:
                out[m] = (E, after)
                still.append(m)
    if len(still) < 2:
        return
    if any(out[m][0] in (U, R) for m in still):
        for m in still:
            if out[m][0] == E:
                out[m] = (U, out[m][1])
        return
    a, b = out["2.1"][1] or ZERO, out["2.2"][1] or ZERO
    loser = "2.2" if a > b else "2.1"
    out[loser] = (I, None)
