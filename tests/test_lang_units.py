"""Units and currencies, derived values, shared conditions and date arithmetic (issue 10), as an officer meets them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from engine import load_policy
from engine.core.dates import months_between, years_between
from engine.core.errors import PolicyError

POLICY = """\
id: usd-test
document: 测试〔2024〕1号
title: 测试
language: zh
in_force: {from: 2020-01-01}
money: {currency: CNY, round_to: 0.01, rounding: half_up}
currencies:
  USD: {rate: usd_rate, text: 国家外汇管理局公布的年度平均汇率}
recipients: {enterprise: {label: 企业}}
facts:
  registered_here: {type: boolean, label: 在本市注册}
  trade_usd: {type: money, currency: USD, label: 进出口额}
  gmv: {type: money, currency: USD, label: 上年成交额}
  gmv_before: {type: money, currency: USD, label: 前年成交额}
  area: {type: number, unit: 平方米, label: 面积}
  staff: {type: integer, unit: 人, label: 员工数}
  settled_on: {type: date, label: 落户日期}
parameters:
  usd_rate: {label: 美元汇率, unit: 元/美元, value: 7.1, text: 按7.1折算}
derived:
  growth: {label: 同比增幅, formula: (gmv - gmv_before) / gmv_before}
  trade_cny: {label: 进出口额（折人民币）, formula: trade_usd * usd_rate}
conditions:
  - if: registered_here
    label: 在本市依法注册
clauses:
  - id: "1"
    title: 落户奖励
    recipient: enterprise
    when:
      - if: CONDITION
      - if: months_between(settled_on, claim_date) < 12
        label: 落户首年
    award: {fixed: 100万元}
  - id: "2"
    title: 增长奖励
    recipient: enterprise
    when:
      - if: growth > 10%
        label: 同比增幅超过10%
    award: {base: trade_cny, rate: 1%}
    cap: 50万元
"""
FACTS = """\
recipient: enterprise
date: 2024-05-01
facts:
  registered_here: true
  trade_usd: 1.2亿美元
  gmv: 2500万美元
  gmv_before: 2000万美元
  settled_on: 2023-06-30
