"""docs/officer-walkthrough.md, replayed: amend 2.2 from 2025-01-01, then validate, test, lint, render and diff."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from engine.tools.testing import load_suite

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = len([c for c in load_suite(str(ROOT / "policies" / "lishui-2021-67.tests.yaml")).cases
               if not c["name"].startswith("每年 is the fund year")])  # before the 3 new cases
SOURCE = "丽水市商务局关于调整跨境电商补助标准的通知（2024-12-20）"
RATE_BEFORE = "        value: 50%\n        source: 丽政办发〔2021〕67号 第二条\n"
CAP_BEFORE = "        value: 30万元\n        source: 丽政办发〔2021〕67号 第二条\n"
CASES = """
  - name: 2.2 on 2024-12-31 — old rate 50%, capped at the old 30万元
    date: 2024-12-31
    facts:
      recipient: seller
      area: 莲都区
      facts: {claim_year: 2024, first_time_cbec: false, cbec_turnover: 600万元, platform_fees: 120万元, digital_promotion: 0}
      granted: {}
    expect:
      "2.2": {outcome: eligible, amount: 30万元}
  - name: 2.2 on 2025-01-01 — new rate 40% (48万元), capped at the new 40万元
    date: 2025-01-01
    facts:
      recipient: seller
      area: 莲都区
      facts: {claim_year: 2025, first_time_cbec: false, cbec_turnover: 600万元, platform_fees: 120万元, digital_promotion: 0}
      granted: {}
    expect:
      "2.2": {outcome: eligible, amount: 40万元}
  - name: 2.2 on 2025-01-01 with smaller fees — 40% of 60万元 is 24万元 (was 30万元)
    date: 2025-01-01
    facts:
      recipient: seller
      area: 莲都区
      facts: {claim_year: 2025, first_time_cbec: false, cbec_turnover: 600万元, platform_fees: 60万元, digital_promotion: 0}
      granted: {}
    expect:
      "2.2": {outcome: eligible, amount: 24万元}
"""


def run(*args):
    return CliRunner().invoke(cli, [*args, "--lang", "en"], catch_exceptions=False)


FUND_YEAR_CASE = "  - name: 每年 is the fund year"


def _without_fund_year_cases(tests: str) -> str:
    """The shipped cases but those of a 2024 claim filed in 2025: parameters are dated by the claim's date, so
    this story's 2025 amendment changes them too; they are not what it is about."""
    parts = tests.split("\n  - name: ")
    kept = [parts[0]] + [p for p in parts[1:] if not p.startswith(FUND_YEAR_CASE[len("  - name: "):])]
    return "\n  - name: ".join(kept)


@pytest.fixture
def amended(tmp_path: Path) -> tuple[Path, Path]:
    before = tmp_path / "before.yaml"
    shutil.copy(ROOT / "policies" / "lishui-2021-67.yaml", before)
    policy = tmp_path / "lishui-2021-67.yaml"
    text = before.read_text(encoding="utf-8")
    assert text.count(RATE_BEFORE) == 1 and text.count(CAP_BEFORE) == 1
    text = text.replace(RATE_BEFORE, RATE_BEFORE + f"      - from: 2025-01-01\n        value: 40%\n        source: {SOURCE}\n")
    text = text.replace(CAP_BEFORE, CAP_BEFORE + f"      - from: 2025-01-01\n        value: 40万元\n        source: {SOURCE}\n")
    policy.write_text(text, encoding="utf-8")
    tests = _without_fund_year_cases((ROOT / "policies" / "lishui-2021-67.tests.yaml").read_text(encoding="utf-8"))
    (tmp_path / "lishui-2021-67.tests.yaml").write_text(tests.rstrip("\n") + "\n" + CASES, encoding="utf-8")
    return before, policy


STALE = '''      granted: {"2.2": 30万元}
    expect:
      "2.1": {outcome: ineligible, reason: conditions}
      "2.2": {outcome: ineligible, reason: cap_used}
      total: 0'''
UPDATED = '''      granted: {"2.2": 30万元}
    expect:
      "2.1": {outcome: ineligible, reason: conditions}
      "2.2": {outcome: eligible, amount: 10万元}
      total: 10万元'''


def test_the_amendment_validates_and_every_case_passes_old_and_new(amended):
    before, policy = amended
    assert run("validate", str(policy)).exit_code == 0
    r = run("test", str(policy))
    # A 2025 case written under the old cap now gets 10万元 more: the suite says so, and the officer updates it.
    assert r.exit_code == 1
    assert "FAIL 2.2 cap used up this year (30万元 granted)" in r.output
    assert "2.2 outcome: expected ineligible, got eligible" in r.output
    assert f"{SHIPPED + 2} passed, 1 failed" in r.output
    suite = policy.with_name("lishui-2021-67.tests.yaml")
    text = suite.read_text(encoding="utf-8")
    assert text.count(STALE) == 1
    suite.write_text(text.replace(STALE, UPDATED), encoding="utf-8")
    r = run("test", str(policy))
    assert r.exit_code == 0, r.output
    assert "PASS 2.2 on 2024-12-31 — old rate 50%, capped at the old 30万元" in r.output
    assert "PASS 2.2 on 2025-01-01 — new rate 40% (48万元), capped at the new 40万元" in r.output
    assert ", 0 failed" in r.output


def test_the_old_version_fails_the_new_cases(amended):
    before, policy = amended
    shutil.copy(before, policy)  # as if the officer forgot the amendment
    r = run("test", str(policy))
    assert r.exit_code == 1
    assert "2.2 amount: expected 400,000.00元（40万元）, got 300,000.00元（30万元）" in r.output
    assert f"{SHIPPED + 1} passed, 2 failed" in r.output


def test_lint_is_clean_before_the_expiry_window(amended):
    r = run("lint", str(amended[1]), "--today", "2024-12-25", "--strict")
    assert r.exit_code == 0 and "no findings" in r.output


def test_the_review_page_shows_the_parameter_history(amended):
    r = run("render", str(amended[1]), "--format", "markdown")
    assert r.exit_code == 0
    assert SOURCE in r.output and "2025-01-01" in r.output and "40万元" in r.output


def test_the_diff_names_the_change_and_who_gains_or_loses(amended):
    before, policy = amended
    r = run("diff", str(before), str(policy), "--cases", str(policy.with_name("lishui-2021-67.tests.yaml")))
    assert r.exit_code == 0
    assert f"value from 2025-01-01 added: 40% (source: {SOURCE})" in r.output
    assert "2 changes." in r.output
    assert "(+100,000.00元（10万元）)" in r.output and "(-60,000.00元（-6万元）)" in r.output
    # Claims dated before the amendment are untouched: only the two 2025 cases move.
    assert "gains:" in r.output and "loses:" in r.output
