"""Evaluation rules beyond the YAML cases: readings switched by officers, rounding rules, exactness."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from engine import applicant_from_text, evaluate, load_policy, render_text

LISHUI = Path(__file__).resolve().parent.parent / "policies" / "lishui-2021-67.yaml"

WAREHOUSE = """recipient: warehouse_operator
area: 市直
facts: {claim_year: 2025, warehouse_recognised: true, warehouse_operating_years: 2, warehouse_build_cost: %s,
        warehouse_newly_built_belt_and_road: true}
granted: {}
"""


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = LISHUI.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "variant.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


@pytest.mark.parametrize("cost, on_top, raises_cap", [
    ("1360000", ("500000.00", "100000.00"), ("500000.00", "100000.00")),  # 50% >= 60万: both readings agree
    ("1100000", ("500000.00", "100000.00"), ("500000.00", "50000.00")),   # 55万: cap raised to 60万 pays 5万 more
    ("600000", ("300000.00", "100000.00"), ("300000.00", "0.00")),        # under the cap: raising it adds nothing
])
def test_q3_reading_switch_changes_the_bonus(tmp_path, lishui, cost, on_top, raises_cap):
    added = load_policy(str(_variant(tmp_path, "mode: raises_cap", "mode: on_top")))  # the shipped file raises the cap
    for policy, expected in ((added, on_top), (lishui, raises_cap)):
        result = evaluate(policy, applicant_from_text(policy, WAREHOUSE % cost), on=dt.date(2025, 1, 1))
        assert (str(result.clause("5.1").amount), str(result.clause("5.2").amount)) == expected


def test_q1_reading_switch_to_stacking(tmp_path):
    stacked = load_policy(str(_variant(tmp_path, "    pick: best                 # Q1", "    pick: all                 # Q1")))
    facts = ("recipient: seller\narea: 莲都区\nfacts: {claim_year: 2024, registered_cbec: true, first_time_cbec: true, "
             "cbec_turnover: 600万元, platform_fees: 100000, digital_promotion: 0}\ngranted: {}\n")
    result = evaluate(stacked, applicant_from_text(stacked, facts), on=dt.date(2024, 1, 1))
    assert (result.clause("2.1").amount, result.clause("2.2").amount) == (Decimal("50000.00"), Decimal("50000.00"))


@pytest.mark.parametrize("rounding, expected", [("half_up", "6173.01"), ("half_even", "6173.00")])
def test_the_policy_declares_its_rounding_rule(tmp_path, rounding, expected):
    policy = load_policy(str(_variant(tmp_path, "rounding: half_up", f"rounding: {rounding}")))
    facts = ("recipient: seller\narea: 莲都区\nfacts: {claim_year: 2024, registered_cbec: true, first_time_cbec: true, "
             "cbec_turnover: 1, platform_fees: 12345.67, digital_promotion: 0.34}\ngranted: {}\n")
    result = evaluate(policy, applicant_from_text(policy, facts), on=dt.date(2024, 1, 1))
    assert str(result.clause("2.1").amount) == expected  # 12,346.01 × 50% = 6,173.005: the half decides


def test_dated_parameter_value_applies_from_its_date(tmp_path):
    policy = load_policy(str(_variant(
        tmp_path,
        "        value: 50%\n        source: 丽政办发〔2021〕67号 第二条\n",
        "        value: 50%\n        source: 丽政办发〔2021〕67号 第二条\n"
        "      - from: 2025-01-01\n        value: 40%\n        source: 修订文件（示例）\n")))
    facts = ("recipient: seller\narea: 莲都区\nfacts: {claim_year: 2024, cbec_turnover: 600万元, platform_fees: 100000, "
             "digital_promotion: 0, first_time_cbec: false}\ngranted: {}\n")
    applicant = applicant_from_text(policy, facts)
    assert evaluate(policy, applicant, on=dt.date(2024, 12, 31)).clause("2.2").amount == Decimal("50000.00")
    assert evaluate(policy, applicant, on=dt.date(2025, 1, 1)).clause("2.2").amount == Decimal("40000.00")


def test_amounts_are_decimals_and_the_sheet_shows_titles_and_caps(lishui):
    facts = ("recipient: seller\narea: 莲都区\nfacts: {claim_year: 2024, registered_cbec: true, first_time_cbec: true, "
             "cbec_turnover: 1, platform_fees: 300000, digital_promotion: 0}\ngranted: {}\n")
    result = evaluate(lishui, applicant_from_text(lishui, facts), on=dt.date(2024, 1, 1))
    assert isinstance(result.total, Decimal) and result.total == Decimal("100000.00")
    sheet = render_text(result)
    assert "[符合] 2.1 第二条 首次开展跨境电商企业补助 —— 100,000.00元（10万元）" in sheet
    assert "封顶：150,000.00元（15万元） → 100,000.00元（10万元）（超出 50,000.00元（5万元））" in sheet
    assert "✗ 年度跨境电商交易额达500万元以上：年度跨境电商交易额 1.00元 ≥ 5,000,000.00元（500万元）" in sheet


def test_failing_conditions_show_value_and_bound_in_english(lishui):
    facts = "recipient: school\narea: 莲都区\nfacts: {claim_year: 2024, new_cbec_major_approved: true, in_enrolment_plan: true, annual_enrolment: 29}\ngranted: {}\n"
    sheet = render_text(evaluate(lishui, applicant_from_text(lishui, facts), on=dt.date(2024, 1, 1)), "en")
    assert "[ineligible] 6.1" in sheet
    assert "✗ 每年招生人数不低于30人: 每年招生人数 29人 ≥ 30人" in sheet


def test_a_clause_can_stop_on_a_date(tmp_path):
    policy = load_policy(str(_variant(tmp_path, '    title: 新设跨境电商专业一次性奖励\n',
                                      '    title: 新设跨境电商专业一次性奖励\n    until: 2024-12-31\n')))
    facts = ("recipient: school\narea: 莲都区\nfacts: {claim_year: 2024, new_cbec_major_approved: true, in_enrolment_plan: true, "
             "annual_enrolment: 30}\ngranted: {}\n")
    applicant = applicant_from_text(policy, facts)
    assert evaluate(policy, applicant, on=dt.date(2024, 12, 31)).clause("6.1").outcome == "eligible"
    late = evaluate(policy, applicant, on=dt.date(2025, 1, 1)).clause("6.1")
    assert (late.outcome, late.reason) == ("not_applicable", "clause_period")


@pytest.mark.parametrize("values, fragment, line_offset", [
    ("      - from: 2022-02-01\n        until: 2024-06-30\n        value: 50%\n"
     "      - from: 2024-06-01\n        value: 40%\n", "overlaps the one before, which runs until 2024-06-30", 3),
    ("      - from: 2022-02-01\n        until: 2024-05-31\n        value: 50%\n"
     "      - from: 2024-07-01\n        value: 40%\n", "has no value between 2024-06-01 and 2024-06-30", 3),
    ("      - from: 2022-03-01\n        value: 50%\n", "has no value from 2022-02-01 (the policy's start) until 2022-03-01", 0),
])
def test_gaps_and_overlaps_in_dated_values_are_errors_at_their_line(tmp_path, values, fragment, line_offset):
    old = "      - from: 2022-02-01\n        value: 50%\n        source: 丽政办发〔2021〕67号 第二条\n"
    text = LISHUI.read_text(encoding="utf-8")
    first_line = text[:text.index(old)].count("\n") + 1
    path = tmp_path / "dated.yaml"
    path.write_text(text.replace(old, values), encoding="utf-8")
    from engine import PolicyError

    with pytest.raises(PolicyError) as caught:
        load_policy(str(path))
    [problem] = caught.value.problems
    assert fragment in problem.message and problem.line == first_line + line_offset