granted: {}
"""


def write(tmp_path: Path, condition: str = "trade_usd > 1亿美元", facts: str = FACTS) -> tuple[Path, Path]:
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.replace("CONDITION", condition), encoding="utf-8")
    path = tmp_path / "f.yaml"
    path.write_text(facts, encoding="utf-8")
    return policy, path


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args] + ["--lang", "en"], catch_exceptions=False)


@pytest.mark.parametrize(("condition", "said", "col"), [
    ("trade_usd > 1亿元", "cannot compare an amount in 美元 (trade_usd) with an amount in 元 (1亿元)", 13),
    ("trade_usd > 100000000", "cannot compare an amount in 美元 (trade_usd) with a plain number (100000000)", 25),
    ("trade_usd * gmv > 1亿美元", "money times money means nothing: trade_usd × gmv", 13),
    ("area > staff", "cannot compare a quantity in 平方米 (area) with a quantity in 人 (staff)", 13),
    ("growth > 10万元", "cannot compare a percentage (growth) with an amount in 元 (10万元)", 13),
    ("trade_usd + trade_cny > 1亿元", "cannot add or subtract an amount in 美元 (trade_usd) and an amount in 元 "
                                     "(trade_cny)", 13),
])
def test_nonsense_is_refused_at_its_line_naming_both_sides(tmp_path, condition, said, col):
    policy, _ = write(tmp_path, condition)
    line = POLICY.split("\n").index("      - if: CONDITION") + 1
    with pytest.raises(PolicyError) as caught:
        load_policy(str(policy))
    text = caught.value.format("en")
    assert f"p.yaml:{line}:{col}: error: in expression '{condition}': {said}" in text


def test_dollars_convert_at_the_declared_rate_and_the_sheet_shows_each_in_its_currency(tmp_path):
    policy, facts = write(tmp_path)
    out = run("evaluate", policy, facts).output
    assert "trade_usd > 1亿美元" in out and "120,000,000.00美元（1.2亿美元） > 100,000,000.00美元（1亿美元）" in out
    # 2.5千万 / 2千万 − 1 = 25%; the derived value is shown with its formula and what it read
    assert "同比增幅 25%（= (gmv - gmv_before) / gmv_before） > 10%" in out
    # 1.2亿美元 × 7.1 = 8.52亿元; 1% of it is 852万元, capped at 50万元
    assert "[eligible] 2" in out and "500,000.00元（50万元）" in out
    assert "1,500,000.00元（150万元）" in out.split("\n")[-2]


def test_a_dollar_fact_written_in_yuan_is_refused_with_the_right_form(tmp_path):
    policy, facts = write(tmp_path, facts=FACTS.replace("1.2亿美元", "12000万元"))
    r = run("evaluate", policy, facts)
    assert r.exit_code == 1
    assert "f.yaml:5:14: error: 'trade_usd' (进出口额) is in 美元, but 12000万元 is written in 元" in r.output
    assert "write 12000万美元" in r.output


@pytest.mark.parametrize(("award", "key"), [
    ("{base: trade_usd, rate: 1%}", "base"),
    ("{fixed: 10万美元}", "fixed"),
])
def test_an_award_is_never_paid_in_another_currency_as_if_in_yuan(tmp_path, award, key):
    # 1.2亿美元 × 1% was once paid as 120万元: an amount paid or capped in 美元 is refused at its line, with the fix
    policy, _ = write(tmp_path)
    text = policy.read_text(encoding="utf-8")
    policy.write_text(text.replace("award: {base: trade_cny, rate: 1%}", f"award: {award}"), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(policy))
    said = caught.value.format("en")
    assert f"'{key}: " in said and "is an amount in 美元, but awards are paid in" in said
    assert "convert it to" in said and "rate" in said
    policy.write_text(text.replace("cap: 50万元", "cap: 10万美元"), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(policy))
    assert "'cap: 10万美元' is an amount in 美元" in caught.value.format("en")


def test_a_currency_must_be_declared_with_a_rate_in_the_right_unit(tmp_path):
    policy, _ = write(tmp_path)
    text = policy.read_text(encoding="utf-8")
    policy.write_text(text.replace("unit: 元/美元", "unit: 元"), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(policy))
    assert "the rate 'usd_rate' has unit 元; it must be 元/美元" in caught.value.format("en")
    policy.write_text(text.replace("currencies:\n  USD: {rate: usd_rate, text: 国家外汇管理局公布的年度平均汇率}\n", ""),
                      encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(policy))
    assert "'trade_usd' is in 美元 (USD), which is not declared under currencies:" in caught.value.format("en")


def test_shared_conditions_are_said_once_and_decide_every_clause(tmp_path):
    policy, facts = write(tmp_path)
    out = run("evaluate", policy, facts).output
    assert out.count("在本市依法注册") == 1  # at the head only
    facts.write_text(FACTS.replace("registered_here: true", "registered_here: false"), encoding="utf-8")
    out = run("evaluate", policy, facts).output
    assert "[ineligible] 1" in out and "[ineligible] 2" in out
    assert "fails the conditions every clause requires: 在本市依法注册" in out


def test_first_year_after_settling_counts_whole_months(tmp_path):
    policy, facts = write(tmp_path)
    assert "[eligible] 1" in run("evaluate", policy, facts).output
    facts.write_text(FACTS.replace("settled_on: 2023-06-30", "settled_on: 2023-05-01"), encoding="utf-8")
    assert "[ineligible] 1" in run("evaluate", policy, facts).output  # 12 whole months: no longer the first year
    facts.write_text(FACTS.replace("settled_on: 2023-06-30", "settled_on: 2023-05-02"), encoding="utf-8")
    assert "[eligible] 1" in run("evaluate", policy, facts).output  # one day short of 12 months


def test_whole_months_and_years():
    d = dt.date
    assert months_between(d(2024, 1, 31), d(2024, 2, 29)) == 1  # the last day of a shorter month completes it
    assert months_between(d(2024, 1, 31), d(2024, 2, 28)) == 0
    assert months_between(d(2023, 5, 2), d(2024, 5, 1)) == 11
    assert years_between(d(2020, 2, 29), d(2021, 2, 28)) == 1
    assert years_between(d(2021, 6, 1), d(2020, 6, 2)) == 0 and months_between(d(2021, 6, 1), d(2020, 6, 1)) == -12
    assert isinstance(months_between(d(2020, 1, 1), d(2020, 3, 1)), Decimal)


def test_the_reference_evaluator_agrees_on_derived_values_and_dates(tmp_path):
    policy, facts = write(tmp_path)
    plain = run("evaluate", policy, facts, "--format", "json").output
    checked = run("evaluate", policy, facts, "--format", "json", "--reference").output
    assert plain == checked


def test_diff_and_review_show_derived_values_currencies_and_shared_conditions(tmp_path):
    policy, _ = write(tmp_path)
    changed = tmp_path / "q.yaml"
    changed.write_text(policy.read_text(encoding="utf-8").replace("/ gmv_before}", "/ gmv}"), encoding="utf-8")
    out = run("diff", policy, changed).output
    assert "Derived values\n  growth 同比增幅\n    formula: (gmv - gmv_before) / gmv_before → (gmv - gmv_before) / gmv" in out
    review = run("render", policy, "--format", "markdown").output
    assert "| 美元 (USD) | converted at usd\\_rate（国家外汇管理局公布的年度平均汇率） |" in review
    assert "| derived: 同比增幅 | growth = （上年成交额 − 前年成交额） ÷ 前年成交额 |" in review
    assert "| shared condition 1 | 在本市依法注册 |" in review
