"""`policy diff`: what changed in meaning between two versions, and who gains or loses by how much."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner
from policy_variants import FIXTURES, LISHUI, variant

from cli import cli

# The amendment and the policy it amends, both the test's own: what the shipped policy reads may change.
BASE = FIXTURES / "lishui-base.yaml"
AMENDED = FIXTURES / "lishui-amended.yaml"
CASES = FIXTURES / "diff-cases.yaml"


def run(*args):
    result = CliRunner().invoke(cli, ["diff", "--lang", "en", *map(str, args)])  # the text asserted is English
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_amendment_lists_each_change_an_officer_made():
    result = run(BASE, AMENDED)
    assert result.exit_code == 0
    out = result.output
    assert "volume_seller_cap 年交易额500万元以上企业每年补助上限\n" \
           "    value from 2025-01-01 added: 400,000.00元（40万元） (source: 市商务局2024年12月修订（测试用）)" in out
    assert "2.2 年交易额500万元以上企业补助（第二条）\n    condition: cbec_turnover >= 500万元（年度跨境电商交易额达500万元以上）" \
           " → cbec_turnover >= 400万元（年度跨境电商交易额达400万元以上）" in out
    assert "choice: 不叠加，就高享受（platform-expenses 组 pick: best）。" in out
    assert " → 叠加（platform-expenses 组 pick: all）。" in out
    assert "platform-expenses\n    pick: best (the better one pays) → all (they stack)" in out
    assert "5 changes." in out


def test_same_policy_has_no_changes_and_no_impact():
    out = run(LISHUI, LISHUI, "--cases", CASES).output
    assert "No changes in what the policy says." in out
    assert "4 unchanged" in out
    assert "Total outlay: 1,350,000.00元（135万元） → 1,350,000.00元（135万元） (0.00元)" in out


def test_cases_show_who_gains_per_clause_and_the_total_outlay():
    result = run(BASE, AMENDED, "--cases", CASES)
    assert result.exit_code == 0
    out = result.output
    # below the old 500万元 threshold, above the new 400万元 one
    assert "卖家甲 交易额450万元: 0.00元 → 300,000.00元（30万元） (+300,000.00元（30万元）)" in out
    assert "2.2 年交易额500万元以上企业补助（第二条）: ineligible 0.00元 → eligible 300,000.00元（30万元）" in out
    # the cap raised from 2025 to 40万元
    assert "卖家乙 交易额800万元: 300,000.00元（30万元） → 400,000.00元（40万元） (+100,000.00元（10万元）)" in out
    # Q1 now stacks: 2.2 pays on top of 2.1
    assert "卖家丙 首次开展且交易额600万元: 50,000.00元（5万元） → 100,000.00元（10万元）" in out
    assert "1 unchanged" in out
    assert "Total outlay: 1,350,000.00元（135万元） → 1,800,000.00元（180万元） (+450,000.00元（45万元）)" in out
    assert "incomplete" not in out


def test_losses_are_listed_with_a_negative_amount(tmp_path):
    cut = variant(tmp_path, ("    value: 100万元\n    text: 给予园区主办方100万元", "    value: 80万元\n    text: 给予园区主办方100万元"))
    out = run(LISHUI, cut, "--cases", CASES).output
    assert "park_award 园区主办方一次性奖励\n    value from 2022-02-01: 1,000,000.00元（100万元） → 800,000.00元（80万元）" in out
    assert "loses:\n    园区主办方丁: 1,000,000.00元（100万元） → 800,000.00元（80万元） (-200,000.00元（-20万元）)" in out
    assert "3 unchanged" in out


def test_renamed_fact_metadata_and_award_changes(tmp_path):
    new = variant(tmp_path, ("  site_costs:\n", "  site_cost:\n"), ("      base: site_costs - site_costs_in_promotion\n", "      base: site_cost - site_costs_in_promotion\n"),
                  ("    at_most: site_costs ", "    at_most: site_cost "), ("  until: 2027-01-31", "  until: 2028-01-31"),
                  ("  areas: [市直, 莲都区, 丽水经济技术开发区]", "  areas: [市直, 莲都区]"))
    out = run(LISHUI, new).output
    assert "in force until: 2027-01-31 → 2028-01-31" in out
    assert "jurisdiction areas: 市直, 莲都区, 丽水经济技术开发区 → 市直, 莲都区" in out
    assert "site_cost 独立站技术服务费、推广费等支出费用: added" in out
    assert "site_costs 独立站技术服务费、推广费等支出费用: removed" in out
    assert "award: (site_costs - site_costs_in_promotion) × independent_site_rate → " \
           "(site_cost - site_costs_in_promotion) × independent_site_rate" in out


def test_folder_of_facts_files_and_an_applicant_the_new_version_cannot_read(tmp_path):
    new = variant(tmp_path, ("  site_costs:\n", "  site_cost:\n"), ("      base: site_costs - site_costs_in_promotion\n", "      base: site_cost - site_costs_in_promotion\n"),
                  ("    at_most: site_costs ", "    at_most: site_cost "))
    folder = tmp_path / "applicants"
    folder.mkdir()
    (folder / "a.yaml").write_text("applicant: 独立站企业\nrecipient: seller\narea: 莲都区\ndate: 2024-05-01\n"
                                   "granted: {}\nfacts:\n  cbec_turnover: 600万元\n  site_costs: 20万元\n",
                                   encoding="utf-8")
    (folder / "b.yaml").write_text("recipient: platform\narea: 市直\ndate: 2024-05-01\ngranted: {}\n"
                                   "facts:\n  platform_turnover: 3亿元\n  new_enterprises: []\n", encoding="utf-8")
    result = run(LISHUI, new, "--cases", folder)
    assert result.exit_code == 0
    out = result.output
    assert "Applicants (2 from" in out
    assert "cannot compare 独立站企业" in out and "new version" in out and "site_costs" in out
    assert "1 unchanged" in out


def test_json_carries_exact_amounts():
    data = json.loads(run(BASE, AMENDED, "--cases", CASES, "--format", "json").output)
    assert [c["what"] for c in data["changes"]] == ["value from 2025-01-01", "choice", "condition", "pick",
                                                         "earlier grants in the year"]
    impact = data["impact"]
    assert Decimal(impact["delta"]) == Decimal("450000")
    gained = {a["name"]: a for a in impact["applicants"]}["卖家乙 交易额800万元"]
    assert [(c["clause"], Decimal(c["delta"])) for c in gained["clauses"]] == [("2.2", Decimal("100000"))]


def test_broken_new_version_is_reported_at_its_line(tmp_path):
    new = variant(tmp_path, ("      rate: warehouse_use_rate", "      rate: warehouse_use_rat"))
    result = run(LISHUI, new)
    assert result.exit_code == 1
    assert "amended.yaml:" in result.output and "did you mean 'warehouse_use_rate'?" in result.output


def test_impact_in_the_policys_language_by_default():
    out = CliRunner().invoke(cli, ["diff", str(BASE), str(AMENDED), "--cases", str(CASES)]).output
    assert "2.2 年交易额500万元以上企业补助（第二条）：不符合 0.00元 → 符合 300,000.00元（30万元）" in out
    assert "资金总额：1,350,000.00元（135万元） → 1,800,000.00元（180万元）（+450,000.00元（45万元））" in out
    assert "1 个没有变化" in out


def test_rewording_without_changing_meaning_is_no_change(tmp_path):
    datong = Path(__file__).resolve().parent.parent / "policies" / "datong-2021-46.yaml"
    text = datong.read_text(encoding="utf-8")
    old_member_order = 'members: ["1.2", "1.1"]'
    assert "hq_trade > 1亿元" in text and old_member_order in text
    same = tmp_path / "same.yaml"
    # The members' order of a best group decides ties (the first listed pays): a change of meaning, shown.
    same.write_text(text.replace("hq_trade > 1亿元", "hq_trade > 10000万元"), encoding="utf-8")
    out = run(str(datong), str(same)).output
    assert "No changes in what the policy says." in out
    reordered = tmp_path / "reordered.yaml"
    reordered.write_text(text.replace(old_member_order, 'members: ["1.1", "1.2"]'), encoding="utf-8")
    assert "members: 1.2, 1.1 → 1.1, 1.2" in run(str(datong), str(reordered)).output
