"""`policy test` (engine/tools/testing.py, issue 21): one language, every case counted, rejecting cases named,
and the dated parameter values no case reaches."""

from __future__ import annotations

from click.testing import CliRunner
from policy_variants import FIXTURES

from cli import cli
from engine import load_policy

LISHUI = FIXTURES / "lishui-base.yaml"
CASES = FIXTURES / "diff-cases.yaml"
REJECTED = """
  - name: 申报所属年度晚于申报日期 — an input error, never paid
    date: 2025-03-01
    facts:
      recipient: seller
      area: 莲都区
      granted: {}
      facts:
        claim_year: 2030
        cbec_turnover: 800万元
    rejects: 晚于申报日期
"""
RAISED_CAP = """      - from: 2022-02-01
        value: 30万元
        source: 丽政办发〔2021〕67号 第二条
        until: 2025-12-31
      - from: 2026-01-01
        value: 40万元
        source: 修订文件
"""


def files(tmp_path, extra: str = REJECTED, raised: bool = True):
    policy = tmp_path / "lishui-base.yaml"
    text = LISHUI.read_text(encoding="utf-8")
    if raised:
        old = "      - from: 2022-02-01\n        value: 30万元\n        source: 丽政办发〔2021〕67号 第二条\n"
        assert old in text
        text = text.replace(old, RAISED_CAP)
    policy.write_text(text, encoding="utf-8")
    cases = tmp_path / "cases.yaml"
    cases.write_text(CASES.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return policy, cases


def test_chinese_output_has_no_english_summary(tmp_path):
    out = CliRunner().invoke(cli, ["test", *map(str, files(tmp_path))]).output
    assert "共 5 个案例：通过 5 个，未通过 0 个" in out
    assert "passed" not in out and "failed" not in out
    en = CliRunner().invoke(cli, ["test", *map(str, files(tmp_path)), "--lang", "en"]).output
    assert "5 passed, 0 failed" in en.splitlines() and "个案例" not in en


def test_coverage_counts_every_case_and_names_the_rejecting_ones(tmp_path):
    out = CliRunner().invoke(cli, ["test", *map(str, files(tmp_path))]).output
    assert "5 个案例的覆盖情况" in out  # 4 evaluated + 1 expecting its facts refused
    assert "另有 1 个案例预期输入被拒绝，检验的是输入检查，不计入条款结果：\n    申报所属年度晚于申报日期 — an input error, never paid" \
        in out
    en = CliRunner().invoke(cli, ["test", *map(str, files(tmp_path)), "--lang", "en"]).output
    assert "Coverage of 5 cases" in en and "1 cases expect their facts refused" in en


def test_coverage_reports_dated_parameter_values_no_case_reaches(tmp_path):
    policy, cases = files(tmp_path)
    line = load_policy(str(policy)).parameters["volume_seller_cap"].where.line
    out = CliRunner().invoke(cli, ["test", str(policy), str(cases)]).output
    assert "按日期变化的参数值（请补充申报日期在该期间内的案例）：" in out
    # every case is dated 2025-03-01: the 2026 value is never computed with; the 2022 one is
    assert f"volume_seller_cap 自 2026-01-01 起为 400,000.00元（40万元）：没有案例的申报日期在此期间（第 {line} 行）" in out
    assert "volume_seller_cap 自 2022-02-01" not in out
    # one case dated in 2026 reaches it
    dated = REJECTED + CASES.read_text(encoding="utf-8").split("cases:\n", 1)[1].split("\n\n")[0].replace(
        "2025-03-01", "2026-03-01").replace("claim_year: 2025", "claim_year: 2026") + "\n"
    policy, cases = files(tmp_path, dated)
    out = CliRunner().invoke(cli, ["test", str(policy), str(cases)]).output
    assert "volume_seller_cap 自 2026-01-01" not in out and "按日期变化的参数值" not in out


def test_validate_checks_a_tests_file_as_a_tests_file(tmp_path):
    policy, cases = files(tmp_path, raised=False)
    named = tmp_path / "lishui-base.tests.yaml"
    named.write_text(cases.read_text(encoding="utf-8"), encoding="utf-8")
    r = CliRunner().invoke(cli, ["validate", str(named), str(cases)])
    assert r.exit_code == 0, r.output
    assert f"通过：{named} — 测试文件，5 个案例，适用于 {policy}" in r.output  # by its name, and by its cases:
    assert "缺少 'id'" not in r.output and "未知的键 'policy'" not in r.output
    # a case's facts are checked against the policy it names, located in the tests file
    named.write_text(cases.read_text(encoding="utf-8").replace("cbec_turnover: 450万元", "cbec_turnovr: 450万元"),
                     encoding="utf-8")
    r = CliRunner().invoke(cli, ["validate", str(named)])
    line = named.read_text(encoding="utf-8").split("\n").index("        cbec_turnovr: 450万元") + 1
    assert r.exit_code == 1 and f"lishui-base.tests.yaml:{line}:9: 错误：未知的键 'cbec_turnovr'" in r.output
    assert "是否应为 'cbec_turnover'" in r.output
