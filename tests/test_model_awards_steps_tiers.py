"""Whole increments (steps) and tiers: what an applicant is paid at and around every bound, what the sheet, the
review page, lint and diff say about them, and the mistakes an officer gets told about at their line."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from engine import applicant_from_data, evaluate, load_policy, render_json, render_text
from engine.core.errors import CompileError

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "forms" / "steps-tiers.yaml"
TEXT = FIXTURE.read_text(encoding="utf-8")
POLICY = load_policy(str(FIXTURE))


def result(recipient: str, date: str = "2024-06-01", **facts: object):
    return evaluate(POLICY, applicant_from_data(POLICY, {"recipient": recipient, "date": date, "granted": {},
                                                         "facts": facts}))


def clause(cid: str, recipient: str = "firm", **facts: object):
    found = result(recipient, **facts)
    untraced = evaluate(POLICY, applicant_from_data(POLICY, {"recipient": recipient, "date": "2024-06-01",
                                                             "granted": {}, "facts": facts}), trace=False)
    assert untraced.clause(cid).amount == found.clause(cid).amount  # the same decision without the explanation
    assert untraced.clause(cid).outcome == found.clause(cid).outcome
    return found.clause(cid)


def sheet(recipient: str, lang: str = "zh", **facts: object) -> str:
    return render_text(result(recipient, **facts), lang=lang)


def variant(tmp_path: Path, old: str, new: str, name: str = "variant.yaml") -> Path:
    assert TEXT.count(old) == 1, old
    path = tmp_path / name
    path.write_text(TEXT.replace(old, new), encoding="utf-8")
    return path


def line_of(text: str, fragment: str) -> int:
    [n] = [i for i, line in enumerate(text.splitlines(), 1) if fragment in line]
    return n


def cli_run(*args: object):
    return CliRunner().invoke(cli, [*map(str, args)])


# --- whole increments: 每增加100万元奖励10万元，最高不超过50万元 ---------------------------------------------------

@pytest.mark.parametrize(("growth", "paid"), [
    ("99.99万元", None),          # less than one whole step
    ("100万元", "10万元"),         # exactly one step
    ("1000000.01", "10万元"),
    ("199.99万元", "10万元"),      # 1.9999 steps: one, never rounded half-up to two
    ("200万元", "20万元"),
    ("350万元", "30万元"),
    ("500万元", "50万元"),         # the cap, exactly
    ("600万元", "50万元"),         # six steps, capped
])
def test_steps_pay_whole_steps_only_at_and_around_each_step(growth, paid):
    c = clause("S1", export_growth=growth)
    if paid is None:
        assert c.outcome == "ineligible" and c.why.reason == "no_whole_step"
    else:
        assert c.outcome == "eligible" and c.amount == Decimal(paid.replace("万元", "")) * 10_000


def test_steps_nothing_grown_is_not_a_step():
    c = clause("S1", export_growth=0)
    assert c.outcome == "ineligible"
    assert "不足一档（每满1,000,000.00元（100万元）计1档）" in sheet("firm", export_growth=0)


def test_the_sheet_shows_the_whole_steps_and_the_remainder_not_counted():
    zh = sheet("firm", export_growth="350万元")
    assert ("跨境电商进出口额增长 3,500,000.00元（350万元），每满1,000,000.00元（100万元）计1档：3档 × "
            "100,000.00元（10万元） = 300,000.00元（30万元）（余 500,000.00元（50万元） 不计）") in zh
    en = sheet("firm", "en", export_growth="350万元")
    assert ("one step per full 1,000,000.00元（100万元）: 3 steps × 100,000.00元（10万元） = 300,000.00元（30万元） "
            "(500,000.00元（50万元） left over, not counted)") in en
    exact = sheet("firm", export_growth="300万元")
    assert "3档 × 100,000.00元（10万元） = 300,000.00元（30万元）\n" in exact  # nothing left over: nothing said
    data = json.loads(render_json(result("firm", export_growth="350万元")))
    [s1] = [c for c in data["clauses"] if c["id"] == "S1"]
    [step] = [s for s in s1["steps"] if s["kind"] == "steps"]
    assert step["data"]["count"] == 3 and step["data"]["remainder"] == "500000"
    assert step["data"]["value"] == "300000"


@pytest.mark.parametrize(("exports", "paid", "says"), [
    ("500万元", None, "进出口额 5,000,000.00元（500万元），未超过起算点 5,000,000.00元（500万元）"),
    ("300万元", None, "未超过起算点"),
    ("599.99万元", None, "超过 5,000,000.00元（500万元） 的部分 999,900.00元（99.99万元），不足一档"),
    ("600万元", Decimal(10_000), "超过 5,000,000.00元（500万元） 的部分 1,000,000.00元（100万元），每满"),
    ("750万元", Decimal(20_000), "的部分 2,500,000.00元（250万元），每满1,000,000.00元（100万元）计1档：2档 × 10,000.00元"),
])
def test_steps_count_from_a_start(exports, paid, says):
    c = clause("S2", exports=exports)
    assert (c.outcome, c.amount) == (("eligible", paid) if paid else ("ineligible", None))
    assert says in sheet("firm", exports=exports)


def test_a_missing_measure_is_undetermined_and_named():
    c = clause("S1")
    assert c.outcome == "undetermined" and [m.key for m in c.missing] == ["export_growth"]


@pytest.mark.parametrize("every", ["0", "-100万元", "0万元"])
def test_a_literal_step_of_zero_or_less_is_a_compile_error_at_its_line(tmp_path, every):
    path = variant(tmp_path, "every: 100万元}", f"every: {every}}}")
    out = cli_run("validate", path).output
    assert f"{path}:{line_of(path.read_text(encoding='utf-8'), 'every: ' + every)}:" in out
    assert "每档的大小 every 为" in out and "须为正数" in out and "每满X" in out
    assert "没有补助金额" not in out  # no follow-on error about the clause's cap


def test_a_parameter_step_of_zero_is_a_lint_finding_and_stops_only_its_clause(tmp_path):
    path = variant(tmp_path, "    value: 100万元\n    text: 每增加100万元",
                   "    values: [{from: 2024-01-01, value: 100万元}, {from: 2025-01-01, value: 0万元}]")
    text = path.read_text(encoding="utf-8")
    out = cli_run("lint", path, "--today", "2024-06-01", "--lang", "en").output
    assert f"{path}:{line_of(text, 'every: step_size')}:" in out
    assert "clause S2: the size of a step, every (step_size), is 0元; it must be positive from 2025-01-01" in out
    policy = load_policy(str(path))
    later = evaluate(policy, applicant_from_data(policy, {"recipient": "firm", "date": "2025-02-01", "granted": {},
                                                          "facts": {"export_growth": "350万元",
                                                                    "exports": "750万元"}}))
    assert later.clause("S2").outcome == "ineligible" and later.clause("S2").why.reason == "step_not_positive"
    assert "须为正数：本项无法按档计算" in render_text(later)
    assert later.clause("S1").amount == Decimal(300_000)  # the other clauses are decided as usual


@pytest.mark.parametrize(("every", "hint"), [("1000000", "写作 100万元"), ("10%", "请写成金额")])
def test_a_step_of_another_kind_than_what_it_counts_is_refused(tmp_path, every, hint):
    path = variant(tmp_path, "every: 100万元}", f"every: {every}}}")
    out = cli_run("validate", path).output
    assert f"'every: {every}' 是" in out and "而 export_growth 是金额" in out and hint in out


def test_steps_on_the_review_page_and_in_diff(tmp_path):
    review = cli_run("render", FIXTURE, "--format", "markdown").output
    assert "跨境电商进出口额增长每满 100万元 计1档，每档 10万元（不足一档的部分不计）" in review
    assert "进出口额超过 500万元 的部分，每满 100万元 计1档，每档 1万元" in review
    changed = variant(tmp_path, "every: 100万元}", "every: 50万元}")
    out = cli_run("diff", FIXTURE, changed, "--lang", "en").output
    assert "whole steps ⌊export_growth / 100万元⌋ × 10万元 → whole steps ⌊export_growth / 50万元⌋ × 10万元" in out


# --- tiers: 同比增幅超过10%、20%、50%的分别给予不超过20万、50万、100万元 (a gate: 成交额超过2000万) ------------

@pytest.mark.parametrize(("growth", "paid"), [
    ("9.99%", None),
    ("10%", None),                 # 超过10%: 10% itself is not above it
    ("10.01%", 200_000),
    ("20%", 200_000),
    ("20.01%", 500_000),
    ("50%", 500_000),
    ("50.01%", 1_000_000),
    ("300%", 1_000_000),
])
def test_tiers_pay_the_highest_band_reached_at_and_around_each_bound(growth, paid):
    c = clause("T4", "platform", gmv_last_year="3000万元", gmv_growth=growth)
    if paid is None:
        assert c.outcome == "ineligible" and c.why.reason == "below_bands"
    else:
        assert c.outcome == "eligible" and c.amount == Decimal(paid)


def test_the_gate_is_a_condition_of_the_clause():
    assert clause("T4", "platform", gmv_last_year="2000万元", gmv_growth="60%").outcome == "ineligible"
    c = clause("T4", "platform", gmv_growth="60%")
    assert c.outcome == "undetermined" and [m.key for m in c.missing] == ["gmv_last_year"]
    c = clause("T4", "platform", gmv_last_year="3000万元")
    assert c.outcome == "undetermined" and [m.key for m in c.missing] == ["gmv_growth"]


@pytest.mark.parametrize(("trade", "paid"), [
    ("799.99万元", None),
    ("800万元", 500_000),          # 达到800万元以上: the bound itself is in the band (from:)
    ("5000万元", 500_000),         # 超过5000万元: not yet
    ("50000000.01", 1_000_000),
])
def test_an_inclusive_band_includes_its_bound(trade, paid):
    c = clause("D1", annual_trade=trade)
    assert (c.outcome, c.amount) == (("eligible", Decimal(paid)) if paid else ("ineligible", None))


def test_the_sheet_names_the_band_that_applied_and_the_next_one_up():
    zh = sheet("platform", gmv_last_year="3000万元", gmv_growth="23%")
    assert ("同比增幅 23%：超过20%一档，最高 500,000.00元（50万元）（具体由主管部门核定）；"
            "再超过50%可得最高1,000,000.00元（100万元）") in zh
    en = sheet("platform", "en", gmv_last_year="3000万元", gmv_growth="23%")
    assert ("同比增幅 23%: the band above 20%, up to 500,000.00元（50万元） (the exact amount is decided by the "
            "department in charge); above 50% would give up to 1,000,000.00元（100万元）") in en
    top = sheet("platform", gmv_last_year="3000万元", gmv_growth="80%")
    assert "同比增幅 80%：超过50%一档，最高 1,000,000.00元（100万元）（具体由主管部门核定）（最高一档）" in top
    below = sheet("platform", gmv_last_year="3000万元", gmv_growth="8%")
    assert "同比增幅 8%：未达最低一档（超过10%）" in below
    plain = sheet("firm", annual_trade="800万元")
    assert ("年交易额 8,000,000.00元（800万元）：达到8,000,000.00元（800万元）一档，500,000.00元（50万元）；"
            "再超过50,000,000.00元（5000万元）可得1,000,000.00元（100万元）") in plain


def test_json_carries_the_band_and_that_the_amount_is_a_ceiling():
    data = json.loads(render_json(result("platform", gmv_last_year="3000万元", gmv_growth="23%")))
    [t4] = [c for c in data["clauses"] if c["id"] == "T4"]
    [step] = t4["steps"]
    assert step["kind"] == "tier"
    assert {k: step["data"][k] for k in ("up_to", "band", "bound", "inclusive", "amount", "next_band", "next_amount")} \
        == {"up_to": True, "band": 2, "bound": "0.2", "inclusive": False, "amount": "500000", "next_band": 3,
            "next_amount": "1000000"}
    [d1] = [c for c in json.loads(render_json(result("firm", annual_trade="800万元")))["clauses"] if c["id"] == "D1"]
    assert d1["steps"][0]["data"]["up_to"] is False and d1["steps"][0]["data"]["inclusive"] is True


@pytest.mark.parametrize(("trade", "fees", "paid", "says"), [
    ("99.99万元", "50万元", None, None),
    ("100万元", "10万元", 30_000, None),                 # 30% of 10万元
    ("800万元", "50万元", 100_000, "本档最高 100,000.00元（10万元）：150,000.00元（15万元） → 100,000.00元（10万元）"),
    ("1000万元", "50万元", 200_000, "基数 × 比例 = 500,000.00元（50万元） × 50% = 250,000.00元（25万元）"),
    ("1000万元", "10万元", 50_000, None),
])
def test_a_band_can_choose_a_rate_and_a_cap(trade, fees, paid, says):
    c = clause("R1", annual_trade=trade, fees=fees)
    assert (c.outcome, c.amount) == (("eligible", Decimal(paid)) if paid else ("ineligible", None))
    if says:
        assert says in sheet("firm", annual_trade=trade, fees=fees)


def test_a_rate_bands_base_is_only_needed_once_a_band_is_reached():
    assert clause("R1", annual_trade="50万元").outcome == "ineligible"  # below every band: fees do not matter
    c = clause("R1", annual_trade="800万元")
    assert c.outcome == "undetermined" and [m.key for m in c.missing] == ["fees"]


def test_tiers_on_the_review_page(tmp_path):
    review = cli_run("render", FIXTURE, "--format", "markdown").output
    for line in ("按同比增幅分档，取达到的最高一档：", "超过10%：最高 20万元（具体由主管部门核定）",
                 "超过50%：最高 100万元（具体由主管部门核定）", "未达最低一档：不符合", "达到800万元：50万元",
                 "达到1,000万元：境外商标注册费用 × 50%，本档最高 20万元"):
        assert line in review, line
    en = cli_run("render", FIXTURE, "--format", "markdown", "--lang", "en").output
    assert "above 50%: up to 100万元 (the exact amount is decided by the department in charge)" in en


def test_diff_sees_a_bound_become_inclusive_and_a_band_change(tmp_path):
    changed = variant(tmp_path, "- {above: 10%, amount: 20万元}", "- {from: 10%, amount: 20万元}")
    out = cli_run("diff", FIXTURE, changed, "--lang", "en").output
    assert ("bands on gmv_growth: > 10% → 20万元; > 20% → 50万元; > 50% → 100万元 (each a ceiling) → "
            "bands on gmv_growth: ≥ 10% → 20万元; > 20% → 50万元; > 50% → 100万元 (each a ceiling)") in out
    ceiling = variant(tmp_path, "        on_label: 同比增幅\n        up_to: true\n", "        on_label: 同比增幅\n",
                      "ceiling.yaml")
    assert "(each a ceiling) → bands on gmv_growth: > 10% → 20万元; > 20% → 50万元; > 50% → 100万元\n" \
        in cli_run("diff", FIXTURE, ceiling, "--lang", "en").output
    same = cli_run("diff", FIXTURE, FIXTURE, "--lang", "en").output
    assert "bands on" not in same


def test_the_fixture_lints_clean():
    out = cli_run("lint", FIXTURE, "--today", "2024-06-01", "--strict")
    assert out.exit_code == 0, out.output


@pytest.mark.parametrize(("old", "new", "fragment", "says"), [
    ("- {above: 20%, amount: 50万元}\n          - {above: 50%, amount: 100万元}",
     "- {above: 50%, amount: 100万元}\n          - {above: 20%, amount: 50万元}",
     "above: 20%, amount: 50万元", "bands out of order: band 3 (above 20%) comes after band 2 (above 50%)"),
    ("- {above: 20%, amount: 50万元}", "- {above: 10%, amount: 50万元}", "above: 10%, amount: 50万元",
     "bands 1 and 2 have the same lower bound (10%): one of them never applies"),
    ("- {above: 20%, amount: 50万元}", "- {from: 10%, amount: 50万元}", "from: 10%, amount: 50万元",
     "the from band applies only at exactly 10%"),
    ("- {above: 50%, amount: 100万元}", "- {above: 50%, amount: 40万元}", "above: 50%, amount: 40万元",
     "band 3 (above 50%) pays 40万元, less than the lower band 2 (above 20%) with 50万元"),
    ("- {above: 10%, amount: 20万元}", "- {above: 10%, amount: 0}", "above: 10%, amount: 0", "band 1 pays 0元"),
    ("rate: 50%, cap: 20万元", "rate: 150%, cap: 20万元", "rate: 150%", "band 1's rate is 150%"),
])
def test_lint_reports_bands_out_of_order_on_one_bound_or_paying_less(tmp_path, old, new, fragment, says):
    path = variant(tmp_path, old, new)
    out = cli_run("lint", path, "--today", "2024-06-01", "--lang", "en").output
    [line] = [x for x in out.splitlines() if says in x]
    assert line.startswith(f"{path}:{line_of(path.read_text(encoding='utf-8'), fragment)}:"), line


def test_lint_checks_a_parameter_bound_on_each_day(tmp_path):
    path = variant(tmp_path, "- {above: 20%, amount: 50万元}", "- {above: middle_band, amount: 50万元}")
    text = path.read_text(encoding="utf-8").replace(
        "parameters:\n", "parameters:\n  middle_band:\n    label: 中间一档\n    values:\n"
        "      - {from: 2024-01-01, value: 20%}\n      - {from: 2025-01-01, value: 60%}\n")
    path.write_text(text, encoding="utf-8")
    out = cli_run("lint", path, "--today", "2024-06-01", "--lang", "en").output
    assert "bands out of order: band 3 (above 50%) comes after band 2 (above 60%) from 2025-01-01" in out


D1_NEXT = "\n          - {from: 800万元"  # D1's first band, where the text is unique
D1_FIRST = "{above: 5000万元, amount: 100万元}" + D1_NEXT


@pytest.mark.parametrize(("old", "new", "says", "hint"), [
    ("above: 50%, amount: 100万元", "above: 50, amount: 100万元", "'above: 50' 是普通数值，而 gmv_growth 是百分比",
     "写作 50%"),
    ("above: 50%, amount: 100万元", "above: 1亿元, amount: 100万元", "'above: 1亿元' 是金额，而 gmv_growth 是百分比",
     "请写成百分比"),
    (D1_FIRST, "{above: 50000000, amount: 100万元}" + D1_NEXT, "是普通数值，而 annual_trade 是金额", "写作 5,000万元"),
    (D1_FIRST, "{above: 5000万元, from: 800万元, amount: 100万元}" + D1_NEXT,
     "第 1 档同时写了 from, above：每档只有一个下限", "above: X（超过X，不含X）"),
    (D1_FIRST, "{above: 5000万元}" + D1_NEXT, "第 1 档没有写给多少", "amount: 100万元（定额）"),
    (D1_FIRST, "{amount: 100万元}" + D1_NEXT, "第 1 档没有下限", "from: X"),
    (D1_FIRST, "{above: 5000万元, rate: 10%}" + D1_NEXT, "tiers 没有写 base", "base: 基数"),
    (D1_FIRST, "{above: 5000万元, amount: 100万元, cap: 1万元}" + D1_NEXT, "cap 只能与 rate 同用",
     "按比例给付的一档才需要 cap"),
])
def test_mistakes_in_a_table_are_reported_at_their_line_with_a_suggestion(tmp_path, old, new, says, hint):
    path = variant(tmp_path, old, new)
    with pytest.raises(CompileError) as caught:
        load_policy(str(path))
    [problem] = [p for p in caught.value.problems if says in p.message.localized("zh")]
    assert problem.line == line_of(path.read_text(encoding="utf-8"), new.split("\n")[0])
    assert problem.suggestion is not None and hint in problem.suggestion.localized("zh")


# --- a raised band over a rate for everyone (otherwise:) --------------------------------------------------------
RAISED = load_policy(str(ROOT / "tests" / "fixtures" / "forms" / "raised-band.yaml"))


def raised(lang: str = "zh", **facts: object):
    data = {"recipient": "firm", "date": "2024-06-01", "granted": {}, "facts": facts}
    traced = evaluate(RAISED, applicant_from_data(RAISED, data))
    untraced = evaluate(RAISED, applicant_from_data(RAISED, data), trace=False)
    assert (untraced.clause("R1").outcome, untraced.clause("R1").amount) == \
        (traced.clause("R1").outcome, traced.clause("R1").amount)
    return traced.clause("R1"), render_text(traced, lang=lang)


@pytest.mark.parametrize("trade, costs, paid", [
    (None, "50万元", "150000.00"),            # not stated: 30% of 50万元, the rate for everyone
    (None, "100万元", "200000.00"),           # 30万元 capped at 20万元
    ("749999.99", "100万元", "200000.00"),    # a cent short of 75万美元: still the rate for everyone
    ("75万美元", "100万元", "300000.00"),      # 达到75万美元: 50% = 50万元, capped at 30万元
    ("75万美元", "40万元", "200000.00"),       # 50% of 40万元
    ("0", "10万元", "30000.00"),
])
def test_a_raised_band_pays_the_rate_for_everyone_until_it_is_reached(trade, costs, paid):
    facts = {"site_costs": costs} | ({"trade_usd": trade} if trade is not None else {})
    r, _ = raised(**facts)
    assert r.outcome == "eligible" and r.amount == Decimal(paid)


def test_the_raised_bands_fact_is_not_required_and_the_sheet_says_what_would_raise_it():
    r, text = raised(site_costs="100万元")
    assert r.outcome == "eligible" and not r.missing
    assert "未提供跨境电商进出口额：按基本档，比例 30%，本档最高 200,000.00元（20万元）" in text
    assert "达到750,000.00美元（75万美元）可得比例 50%，本档最高 300,000.00元（30万元）" in text
    assert "达到0.00美元" not in text and "达到0美元" not in text
    _, below = raised(site_costs="100万元", trade_usd="74万美元")
    assert "跨境电商进出口额 740,000.00美元（74万美元）：未达最低一档，按基本档" in below
    _, english = raised("en", site_costs="100万元")
    assert "not stated: the band for everyone: rate 30%" in english
    assert "reaching 0.00" not in english


def test_a_missing_base_is_still_undetermined():
    r, _ = raised(trade_usd="80万美元")
    assert r.outcome == "undetermined" and [m.key for m in r.missing] == ["site_costs"]


def test_the_band_for_everyone_on_the_review_page_and_in_diff(tmp_path):
    fixture = ROOT / "tests" / "fixtures" / "forms" / "raised-band.yaml"
    out = cli_run("render", str(fixture))
    assert out.exit_code == 0, out.output
    assert "未达以上各档或未提供" in out.output and "达到" in out.output
    changed = tmp_path / "raised.yaml"
    changed.write_text(fixture.read_text(encoding="utf-8").replace("otherwise: {rate: 30%", "otherwise: {rate: 35%"),
                       encoding="utf-8")
    diff = cli_run("diff", str(fixture), str(changed))
    assert "35%" in diff.output, diff.output
    lint = cli_run("lint", str(fixture))
    assert lint.exit_code == 0, lint.output


def test_lint_suggests_otherwise_for_a_money_band_from_zero(tmp_path):
    """The old way of writing a rate for everyone (a band from 0美元) made the trade required and put 达到0.00美元一档 on
    the sheet: lint points at it with the spelling to use."""
    fixture = ROOT / "tests" / "fixtures" / "forms" / "raised-band.yaml"
    old = fixture.read_text(encoding="utf-8").replace(
        "        otherwise: {rate: 30%, cap: 20万元}\n        bands:\n",
        "        bands:\n          - {from: 0美元, rate: 30%, cap: 20万元}\n")
    path = tmp_path / "zero-band.yaml"
    path.write_text(old, encoding="utf-8")
    out = cli_run("lint", path)
    assert "第 1 档从 0 起" in out.output and "otherwise: {rate: 30%, cap: 20万元}" in out.output, out.output
    assert f"zero-band.yaml:{line_of(old, '{from: 0美元')}:" in out.output
    r = evaluate(load_policy(str(path)), applicant_from_data(load_policy(str(path)), {
        "recipient": "firm", "date": "2024-06-01", "granted": {}, "facts": {"site_costs": "100万元"}})).clause("R1")
    assert r.outcome == "undetermined"  # why otherwise: exists
