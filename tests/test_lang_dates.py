"""Anniversaries (issue 21): "一年内（含满一年之日）" stated once and exact to the day, leap days included."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from test_runtime_generate import from_yaml, same

from cli import cli
from engine import applicant_from_data, load_policy
from engine.core.dates import days_after, months_after, months_between, years_after, years_between
from engine.core.errors import PolicyError

POLICY = """\
id: anniversary-test
document: 测试〔2024〕1号
title: 测试
in_force: {from: 2020-01-01, until: 2030-12-31}
money: {currency: CNY, round_to: 0.01, rounding: half_up}
recipients: {enterprise: {label: 企业}}
facts:
  settled_on: {type: date, label: 落户日期}
clauses:
  - id: "1"
    title: 落户奖励
    recipient: enterprise
    when:
      - if: CONDITION
        label: 落户一年内
    award: {fixed: 10万元}
"""
INCLUSIVE = "claim_date <= years_after(settled_on, 1)"
EXCLUSIVE = "claim_date < years_after(settled_on, 1)"


def write(tmp_path: Path, condition: str, settled: str, claimed: str) -> tuple[Path, Path]:
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.replace("CONDITION", condition), encoding="utf-8")
    facts = tmp_path / "f.yaml"
    facts.write_text(f"recipient: enterprise\ndate: {claimed}\nfacts: {{settled_on: {settled}}}\ngranted: {{}}\n",
                     encoding="utf-8")
    return policy, facts


def outcome(tmp_path: Path, condition: str, settled: str, claimed: str) -> str:
    policy, facts = write(tmp_path, condition, settled, claimed)
    out = CliRunner().invoke(cli, ["evaluate", str(policy), str(facts), "--lang", "en"]).output
    return out.split("\n")[3].split("]")[0] + "]"


def test_the_day_whole_periods_later_keeps_the_day_or_takes_the_months_last():
    d = dt.date
    assert years_after(d(2024, 2, 29), 1) == d(2025, 2, 28)  # the leap day's anniversary in a common year
    assert years_after(d(2024, 2, 29), 4) == d(2028, 2, 29)
    assert months_after(d(2024, 1, 31), 1) == d(2024, 2, 29) and months_after(d(2023, 1, 31), 1) == d(2023, 2, 28)
    assert months_after(d(2024, 11, 30), 3) == d(2025, 2, 28) and months_after(d(2024, 5, 15), 0) == d(2024, 5, 15)
    assert days_after(d(2024, 2, 28), 1) == d(2024, 2, 29) and days_after(d(2023, 12, 31), 366) == d(2024, 12, 31)
    assert years_after(d(9999, 6, 1), 1) == dt.date.max  # past the last nameable day: later than any claim


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
       st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)), st.integers(0, 240))
def test_the_day_agrees_with_the_counts(start, end, n):
    # "n whole months have passed" and "the day is on or after the n-th month's day" are one statement, for every
    # n >= 1, and for n = 0 when the day is not before the start: a count back from a later start goes toward zero
    # (less than a month before is 0 months), as docs/language.md says
    if n == 0 and end < start:
        assert months_between(start, end) <= 0 and years_between(start, end) <= 0
        return
    assert (months_between(start, end) >= n) == (end >= months_after(start, n))
    assert (years_between(start, end) >= n // 12) == (end >= years_after(start, n // 12))


@pytest.mark.parametrize(("condition", "claimed", "said"), [
    (INCLUSIVE, "2025-02-28", "[eligible]"),     # the first anniversary of 29 Feb 2024, included
    (INCLUSIVE, "2025-03-01", "[ineligible]"),   # the day after: no 13th month creeps in
    (EXCLUSIVE, "2025-02-28", "[ineligible]"),   # 不满一年: the anniversary itself is out
    (EXCLUSIVE, "2025-02-27", "[eligible]"),
])
def test_within_a_year_is_exact_to_the_day_inclusive_or_exclusive(tmp_path, condition, claimed, said):
    assert outcome(tmp_path, condition, "2024-02-29", claimed) == said


def test_the_review_page_names_the_anniversary(tmp_path):
    policy, _ = write(tmp_path, INCLUSIVE, "2024-02-29", "2025-02-28")
    out = tmp_path / "r.html"
    CliRunner().invoke(cli, ["render", str(policy), "-o", str(out)])
    assert "落户日期满1年之日" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("count", ["1.5", "n_years", "-1", "2000"])
def test_the_count_of_periods_is_a_whole_number_written_out(tmp_path, count):
    policy, _ = write(tmp_path, f"claim_date <= years_after(settled_on, {count})", "2024-02-29", "2025-02-28")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(policy))
    text = caught.value.format("en")
    assert "p.yaml:14:" in text and "the second argument of years_after() must be a whole number" in text
    assert "<= includes it, < does not" in text


@pytest.mark.parametrize("claimed", ["2025-02-27", "2025-02-28", "2025-03-01", "2024-02-29"])
@pytest.mark.parametrize("condition", [INCLUSIVE, EXCLUSIVE, "claim_date <= months_after(settled_on, 6)",
                                       "claim_date < days_after(settled_on, 30)"])
def test_generated_code_agrees_with_the_interpreter(condition, claimed):
    policy = from_yaml(POLICY.replace("CONDITION", condition))
    applicant = applicant_from_data(policy, {"recipient": "enterprise", "facts": {"settled_on": "2024-02-29"},
                                             "granted": {}})
    assert same(policy, applicant, dt.date.fromisoformat(claimed))


def test_the_sheet_shows_the_days_compared(tmp_path):
    policy, facts = write(tmp_path, INCLUSIVE, "2024-02-29", "2025-03-01")
    out = CliRunner().invoke(cli, ["evaluate", str(policy), str(facts)]).output
    assert "✗ 落户一年内：申报日期 = 2025-03-01，落户日期 = 2024-02-29（2025-03-01 ≤ 2025-02-28）" in out


def test_an_item_field_anniversary_counts_items_alike_in_both_paths():
    # 丽水 第六条 "2年内…首次达500万元": reached on the second anniversary counts, the day after does not
    policy = load_policy(str(Path(__file__).parent / "fixtures" / "anniversary-items.yaml"))
    applicant = applicant_from_data(policy, {"recipient": "incubator", "granted": {}, "facts": {"incubated": [
        {"name": "甲", "started_on": "2022-02-28", "reached_on": "2024-02-28"},
        {"name": "乙", "started_on": "2022-02-28", "reached_on": "2024-02-29"}]}})
    fast = same(policy, applicant, dt.date(2024, 5, 1))
    assert fast[0] == 20000  # one item of 2万元


def test_the_peoples_sheet_shows_the_days_compared_too(tmp_path):
    # the HTML sheet words its conditions with the text sheet's function: the anniversary is shown on both
    policy, facts = write(tmp_path, INCLUSIVE, "2024-02-29", "2025-03-01")
    out = CliRunner().invoke(cli, ["evaluate", str(policy), str(facts), "--format", "html"]).output
    assert "落户一年内：申报日期：2025-03-01，落户日期：2024-02-29（2025-03-01 ≤ 2025-02-28）" in out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
                          st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))),
                min_size=1, max_size=50))
def test_the_round_query_counts_months_and_years_as_the_engine(pairs):
    import duckdb

    from engine.runtime.sql import _months_between, _years_between

    con = duckdb.connect()
    con.execute("CREATE TABLE p (a DATE, b DATE)")
    con.executemany("INSERT INTO p VALUES (?, ?)", pairs)
    found = con.execute(f"SELECT a, b, {_months_between('a', 'b')}, {_years_between('a', 'b')} FROM p").fetchall()
    assert [(m, y) for _a, _b, m, y in found] == [(months_between(a, b), years_between(a, b)) for a, b in pairs]
