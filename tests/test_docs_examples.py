"""The README's and docs/language.md's examples, run: a renamed field or a respelt key fails here, not in front of
an officer copying the example (issue 21)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from engine import check_facts, load_policy

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
LANGUAGE = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
HEAD = """\
id: docs-example
document: 测试〔2024〕1号
title: 文档示例
in_force: {from: 2020-01-01, until: 2030-12-31}
money: {currency: CNY, round_to: 0.01, rounding: half_up}
recipients: {enterprise: {label: 企业}}
"""
CLAUSE = """\
clauses:
  - id: "1"
    title: 示例
    recipient: enterprise
    when:
      - WHEN
    award: {fixed: 10万元}
"""


def block_after(text: str, heading: str) -> str:
    """The first ```yaml block after `heading`."""
    found = re.search(re.escape(heading) + r".*?```yaml\n(.*?)```", text, re.DOTALL)
    assert found, f"no yaml block after {heading!r}"
    return found.group(1)


def compiled(tmp_path: Path, body: str, when: str = "claim_date >= date('2020-01-01')"):
    path = tmp_path / "p.yaml"
    path.write_text(HEAD + body + CLAUSE.replace("WHEN", when), encoding="utf-8")
    return load_policy(str(path))


def test_the_readme_list_fact_cell_uses_todays_field_names():
    found = re.search(r"keyed by the\s+item's field names: `(\[.*?\])`", README, re.DOTALL)
    assert found, "the README shows no list-fact cell"
    items = json.loads(found.group(1))
    policy = load_policy(str(ROOT / "policies" / "lishui-2021-67.yaml"))
    fields = policy.facts["incubated_enterprises"].items
    assert set(items[0]) <= set(fields), set(items[0]) - set(fields)
    applicant = check_facts(policy, {"recipient": "incubator", "facts": {"incubated_enterprises": items}})
    assert applicant.values["incubated_enterprises"][0]["name"] == "甲公司"


def test_the_currency_example_compiles(tmp_path):
    policy = compiled(tmp_path, block_after(LANGUAGE, "**Other currencies.**"), "trade_cny > 1亿元")
    assert policy.currencies["USD"].rate == "usd_rate"


def test_the_cost_window_example_compiles(tmp_path):
    block = block_after(LANGUAGE, "**Cost windows (支持时间).**")  # a window over the fund year needs one
    policy = compiled(tmp_path, "fund_year: {fact: claim_year}\n" + block.replace(
        "facts:\n", "facts:\n  claim_year: {type: integer, label: 申报所属年度}\n", 1))
    window = policy.facts["site_costs"].window
    assert window is not None and window.dates == ("costs_from", "costs_until") and str(window.end) == "2022-12-31"
    assert policy.facts["service_revenue"].window.fund_year


@pytest.mark.parametrize("expression", re.findall(r"`(claim_date [<>]=? \w+_after\([^`]*\))`",
                                                  LANGUAGE.split("**Anniversaries.**")[1].split("**Cost windows")[0]))
def test_each_anniversary_in_the_table_compiles(tmp_path, expression):
    dates = "facts:\n" + "".join(f"  {n}: {{type: date, label: {n}}}\n" for n in ("settled_on", "founded_on", "x"))
    compiled(tmp_path, dates, expression)


def test_the_anniversary_table_is_read():
    assert len(re.findall(r"`claim_date [<>]=? \w+_after\(", LANGUAGE)) >= 4


def test_docs_examples_are_yaml():
    for heading in ("**Other currencies.**", "**Cost windows (支持时间).**"):
        assert isinstance(yaml.safe_load(block_after(LANGUAGE, heading)), dict)
