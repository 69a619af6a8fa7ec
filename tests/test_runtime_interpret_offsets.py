"""Offsets (就高不重复 across programmes): what the applicant already received for the same item under another
programme is deducted from a clause's award after its cap, and shown wherever the clause is."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from cli import cli
from engine import PolicyError, applicant_from_text, evaluate, load_policy, render_json, render_text
from engine.present.review import render_markdown

ROOT = Path(__file__).resolve().parent.parent
OFFSET = ROOT / "tests" / "fixtures" / "offsets" / "offset.yaml"
RESULT_SCHEMA = json.loads((ROOT / "schemas" / "result.schema.json").read_text(encoding="utf-8"))
MODES = [{"trace": True}, {"trace": False}, {"reference": True}]


def facts(values: str) -> str:
    return f"recipient: firm\ndate: 2024-06-01\nfacts: {{{values}}}\ngranted: {{}}\n"


@pytest.fixture(scope="module")
def policy():
    return load_policy(str(OFFSET))


@pytest.mark.parametrize("mode", MODES, ids=["traced", "fast", "reference"])
@pytest.mark.parametrize("city, amounts", [
    ("0", ("100000.00", "20000.00", "30000.00")),        # nothing received elsewhere
    ("4万元", ("60000.00", "0.00", "0.00")),              # after the cap: 10万 − 4万 (not 15万 − 4万)
    ("2万元", ("80000.00", "10000.00", "10000.00")),      # 2: half of it is deducted (city_award / 2)
    ("12万元", ("0.00", "0.00", "0.00")),                 # more than the award: 0, never negative
])
def test_the_offset_is_deducted_after_the_cap(policy, mode, city, amounts):
    result = evaluate(policy, applicant_from_text(policy, facts(f"fees: 30万元, registered: true, city_award: {city}")),
                      **mode)
    assert tuple(str(r.amount) for r in result.clauses) == amounts
    assert all(r.outcome.value == "eligible" for r in result.clauses)
    assert result.total == sum(Decimal(a) for a in amounts) and result.complete


def test_what_was_received_elsewhere_is_never_taken_as_zero(policy):
    result = evaluate(policy, applicant_from_text(policy, facts("fees: 30万元, registered: true")))
    assert [(r.outcome.value, r.missing_keys) for r in result.clauses] == [("undetermined", ("city_award",))] * 3
    failed = evaluate(policy, applicant_from_text(policy, facts("fees: 30万元, registered: false")))
    assert [r.outcome.value for r in failed.clauses] == ["ineligible"] * 3  # decided without it


def test_the_sheet_shows_the_deduction_as_a_step(policy):
    result = evaluate(policy, applicant_from_text(policy, facts("fees: 30万元, registered: true, city_award: 4万元")))
    sheet = render_text(result)
    assert ("      封顶：150,000.00元（15万元） → 100,000.00元（10万元）（超出 50,000.00元（5万元））\n"
            "      扣减已获市级同类奖励：已按 杭商务〔2020〕X号 获 40,000.00元（4万元），扣减后 60,000.00元（6万元）"
            "（100,000.00元（10万元） − 40,000.00元（4万元），不低于 0）") in sheet
    assert "[符合] 3 推广奖励 —— 0.00元\n    符合条件，但应付 0.00元：已获的同类金额 40,000.00元（4万元） 不低于本项应付金额，扣减后为 0" in sheet
    assert "扣减已获市级同类奖励金额：已获 40,000.00元（4万元）" in sheet  # no label: the fact's own
    assert "扣减'city_award / 2'：已获 20,000.00元（2万元）" in sheet
    english = render_text(result, lang="en")
    assert "less 已获市级同类奖励: 40,000.00元（4万元） already received under 杭商务〔2020〕X号; after the deduction " \
           "60,000.00元（6万元）" in english


def test_the_result_json_carries_the_offset(policy):
    result = evaluate(policy, applicant_from_text(policy, facts("fees: 30万元, registered: true, city_award: 4万元")))
    data = json.loads(render_json(result))
    assert not list(Draft202012Validator(RESULT_SCHEMA).iter_errors(data))
    step = next(s for s in data["clauses"][0]["steps"] if s["kind"] == "offset")
    assert step["data"] == {"expr": "city_award", "label": "已获市级同类奖励", "source": "杭商务〔2020〕X号",
                            "value": "40000.00", "before": "100000.00", "after": "60000.00", "name": "city_award"}
    assert data["clauses"][0]["amount"] == "60000.00"


def test_the_review_page_has_one_entry_for_it(policy):
    page = render_markdown(policy)
    assert page.count("- **扣减**：封顶后扣减已获市级同类奖励（已获市级同类奖励金额），依据 杭商务〔2020〕X号，不低于 0\n") == 1
    assert "- **扣减**：封顶后扣减已获市级同类奖励金额，不低于 0\n" in page  # clause 3: no label, no source
    assert "after the cap, less 已获市级同类奖励 (已获市级同类奖励金额) received under 杭商务〔2020〕X号, never below 0" \
        in render_markdown(policy, "en")


def test_diff_names_a_changed_offset(tmp_path):
    text = OFFSET.read_text(encoding="utf-8")
    new = tmp_path / "new.yaml"
    new.write_text(text.replace("source: 杭商务〔2020〕X号", "source: 杭商务〔2021〕Y号")
                   .replace("    offset: {amount: city_award}   # no label: the fact's label words it\n", ""),
                   encoding="utf-8")
    out = CliRunner().invoke(cli, ["diff", "--lang", "en", str(OFFSET), str(new)]).output
    assert "offset: city_award 已获市级同类奖励 杭商务〔2020〕X号 → city_award 已获市级同类奖励 杭商务〔2021〕Y号" in out
    assert "  3 推广奖励\n    offset removed: city_award\n" in out
    assert "award:" not in out  # the award itself did not change
    same = tmp_path / "same.yaml"
    same.write_text(text.replace("{amount: city_award / 2}", "{amount: city_award / 2 }"), encoding="utf-8")
    assert "No changes in what the policy says." in CliRunner().invoke(cli, ["diff", "--lang", "en", str(OFFSET),
                                                                               str(same)]).output


def test_an_offset_is_checked_where_it_is_written(tmp_path):
    text = OFFSET.read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("offset: {amount: city_award}", "offset: {amount: city_awrd}"), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(bad))
    out = caught.value.format()
    assert "bad.yaml:34:22:" in out and "city_awrd" in out and "city_award" in out
    typo = tmp_path / "typo.yaml"
    typo.write_text(text.replace("label: 已获市级同类奖励,", "lable: 已获市级同类奖励,"), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(typo))
    assert "typo.yaml:22:" in caught.value.format() and "lable" in caught.value.format()
    measure = tmp_path / "measure.yaml"
    measure.write_text(text + "  - {id: '4', title: 措施, measure: 建立工作机制, offset: {amount: city_award}}\n",
                       encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(measure))
    assert "clause 4 has an offset but no award" in caught.value.format(lang="en")


def test_lint_and_the_facts_template_know_the_offset_fact(tmp_path):
    lint = CliRunner().invoke(cli, ["lint", str(OFFSET), "--lang", "en"])
    assert "city_award" not in lint.output
    template = CliRunner().invoke(cli, ["facts", str(OFFSET), "--recipient", "firm"])
    assert "city_award" in template.output
