"""Coverage in `policy test`: what no case exercises, shown after the results; never changes the exit code."""

from __future__ import annotations

from click.testing import CliRunner
from policy_variants import FIXTURES, line_of, lines_of

from cli import cli

# The suite and the policy it was written for, both the test's own: the shipped policy's readings may change.
LISHUI = FIXTURES / "lishui-base.yaml"
CASES = FIXTURES / "diff-cases.yaml"

AT_THRESHOLD = """
  - name: 卖家戊 交易额恰为500万元
    date: 2025-03-01
    facts:
      recipient: seller
      area: 莲都区
      granted: {}
      facts:
        claim_year: 2025
        registered_cbec: false
        first_time_cbec: false
        cbec_turnover: 500万元
        platform_fees: 10万元
        digital_promotion: 0
        has_independent_site: true
        site_domain_holding: 40%
        site_costs: 10万元
        uses_public_warehouse: true
        warehouse_service_cost: 10万元
        in_recognised_park: false
    expect:
      "2.2": {outcome: eligible, amount: 5万元}
"""


def run(*args):
    return CliRunner().invoke(cli, ["test", "--lang", "en", *map(str, args)])  # the report asserted is English


def suite_with(tmp_path, extra: str):
    path = tmp_path / "cases.yaml"
    text = CASES.read_text(encoding="utf-8").replace("policy: lishui-base.yaml", f"policy: {LISHUI}")
    path.write_text(text + extra, encoding="utf-8")
    return path


def test_report_follows_results_and_names_what_to_add():
    result = run(LISHUI, CASES)
    assert result.exit_code == 0
    out = result.output
    assert out.index("4 passed, 0 failed") < out.index("Coverage of 4 cases")
    assert "  never eligible: 2.3, 4.2, 5.1, 5.2, 5.3, 6.1, 6.2, 7, 8\n" in out
    assert "  never ineligible: 4.1, 5.1, 5.2, 6.1, 7, 8\n" in out
    assert "2.4" not in out.split("Coverage")[1]  # a reference clause is always referred here: nothing to add
    assert f"2.1 registered_cbec: never failed  (line {line_of(LISHUI, '- if: registered_cbec')})" in out
    assert f"4.2 in_recognised_park: never met  (line {line_of(LISHUI, '- if: in_recognised_park')})" in out
    assert f"5.1 warehouse_recognised: never decided  (line {line_of(LISHUI, '- if: warehouse_recognised')})" in out
    first, second = lines_of(LISHUI, "- if: cbec_turnover >= 500万元")  # 2.2, then 2.3
    assert f"2.2 cbec_turnover >= 500万元  (line {first})" in out
    assert f"2.3 cbec_turnover >= 500万元  (line {second})" in out
    # a condition no case decides is listed once, as a condition; its bound is implied
    assert "6.1 annual_enrolment >= 30: never decided" in out and "6.1 annual_enrolment >= 30  (line" not in out


def test_a_case_exactly_at_the_threshold_and_failing_conditions_close_the_gaps(tmp_path):
    out = run(LISHUI, suite_with(tmp_path, AT_THRESHOLD)).output
    assert "5 passed, 0 failed" in out
    assert "2.2 cbec_turnover >= 500万元" not in out
    assert "2.3 cbec_turnover >= 500万元" not in out  # 2.3 read the same turnover at its threshold too
    assert "2.1 registered_cbec: never failed" not in out
    assert "2.3 has_independent_site: never met" not in out
    assert "2.3 site_domain_holding >= 50%: never met" in out  # 40% fails it; no case meets it yet
    assert "never eligible: 2.3, 4.2, 5.1, 5.2, 6.1, 6.2, 7, 8" in out  # 5.3 now paid


def test_no_coverage_hides_the_report():
    result = run(LISHUI, CASES, "--no-coverage")
    assert result.exit_code == 0
    assert "Coverage" not in result.output
    assert result.output.rstrip().endswith("4 passed, 0 failed")


def test_coverage_does_not_change_the_exit_code(tmp_path):
    broken = AT_THRESHOLD.replace("amount: 5万元", "amount: 6万元")
    for extra in ("", "--no-coverage"):
        result = run(LISHUI, suite_with(tmp_path, broken), *([extra] if extra else []))
        assert result.exit_code == 1
        assert "4 passed, 1 failed" in result.output
        assert ("Coverage of 5 cases" in result.output) == (extra == "")
