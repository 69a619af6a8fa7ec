"""The Lishui text read again: readings with alternatives, paid-once per object, fund years, list identities."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from policy_variants import LISHUI, line_of, variant

from cli import cli
from engine import load_policy
from engine.core.errors import PolicyError
from engine.syntax.loader import load_text
from engine.workspace import load_reading

ROOT = Path(__file__).resolve().parent.parent
CASES = str(ROOT / "policies" / "lishui-2021-67.tests.yaml")


def run(*args: str):
    return CliRunner().invoke(cli, [*args, "--lang", "en"], catch_exceptions=False)


def test_every_reading_names_an_alternative_with_its_effect_and_each_change_compiles():
    policy = load_policy(str(LISHUI))
    assert len(policy.readings) >= 21
    for rid, reading in policy.readings.items():
        assert reading.alternatives, rid
        for n, alternative in enumerate(reading.alternatives, start=1):
            assert alternative.effect, (rid, n)
            if alternative.change:
                other = load_reading(str(LISHUI), f"{rid}:{n}")
                assert other.id == policy.id  # the same policy, read the other way


def test_diff_under_another_reading_shows_who_gains_and_who_loses():
    out = run("diff", str(LISHUI), "--reading", "Q12", "--cases", CASES).output
    assert "per" in out and "warehouse_name" in out
    # Read per operator, the operator's second warehouse gets nothing: 50万元 → 0.
    assert "the same operator's second warehouse" in out and "-500,000.00" in out
    out = run("diff", str(LISHUI), "--reading", "Q3", "--cases", CASES).output
    # Added on top of the capped amount instead of raising the cap: a warehouse below the cap gains 10万元.
    assert "raises_cap → on_top" in out or "on_top" in out
    assert "Warehouse below the cap" in out and "+100,000.00" in out


def test_diff_reading_mistakes_are_usage_errors_or_located():
    r = run("diff", str(LISHUI), str(LISHUI), "--reading", "Q3")
    assert r.exit_code == 2 and "--reading" in r.output
    r = run("diff", str(LISHUI), "--reading", "Q99")
    assert r.exit_code == 1 and "there is no reading 'Q99'" in r.output and "did you mean 'Q9'" in r.output
    r = run("diff", str(LISHUI), "--reading", "Q3:5")
    assert r.exit_code == 1 and "reading Q3 has no alternative 5 (it has 1)" in r.output


def test_a_ledger_entry_for_a_clause_counted_per_object_must_say_which(tmp_path):
    facts = tmp_path / "f.yaml"
    facts.write_text("recipient: warehouse_operator\narea: 市直\ndate: 2025-01-01\nfacts: {claim_year: 2024}\n"
                     "granted:\n  - {clause: \"5.1\", amount: 20万元, year: 2023}\n", encoding="utf-8")
    r = run("evaluate", str(LISHUI), str(facts))
    assert r.exit_code == 1
    assert "f.yaml:6:5: error: granted entry 1 (clause 5.1) has no for:" in r.output
    assert "add for: with the name given as warehouse_name" in r.output


def test_per_and_fund_year_must_name_facts_of_the_right_type(tmp_path):
    path = variant(tmp_path, ("    per: warehouse_name\n    reading: Q12\n", "    per: warehouse_build_cost\n    reading: Q12\n"),
                   ("  fact: claim_year ", "  fact: cbec_turnover "))
    with pytest.raises(PolicyError) as caught:
        load_policy(str(path))
    text = caught.value.format("en")
    assert f"amended.yaml:{line_of(path, 'per: warehouse_build_cost')}:10: error: fact 'warehouse_build_cost' is of " \
           "type money; a fact of type text is needed here" in text
    assert f"amended.yaml:{line_of(path, 'fact: cbec_turnover')}:9: error: fact 'cbec_turnover' is of type money; " \
           "a fact of type integer is needed here" in text


def test_unique_must_name_an_item_field(tmp_path):
    path = variant(tmp_path, ("    unique: [name, credit_code]\n  # --- 第七条",
                              "    unique: [name, credit_cod]\n  # --- 第七条"))
    with pytest.raises(PolicyError) as caught:
        load_policy(str(path))
    assert "'credit_cod' under unique: of list fact 'incubated_enterprises' is not one of its item fields" in \
        caught.value.format("en")
    assert "credit_code" in caught.value.format("en")


def test_plain_text_that_looks_like_an_exponent_is_text_and_folded_chinese_has_no_spaces():
    data = load_text("a: E1\nb: 1e3\nc: >-\n  第一行，\n  第二行\nd: >-\n  one\n  two\n").data
    assert data["a"] == "E1" and str(data["b"]) == "1E+3"
    assert data["c"] == "第一行，第二行" and data["d"] == "one two"
