"""Hints that help (issue 10): in the reader's language, advice that works, a did-you-mean where one is due."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from policy_variants import LISHUI, line_of, variant

from cli import cli

ROOT = Path(__file__).resolve().parent.parent
LATIN_WORDS = re.compile(r"[A-Za-z]{4,}(?: [A-Za-z]{2,}){2,}")  # an English phrase: three words or more


def run(*args: object) -> str:
    return CliRunner().invoke(cli, [str(a) for a in args]).output


def hints(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip().startswith(("提示：", "hint:"))]


def test_a_rounding_step_written_1万_gets_a_chinese_hint(tmp_path):
    out = run("validate", variant(tmp_path, ("round_to: 0.01 ", "round_to: 1万 ")))
    [hint] = hints(out)
    assert "0.01 为保留到分，1 为保留到元" in hint
    assert not LATIN_WORDS.search(hint), hint


def test_a_date_written_2021_9_26_gets_a_chinese_hint(tmp_path):
    path = variant(tmp_path, ("  from: 2022-02-01\n  until: 2027-01-31", "  from: 2021-9-26\n  until: 2027-01-31"))
    out = run("validate", path)
    assert f"{path}:{line_of(path, 'from: 2021-9-26')}:" in out
    assert hints(out) and all("日期请写成 YYYY-MM-DD" in h for h in hints(out))
    assert "First day" not in out


def test_a_missing_key_is_hinted_in_chinese(tmp_path):
    out = run("validate", variant(tmp_path, ("    title: 独立站企业补助\n", "")))
    assert "缺少 'title'" in out
    assert all(not LATIN_WORDS.search(h) for h in hints(out)), hints(out)


def test_floor_division_is_explained_not_replaced_by_division(tmp_path):
    out = run("validate", "--lang", "en",
              variant(tmp_path, ("base: site_costs - site_costs_in_promotion", "base: site_costs // 1万 * 1万")))
    assert "expressions have no floor division" in out
    [hint] = hints(out)[:1]
    assert "award form steps" in hint and "whole steps" in hint
    assert "use '/'" not in out


@pytest.mark.parametrize("function, advice", [("int", "round_to"), ("round", "round_to"), ("sum", "per_item"),
                                              ("float", "nothing needs converting")])
def test_a_python_function_is_said_to_be_missing_with_what_to_write_instead(tmp_path, function, advice):
    out = run("validate", "--lang", "en", variant(tmp_path, ("base: site_costs - site_costs_in_promotion",
                                                            f"base: {function}(site_costs)")))
    assert f"there is no function '{function}' in expressions" in out
    assert advice in hints(out)[0]
    assert "did you mean" not in out  # int is not a misspelt min


@pytest.mark.parametrize("expect, line_at, hint", [
    ("{outcome: eligble}", "eligble", "did you mean 'eligible'?"),
    ("{outcome: ineligible, reason: conditons}", "conditons", "did you mean 'conditions'?"),
])
def test_a_misspelt_outcome_or_reason_in_a_tests_file_gets_a_did_you_mean(tmp_path, expect, line_at, hint):
    tests = tmp_path / "t.tests.yaml"
    tests.write_text(f"policy: {LISHUI}\ncases:\n  - name: a\n"
                     "    facts: {recipient: seller, area: 莲都区, facts: {cbec_turnover: 600万元}, granted: {}}\n"
                     f"    expect:\n      \"2.3\": {expect}\n", encoding="utf-8")
    out = run("test", "--lang", "en", LISHUI, tests)
    assert f"{tests}:6:" in out and hint in out
    assert "'conditons' is not a reason the engine gives" in out if line_at == "conditons" else True


def lint_findings(path: Path) -> list[str]:
    out = run("lint", "--lang", "en", "--today", "2024-01-01", path)
    return [line for line in out.splitlines() if ": warning: " in line]


def test_a_rate_inside_a_money_cap_is_not_a_percentage_cap(tmp_path):
    path = variant(tmp_path, ("    cap: independent_site_cap\n",
                              "    cap: min((site_costs + platform_fees) * independent_site_rate, 50万元) - site_costs_in_promotion\n"))
    assert not [f for f in lint_findings(path) if "uses a percentage" in f]


def test_a_percentage_cap_is_flagged_at_the_cap(tmp_path):
    path = variant(tmp_path, ("    cap: independent_site_cap\n", "    cap: independent_site_rate + 0\n"))
    [found] = [f for f in lint_findings(path) if "uses a percentage" in f]
    assert found.startswith(f"{path}:{line_of(path, 'cap: independent_site_rate + 0')}:")


@pytest.mark.parametrize("place", ["in_force", "jurisdiction", "fund_year", None])
def test_a_reading_used_only_by_the_period_areas_or_fund_year_is_not_called_unused(tmp_path, place):
    text = LISHUI.read_text(encoding="utf-8")
    text = text.replace("  reading: Q6\n", "", 1)  # fund_year's; then every clause's, and Q6 is used nowhere
    text = text.replace("    reading: Q6\n", "").replace("[Q6, ", "[").replace(", Q6]", "]").replace(", Q6,", ",")
    if place is not None:
        anchor = {"in_force": "  text: 本意见自2022年2月1日起施行", "jurisdiction": "  areas: [市直",
                  "fund_year": "  fact: claim_year"}[place]
        text = text.replace(anchor, "  reading: Q6\n" + anchor, 1)
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    for fmt in ("markdown", "html"):
        out = run("render", path, "--format", fmt)
        assert ("未被任何条款引用" in out) == (place is None), out[-3000:]


PHRASES = ("以上", "超过", "不低于", "不超过", "最高", "每满", "每增加", "分别给予", "就高不重复", "一次性", "累计", "首次",
           "同比", "年均", "按…执行", "以内", "达到", "届满")


def test_the_phrase_book_has_every_phrasing_and_its_encodings_are_the_shipped_ones():
    book = (ROOT / "docs" / "phrasebook.md").read_text(encoding="utf-8")
    headings = [line for line in book.splitlines() if line.startswith("### ")]
    assert [p for p in PHRASES if not any(p in h for h in headings)] == []
    shipped = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "policies").glob("*.yaml"))
    quoted = re.findall(r"→ `(?:if: )?([^`]+)`", book)
    assert len(quoted) >= 5
    assert [q for q in quoted if q not in shipped] == []  # each encoding it shows is the one a shipped file uses
    assert "docs/phrasebook.md" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(phrasebook.md)" in (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
