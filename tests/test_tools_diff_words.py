"""`policy diff` in the reader's language (issue 21): award forms, keywords, and officers' cases written to be
refused shown as what they are."""

from __future__ import annotations

from click.testing import CliRunner
from policy_variants import FIXTURES

from cli import cli

BASE = FIXTURES / "lishui-base.yaml"
CASES = FIXTURES / "diff-cases.yaml"
TWICE = """
  - name: 同一企业列了两次 — an input error, never 2万元
    date: 2025-03-01
    facts:
      recipient: incubator
      area: 莲都区
      granted: {}
      facts:
        claim_year: 2025
        incubated_enterprises:
          - {name: 丽水乙跨境电商有限公司, credit_code: 91331100MA2XXXXX2B, started_cbec: true,
             annual_turnover: 600万元, years_since_incubation: 1, reached_before: false}
          - {name: 丽水乙跨境电商 有限公司, credit_code: 91331100MA2XXXXX2B, started_cbec: true,
             annual_turnover: 600万元, years_since_incubation: 1, reached_before: false}
    rejects: 同一对象只能计一次
"""


def diff(tmp_path, change, *args):
    text = BASE.read_text(encoding="utf-8")
    old = tmp_path / "old.yaml"
    old.write_text(text, encoding="utf-8")
    new = tmp_path / "new.yaml"
    assert change[0] in text
    new.write_text(text.replace(*change), encoding="utf-8")
    return CliRunner().invoke(cli, ["diff", str(old), str(new), *map(str, args)]).output


def test_award_forms_and_keywords_are_said_in_chinese(tmp_path):
    out = diff(tmp_path, ("      fixed: park_award\n", "      steps: park_award\n      of: park_area\n"
                                                       "      every: 1万\n"))
    assert "补助金额：定额 park_award → 整档数 ⌊park_area ÷ 1万⌋ × park_award" in out
    assert "whole steps" not in out and "fixed" not in out
    out = diff(tmp_path, ("    period: once               # 首次", "    period: lifetime           # 首次"))
    assert "上限计算期间：一次性（once） → 累计（lifetime）" in out


def test_a_case_written_to_be_refused_is_shown_as_such(tmp_path):
    cases = tmp_path / "cases.yaml"
    cases.write_text(CASES.read_text(encoding="utf-8").replace("policy: lishui-base.yaml", f"policy: {BASE}")
                     + TWICE, encoding="utf-8")
    line = cases.read_text(encoding="utf-8").split("\n").index("  - name: 同一企业列了两次 — an input error, never 2万元") + 1
    both = diff(tmp_path, ("label: 孵化（培训）的企业\n", "label: 孵化的企业\n"), "--cases", cases)
    assert "1 个应拒绝的案例（rejects:）两个版本都拒绝" in both
    # the new version no longer says two items are one enterprise: a change in what is refused, said as one
    out = diff(tmp_path, ("label: 孵化（培训）的企业\n    unique: [name, credit_code]\n", "label: 孵化（培训）的企业\n"),
               "--cases", cases)
    assert f"应拒绝的案例 同一企业列了两次 — an input error, never 2万元（{cases}:{line}）：旧版本如预期拒绝，新版本却接受" \
        in out and "旧版本的理由：" in out and "同一对象只能计一次" in out
    assert "无法比较" not in out


def test_rounding_and_group_keywords_are_said_in_chinese(tmp_path):
    out = diff(tmp_path, ("  rounding: half_up          # 四舍五入", "  rounding: half_even"))
    assert "金额取整：CNY，按 0.01 取整，四舍五入（half_up） → CNY，按 0.01 取整，四舍六入五成双（half_even）" in out
    assert "round to" not in out
    policy = tmp_path / "lishui.yaml"
    policy.write_text(BASE.read_text(encoding="utf-8"), encoding="utf-8")
    out = CliRunner().invoke(cli, ["diff", str(policy), "--reading", "Q1:2"]).output
    assert "就高补足差额（top_up） → 先获者保留（hold）" in out
