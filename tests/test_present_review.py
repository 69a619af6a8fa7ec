"""The review rendering: what an officer checking the policy without YAML sees, in Markdown and HTML."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from engine import load_policy
from engine.core.format import officer_money, officer_number
from engine.model.policy import DatedValue
from engine.present.review import render_html, render_markdown, source_text

ROOT = Path(__file__).resolve().parent.parent
LISHUI = str(ROOT / "policies" / "lishui-2021-67.yaml")


@pytest.fixture(scope="module")
def policy():
    return load_policy(LISHUI)


def amended(policy):
    """Lishui with the 2.2 rate lowered to 40% from 2025-01-01, as an officer's amendment would read."""
    rate = policy.parameters["volume_seller_rate"]
    later = DatedValue(start=dt.date(2025, 1, 1), value=Decimal("0.40"), source="丽政办发〔2024〕99号")
    parameters = dict(policy.parameters)
    parameters["volume_seller_rate"] = dataclasses.replace(rate, values=(rate.values[0], later))
    return dataclasses.replace(policy, parameters=parameters)


@pytest.mark.parametrize("value, expected", [
    (Decimal(100_000), "10万元"), (Decimal(200_000_000), "2亿元"), (Decimal(5), "5元"),
    (Decimal(150_000), "15万元"), (Decimal(15_000), "15,000元"), (Decimal("12345.5"), "12,345.50元"),
    (Decimal(1_000_000), "100万元"), (Decimal(250_000_000), "25,000万元"), (Decimal(0), "0元"),
])
def test_money_is_shown_as_officers_write_it(value, expected):
    assert officer_money(value) == expected


def test_numbers_use_wan_only_when_even():
    assert officer_number(Decimal(10_000)) == "1万"
    assert officer_number(Decimal(12_500)) == "12,500"
    assert officer_number(Decimal("2.5")) == "2.5"


def test_folded_chinese_source_text_has_no_stray_spaces():
    assert source_text("推广费等费用，\n  以及借助 社交媒体") == "推广费等费用，以及借助社交媒体"
    assert source_text("Article 2 applies") == "Article 2 applies"


@pytest.mark.parametrize("render", [render_markdown, render_html])
def test_every_clause_and_its_source_text_appear(policy, render):
    out = render(policy, "zh")
    for clause in policy.clauses:
        assert clause.title in out
        assert source_text(clause.text) in out, f"source text of {clause.id} missing"
    for article in ("第一条", "第二条", "第三条", "第四条", "第五条", "第六条", "第七条", "第八条", "第九条", "第十条"):
        assert article in out
    assert "丽政办发〔2021〕67号" in out and "2022-02-01" in out and "2027-01-31" in out
    assert "四舍五入" in out and "丽水经济技术开发区" in out


def test_markdown_lists_clause_ids_in_order(policy):
    out = render_markdown(policy, "zh")
    headings = re.findall(r"^### (\S+) ", out, flags=re.M)
    assert headings[:len(policy.clauses)] == [c.id for c in policy.clauses]


def test_html_has_an_anchor_per_clause(policy):
    out = render_html(policy, "zh")
    for clause in policy.clauses:
        assert f'id="clause-{clause.id}"' in out


@pytest.mark.parametrize("render", [render_markdown, render_html])
def test_rules_are_spelled_in_words(policy, render):
    out = render(policy, "zh")
    assert "年度跨境电商交易额 ≥ 500万元" in out          # a condition with the fact's label and ≥
    assert "园区年跨境电商交易总额 ≥ 2亿元" in out
    assert "直接或间接持有独立站域名所有权主体的股份或份额 ≥ 50%" in out
    assert "第三方平台注册费、服务费、推广费等费用及数字化平台推广支出费用 × 50%" in out
    assert "5元/平方米/月 × 租用场地面积 × 本次申请补助的月数" in out and "36月" in out
    assert "每个符合条件的成功孵化、2年内首次达500万元/年的企业 1万元" in out
    assert "第 5.1 项上限提高 10万元" in out  # Q3: the bonus raises 5.1's cap
    assert "定额 100万元" in out
    assert "补助标准按《丽水市人民政府办公室关于促进丽水市电子商务发展的实施意见》（丽政办发〔2020〕1号）执行" in out
    for period in ("一次性", "每年"):
        assert period in out


def test_caps_are_shown_with_their_period(policy):
    out = render_markdown(policy, "zh")
    section = out.split("### 2.2 ")[1].split("### 2.3 ")[0]
    assert "- **上限**：30万元" in section and "- **上限计算期间**：每年" in section
    section = out.split("### 4.2 ")[1].split("## 第五条")[0]
    assert "未设上限" in section


