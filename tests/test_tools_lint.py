"""`policy lint`: findings an officer would act on, each at its line, with a hint; exit codes."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner
from policy_variants import LISHUI, line_of, variant

from cli import cli
from engine.model.compile import compile_policy
from engine.syntax.loader import load_file
from engine.tools.lint import lint

TODAY = "2026-01-01"  # well inside the Lishui period of force, more than 180 days before its end


def run(*args: str):
    return CliRunner().invoke(cli, ["lint", "--lang", "en", *map(str, args)])  # the findings asserted are English


def findings(result) -> list[str]:
    return [line for line in result.output.splitlines() if ": warning: " in line or ": info: " in line]


def test_shipped_policy_is_clean_far_from_expiry():
    result = run(LISHUI, "--today", TODAY, "--strict")
    assert result.exit_code == 0, result.output
    assert findings(result) == []
    assert "no findings" in result.output


def test_shipped_policy_warns_of_its_expiry_and_strict_fails():
    result = run(LISHUI, "--today", "2026-11-28")
    assert result.exit_code == 0
    [line] = findings(result)
    assert f"{LISHUI}:{line_of(LISHUI, 'until: 2027-01-31')}:" in line
    assert "expires on 2027-01-31, in 64 days" in line
    assert "hint:" in result.output
    assert run(LISHUI, "--today", "2026-11-28", "--strict").exit_code == 1


def test_expired_and_not_yet_in_force():
    expired = run(LISHUI, "--today", "2027-03-01")
    assert "expired on 2027-01-31 (29 days before 2027-03-01)" in expired.output
    early = run(LISHUI, "--today", "2022-01-01", "--strict")
    assert "info: the policy is not yet in force: it starts on 2022-02-01, in 31 days" in early.output
    assert early.exit_code == 0  # info never fails, even with --strict


def test_unused_fact_and_parameter(tmp_path):
    path = variant(tmp_path, ("base: site_costs - site_costs_in_promotion", "base: platform_fees"),
                   ("rate: warehouse_use_rate", "rate: 20%"))
    result = run(path, "--today", TODAY)
    assert result.exit_code == 0
    out = result.output
    assert f":{line_of(path, '  site_costs:')}:3: warning: fact 'site_costs'" in out
    assert f":{line_of(path, '  warehouse_use_rate:')}:3: warning: parameter 'warehouse_use_rate'" in out
    assert "no clause reads it" in out


def test_contradictory_bounds_within_a_clause(tmp_path):
    path = variant(tmp_path, ("      - if: has_independent_site", "      - if: cbec_turnover < 100万元"))
    result = run(path, "--today", TODAY, "--strict")
    assert result.exit_code == 1
    [line] = [f for f in findings(result) if "never be eligible" in f]
    assert f":{line_of(path, 'cbec_turnover < 100万元')}:" in line
    assert "clause 2.3 can never be eligible: `cbec_turnover >= 500万元` and `cbec_turnover < 100万元`" in line


def test_bound_against_declared_minimum(tmp_path):
    path = variant(tmp_path, ("      - if: park_area >= 1万", "      - if: park_area < 0"))
    out = run(path, "--today", TODAY).output
    assert "clause 4.1 can never be eligible: `park_area < 0` and the declared minimum 0" in out


def test_parameter_cap_of_zero(tmp_path):
    path = variant(tmp_path, ("    value: 10万元\n    text: 每家企业最高补助不超过10万元",
                              "    value: 0\n    text: 每家企业最高补助不超过10万元"))
    out = run(path, "--today", TODAY).output
    assert f":{line_of(path, 'cap: first_time_cap')}:" in out
    assert "the cap of clause 2.1 is 0元: the clause never pays" in out


def test_group_members_of_different_kinds(tmp_path):
    path = variant(tmp_path, ('members: ["2.2", "2.1"]', 'members: ["2.1", "8"]'))
    out = run(path, "--today", TODAY).output
    assert f":{line_of(path, 'members: [' + chr(34) + '2.1')}:" in out
    assert "group 'platform-expenses' (pick best): clauses 2.1 and 8 have no recipient kind in common" in out


def test_group_members_with_contradictory_bounds(tmp_path):
    # An officer reads 2.1 as "below 500万元" and forgets that the group says the two tiers compete.
    path = variant(tmp_path, ("      - if: first_time_cbec\n", "      - if: cbec_turnover < 500万元\n"))
    out = run(path, "--today", TODAY).output
    assert "clauses 2.2 and 2.1 can never both be eligible" in out  # in the group's order (2.2 first: Q1)
    assert "`cbec_turnover < 500万元`" in out and "`cbec_turnover >= 500万元`" in out


def test_cap_that_never_binds(tmp_path):
    path = variant(tmp_path, ("      fixed: park_award\n    period: once",
                              "      fixed: park_award\n    cap: 150万元\n    period: once"))
    out = run(path, "--today", TODAY).output
    assert f":{line_of(path, 'cap: 150万元')}:" in out
    assert "the cap of clause 4.1 (150万元) is never reached by its award, which is at most 100万元" in out


def test_rate_above_100_percent(tmp_path):
    path = variant(tmp_path, ("    value: 50%\n    text: 开展推广支出费用50%补助", "    value: 500%\n    text: 开展推广支出费用50%补助"),
                   ("rate: warehouse_use_rate", "rate: 1.5"))
    out = run(path, "--today", TODAY).output
    assert f":{line_of(path, 'value: 500%')}:" in out
    assert "parameter 'first_time_rate' (首次开展跨境电商企业补助比例) is 500% from 2022-02-01, above 100%" in out
    assert "the rate of clause 5.3 is 150%, outside 0% to 100%" in out


def test_tenfold_change_between_dated_values(tmp_path):
    path = variant(tmp_path, ("        value: 30万元\n        source: 丽政办发〔2021〕67号 第二条",
                              "        value: 30万元\n        source: 丽政办发〔2021〕67号 第二条\n"
                              "      - from: 2024-01-01\n        value: 310万元"))  # 10x is 300万元: a 万 typed for 元
    out = run(path, "--today", TODAY).output
    assert f":{line_of(path, 'value: 310万元')}:" in out
    assert "changes from 30万元 to 310万元 on 2024-01-01, more than 10x" in out


def test_unused_rules_reference_and_reading(tmp_path):
    path = variant(tmp_path, ("    role: basis\n  浙政函", "    role: rules\n  浙政函"),
                   ("    reading: [Q5, Q16, Q17, Q28]\n", "    reading: [Q16, Q17, Q28]\n"))
    out = run(path, "--today", TODAY).output
    assert f":{line_of(path, '  国函〔2020〕47号:')}:3: warning: reference '国函〔2020〕47号' has role rules" in out
    assert f":{line_of(path, '  Q5:')}:3: warning: reading Q5 is declared but" in out


def test_json_format_lists_every_finding():
    result = run(LISHUI, "--today", "2026-11-28", "--format", "json")
    data = json.loads(result.output)
    assert data["counts"] == {"error": 0, "warning": 1, "info": 0}
    [problem] = data["problems"]
    assert problem["path"] == "$.in_force.until" and problem["suggestion"]


def test_broken_policy_is_a_clear_error_not_a_traceback(tmp_path):
    path = variant(tmp_path, ("rate: warehouse_use_rate", "rate: warehouse_use_rat"))
    result = run(path, "--today", TODAY)
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "did you mean 'warehouse_use_rate'?" in result.output


def test_lint_is_a_pure_function_of_policy_document_and_day():
    loaded = load_file(str(LISHUI))
    problems = lint(compile_policy(loaded), loaded, dt.date(2027, 2, 1))
    assert [(p.severity, p.line) for p in problems] == [("warning", line_of(LISHUI, "until: 2027-01-31"))]
    assert all(p.suggestion for p in problems)


@pytest.mark.parametrize("today", ["2026-08-03", "2026-08-04"])
def test_expiry_window_is_180_days(today):
    warned = "expires on" in run(LISHUI, "--today", today).output
    assert warned == (today == "2026-08-04")  # 2027-01-31 is 180 days after 2026-08-04, 181 after 08-03


def test_a_percentage_typed_as_a_cap_is_flagged_where_it_was_typed(tmp_path):
    county = tmp_path / "county.yaml"
    county.write_text(f"id: county\ndocument: X\ntitle: X\nextends: {LISHUI}\n"
                      "parameters: {first_time_cap: {value: 50%}}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["lint", str(county), "--today", "2026-01-01", "--lang", "en"])
    assert f"{county}:5:" in result.output
    assert "the cap of clause 2.1 uses a percentage (first_time_cap)" in result.output


def _random_group_policy(seed: int) -> str:
    """A small policy whose one exclusive group mixes recipient kinds, periods, bounds on money, numbers, yes/no
    and text, and parameters that change on dated values: every kind of group finding, on several days."""
    import random

    r = random.Random(seed)
    lines = ["id: fuzz", "document: X", "title: X", "in_force: {from: 2020-01-01, until: 2030-12-31}",
             "money: {currency: CNY, round_to: 0.01, rounding: half_up}",
             "recipients: {s: {label: s}, t: {label: t}, u: {label: u}}",
             "facts: {m: {type: money, label: m}, n: {type: number, label: n, min: 0}, b: {type: boolean, label: b},"
             " k: {type: text, label: k, choices: [a1, a2]}}", "parameters:"]
    for p in range(2):
        values = ", ".join(f"{{from: {2020 + y}-01-01, value: {r.randint(0, 60)}}}" for y in range(r.randint(1, 4)))
        lines.append(f"  p{p}: {{label: p{p}, type: money, values: [{values}]}}")

    def condition() -> str:
        op = r.choice([">=", ">", "<=", "<", "=="])
        return r.choice([f"m {op} {r.randint(0, 60)}元", f"m {op} p{r.randint(0, 1)}", f"n {op} {r.randint(-2, 40)}",
                         "b", "not b", f"k == '{r.choice(['a1', 'a2'])}'", "m > 10元 or n < 3"])

    lines.append("clauses:")
    count = r.randint(3, 10)
    for i in range(count):
        when = ", ".join(condition() for _ in range(r.randint(0, 3)))
        period = r.choice(["", "", ", from: 2022-01-01", ", until: 2021-06-30", ", from: 2025-01-01, until: 2026-01-01"])
        lines.append(f"  - {{id: c{i}, title: t, recipient: {r.choice(['s', 't', '[s, t]', 'u'])}, when: [{when}],"
                     f" award: {{fixed: 1}}{period}}}")
    lines.append(f"groups: [{{id: g, pick: best, members: [{', '.join(f'c{i}' for i in range(count))}]}}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(40))
def test_group_findings_are_those_of_every_pair_on_every_day(tmp_path, seed):
    """Lint compares a group's members by what decides each finding, not pair by pair and day by day (a group of
    1,000 members over 100 parameter days took over ten minutes); it must still find exactly the pairs that
    comparing every pair on every day finds."""
    from itertools import combinations

    from engine.tools.lint import _Linter

    path = tmp_path / "group.yaml"
    path.write_text(_random_group_policy(seed), encoding="utf-8")
    loaded = load_file(str(path))
    policy = compile_policy(loaded)
    linter = _Linter(policy, loaded, dt.date(2024, 1, 1))
    members = list(policy.clauses)
    expected = set()
    for (i, a), (j, b) in combinations(enumerate(members), 2):
        if not set(a.recipients) & set(b.recipients):
            expected.add((i, j, "kinds"))
        elif (a.end or policy.end) < (b.start or policy.start) or (b.end or policy.end) < (a.start or policy.start):
            expected.add((i, j, "periods"))
        elif all(linter.merged_contradiction(a, b, k) for k in range(len(linter.days))):
            expected.add((i, j, "bounds"))
    assert set(linter.group_findings(members)) == expected


def test_lint_of_a_value_until_the_last_representable_day(tmp_path):
    path = variant(tmp_path, ("    value: 10万元\n    text: 每家企业最高补助不超过10万元",
                              "    values: [{from: 2022-02-01, until: 9999-12-31, value: 10万元}]\n"
                              "    text: 每家企业最高补助不超过10万元"))
    result = run(path, "--today", TODAY)
    assert result.exit_code == 0, result.output
