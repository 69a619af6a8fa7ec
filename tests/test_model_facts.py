"""Applicants' facts: validated against the schema generated from the policy, with clear messages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine import FactsError, applicant_from_data, applicant_from_text, facts_schema
from engine.syntax.schema import make_validator


def _problems(lishui, text: str) -> str:
    with pytest.raises(FactsError) as caught:
        applicant_from_text(lishui, text, "facts.yaml")
    return caught.value.format()


def test_amounts_in_wan_and_percentages_are_read_exactly(lishui):
    a = applicant_from_text(lishui, "recipient: seller\nfacts:\n  cbec_turnover: 500万元\n"
                                    "  site_domain_holding: 50%\n  platform_fees: 1,234.5\n")
    assert a.values == {"cbec_turnover": Decimal("5000000"), "site_domain_holding": Decimal("0.50"),
                        "platform_fees": Decimal("1234.5")}


def test_unknown_fact_name_suggests_the_declared_one(lishui):
    out = _problems(lishui, "recipient: seller\nfacts:\n  cbec_turnovr: 1\n")
    assert "facts.yaml:3:3: error: unknown key 'cbec_turnovr'" in out
    assert "did you mean 'cbec_turnover'?" in out


def test_chinese_numerals_are_read_for_money_and_a_guess_is_refused_at_its_place(lishui):
    a = applicant_from_text(lishui, "recipient: seller\nfacts:\n  cbec_turnover: 五百万\n  platform_fees: 壹拾万元整\n")
    assert a.values == {"cbec_turnover": Decimal("5000000"), "platform_fees": Decimal("100000")}
    out = _problems(lishui, "recipient: seller\nfacts:\n  cbec_turnover: 五百万五\n")
    assert "facts.yaml:3:18" in out
    assert "'五百万五'" in out and "a unit is left out" in out


def test_negative_money_nan_and_infinity_are_refused(lishui):
    out = _problems(lishui, "recipient: seller\nfacts:\n  platform_fees: -1\n  site_costs: .nan\n"
                            "  cbec_turnover: .inf\n")
    assert "platform_fees' (向第三方平台缴纳的注册费、服务费、推广费等费用) cannot be negative" in out
    assert "'.nan'" in out and "'.inf'" in out


def test_yes_for_a_boolean_fact_gets_a_hint(lishui):
    out = _problems(lishui, "recipient: seller\nfacts:\n  registered_cbec: yes\n")
    assert "must be true or false" in out and "hint: write true or false" in out


def test_bare_number_above_one_for_a_percentage_is_refused(lishui):
    out = _problems(lishui, "recipient: park_operator\nfacts:\n  park_cbec_share: 70\n")
    assert "write 70% or 0.7" in out or "must be a percentage" in out


def test_unknown_recipient_kind_and_granted_clause(lishui):
    out = _problems(lishui, "recipient: sellr\ngranted: {'2.9': 1}\n")
    assert "'recipient'" in out
    assert "unknown key '2.9'" in out


def test_null_means_not_known(lishui):
    a = applicant_from_text(lishui, "recipient: seller\nfacts:\n  cbec_turnover: ~\n")
    assert "cbec_turnover" not in a.values


def test_python_data_with_floats_is_read_by_its_text(lishui):
    a = applicant_from_data(lishui, {"recipient": "seller", "facts": {"platform_fees": 0.1}})
    assert a.values["platform_fees"] == Decimal("0.1")


def test_generated_schema_is_a_valid_draft_2020_12_schema(lishui):
    schema = facts_schema(lishui)
    make_validator(schema).check_schema(schema)
    assert set(schema["properties"]["facts"]["properties"]) == set(lishui.facts)


def test_python_data_with_a_key_that_is_not_text_is_an_unknown_key(lishui):
    with pytest.raises(FactsError) as caught:
        applicant_from_data(lishui, {"recipient": "seller", "facts": {5: 1}})
    assert "unknown key '5'" in caught.value.format()


def test_an_amount_the_pattern_lets_through_but_out_of_range_names_fact_and_limit(lishui):
    out = _problems(lishui, "recipient: seller\nfacts:\n  cbec_turnover: '1000000000000万'\n"
                            "  platform_fees: '0.00000000000000001万'\n")
    assert "facts.yaml:3:18: error: 'cbec_turnover' (年度跨境电商交易额) is 1000000000000万 (that is " \
           "10000000000000000), which is out of range: it has 17 integer digits, and at most 16 are allowed" in out
    assert "facts.yaml:4:18: error: 'platform_fees'" in out
    assert "is 0.00000000000000001万, which is out of range: it has 17 decimal places, and at most 12" in out
