"""Mistakes and edge cases found in review: each ends in a located message or a right answer, never a crash."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from engine import PolicyError, applicant_from_text, evaluate, load_policy

ROOT = Path(__file__).resolve().parent.parent
LISHUI = ROOT / "policies" / "lishui-2021-67.yaml"

MINI = """id: mini
document: 测试〔2024〕1号
title: 测试
in_force: {from: 2024-01-01}
money: {currency: CNY, round_to: 0.01, rounding: half_up}
recipients: {firm: {label: 企业}}
facts:
  a: {type: money, label: A}
  b: {type: money, label: B}
  c: {type: money, label: C}
  n: {type: number, label: N}
clauses:
  - {id: "1", title: 一, recipient: firm, award: {fixed: a}}
  - {id: "2", title: 二, recipient: firm, award: {fixed: b}}
  - {id: "3", title: 三, recipient: firm, award: {fixed: c}}
"""
FACTS = "recipient: firm\ndate: 2024-06-01\nfacts: {a: 100, b: 250, c: 300, n: 2}\ngranted: {}\n"


def run(*args, input=None):
    return CliRunner().invoke(cli, ["--help"] if not args else list(args), input=input, catch_exceptions=False)


def mini(tmp_path: Path, extra: str = "", base: str = MINI) -> Path:
    path = tmp_path / "mini.yaml"
    path.write_text(base + extra, encoding="utf-8")
    return path


def problems_of(path: Path) -> str:
    with pytest.raises(PolicyError) as caught:
        load_policy(str(path))
    return caught.value.format()


def test_overlapping_exclusive_groups_are_refused(tmp_path):
    out = problems_of(mini(tmp_path, "groups:\n  - {id: g12, members: ['1', '2'], pick: best}\n"
                                     "  - {id: g23, members: ['2', '3'], pick: best}\n"))
    assert "clause 2 is in two groups that each pay only one member (g12, g23)" in out
    assert "mini.yaml:18:" in out


def test_a_bonus_and_a_requirement_follow_a_clause_that_loses_its_group(tmp_path):
    policy = load_policy(str(mini(tmp_path, "  - {id: '4', title: 四, recipient: firm, award: {bonus_to: '1', amount: 5万元}}\n"
                                            "  - {id: '5', title: 五, recipient: firm, requires: ['1'], award: {fixed: 1万元}}\n"
                                            "groups:\n  - {id: g12, members: ['1', '2'], pick: best}\n")))
    result = evaluate(policy, applicant_from_text(policy, FACTS))
    assert [(r.clause.id, r.outcome) for r in result.clauses] == [
        ("1", "ineligible"), ("2", "eligible"), ("3", "eligible"), ("4", "ineligible"), ("5", "ineligible")]
    assert result.clause("4").reason == "requires" and result.total == Decimal("550.00")


def test_a_negative_award_pays_nothing_and_says_why(tmp_path):
    policy = load_policy(str(mini(tmp_path, "  - {id: '4', title: 四, recipient: firm, award: {base: a - 1000元, rate: 50%}}\n")))
    result = evaluate(policy, applicant_from_text(policy, FACTS))
    assert result.clause("4").outcome == "eligible" and result.clause("4").amount == Decimal("0")
    assert [s.kind for s in result.clause("4").steps][-2:] == ["negative", "zero"]  # the 0.00 says why (issue 10)
    assert result.clause("4").steps[-1].cause == "negative"
    assert result.total == Decimal("650.00")


@pytest.mark.parametrize("facts, fragment", [
    ("facts: {a: 1e27}", "the number 1e27 is out of range"),
    ('{"recipient": "firm", "facts": {"a": 1e400}}', "the number 1e400 is out of range"),
    ("facts: {a: 0.0000000000001}", "is out of range"),
])
def test_absurd_numbers_in_facts_are_refused_where_written(tmp_path, facts, fragment):
    source = facts if facts.startswith("{") else "recipient: firm\n" + facts + "\n"
    r = run("evaluate", str(mini(tmp_path)), "-", "--lang", "en", input=source)
    assert r.exit_code == 1 and fragment in r.output and "internal error" not in r.output


@pytest.mark.parametrize("expression, fragment", [
    ("n >= 0x10", "the number '0x10' is not written as a plain decimal"),
    ("n >= 1e30", "is not written as a plain decimal"),
    ("n >= 99999999999999999999", "is out of range"),
])
def test_odd_literals_in_expressions_are_compile_errors(tmp_path, expression, fragment):
    out = problems_of(mini(tmp_path, f"  - id: '4'\n    title: 四\n    recipient: firm\n    when: ['{expression}']\n"
                                     "    award: {fixed: 1}\n"))
    assert fragment in out and "mini.yaml:19:" in out


def test_a_huge_expected_total_in_a_test_file_is_a_located_error(tmp_path):
    suite = tmp_path / "t.tests.yaml"
    suite.write_text("cases:\n  - name: x\n    facts: {recipient: firm}\n    expect: {total: 1e40}\n", encoding="utf-8")
    r = run("test", str(mini(tmp_path)), str(suite), "--lang", "en")
    assert r.exit_code == 1 and "t.tests.yaml:4:" in r.output and "internal error" not in r.output


def test_round_to_zero_is_refused(tmp_path):
    out = problems_of(mini(tmp_path, base=MINI.replace("round_to: 0.01", "round_to: '0'")))
    assert "money.round_to must be more than 0" in out


def test_duplicate_group_ids_and_reserved_fact_names(tmp_path):
    out = problems_of(mini(tmp_path, "groups:\n  - {id: g, members: ['1', '2'], pick: all}\n"
                                     "  - {id: g, members: ['2', '3'], pick: all}\n",
                           base=MINI.replace("  n: {type: number", "  true: {type: boolean, label: T}\n  n: {type: number")))
    assert "group id 'g' is used twice" in out
    assert "'true' means something else in expressions" in out


def test_a_group_needs_two_members(tmp_path):
    assert "'members' must list at least 2 items" in problems_of(mini(tmp_path, "groups:\n  - {id: g, members: ['1'], pick: best}\n"))


def test_thousands_commas_only_and_area_spaces_ignored(lishui):
    with pytest.raises(PolicyError, match="must be a number"):
        applicant_from_text(lishui, "recipient: seller\nfacts: {rented_area: '1,5'}\n")
    a = applicant_from_text(lishui, "recipient: seller\narea: '莲都区 '\nfacts: {platform_fees: '1,234,567.5'}\n")
    assert a.area == "莲都区" and a.values["platform_fees"] == Decimal("1234567.5")


def test_percentages_above_a_declared_maximum_are_refused(lishui):
    with pytest.raises(PolicyError, match="must be at most 100%, not 150%"):
        applicant_from_text(lishui, "recipient: seller\nfacts: {site_domain_holding: 150%}\n")


def test_a_folded_expression_is_reported_where_it_starts(tmp_path):
    out = problems_of(mini(tmp_path, "  - id: '4'\n    title: 四\n    recipient: firm\n    when:\n      - if: >-\n"
                                     "          n >= 5 and\n          nn > 1\n    award: {fixed: 1}\n"))
    assert "mini.yaml:20:13:" in out and "'nn' is not a declared fact or parameter" in out


def test_division_by_zero_ends_that_clause_and_points_at_the_expression(tmp_path):
    policy = load_policy(str(mini(tmp_path, "  - id: '4'\n    title: 四\n    recipient: firm\n    award:\n"
                                            "      base: a / (n - 2)\n      rate: 50%\n")))
    result = evaluate(policy, applicant_from_text(policy, FACTS))
    four = result.clause("4")
    assert (four.outcome.value, four.reason) == ("undetermined", "cannot_compute")
    what = four.why.what
    assert (what.line, what.clause, what.expr) == (20, "4", "a / (n - 2)")
    assert [r.amount for r in result.clauses[:3]] == [Decimal("100.00"), Decimal("250.00"), Decimal("300.00")]
    assert (result.total, result.complete) == (Decimal("650.00"), False)


def test_with_a_missing_file_is_a_usage_error():
    r = run("evaluate", str(LISHUI), str(ROOT / "examples" / "seller.yaml"), "--with", "/nonexistent/x.yaml")
    assert r.exit_code == 2 and "does not exist" in r.output


def test_a_broken_parent_is_named_when_a_county_cannot_find_it(tmp_path):
    # The city's file, broken at its first line: its id cannot be read, so the county's parent is not found.
    (tmp_path / "city.yaml").write_text("bad: [\n# the city's policy\nid: lishui-2021-67\n", encoding="utf-8")
    (tmp_path / "county.yaml").write_text("id: county\nextends: lishui-2021-67\ndocument: X\ntitle: X\n", encoding="utf-8")
    r = run("validate", str(tmp_path / "county.yaml"), "--lang", "en")
    assert r.exit_code == 1
    assert "could not be read" in r.output and "city.yaml:4:1: error: invalid YAML" in r.output


def test_a_county_may_override_one_money_key(tmp_path):
    shutil.copy(LISHUI, tmp_path / "lishui-2021-67.yaml")
    (tmp_path / "county.yaml").write_text("id: county\nextends: lishui-2021-67.yaml\ndocument: X\ntitle: X\n"
                                          "money: {round_to: 1}\n", encoding="utf-8")
    policy = load_policy(str(tmp_path / "county.yaml"))
    assert (policy.money.round_to, policy.money.rounding, policy.money.currency) == (Decimal(1), "half_up", "CNY")


def test_fork_to_an_unwritable_place_is_a_message_not_a_crash():
    r = run("fork", str(LISHUI), "--id", "x9", "--jurisdiction", "青田县", "-o", "/dev/null/x.yaml", "--lang", "en")
    assert r.exit_code == 1 and "cannot write /dev/null/x.yaml" in r.output


def test_fork_refuses_an_id_the_schema_would_refuse(tmp_path):
    r = run("fork", str(LISHUI), "--id", "Bad Id!", "--jurisdiction", "青田县", "-o", str(tmp_path / "c.yaml"))
    assert r.exit_code == 2 and not (tmp_path / "c.yaml").exists()


def test_a_test_file_runs_only_against_the_policy_it_names(tmp_path):
    datong = ROOT / "policies" / "datong-2021-46.yaml"
    r = run("test", str(datong), str(ROOT / "policies" / "lishui-2021-67.tests.yaml"), "--lang", "en")
    assert r.exit_code == 1 and "this test file is for" in r.output


def test_json_result_stays_exact_for_large_amounts(lishui):
    facts = "recipient: service_provider\narea: 市直\nfacts: {claim_year: 2024, served_enterprises: 20, served_turnover: 1亿元, annual_service_fees: 199999.99}\ngranted: {}\n"
    result = evaluate(lishui, applicant_from_text(lishui, facts), on=dt.date(2024, 1, 1))
    assert str(result.clause("8").amount) == "20000.00"  # 199,999.99 × 10% = 19,999.999 → 20,000.00 half-up
    assert json.loads(json.dumps(str(result.total))) == "20000.00"
