"""`policy lint` checks each clause's numbers against its source sentence: a transcription slip is found at its line."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from policy_variants import line_of, variant

from cli import cli
from engine.tools.numbers import literals_in, numbers_in

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = [p for p in sorted((ROOT / "policies").rglob("*.yaml")) if not p.name.endswith(".tests.yaml")]


# A day each shipped policy is in force on, far from its expiry (杭政函〔2019〕99号 ran until 2022-10-30).
TODAY = {"hangzhou-2019-99.yaml": "2021-06-30"}


def lint(path: Path, lang: str = "en") -> list[str]:
    out = CliRunner().invoke(cli, ["lint", str(path), "--today", TODAY.get(path.name, "2024-01-01"), "--lang", lang,
                                   "--policies", str(ROOT / "policies")]).output
    return [line for line in out.splitlines() if ": warning: " in line or ": 警告：" in line or "hint" in line
            or "提示" in line]


def read(text: str) -> list[tuple[str, set[Decimal]]]:
    return [(n.shown, set(n.values)) for n in numbers_in(text) if n.reported]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_policies_lint_clean(path):
    assert lint(path) == []


def test_a_cap_typed_5万元_for_50万元_is_found_at_the_parameter_value(tmp_path):
    path = variant(tmp_path, ("    value: 50万元\n    text: 最高不超过50万元", "    value: 5万元\n    text: 最高不超过50万元"))
    found = lint(path)
    assert len(found) == 2, found  # the finding and its hint: one slip, one warning
    assert found[0].startswith(f"{path}:{line_of(path, 'value: 5万元')}:")
    assert "parameter warehouse_build_cap (公共海外仓一次性补助上限) is 5万元, a number its text: does not state" in found[0]
    assert "states 50万元" in found[1]


def test_a_threshold_typed_7_percent_for_70_percent_is_found_at_the_condition(tmp_path):
    path = variant(tmp_path, ("if: park_cbec_share >= 70%", "if: park_cbec_share >= 7%"))
    found = lint(path, "zh")
    assert len(found) == 2, found
    assert found[0].startswith(f"{path}:{line_of(path, 'park_cbec_share >= 7%')}:")
    assert "第 4.1 项的规则用了 7%，而该项原文（text:）中没有这个数" in found[0]
    assert "原文中有 70%，规则没有用到" in found[1]


def test_a_slip_in_the_source_text_is_found_at_the_text(tmp_path):
    path = variant(tmp_path, ("每月5元的补助，连续", "每月6元的补助，连续"))
    found = lint(path)
    assert found[0].startswith(f"{path}:{line_of(path, '每平方米每月6元的补助')}:")
    assert "clause 4.2's text states 6元, which its rule never uses" in found[0]
    assert "36、5" in found[1]  # what the rule does use: 36 months and 5元


def test_a_threshold_of_another_clause_is_not_taken_for_this_ones(tmp_path):
    # 2.3 (same article) has 50万元 as its cap, not as a threshold: 2.2's condition typed 50万元 is still a slip.
    path = variant(tmp_path, ("      - if: cbec_turnover >= 500万元\n        label: 年度跨境电商交易额达500万元以上\n"
                              "        reading: Q7\n    award:\n      base: platform_fees",
                              "      - if: cbec_turnover >= 50万元\n        label: 年度跨境电商交易额达500万元以上\n"
                              "        reading: Q7\n    award:\n      base: platform_fees"))
    found = lint(path)
    assert "clause 2.2's rule uses 50万元" in found[0]
    assert "the text states 500万元, which the rule never uses" in found[1]


def test_dollars_in_the_text_are_not_yuan_in_the_rule(tmp_path):
    path = variant(tmp_path, ("年度跨境电商交易额达500万元以上的企业，给予企业向第三方平台",
                              "年度跨境电商交易额达500万美元以上的企业，给予企业向第三方平台"))
    found = lint(path)
    assert found[0].startswith(f"{path}:{line_of(path, '500万美元以上的企业') - 1}:")  # text: >-
    assert "clause 2.2's text states 500万美元, which its rule never uses" in found[0]


def test_a_county_value_under_the_citys_words_is_not_a_slip():
    # qingtian-example pays 40% under the city's 2.2, whose sentence says 50%: it is the county's own number.
    assert lint(ROOT / "policies" / "examples" / "qingtian-example.yaml") == []


@pytest.mark.parametrize("text, expected", [
    ("年度跨境电商交易额达500万元以上", [("500万元", {Decimal(5_000_000)})]),
    ("开展推广支出费用50%补助", [("50%", {Decimal("0.5")})]),
    ("使用面积达1万平米以上", [("1万", {Decimal(10_000)})]),
    ("年跨境电商交易总额达到2亿元", [("2亿元", {Decimal(200_000_000)})]),
    ("每年招生人数不低于30人", [("30", {Decimal(30)})]),
    ("达 500 万元以上", [("500 万元", {Decimal(5_000_000)})]),
    ("达５００万元、７０％以上", [("500万元", {Decimal(5_000_000)}), ("70%", {Decimal("0.7")})]),
    ("交易额达5,000,000元", [("5,000,000元", {Decimal(5_000_000)})]),
    ("2年内跨境电商交易额首次达500万元/年", [("2年", {Decimal(2), Decimal(24)}), ("500万元", {Decimal(5_000_000)})]),
    ("分别给予不超过20万、50万、100万元", [("20万", {Decimal(200_000)}), ("50万", {Decimal(500_000)}),
                                     ("100万元", {Decimal(1_000_000)})]),
    ("给予10-20万元补助", [("10", {Decimal(10), Decimal(100_000)}), ("20万元", {Decimal(200_000)})]),
    ("超过1亿美元的", [("1亿美元", {Decimal(100_000_000)})]),
])
def test_numbers_a_sentence_states(text, expected):
    assert read(text) == expected


@pytest.mark.parametrize("text", [
    "第二条 （二）本意见自2022年2月1日起施行，有效期五年",
    "参照《丽水市…》（丽政办发〔2020〕1号）文件执行",
    "2.1 首次开展跨境电商的企业",
    "开展B2B、B2C进出口业务，符合ISO9001",
    "自2022-02-01起；9月26日前申报",
    "每新增1家企业，给予平台运营企业资金奖励",  # 每…1家: one at a time, not a number the rule writes
])
def test_what_is_not_a_number_the_rule_could_use(text):
    assert read(text) == []


def test_numbers_in_words_are_matched_but_never_reported():
    [years] = numbers_in("连续补助三年")
    assert years.values == {Decimal(3), Decimal(36)} and not years.reported  # 36 months in the rule
    [rate] = numbers_in("按百分之五十给予补助")
    assert rate.values == {Decimal("0.5")}


def test_the_numbers_a_rule_writes():
    found = literals_in("min((a + b) * rate, 30万元) - x >= 1,000 and d == date('2024-01-01') and r2 > 50%")
    assert [(x.shown, x.value, x.currency) for x in found] == [
        ("30万元", Decimal(300_000), "CNY"), ("1,000", Decimal(1000), None), ("50%", Decimal("0.5"), None)]

