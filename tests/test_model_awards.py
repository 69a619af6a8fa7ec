"""Every award form has every capability: it compiles, computes, explains, bounds and describes itself.

A new form is one file in engine/model/awards/; this test finds it and fails until it has it all: a schema
entry, a line in the language reference, an example that compiles and pays, steps the sheet can show,
and words for the review page and diff in both languages.
"""

from __future__ import annotations

import inspect
import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from engine import applicant_from_data, compile_policy, evaluate, render_json, render_text
from engine.model.awards import FORMS
from engine.model.awards.base import AwardForm, Step
from engine.present.words import PolicyWords
from engine.syntax.loader import load_text

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "schemas" / "policy.schema.json").read_text(encoding="utf-8"))
LANGUAGE = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")

FACTS = {
    "costs": {"type": "money", "label": "费用"},
    "area": {"type": "number", "label": "面积", "unit": "m²"},
    "months": {"type": "integer", "label": "月数"},
    "months_paid": {"type": "integer", "label": "已补月数"},
    "firms": {"type": "list", "label": "企业", "items": {"name": {"type": "text", "label": "名称"},
                                                       "started": {"type": "boolean", "label": "已开展"}}},
}
APPLICANT = {"recipient": "firm", "date": "2024-06-01", "granted": {},
             "facts": {"costs": "30万元", "area": 1000, "months": 12, "months_paid": 0,
                       "firms": [{"name": "甲", "started": True}, {"name": "乙", "started": False}]}}


def policy_with(form: type[AwardForm], **extra: object):
    doc = {"id": "forms", "document": "测试〔2024〕1号", "title": "award forms", "in_force": {"from": "2024-01-01"},
           "money": {"currency": "CNY", "round_to": 0.01, "rounding": "half_up"},
           "recipients": {"firm": {"label": "企业"}}, "facts": FACTS,
           "clauses": [{"id": "base", "title": "基础", "recipient": "firm", "award": {"fixed": "40万元"},
                        "cap": "30万元"},
                       {"id": "x", "title": "被测", "recipient": "firm", "award": {**form.example, **extra}}]}
    return compile_policy(load_text(yaml.safe_dump(doc, allow_unicode=True), "forms.yaml"))


@pytest.mark.parametrize("keyword", sorted(FORMS))
def test_form_is_complete(keyword):
    form = FORMS[keyword]
    assert not inspect.isabstract(form), f"{keyword}: abstract methods left: {form.__abstractmethods__}"
    assert form.keyword == keyword and form.required, keyword
    assert form.example, f"{keyword}: no example"
    award_keys = set(SCHEMA["$defs"]["award"]["properties"])
    assert form.required | form.optional <= award_keys, f"{keyword}: keys missing from schemas/policy.schema.json"
    assert f"| {keyword} |" in LANGUAGE, f"{keyword}: not in the award forms table of docs/language.md"
    # its part of a round's SQL query (engine.runtime.sql), written beside its emit (None there is a choice)
    assert "sql" in vars(form), f"{keyword}: no sql (its part of a round's SQL query)"


@pytest.mark.parametrize("keyword", sorted(FORMS))
def test_form_example_compiles_pays_and_explains(keyword):
    policy = policy_with(FORMS[keyword])
    award = policy.clause("x").award
    assert isinstance(award, FORMS[keyword])
    assert award.reads() <= set(policy.facts) | set(policy.parameters), "reads names it does not declare"
    result = evaluate(policy, applicant_from_data(policy, APPLICANT))
    x = result.clause("x")
    assert x.outcome == "eligible" and x.amount is not None and x.amount > 0, (keyword, x.outcome, x.why)
    assert x.steps, f"{keyword}: a traced evaluation shows no working"
    for lang in ("zh", "en"):
        words = PolicyWords(policy, lang)
        for step in x.steps:
            assert isinstance(step, Step) and step.kind
            lines = step.lines(words)
            assert lines and all(isinstance(line, str) and line for line in lines), (keyword, step)
            json.dumps({k: str(v) for k, v in step.data().items()})
        assert all(award.describe(words)), f"{keyword}: empty description"
        assert award.formula(words), f"{keyword}: empty formula"
    assert render_text(result) and json.loads(render_json(result))
    untraced = evaluate(policy, applicant_from_data(policy, APPLICANT), trace=False)
    assert untraced.clause("x").amount == x.amount and not untraced.clause("x").steps


@pytest.mark.parametrize("keyword", sorted(FORMS))
def test_form_is_bounded_for_lint(keyword):
    award = policy_with(FORMS[keyword]).clause("x").award
    bound = award.upper(lambda e: Decimal(1_000_000))
    assert bound is None or bound >= 0
    for check in award.sanity():
        assert check.rule in ("amount_not_positive", "rate_range") and check.expr in award.expressions()


@pytest.mark.parametrize("keyword", sorted(FORMS))
def test_any_form_can_be_a_ceiling_an_officer_decides_within(keyword):
    """`up_to: true` beside any form's keys: the amount is the most that may be paid; the sheet says so in both
    languages, the JSON marks the clause, and the amount itself is what the form computes."""
    plain, ceiling = policy_with(FORMS[keyword]), policy_with(FORMS[keyword], up_to=True)
    assert ceiling.clause("x").up_to and plain.clause("x").up_to == (keyword == "tiers")  # tiers' example is one
    paid = evaluate(plain, applicant_from_data(plain, APPLICANT)).clause("x").amount
    result = evaluate(ceiling, applicant_from_data(ceiling, APPLICANT))
    assert result.clause("x").amount == paid
    money = f"{paid:,.2f}"
    assert f"—— 最高 {money}" in render_text(result) and "具体由主管部门核定" in render_text(result)
    assert f"up to {money}" in render_text(result, "en")
    marks = {c["id"]: c["up_to"] for c in json.loads(render_json(result))["clauses"]}
    assert marks == {"base": False, "x": True}
    untraced = json.loads(render_json(evaluate(ceiling, applicant_from_data(ceiling, APPLICANT), trace=False)))
    assert {c["id"]: c["up_to"] for c in untraced["clauses"]} == marks
