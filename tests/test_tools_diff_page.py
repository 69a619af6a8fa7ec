"""`policy diff … --cases … --format html`: one page that draws who gains and who loses (a bar per applicant, its
length by the change in its total, gains right of the line and losses left) and the change in outlay per clause,
lists them, and works offline (no script, nothing fetched); for two files and for `--reading`."""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import yaml
from click.testing import CliRunner

from cli import cli

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
BASE, AMENDED, CASES = FIXTURES / "lishui-base.yaml", FIXTURES / "lishui-amended.yaml", FIXTURES / "diff-cases.yaml"
LISHUI = ROOT / "policies" / "lishui-2021-67.yaml"


class Bars(HTMLParser):
    """Each chart's bars, as drawn: (figure title, kind, tooltip, x, width) for every <g class="bar …">."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: list[dict] = []
        self.tags: set[str] = set()
        self.links: list[str] = []
        self._bar: dict | None = None
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        for key in ("src", "href"):
            if key in a:
                self.links.append(a[key])
        if tag == "figure":
            self.charts.append({"title": "", "bars": [], "middle": None})
        elif tag == "strong" and self.charts and not self.charts[-1]["title"]:
            self._in = "title"
        elif tag == "line" and self.charts:
            self.charts[-1]["middle"] = Decimal(a["x1"])
        elif tag == "g" and "bar" in a.get("class", ""):
            self._bar = {"kind": a["class"].split()[1], "tip": ""}
            self.charts[-1]["bars"].append(self._bar)
        elif tag == "title" and self._bar is not None:
            self._in = "tip"
        elif tag == "rect" and self._bar is not None:
            self._bar["x"], self._bar["width"] = Decimal(a["x"]), Decimal(a["width"])

    def handle_endtag(self, tag):
        if tag == "g":
            self._bar = None
        self._in = None

    def handle_data(self, data):
        if self._in == "title":
            self.charts[-1]["title"] += data
        elif self._in == "tip" and self._bar is not None:
            self._bar["tip"] += data


def page(*args: str) -> tuple[str, Bars]:
    done = CliRunner().invoke(cli, ["diff", *args, "--format", "html"])
    assert done.exit_code == 0, done.output
    parsed = Bars()
    parsed.feed(done.output)
    return done.output, parsed


def test_who_gains_is_drawn_a_bar_each_right_of_the_line_by_how_much(tmp_path):
    html, drawn = page(str(BASE), str(AMENDED), "--cases", str(CASES))
    who, clauses = drawn.charts
    assert who["title"] == "各申请人合计的增减"
    tips = [b["tip"] for b in who["bars"]]
    assert tips == ["卖家甲 交易额450万元：+300,000.00元（30万元）", "卖家乙 交易额800万元：+100,000.00元（10万元）",
                    "卖家丙 首次开展且交易额600万元：+50,000.00元（5万元）"]
    assert all(b["kind"] == "gain" and b["x"] == who["middle"] for b in who["bars"])
    widths = [b["width"] for b in who["bars"]]
    assert abs(widths[0] / widths[1] - 3) < Decimal("0.01") and abs(widths[0] / widths[2] - 6) < Decimal("0.02")
    # the change in outlay per clause: 2.2 pays three applicants 450,000 more
    assert clauses["title"].startswith("各条款资金变化")
    assert [b["tip"] for b in clauses["bars"]] == ["2.2 年交易额500万元以上企业补助（第二条）：+450,000.00元（45万元）"]
    assert "2.2 多得（3 人）" in html
    assert "资金总额" in html and "1,350,000.00元（135万元） → 1,800,000.00元（180万元）（+450,000.00元（45万元））" in html
    # listed as well as drawn, and the policy's changes below
    assert "卖家甲 交易额450万元" in html and "tests/fixtures/diff-cases.yaml:6" in html
    assert "cbec_turnover &gt;= 400万元" in html
    # offline: nothing to run, nothing fetched
    assert "script" not in drawn.tags and drawn.links == []
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", html)


def test_who_loses_is_drawn_left_of_the_line(tmp_path):
    _html, drawn = page(str(AMENDED), str(BASE), "--cases", str(CASES))
    who = drawn.charts[0]
    assert [b["kind"] for b in who["bars"]] == ["loss"] * 3
    assert all(b["x"] + b["width"] == who["middle"] for b in who["bars"])
    assert who["bars"][-1]["tip"] == "卖家甲 交易额450万元：-300,000.00元（-30万元）"  # the largest loss last


def test_a_reading_with_gains_and_losses_draws_both_and_each_clause_both_ways(tmp_path):
    out = tmp_path / "q6.html"
    done = CliRunner().invoke(cli, ["diff", str(LISHUI), "--reading", "Q6", "--cases",
                                    str(LISHUI.with_name("lishui-2021-67.tests.yaml")), "--format", "html",
                                    "-o", str(out)])
    assert done.exit_code == 0, done.output
    drawn = Bars()
    drawn.feed(out.read_text(encoding="utf-8"))
    who, clauses = drawn.charts
    kinds = [b["kind"] for b in who["bars"]]
    assert "gain" in kinds and "loss" in kinds and kinds == sorted(kinds)  # gains first, then losses
    amounts = [Decimal(re.search(r"：([+-][\d,.]+)元", b["tip"]).group(1).replace(",", "")) for b in who["bars"]]
    assert amounts == sorted(amounts, reverse=True)
    # per clause, what is paid more and what less are each a bar; their net is said in the caption
    assert {(b["tip"].split()[0], b["kind"]) for b in clauses["bars"]} >= {("6.1", "gain"), ("6.1", "loss")}
    assert "6.1 -300,000.00元" in out.read_text(encoding="utf-8")


def test_without_cases_the_page_has_the_changes_and_no_chart():
    html, drawn = page(str(BASE), str(AMENDED))
    assert drawn.charts == [] and "svg" not in drawn.tags
    assert "共 5 处变化。" in html and "platform-expenses" in html


def test_what_a_facts_file_says_is_shown_as_text_never_as_markup(tmp_path):
    folder = tmp_path / "cases"
    folder.mkdir()
    case = yaml.safe_load(CASES.read_text(encoding="utf-8"))["cases"][0]["facts"]
    case["applicant"] = "<script>alert(1)</script>卖家"
    (folder / "a.yaml").write_text(yaml.safe_dump({**case, "date": "2025-03-01"}, allow_unicode=True),
                                   encoding="utf-8")
    html, drawn = page(str(BASE), str(AMENDED), "--cases", str(folder))
    assert "script" not in drawn.tags and "&lt;script&gt;alert(1)&lt;/script&gt;卖家" in html
    assert drawn.charts[0]["bars"][0]["tip"].startswith("<script>alert(1)</script>卖家：+300,000.00元")


def test_english_pages_say_it_in_english():
    html, drawn = page(str(BASE), str(AMENDED), "--cases", str(CASES), "--lang", "en")
    assert drawn.charts[0]["title"] == "Change in each applicant's total" and "Who gains and who loses" in html