@pytest.mark.parametrize("render", [render_markdown, render_html])
def test_parameter_history_shows_every_dated_value(policy, render):
    out = render(amended(policy), "zh")
    assert "丽政办发〔2024〕99号" in out
    assert "2024-12-31" in out  # the first value ends the day before the amendment starts
    assert "自 2025-01-01 起 40%" in out  # and the clause itself shows the change
    row = re.search(r"2025-01-01.{0,80}?40%.{0,80}?丽政办发〔2024〕99号", out, flags=re.S)
    assert row, "the amendment's row (from, value, source) is missing"


@pytest.mark.parametrize("render", [render_markdown, render_html])
def test_readings_show_question_choice_and_users(policy, render):
    out = render(policy, "zh").replace("\\", "")  # Markdown escapes (top\\_up) are not what a reader sees
    q1 = policy.readings["Q1"]
    assert q1.question in out and q1.choice in out
    for alternative in q1.alternatives:
        assert alternative.choice in out and (alternative.effect or "") in out
    assert "platform-expenses" in out


def test_a_reading_no_clause_uses_is_flagged(policy):
    from engine.model.policy import Reading

    readings = dict(policy.readings)
    readings["Q99"] = Reading("Q99", "无人引用的问题？", "随便")
    out = render_markdown(dataclasses.replace(policy, readings=readings), "zh")
    assert "未被任何条款引用" in out.split("### Q99")[1]


def test_user_text_is_escaped(policy):
    clause = dataclasses.replace(policy.clauses[1], title="<script>alert(1)</script>", text="a & b <b>")
    hostile = dataclasses.replace(policy, title='"><img src=x onerror=alert(1)>',
                                  clauses=(policy.clauses[0], clause) + policy.clauses[2:])
    page = render_html(hostile, "zh")
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "a &amp; b &lt;b&gt;" in page
    text = render_markdown(hostile, "zh")
    assert not re.search(r"(?<!\\)<", text), "an unescaped < would be raw HTML in a Markdown viewer"
    assert r"\<script\>alert(1)\</script\>" in text


SCRIPT, QUOTES = "<script>alert(1)</script>", '"quotes" & <b>'
# Every element the review template writes; anything else in a page was made from a policy's text.
TEMPLATE_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "header", "p", "h1", "h2", "h3", "br",
                 "dl", "dt", "dd", "q", "small", "nav", "a", "section", "article", "span", "div", "ul", "li", "strong", "table",
                 "thead", "tbody", "tr", "th", "td", "code"}


