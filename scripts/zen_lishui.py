"""The Lishui rules (丽政办发〔2021〕67号) as a GoRules ZEN decision graph: the benchmark's outside yardstick.

ZEN (PyPI `zen-engine`, a Rust rules engine with exact decimals) is what a team might pick instead of this engine;
scripts/benchmark.py times it over the same applicants as the engine and the hand-written evaluator. The graph
(scripts/zen_lishui.json, written by `python scripts/zen_lishui.py`) encodes what scripts/handwritten_lishui.py
encodes: every clause's outcome and amount with missing facts as null (undetermined), caps less what was
granted, fund years and their filing window, once-only clauses, the bonus of 5.2 and the exclusive 2.1/2.2
group with its top-up. Like the hand-written evaluator it is a yardstick, not a second implementation: the
benchmark reports how many applicants it agrees with the engine on. ZEN is handed the checked facts as a dict of
numbers (it reads no 万元), so its figure has no facts check in it, which favours it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

GRAPH = Path(__file__).resolve().parent / "zen_lishui.json"
E, I, U, R, N = "'eligible'", "'ineligible'", "'undetermined'", "'referred'", "'not_applicable'"  # noqa: E741
IDS = ("1", "2.1", "2.2", "2.3", "2.4", "3", "4.1", "4.2", "5.1", "5.2", "5.3", "6.1", "6.2", "7", "8", "9", "10")
FOR = {"2.1": ["seller"], "2.2": ["seller"], "2.3": ["seller"], "2.4": ["seller", "cbec_sole_trader"],
       "3": ["seller"], "4.1": ["park_operator"], "4.2": ["seller", "ecommerce_enterprise", "supporting_enterprise"],
       "5.1": ["warehouse_operator"], "5.2": ["warehouse_operator"], "5.3": ["seller"], "6.1": ["school"],
       "6.2": ["incubator"], "7": ["platform"], "8": ["service_provider"], "9": ["seller"]}


def _k(cid: str) -> str:
    return cid.replace(".", "_")


def flag(name: str) -> tuple[str, str]:
    """(fails, unknown) of a yes/no condition."""
    return f"{name} == false", f"{name} == null"


def at_least(name: str, bound: str) -> tuple[str, str]:
    return f"({name} != null and {name} < {bound})", f"{name} == null"


def conditions(*parts: tuple[str, str]) -> tuple[str, str]:
    if not parts:
        return "false", "false"
    return " or ".join(p[0] for p in parts), " or ".join(p[1] for p in parts)


# The last day a claim for each paid fund year may be filed (the end of the next year); any other year: none.
DEADLINE = " : ".join(f"claim_year == {y} ? date('{y + 1}-12-31')" for y in range(2022, 2027)) + " : date('1900-01-01')"


def _expressions() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = [
        # Q22: fund years 2022-2026 paid, each filed through the end of the next year; a missing year (2021 is
        # allowed, never paid) leaves every clause that applies undetermined (fyu), until no paid year is open.
        ("period", "date(date) >= date('2022-02-01') and (claim_year == null ? date(date) <= date('2027-12-31') : "
                   f"date(date) <= ({DEADLINE}))"),
        ("fyu", "claim_year == null"),
        ("outside", "area != null and !(area in ['市直', '莲都区', '丽水经济技术开发区'])"),
        ("au", "area == null"),
    ]

    def na(cid: str) -> str:
        if cid not in FOR:
            return "true"
        kinds = ", ".join(f"'{k}'" for k in FOR[cid])
        return f"(!$.period or $.outside or !(recipient in [{kinds}]))"

    def paid(cid: str, cond: tuple[str, str], raw: str, cap: str | None, once: bool, stop: str | None = None,
             extra_unknown: str = "false") -> None:
        k = _k(cid)
        fails, unknown = cond
        out.append((f"r{k}", raw))
        out.append((f"g{k}", f"granted == null ? null : round(granted['{cid}'] ?? 0, 2)"))
        counted = cap is not None or once
        tests = [(na(cid), N), ("$.fyu", U), (f"({fails})", I)]
        if stop:
            tests.append((f"({stop})", I))
        if once:
            tests.append((f"($.g{k} != null and $.g{k} > 0)", I))
        if cap is not None:
            tests.append((f"($.g{k} != null and {cap} - $.g{k} <= 0)", I))
        undecided = [f"({unknown})", "$.au", f"$.r{k} == null", f"({extra_unknown})"]
        if counted:
            undecided.append(f"$.g{k} == null")
        tests.append((" or ".join(undecided), U))
        outcome = "".join(f"{t} ? {o} : " for t, o in tests) + E
        out.append((f"o{k}", outcome))
        amount = f"max([round($.r{k}, 2), 0])"
        if cap is not None:
            amount = f"min([{amount}, {cap} - $.g{k}])"
        out.append((f"a{k}", f"$.o{k} == {E} ? {amount} : null"))

    def rate(a: str, b: str | None, r: str, minus: bool = False) -> str:
        if b is None:
            return f"{a} == null ? null : {a} * {r}"
        return f"({a} == null or {b} == null) ? null : ({a} {'-' if minus else '+'} {b}) * {r}"

    for cid in ("1", "10"):
        out += [(f"o{_k(cid)}", N), (f"a{_k(cid)}", "null")]
    paid("2.1", conditions(flag("registered_cbec"), flag("first_time_cbec")),
         rate("platform_fees", "digital_promotion", "0.5"), "100000", True)
    paid("2.2", conditions(at_least("cbec_turnover", "5000000")),
         rate("platform_fees", "digital_promotion", "0.5"), "300000", False)
    paid("2.3", conditions(at_least("cbec_turnover", "5000000"), flag("has_independent_site"),
                           at_least("site_domain_holding", "0.5")),
         rate("site_costs", "site_costs_in_promotion", "0.5", minus=True), "500000", False)
    for cid in ("2.4", "3", "9"):
        out += [(f"o{_k(cid)}", f"{na(cid)} ? {N} : ($.au or $.fyu) ? {U} : {R}"), (f"a{_k(cid)}", "null")]
    paid("4.1", conditions(flag("park_distinct_profile"), at_least("park_area", "10000"),
                           at_least("park_cbec_share", "0.7"), at_least("park_cbec_turnover", "200000000")),
         "1000000", None, True)
    paid("4.2", conditions(flag("in_recognised_park")),
         "(rented_area == null or rent_months == null or months_in_park_before == null) ? null : "
         "5 * rented_area * min([rent_months, max([0, 36 - months_in_park_before])])", None, False,
         stop="months_in_park_before != null and months_in_park_before >= 36")
    paid("5.1", conditions(flag("warehouse_recognised"), at_least("warehouse_operating_years", "1")),
         rate("warehouse_build_cost", None, "0.5"), "500000", True)
    # Q3: 5.2 raises 5.1's ceiling from 50万 to 60万: what 5.1's rate makes above 50万, up to 10万
    own = "max([round(warehouse_build_cost * 0.5, 2), 0])"
    paid("5.2", conditions(flag("warehouse_newly_built_belt_and_road")),
         f"warehouse_build_cost == null ? null : max([0, min([{own}, 600000]) - min([{own}, 500000])])", None, True,
         stop=f"!($.o5_1 == {E} or $.o5_1 == {U})", extra_unknown=f"$.o5_1 == {U}")
    paid("5.3", conditions(flag("uses_public_warehouse")), rate("warehouse_service_cost", None, "0.2"), "200000",
         False)
    paid("6.1", conditions(flag("new_cbec_major_approved"), flag("in_enrolment_plan"),
                           at_least("annual_enrolment", "30")), "300000", None, True)
    no = ("#.started_cbec == false or (#.annual_turnover != null and #.annual_turnover < 5000000) or "
          "(#.years_since_incubation != null and #.years_since_incubation > 2) or #.reached_before == true")
    unknown = ("#.started_cbec == null or #.annual_turnover == null or #.years_since_incubation == null or "
               "#.reached_before == null")
    paid("6.2", ("false", "false"),
         f"incubated_enterprises == null ? null : count(incubated_enterprises, !({no}) and ({unknown})) > 0 ? null"
         f" : 10000 * count(incubated_enterprises, !({no}))", None, False)
    paid("7", conditions(at_least("platform_turnover", "200000000")),
         "new_enterprises == null ? null : count(new_enterprises, #.annual_turnover == null) > 0 ? null : "
         "10000 * count(new_enterprises, #.annual_turnover >= 2000000)", "1000000", False)
    paid("8", conditions(at_least("served_enterprises", "20"), at_least("served_turnover", "100000000")),
         rate("annual_service_fees", None, "0.1"), "200000", False)
    # 2.1 and 2.2: the better pays (2.2 on a tie); paid earlier this fund year under either: only the
    # difference; 2.1 is paid once, so an amount granted under it is of an unknown year.
    out += [
        ("e2_1", "granted == null ? null : ((granted['2.1'] ?? 0) != 0 ? null : 0)"),
        ("e2_2", "granted == null ? null : (granted['2.2'] ?? 0)"),
    ]
    for m, other in (("2_1", "2_2"), ("2_2", "2_1")):
        live = f"($.o{m} == {E} or $.o{m} == {U} or $.o{m} == {R})"
        keep = f"($.o{m} != {E} or $.e{other} == 0)"
        after = f"max([$.a{m} - $.e{other}, 0])"
        out += [
            (f"t{m}o", f"!{live} ? $.o{m} : {keep} ? $.o{m} : $.e{other} == null ? {U} : {after} <= 0 ? {I} : {E}"),
            (f"t{m}a", f"!{live} ? $.a{m} : {keep} ? $.a{m} : $.e{other} == null ? $.a{m} : {after} <= 0 ? null"
                       f" : {after}"),
            (f"s{m}", f"{live} and ({keep} or ($.e{other} != null and {after} > 0))"),
        ]
    wait = f"($.t2_1o == {U} or $.t2_1o == {R} or $.t2_2o == {U} or $.t2_2o == {R})"
    first = "($.t2_1a ?? 0) > ($.t2_2a ?? 0)"  # Q1: 2.2 on a tie (2.1 is once only)
    out += [
        ("both", "$.s2_1 and $.s2_2"),
        ("wait", f"$.both and {wait}"),
        ("f2_1o", f"!$.both ? $.t2_1o : $.wait ? ($.t2_1o == {E} ? {U} : $.t2_1o) : {first} ? $.t2_1o : {I}"),
        ("f2_1a", f"!$.both ? $.t2_1a : $.wait ? $.t2_1a : {first} ? $.t2_1a : null"),
        ("f2_2o", f"!$.both ? $.t2_2o : $.wait ? ($.t2_2o == {E} ? {U} : $.t2_2o) : {first} ? {I} : $.t2_2o"),
        ("f2_2a", f"!$.both ? $.t2_2a : $.wait ? $.t2_2a : {first} ? null : $.t2_2a"),
    ]
    final = {cid: (f"$.f{_k(cid)}o", f"$.f{_k(cid)}a") if cid in ("2.1", "2.2") else (f"$.o{_k(cid)}", f"$.a{_k(cid)}")
             for cid in IDS}
    out.append(("total", " + ".join(f"({o} == {E} ? {a} : 0)" for o, a in final.values())))
    out.append(("complete", " and ".join(f"{o} != {U}" for o, _a in final.values())))
    out.append(("clauses", "[" + ", ".join(f"[{o}, {a}]" for o, a in final.values()) + "]"))
    return out


def graph() -> dict:
    def node(i: str, kind: str, content: dict | None = None) -> dict:
        found = {"id": i, "type": kind, "name": i, "position": {"x": 0, "y": 0}}
        if content is not None:
            found["content"] = content
        return found

    expressions = [{"id": f"x{i}", "key": key, "value": value} for i, (key, value) in enumerate(_expressions())]
    return {"nodes": [node("request", "inputNode"),
                      node("lishui", "expressionNode", {"expressions": expressions, "passThrough": False}),
                      node("response", "outputNode")],
            "edges": [{"id": "e1", "sourceId": "request", "targetId": "lishui", "type": "edge"},
                      {"id": "e2", "sourceId": "lishui", "targetId": "response", "type": "edge"}]}


def _number(value: object) -> object:
    """A checked value as ZEN reads JSON: exact decimals as numbers (their shortest text is their digits)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (tuple, list)):
        return [_number(v) for v in value]
    if isinstance(value, dict):
        return {k: _number(v) for k, v in value.items()}
    return str(value)


