"""Which fund years a policy pays (fund_year: in_force:), until when a year's claim may be filed (filing_months:),
parts no larger than their wholes (at_most:), and the tools that read every reading's alternatives."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner
from policy_variants import LISHUI

from cli import cli
from engine import applicant_from_data, evaluate, load_policy
from engine.core.errors import EvaluateError, PolicyError

ROOT = Path(__file__).resolve().parent.parent
CASES = str(ROOT / "policies" / "lishui-2021-67.tests.yaml")

# A policy of its own: in force 2022-02-01 to 2027-01-31, one yearly award, the fund year named by a fact.
POLICY = """\
id: fund-years
document: 测试文件〔2022〕1号
title: 资金年度测试
in_force: {{from: 2022-02-01, until: 2027-01-31}}
money: {{currency: CNY, round_to: 0.01, rounding: half_up}}
fund_year: {{fact: claim_year{extra}}}
recipients: {{seller: {{label: 企业}}}}
facts:
  claim_year: {{type: integer, label: 申报所属年度, min: 2000, max: 2100}}
  costs: {{type: money, label: 费用}}
  costs_shared: {{type: money, label: 其中已在别处申报的部分, at_most: costs}}
clauses:
  - id: "1"
    title: 费用补助
    recipient: seller
    award: {{base: costs - costs_shared, rate: 50%}}
    cap: 10万元
    period: year