class _Page(HTMLParser):
    """The elements, attribute names and text of a page, as a browser's parser splits them."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)

    def handle_data(self, data):
        self.text.append(data)


def test_nothing_user_written_becomes_markup(policy):
    """Hostile text in a clause's title, source text and condition label, and in the labels, readings and
    notes the rule column shows, is text on the page: escaped in HTML, inert in Markdown."""
    clause = policy.clause("2.2")
    condition = dataclasses.replace(clause.conditions[0], label=f"{SCRIPT} {QUOTES}")
    hostile_clause = dataclasses.replace(clause, title=SCRIPT, text=f"{QUOTES} {SCRIPT}", note=QUOTES,
                                         conditions=(condition,))
    facts = dict(policy.facts)
    facts["cbec_turnover"] = dataclasses.replace(facts["cbec_turnover"], label=QUOTES)
    parameters = dict(policy.parameters)
    parameters["volume_seller_rate"] = dataclasses.replace(parameters["volume_seller_rate"], label=SCRIPT)
    readings = dict(policy.readings)
    readings["Q1"] = dataclasses.replace(readings["Q1"], question=SCRIPT, choice=QUOTES)
    hostile = dataclasses.replace(
        policy, facts=facts, parameters=parameters, readings=readings, issuer=QUOTES,
        clauses=tuple(hostile_clause if c.id == "2.2" else c for c in policy.clauses))

    page = render_html(hostile, "zh")
    assert "<script" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;quotes&#34; &amp; &lt;b&gt;" in page or "&quot;quotes&quot; &amp; &lt;b&gt;" in page
    parsed = _Page(page)
    assert parsed.tags <= TEMPLATE_TAGS, parsed.tags - TEMPLATE_TAGS
    assert parsed.attributes <= {"lang", "charset", "name", "content", "class", "id", "href", "rowspan"}
    text = "".join(parsed.text)
    for shown in (SCRIPT, QUOTES, f"{SCRIPT} {QUOTES}", f"{QUOTES} {SCRIPT}"):
        assert shown in text  # the reviewer reads exactly what the author wrote
    clause_html = page.split('id="clause-2.2"')[1].split("</article>")[0]
    assert clause_html.count("&lt;script&gt;") == 3  # title, source text, condition label

    markdown = render_markdown(hostile, "zh")
    outside_code = re.sub(r"`[^`]*`", "", markdown)  # inside a code span (the spelled expression) < is literal
    assert not re.search(r"(?<!\\)<", outside_code), "an unescaped < would be raw HTML in a Markdown viewer"
    assert r"\<script\>alert(1)\</script\>" in markdown and r'"quotes" & \<b\>' in markdown


def test_the_stylesheet_is_inlined_as_written(policy):
    css = (ROOT / "engine" / "present" / "templates" / "review.css").read_text(encoding="utf-8")
    page = render_html(policy, "zh")
    assert css in page.split("<style>")[1].split("</style>")[0]


def test_document_number_cannot_break_out_of_the_print_header(policy):
    page = render_html(dataclasses.replace(policy, document='X"}</style><script>x</script>'), "zh")
    assert "<script>" not in page and page.count("</style>") == 1


def test_english_headings(policy):
    out = render_markdown(policy, "en")
    assert "Policy rules for review" in out and "Parameters and their history" in out
    assert "- **Cap**: 10万元" in out


def test_html_is_self_contained(policy):
    page = render_html(policy, "zh")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, flags=re.I)
    assert "@import" not in page and not re.search(r"url\(", page, flags=re.I)
    assert "<script" not in page and "<link" not in page
    assert "@media print" in page and "break-inside: avoid" in page


def test_cli_render_prints_markdown(policy):
    result = CliRunner().invoke(cli, ["render", LISHUI])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# 丽政办发〔2021〕67号")


def test_cli_render_never_overwrites_without_force(tmp_path):
    target = tmp_path / "review.html"
    target.write_text("reviewer's notes", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["render", LISHUI, "--format", "html", "-o", str(target), "--lang", "en"])
    assert result.exit_code == 1
    assert "--force" in result.output and "already exists" in result.output
    assert target.read_text(encoding="utf-8") == "reviewer's notes"
    result = runner.invoke(cli, ["render", LISHUI, "--format", "html", "-o", str(target), "--force"])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_cli_render_writes_a_new_file(tmp_path):
    target = tmp_path / "review.md"
    result = CliRunner().invoke(cli, ["render", LISHUI, "-o", str(target), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "Source text" in target.read_text(encoding="utf-8")


def test_cli_render_reports_a_broken_policy(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["render", str(broken)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output


def test_a_county_review_flags_numbers_that_differ_from_the_city_text():
    from engine import load_policy

    county = load_policy(str(Path(__file__).resolve().parent.parent / "policies" / "examples" / "qingtian-example.yaml"))
    page = render_markdown(county, "en")
    section = page[page.index("### 2.1"):page.index("### 2.2")]
    assert "Numbers that differ from the source text" in section and "8万元" in section
    assert "changed by policies/examples/qingtian-example.yaml" in section or "qingtian-example.yaml" in section
    lishui = render_markdown(load_policy(str(Path(__file__).resolve().parent.parent / "policies" / "lishui-2021-67.yaml")), "en")
    assert "Numbers that differ from the source text" not in lishui


def _grouped(size: int) -> str:
    clauses = "".join(f"  - {{id: c{i}, title: 条款{i}, recipient: s, award: {{fixed: 1}}}}\n" for i in range(size))
    members = ", ".join(f"c{i}" for i in range(size))
    return ("id: grouped\ndocument: X\ntitle: X\nin_force: {from: 2020-01-01}\n"
            "money: {currency: CNY, round_to: 0.01, rounding: half_up}\nrecipients: {s: {label: s}}\n"
            f"clauses:\n{clauses}groups:\n  - {{id: big, pick: best, members: [{members}]}}\n")


@pytest.mark.parametrize("size", [8, 9])
def test_a_large_group_is_named_once_not_listed_beside_each_member(tmp_path, size):
    """Up to 8 members each clause lists the others; beyond that it names the group and links to its entry,
    which lists the members once (4,000 members gave 126 MB of HTML)."""
    path = tmp_path / "grouped.yaml"
    path.write_text(_grouped(size), encoding="utf-8")
    grouped = load_policy(str(path))
    html, md = render_html(grouped, "en"), render_markdown(grouped, "zh")
    if size == 8:
        assert "with clause c1, c2, c3, c4, c5, c6, c7: the better one pays" in html
        assert "与第 c0、c2、c3、c4、c5、c6、c7 项：就高享受" in md
        assert 'id="group-big"' not in html and "#group-big" not in html
    else:
        assert html.count('<a href="#group-big">with the other 8 clauses of group big (listed under Which clauses '
                          'stack): the better one pays</a>') == size
        assert '<li id="group-big">big: c0 条款0, c1 条款1' in html
        assert md.count("与分组 big 的其余 8 项（见“叠加与不叠加”）：就高享受") == size
        assert "- big：c0 条款0、c1 条款1、" in md


def test_a_bonus_added_on_top_is_spelled_in_words():
    # The shipped file raises 5.1's cap (Q3); read the other way, the bonus is added on top of 5.1's amount.
    from policy_variants import LISHUI

    from engine.workspace import load_reading
    on_top = load_reading(str(LISHUI), "Q3")
    assert "在第 5.1 项金额之上增加 10万元" in render_markdown(on_top, "zh")
