"""Defects of issue 10 in the runtime: a division by zero ends one clause, not the evaluation; a bonus raising a cap
that earlier grants used up still pays what the raised cap allows; an eligible clause paying 0.00 says why."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from cli import cli
from engine import applicant_from_text, evaluate, load_policy, render_json, render_text

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "defects"
GROWTH = FIXTURES / "growth.yaml"
RAISED = FIXTURES / "raised-cap.yaml"
RESULT_SCHEMA = json.loads((ROOT / "schemas" / "result.schema.json").read_text(encoding="utf-8"))
MODES = [{"trace": True}, {"trace": False}, {"reference": True}]


def facts(values: str, granted: str = "{}") -> str:
    return f"recipient: firm\ndate: 2024-06-01\nfacts: {{{values}}}\ngranted: {granted}\n"


ZERO_LAST_YEAR = facts("sales: 100万元, last_sales: 0, fees: 20万元, new_firm: false")


@pytest.fixture(scope="module")
def growth():
    return load_policy(str(GROWTH))


@pytest.fixture(scope="module")
def raised():
    return load_policy(str(RAISED))


def decisions(result):
    return [(r.clause.id, r.outcome.value, r.amount, r.reason, r.missing_keys) for r in result.clauses]


# --- a division by zero caused by a fact --------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES, ids=["traced", "fast", "reference"])
def test_a_division_by_zero_ends_its_clause_and_the_others_are_decided(growth, mode):
    result = evaluate(growth, applicant_from_text(growth, ZERO_LAST_YEAR), **mode)
    outcomes = {r.clause.id: (r.outcome.value, r.reason) for r in result.clauses}
    assert outcomes["1"] == ("undetermined", "cannot_compute")  # growth over a zero base: undefined
    assert outcomes["2"] == ("eligible", None)
    assert result.clause("2").amount == Decimal("100000.00")  # fees × 50%: decided as if nothing happened
    assert outcomes["5"] == ("undetermined", "cannot_compute")  # divides in its base
    assert (result.total, result.complete) == (Decimal("100000.00"), False)
    assert set(result.undetermined) == {"1", "3", "5", "6", "7"}


def test_the_three_ways_of_evaluating_take_the_same_decisions(growth):
    for values in (ZERO_LAST_YEAR, facts("sales: 100万元, last_sales: 0, fees: 20万元, new_firm: true"),
                   facts("sales: 100万元, last_sales: 50万元, fees: 20万元, new_firm: true"),
                   facts("sales: 0, last_sales: 0, fees: 0")):
        applicant = applicant_from_text(growth, values)
        traced = decisions(evaluate(growth, applicant))
        assert decisions(evaluate(growth, applicant, trace=False)) == traced
        assert decisions(evaluate(growth, applicant, reference=True)) == traced
        assert render_text(evaluate(growth, applicant, reference=True)) == render_text(evaluate(growth, applicant))


def test_the_sheet_names_the_expression_where_it_is_and_what_it_read(growth):
    result = evaluate(growth, applicant_from_text(growth, ZERO_LAST_YEAR))
    sheet = render_text(result)
    assert ("[待定] 1 增长奖励\n    无法计算：第 1 项 " in sheet and "growth.yaml:20:13 的 '(sales - last_sales) / last_sales > 20%'"
            " 除以零（读取：上年销售额 = 0.00元，本年销售额 = 1,000,000.00元（100万元））" in sheet)
    assert "既不能认定符合，也不能认定不符合，须人工核定" in sheet and "`x if d > 0 else 0`" in sheet
    assert "? 同比增幅超过20%：上年销售额 = 0.00元，本年销售额 = 1,000,000.00元（100万元）  除以零，无法计算" in sheet
    assert "须人工核定：第 1 项" in sheet and "补充以下事实后可确定" not in sheet  # no fact is missing
    english = render_text(result, lang="en")
    assert "cannot compute: 'fees * sales / last_sales' of clause 5 at " in english
    assert "growth.yaml:40:19 divides by zero" in english and "an officer must decide" in english


def test_what_depends_on_it_waits_for_it(growth):
    result = evaluate(growth, applicant_from_text(growth, ZERO_LAST_YEAR))
    three = result.clause("3")  # requires 1
    assert (three.outcome.value, three.reason, three.missing_keys) == ("undetermined", "cannot_compute",
                                                                      ("cannot_compute.1",))
    assert "无法计算：第 1 项" in render_text(result).split("[待定] 3 ")[1]
    six = result.clause("6")  # in a group with 5: which pays cannot be known
    assert (six.outcome.value, six.reason, six.missing_keys) == ("undetermined", "group_pending", ("cannot_compute.5",))
    seven = result.clause("7")  # a bonus on top of 5
    assert (seven.outcome.value, seven.reason) == ("undetermined", "cannot_compute")


def test_a_condition_that_fails_still_decides_the_clause(growth):
    # new_firm is false: whatever the growth rate is, clause 4 does not pay (Kleene's and).
    result = evaluate(growth, applicant_from_text(growth, ZERO_LAST_YEAR))
    assert (result.clause("4").outcome.value, result.clause("4").reason) == ("ineligible", "conditions")
    new = applicant_from_text(growth, facts("sales: 100万元, last_sales: 0, fees: 20万元, new_firm: true"))
    assert evaluate(growth, new).clause("4").reason == "cannot_compute"


def test_the_same_policy_with_a_last_year_decides_everything(growth):
    result = evaluate(growth, applicant_from_text(growth, facts("sales: 100万元, last_sales: 50万元, fees: 20万元,"
                                                                 " new_firm: true")))
    assert result.complete and not result.undetermined
    five = result.clause("5")  # 20万 × 100万 ÷ 50万 × 10% = 4万, less than 6's 20万 × 40%
    assert (five.reason, five.why.would_be, result.clause("6").amount) == ("group", Decimal("40000.00"),
                                                                          Decimal("80000.00"))


def test_json_carries_the_reason_and_where_it_is(growth):
    result = evaluate(growth, applicant_from_text(growth, ZERO_LAST_YEAR))
    data = json.loads(render_json(result))
    assert not list(Draft202012Validator(RESULT_SCHEMA).iter_errors(data))
    one = next(c for c in data["clauses"] if c["id"] == "1")
    assert one["reason"] == "cannot_compute" and one["outcome"] == "undetermined"
    assert {k: one["cannot_compute"][k] for k in ("clause", "expression", "line", "column", "values")} == {
        "clause": "1", "expression": "(sales - last_sales) / last_sales > 20%", "line": 20, "column": 13,
        "values": {"last_sales": "0", "sales": "1000000"}}
    assert one["missing"][0]["name"] == "cannot_compute.1"
    assert next(c for c in data["clauses"] if c["id"] == "2")["cannot_compute"] is None
    assert json.loads(render_json(result, indent=2)) == data


def test_policy_evaluate_no_longer_stops_at_the_division(tmp_path):
    path = tmp_path / "facts.yaml"
    path.write_text(ZERO_LAST_YEAR, encoding="utf-8")
    r = CliRunner().invoke(cli, ["evaluate", str(GROWTH), str(path)])
    assert r.exit_code == 0, r.output
    assert "[符合] 2 平台费补助 —— 100,000.00元（10万元）" in r.output and "Traceback" not in r.output


# --- a bonus raising a cap that earlier grants used up -------------------------------------------------

CLAIM = "cost: 100万元, key_project: true"  # 30% of 100万元: a claim of 30万元


@pytest.mark.parametrize("granted, base, bonus", [
    ("{base: 80万元}", None, "200000.00"),            # the case: 100万 − 80万 is owed (it paid 0)
    ("{base: 50万元, raise: 30万元}", None, "200000.00"),  # the same 80万, booked under both clauses
    ("{base: 50万元}", None, "300000.00"),            # its own cap used exactly: the raised cap pays all
    ("{base: 30万元}", "200000.00", "100000.00"),     # its own cap pays 20万, the raised one the rest
    ("{}", "300000.00", "0.00"),                      # under its own cap: raising it adds nothing
    ("{base: 90万元, raise: 20万元}", None, "0.00"),   # granted beyond the raised cap: nothing more
])
@pytest.mark.parametrize("mode", MODES, ids=["traced", "fast", "reference"])
def test_a_raised_cap_counts_what_was_granted_under_it(raised, granted, base, bonus, mode):
    result = evaluate(raised, applicant_from_text(raised, facts(CLAIM, granted)), **mode)
    amounts = (result.clause("base").amount, result.clause("raise").amount)
    assert amounts == (None if base is None else Decimal(base), Decimal(bonus))
    if base is None:
        assert result.clause("base").reason == "cap_used"
    assert result.total == Decimal(base or 0) + Decimal(bonus) and result.complete


def test_the_sheet_shows_the_room_left_under_the_raised_cap(raised):
    sheet = render_text(evaluate(raised, applicant_from_text(raised, facts(CLAIM, "{base: 80万元}"))))
    assert "[不符合] base 项目投资补助\n    上限 500,000.00元（50万元） 已用完（已获 800,000.00元（80万元））" in sheet
    assert "[符合] raise 重点项目提高上限 —— 200,000.00元（20万元）" in sheet
    assert ("提高后的上限尚余 200,000.00元（20万元）（第 base 项上限尚余 -300,000.00元（-30万元） + 提高 500,000.00元（50万元）"
            " − 本项已获 0.00元）") in sheet
    assert "合计：200,000.00元（20万元）" in sheet


def test_a_raised_cap_never_invents_what_is_not_known(raised):
    unknown_cost = evaluate(raised, applicant_from_text(raised, facts("key_project: true", "{base: 80万元}")))
    assert (unknown_cost.clause("base").reason, unknown_cost.clause("raise").outcome.value) == ("cap_used",
                                                                                              "undetermined")
    assert unknown_cost.clause("raise").missing_keys == ("cost",)
    no_grants = evaluate(raised, applicant_from_text(raised, "recipient: firm\ndate: 2024-06-01\nfacts: {%s}\n" % CLAIM))
    assert [r.outcome.value for r in no_grants.clauses] == ["undetermined", "undetermined"]
    not_key = evaluate(raised, applicant_from_text(raised, facts("cost: 100万元, key_project: false", "{base: 80万元}")))
    assert [r.reason for r in not_key.clauses] == ["cap_used", "conditions"] and not_key.total == 0


# --- an eligible clause that pays 0.00 says why -------------------------------------------------------

ZERO = FIXTURES / "zero.yaml"


@pytest.mark.parametrize("values, clause, line", [
    ("fees: 5000, promotion: 0", "over", "符合条件，但应付 0.00元：计算结果为负（-2,500.00元），按 0 计"),
    ("fees: 4, promotion: 0", "small", "符合条件，但应付 0.00元：计算结果 0.004 按舍入规则为 0"),
    ("fees: 5000, promotion: 0", "promo", "符合条件，但应付 0.00元：按本项计算所得金额为 0（见计算）"),
])
def test_an_eligible_clause_paying_nothing_says_why_under_its_heading(values, clause, line):
    policy = load_policy(str(ZERO))
    result = evaluate(policy, applicant_from_text(policy, facts(values)))
    r = result.clause(clause)
    assert (r.outcome.value, r.amount) == ("eligible", Decimal("0.00"))
    sheet = render_text(result)
    assert f"[符合] {clause} " in sheet and sheet.split(f"[符合] {clause} ")[1].split("\n")[1] == f"    {line}"
    assert sheet.count(line) == 1  # once, under the heading, not again among the steps
    step = next(s for s in json.loads(render_json(result))["clauses"] if s["id"] == clause)["steps"][-1]
    assert step["kind"] == "zero" and step["text"] == line.strip()
    assert [x.amount for x in evaluate(policy, applicant_from_text(policy, facts(values)), trace=False).clauses] \
        == [x.amount for x in result.clauses]


def test_a_clause_that_pays_something_has_no_such_line():
    policy = load_policy(str(ZERO))
    sheet = render_text(evaluate(policy, applicant_from_text(policy, facts("fees: 5万元, promotion: 1万元"))))
    assert "应付 0.00元" not in sheet and "eligible, but" not in sheet


def test_a_raised_cap_that_adds_nothing_says_so(raised):
    result = evaluate(raised, applicant_from_text(raised, facts(CLAIM)))
    sheet = render_text(result)
    assert "[符合] raise 重点项目提高上限 —— 0.00元\n    符合条件，但应付 0.00元：在第 base 项之上不增加金额（见计算）" in sheet
    assert "eligible, but 0.00元 is due: it adds nothing to clause base" in render_text(result, lang="en")


@pytest.mark.parametrize("path", [GROWTH, RAISED, ZERO, ROOT / "tests" / "fixtures" / "offsets" / "offset.yaml"],
                         ids=lambda p: p.stem)
def test_over_a_population_the_fast_traced_and_reference_paths_agree(path):
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    from population import population

    from engine import applicant_from_data

    policy = load_policy(str(path))
    reasons = set()
    for data in population(policy, 120, seed=5):
        applicant = applicant_from_data(policy, data)
        traced = evaluate(policy, applicant)
        assert decisions(evaluate(policy, applicant, trace=False)) == decisions(traced)
        reference = evaluate(policy, applicant, reference=True)
        assert decisions(reference) == decisions(traced) and render_text(reference) == render_text(traced)
        reasons.update(r.reason for r in traced.clauses)
    assert path != GROWTH or "cannot_compute" in reasons  # the population does meet a zero last year
    assert path != RAISED or "cap_used" in reasons