"""


def policy(tmp_path: Path, extra: str = ""):
    path = tmp_path / "p.yaml"
    path.write_text(POLICY.format(extra=extra), encoding="utf-8")
    return load_policy(str(path))


def claim(pol, day: str, year: int | None = 2024, costs: object = 1000, shared: object = 0):
    facts: dict[str, object] = {"costs": costs, "costs_shared": shared}
    if year is not None:
        facts["claim_year"] = year
    result = evaluate(pol, applicant_from_data(pol, {"recipient": "seller", "granted": {}, "facts": facts}),
                      on=dt.date.fromisoformat(day))
    r = result.clause("1")
    return r.outcome.value, r.reason


@pytest.mark.parametrize("rule, first, last", [("any_day", 2022, 2027), ("first_day", 2023, 2027),
                                               ("last_day", 2022, 2026), ("every_day", 2023, 2026)])
def test_the_fund_years_paid_are_those_whose_named_days_fall_in_the_period(tmp_path, rule, first, last):
    pol = policy(tmp_path, f", in_force: {rule}")
    for year in range(2020, 2028):  # each claimed on a day in force, not before its fund year
        day = "2022-03-01" if year < 2022 else f"{year + 1}-01-15" if year < 2027 else "2027-01-20"
        outcome = claim(pol, day, year)
        assert (outcome == ("eligible", None)) == (first <= year <= last), (rule, year, outcome)
        if not first <= year <= last:
            assert outcome == ("not_applicable", "fund_year")


def test_without_in_force_the_fund_year_is_not_checked_and_the_claim_date_must_be_in_force(tmp_path):
    pol = policy(tmp_path)
    assert claim(pol, "2022-03-01", 2021) == ("eligible", None)  # as written: nothing said about fund years
    assert claim(pol, "2022-03-01", None) == ("eligible", None)
    assert claim(pol, "2027-02-01", 2026) == ("not_applicable", "policy_period")


def test_a_filing_window_admits_next_spring_claims_after_the_end_and_refuses_late_ones(tmp_path):
    pol = policy(tmp_path, ", in_force: last_day, filing_months: 3")
    assert claim(pol, "2027-03-31", 2026) == ("eligible", None)  # the window's last day, after the period
    assert claim(pol, "2027-04-01", 2026) == ("not_applicable", "filing")
    assert claim(pol, "2024-03-31", 2023) == ("eligible", None)
    assert claim(pol, "2024-04-01", 2023) == ("not_applicable", "filing")
    assert claim(pol, "2022-01-31", 2022) == ("not_applicable", "policy_period")  # never before the start


def missing_year(pol, day: str) -> tuple[str, str | None, tuple[str, ...]]:
    facts = {"costs": 1000, "costs_shared": 0}
    result = evaluate(pol, applicant_from_data(pol, {"recipient": "seller", "granted": {}, "facts": facts}),
                      on=dt.date.fromisoformat(day))
    r = result.clause("1")
    return r.outcome.value, r.reason, tuple(r.missing_keys)


def test_a_missing_fund_year_is_undetermined_whenever_an_unpaid_year_is_possible(tmp_path):
    pol = policy(tmp_path, ", in_force: last_day, filing_months: 12")
    # The fact allows 2000 onwards: a year filed late (or before the policy) is always possible, never assumed away.
    for day in ("2022-06-01", "2024-06-01", "2027-06-01"):
        assert missing_year(pol, day) == ("undetermined", "missing", ("claim_year",))
    assert claim(pol, "2024-06-01", 2023) == ("eligible", None)  # the year stated decides it
    assert claim(pol, "2024-06-01", 2022) == ("not_applicable", "filing")
    # 2027 or 2028 (windows still open on this day): neither is paid, so the missing year decides nothing
    assert missing_year(pol, "2028-06-01") == ("not_applicable", "policy_period", ())


def test_a_clause_decided_whatever_the_year_but_for_whether_it_is_paid_names_the_year_it_waits_for(tmp_path):
    """Its cap used up by what was granted: ineligible if the year is paid, not applicable if not, so it waits for
    the year, and says so by name — its reason missing:claim_year, the sheet's words 缺少 申报所属年度 — in the
    engine and in SQL alike (it once waited for nothing named: reason `missing`, 缺少事实)."""
    import duckdb
    from sql_support import load_typed, row_results

    from engine import render_text
    from engine.runtime.sql import sql_query

    pol = policy(tmp_path, ", in_force: last_day, filing_months: 12")
    data = {"recipient": "seller", "granted": {"1": "10万元"}, "facts": {"costs": 1000, "costs_shared": 0}}
    result = evaluate(pol, applicant_from_data(pol, data), on=dt.date(2024, 6, 1))
    r = result.clause("1")
    assert (r.outcome.value, r.reason, tuple(r.missing_keys)) == ("undetermined", "missing", ("claim_year",))
    assert "申报所属年度 (claim_year)" in render_text(result)
    con = duckdb.connect()
    load_typed(con, pol, [(applicant_from_data(pol, data), dt.date(2024, 6, 1))])
    found = con.execute(f'SELECT "1:outcome", "1:reason" FROM ({sql_query(pol).text})').fetchall()
    outcome, _amount, reason = row_results(pol, result)[0]
    assert found == [(outcome, reason)] == [("undetermined", "missing:claim_year")]
    # a clause requiring it waits for what it waits for — the year alone, not what was granted under it (unsaid)
    path = tmp_path / "requires.yaml"
    path.write_text(POLICY.format(extra=", in_force: last_day, filing_months: 12").replace(
        "    period: year\n", "    period: year\n    when: [{if: costs >= 5000元}]\n"
        "  - {id: '2', title: 奖励, recipient: seller, requires: ['1'], award: {fixed: 1万元}}\n"), encoding="utf-8")
    pol = load_policy(str(path))
    data = {"recipient": "seller", "facts": {"costs": 1000, "costs_shared": 0}}  # nothing said granted
    result = evaluate(pol, applicant_from_data(pol, data), on=dt.date(2024, 6, 1))
    con = duckdb.connect()
    load_typed(con, pol, [(applicant_from_data(pol, data), dt.date(2024, 6, 1))])
    found = con.execute(f'SELECT "1:outcome", "1:reason", "2:outcome", "2:reason" '
                        f'FROM ({sql_query(pol).text})').fetchall()
    expected = tuple(x for clause in row_results(pol, result) for x in (clause[0], clause[2]))
    assert found == [expected] == [("undetermined", "missing:claim_year") * 2]


def test_a_missing_fund_year_is_decided_when_the_facts_minimum_and_the_window_leave_only_paid_years(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(POLICY.format(extra=", in_force: last_day, filing_months: 12").replace("min: 2000", "min: 2023"),
                    encoding="utf-8")
    pol = load_policy(str(path))
    assert missing_year(pol, "2024-06-01") == ("eligible", None, ())  # 2023 or 2024: both paid and open
    assert missing_year(pol, "2025-06-01") == ("undetermined", "missing", ("claim_year",))  # 2023 is late by now
    assert missing_year(pol, "2027-06-01") == ("undetermined", "missing", ("claim_year",))  # 2027 is not paid


def test_a_fund_year_after_the_claim_date_is_an_input_error_at_the_fact(tmp_path):
    pol = policy(tmp_path, ", in_force: last_day")
    facts = tmp_path / "f.yaml"
    facts.write_text("recipient: seller\ndate: 2024-12-31\ngranted: {}\nfacts:\n  claim_year: 2025\n  costs: 1\n",
                     encoding="utf-8")
    from engine import load_applicant
    with pytest.raises(EvaluateError) as caught:
        evaluate(pol, load_applicant(pol, str(facts)))
    text = caught.value.format("en")
    assert "f.yaml:5:15: error: the fund year 2025 (claim_year) is later than the claim date 2024-12-31" in text
    result = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "p.yaml"), str(facts), "--lang", "en"])
    assert result.exit_code == 1 and "later than the claim date" in result.output


def test_a_part_larger_than_its_whole_is_refused_naming_both(tmp_path):
    pol = policy(tmp_path)
    assert claim(pol, "2024-06-01", costs=1000, shared=1000) == ("eligible", None)
    with pytest.raises(PolicyError) as caught:
        claim(pol, "2024-06-01", costs=1000, shared="1000.01")
    text = caught.value.format("en")
    assert "'costs_shared'" in text and "'costs'" in text and "a part cannot exceed its whole" in text


def test_at_most_must_name_another_fact_of_the_same_type(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(POLICY.format(extra="").replace("at_most: costs}", "at_most: cost}"), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(path))
    assert "did you mean 'costs'?" in caught.value.format("en")
    path.write_text(POLICY.format(extra="").replace("at_most: costs}", "at_most: claim_year}"), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(path))
    assert "p.yaml:11:" in caught.value.format("en") and "claim_year' (integer)" in caught.value.format("en")


# --- tools that read every reading's alternatives ---------------------------------------------------------

def test_validate_and_lint_compile_every_alternative_and_locate_a_misspelt_name(tmp_path):
    text = LISHUI.read_text(encoding="utf-8")
    marker = "where: annual_turnover > 200万元}"
    assert text.count(marker) == 1  # Q8's alternative, inside readings:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(marker, "where: anual_turnover > 200万元}"), encoding="utf-8")
    line = 1 + text[:text.index(marker)].count("\n")
    for command in ("validate", "lint"):
        result = CliRunner().invoke(cli, [command, str(bad), "--lang", "en"])
        assert result.exit_code == 1, (command, result.output)
        assert f"bad.yaml:{line}:" in result.output and "read as alternative 1 of reading Q8" in result.output
        assert "did you mean 'annual_turnover'?" in result.output
    for command in ("validate", "lint"):
        assert CliRunner().invoke(cli, [command, str(LISHUI)]).exit_code == 0


def test_diff_reading_sees_a_change_inside_a_list_facts_items():
    out = CliRunner().invoke(cli, ["diff", str(LISHUI), "--reading", "Q10", "--lang", "en"]).output
    assert "item field years_since_incubation: label: 自开始孵化（培训）至该年度末的年数 → 自开始跨境电商业务至该年度末的年数" in out
    assert "No changes" not in out


def test_diff_cases_under_an_alternative_that_adds_a_fact_shows_who_waits_for_it():
    out = CliRunner().invoke(cli, ["diff", str(LISHUI), "--reading", "Q5", "--cases", CASES, "--lang", "en"]).output
    head, _, rest = out.partition("undetermined under the new version (waiting for")
    assert rest, out
    waiting = rest.split("unchanged")[0]
    assert "needs rent_paid to decide" in waiting and "Park rent" in waiting
    assert "4.2 入驻园区企业租金补助（第四条）: eligible 21,030.00元 → undetermined" in waiting
    assert "loses:" not in out  # nobody is shown as losing what they are only waiting for
    # cases written to be refused (rejects:) are counted once, not listed as applicants that cannot be compared
    assert "6 cases written to be refused (rejects:) are refused by both versions" in out
    assert "cannot compare" not in out


def test_the_readme_and_the_review_page_list_every_reading_of_lishui(tmp_path):
    policy = load_policy(str(LISHUI))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = readme[readme.index("The readings of 丽政办发〔2021〕67号"):]
    page = tmp_path / "review.md"
    assert CliRunner().invoke(cli, ["render", str(LISHUI), "--format", "markdown", "-o", str(page)]).exit_code == 0
    review = page.read_text(encoding="utf-8")
    # the header says which fund years are paid and how long after a year its claims may be filed (Q22)
    assert "支付 2022 至 2026 年度" in review and "该年度结束后 12 个月内提出" in review
    for rid in policy.readings:
        assert f"\n| {rid} | " in listed, rid
        assert f"\n### {rid}\n" in review, rid  # the review page's readings, each under its own heading


def test_lint_says_when_a_policy_with_fund_years_does_not_say_which_it_pays(tmp_path):
    policy(tmp_path)  # writes p.yaml without in_force:
    out = CliRunner().invoke(cli, ["lint", str(tmp_path / "p.yaml"), "--lang", "en", "--today", "2024-01-01"]).output
    assert "p.yaml:6:1: info: claims state their fund year (claim_year), but nothing says which fund years" in out
    policy(tmp_path, ", in_force: last_day")
    out = CliRunner().invoke(cli, ["lint", str(tmp_path / "p.yaml"), "--lang", "en", "--today", "2024-01-01"]).output
    assert "which fund years" not in out