class Zen:
    """The graph loaded once; `evaluate` one applicant's context."""

    def __init__(self) -> None:
        import importlib.metadata

        import zen

        self.version = importlib.metadata.version("zen-engine")
        # Through the engine with its graph preloaded: its quickest path for one call (measured on zen-engine
        # 2.1: a ZenDecision's own evaluate costs about three times more per call).
        content = json.loads(GRAPH.read_text(encoding="utf-8"))
        self._engine = zen.ZenEngine({"loader": {"type": "static", "content": {"lishui": content}}})

    @staticmethod
    def context(data: dict, applicant) -> dict:
        """What ZEN is handed: the checked facts as numbers, beside who, where, when and what was granted."""
        found = {k: _number(v) for k, v in applicant.values.items()}
        granted = applicant.granted
        found.update(recipient=applicant.recipients[0], area=applicant.area, date=applicant.date.isoformat(),
                     granted=None if granted is None else {k: _number(v) for k, v in granted.items()})
        return found

    def evaluate(self, context: dict) -> dict:
        return self._engine.evaluate("lishui", context)["result"]

    @staticmethod
    def plain(result: dict) -> tuple:
        """As scripts/benchmark.py compares: ((id, outcome, amount), ...), total, complete; amounts to the fen."""
        fen = Decimal("0.01")

        def money(x: object) -> Decimal | None:
            return None if x is None else Decimal(str(x)).quantize(fen)

        clauses = tuple((cid, o, money(a)) for cid, (o, a) in zip(IDS, result["clauses"], strict=True))
        return clauses, money(result["total"]), result["complete"]


if __name__ == "__main__":
    GRAPH.write_text(json.dumps(graph(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {GRAPH}")
