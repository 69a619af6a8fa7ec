"""Cost windows (issue 21): 支持时间, the days a figure is counted over, said on the sheet and checked in the facts."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from engine import load_policy
from engine.core.errors import PolicyError

POLICY = """\
id: window-test
document: 测试〔2022〕1号
title: 独立站补助
in_force: {from: 2022-01-01, until: 2024-12-31}
money: {currency: CNY, round_to: 0.01, rounding: half_up}
recipients: {seller: {label: 跨境电商企业}}
fund_year: {fact: claim_year, in_force: last_day}
facts:
  claim_year: {type: integer, label: 申报所属年度}
  costs_from: {type: date, label: 费用发生起始日}
  costs_until: {type: date, label: 费用发生截止日}
  revenue_from: {type: date, label: 营收起始日}
  site_costs:
    type: money
    label: 独立站建设费用
    counted_over: {from: 2022-01-01, until: 2022-12-31, text: 支持时间为2022年1月1日至2022年12月31日,
                   dates: [costs_from, costs_until]}
  revenue:
    type: money
    label: 服务营收
    counted_over: {fund_year: true, dates: [revenue_from]}
clauses:
  - id: "1"
    title: 独立站补助
    recipient: seller
    award: {base: site_costs, rate: 50%}
    cap: 20万元
"""


def facts(tmp_path: Path, **given: str) -> Path:
    values = {"claim_year": "2022", "site_costs": "30万元", "costs_from": "2022-02-01", "costs_until": "2022-12-31"}
    values.update(given)
    path = tmp_path / "f.yaml"
    path.write_text("recipient: seller\ndate: 2023-03-01\nfacts:\n"
                    + "".join(f"  {k}: {v}\n" for k, v in values.items()) + "granted: {}\n", encoding="utf-8")
    return path


def run(tmp_path: Path, facts_file: Path, lang: str = "zh", policy: str = POLICY):
    path = tmp_path / "p.yaml"
    path.write_text(policy, encoding="utf-8")
    return CliRunner().invoke(cli, ["evaluate", str(path), str(facts_file), "--lang", lang])


def test_the_sheet_says_each_window_in_chinese_for_the_public(tmp_path):
    out = run(tmp_path, facts(tmp_path)).output
    assert "支持时间：\n  独立站建设费用：按 2022-01-01 至 2022-12-31 发生的计（原文：支持时间为2022年1月1日至2022年12月31日）" in out
    assert "服务营收：按 资金所属年度（2022年1月1日至12月31日） 发生的计" in out  # the applicant's fund year
    assert "[符合] 1 独立站补助 —— 150,000.00元（15万元）" in out
    assert "Windows counted over:" in run(tmp_path, facts(tmp_path), "en").output


@pytest.mark.parametrize(("given", "line", "said"), [
    ({"costs_until": "2023-01-15"}, 7, "'costs_until'（费用发生截止日）为 2023-01-15，不在「独立站建设费用」的支持时间"
                                       "（2022-01-01 至 2022-12-31）内"),
    ({"costs_from": "2021-12-31"}, 6, "'costs_from'（费用发生起始日）为 2021-12-31"),
    # counted over the fund year: the applicant's 2022 claim covers 2022's revenue only
    ({"revenue": "100万元", "revenue_from": "2021-07-01"}, 9, "'revenue_from'（营收起始日）为 2021-07-01，不在「服务营收」的"
                                                              "支持时间（2022-01-01 至 2022-12-31）内"),
])
def test_a_day_stated_outside_the_window_is_refused_at_its_line(tmp_path, given, line, said):
    r = run(tmp_path, facts(tmp_path, **given))
    assert r.exit_code == 1 and f"f.yaml:{line}:" in r.output and said in r.output
    assert "只填报支持时间内发生的部分" in r.output


def test_days_on_the_window_edges_are_counted(tmp_path):
    r = run(tmp_path, facts(tmp_path, costs_from="2022-01-01", revenue_from="2022-01-01"))
    assert r.exit_code == 0, r.output


def test_a_window_over_the_fund_year_needs_one_declared(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(POLICY.replace("fund_year: {fact: claim_year, in_force: last_day}\n", ""), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(path))
    text = caught.value.format("en")
    assert "'revenue' is counted over the fund year (counted_over: fund_year), but the policy declares no fund_year:" \
        in text and "p.yaml:20:31:" in text


@pytest.mark.parametrize(("change", "said"), [
    (("dates: [revenue_from]", "dates: [revenue_form]"), "revenue_form"),
    (("until: 2022-12-31,", "until: 2021-12-31,"), "the window starts on 2022-01-01, after its last day 2021-12-31"),
])
def test_a_window_mistake_is_located(tmp_path, change, said):
    path = tmp_path / "p.yaml"
    path.write_text(POLICY.replace(*change), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(path))
    assert said in caught.value.format("en")


def test_the_html_sheet_of_a_round_says_the_window_too(tmp_path):
    from engine import check_facts, evaluate
    from engine.rounds.sheets import render_sheet

    path = tmp_path / "p.yaml"
    path.write_text(POLICY, encoding="utf-8")
    policy = load_policy(str(path))
    applicant = check_facts(policy, {"recipient": "seller", "date": "2023-03-01", "granted": {},
                                     "facts": {"claim_year": 2022, "site_costs": "30万元"}})
    page = render_sheet(evaluate(policy, applicant), "zh", "91331100MA2XXXXX1A", {})
    assert ('<th scope="row">支持时间</th><td>独立站建设费用：按 2022-01-01 至 2022-12-31 发生的计'
            '（原文：支持时间为2022年1月1日至2022年12月31日）</td>') in page


def test_the_template_asks_for_the_days_and_lint_counts_them_as_used(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(POLICY, encoding="utf-8")
    template = CliRunner().invoke(cli, ["facts", str(path)]).output
    assert "  costs_from: ~   # date — 费用发生起始日\n  costs_until: ~   # date — 费用发生截止日\n" in template
    assert "site_costs: ~   # money — 独立站建设费用（只计 2022-01-01 至 2022-12-31 发生的）" in template
    lint = CliRunner().invoke(cli, ["lint", str(path), "--today", "2023-01-01"]).output
    assert "costs_from" not in lint and "costs_until" not in lint
    assert "'revenue_from'" in lint  # the days of a figure no clause reads are as unused as the figure
