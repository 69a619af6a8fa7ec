"""The calculation sheet for people (engine.present.sheet_html): words and labels, never the file's names; readings
once, linked from the clauses; `policy evaluate --format html|pdf` whole or absent; the PDF on A4 with the amounts."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import LISHUI, ROOT

from cli import cli
from engine import applicant_from, evaluate, load_document, load_policy
from engine.present.sheet_html import public_text, render_sheet_html

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
PDF_TOOLS = shutil.which("pdftotext") is not None and shutil.which("pdfinfo") is not None
if not PDF_TOOLS and os.environ.get("CI") == "true":  # .ci/run installs poppler-utils: there a skip would hide a gap
    raise RuntimeError("CI reads the PDF back with poppler-utils (pdftotext, pdfinfo); .ci/run installs them")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def sheet_of(facts: Path, lang: str = "zh") -> str:
    policy = load_policy(str(LISHUI))
    loaded = load_document(str(facts))
    loaded.data.pop("credit_code", None)
    return render_sheet_html(evaluate(policy, applicant_from(policy, loaded)), lang)


def words(page: str) -> str:
    """What a reader sees of the page: the <article>'s text, without markup."""
    article = page[page.index("<article"):page.index("</article>")]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", article)))


@pytest.mark.parametrize("facts", EXAMPLES, ids=lambda p: p.stem)
def test_the_sheet_names_no_fact_key_or_machinery(facts):
    policy = load_policy(str(LISHUI))
    text = words(sheet_of(facts))
    names = set(policy.all_facts()) | set(policy.parameters) | {g.id for g in policy.groups} | set(policy.recipients)
    shown = set(re.findall(r"[A-Za-z_][A-Za-z0-9_-]*", text)) & names
    assert not shown, f"names from the file on the sheet: {sorted(shown)}"
    for machinery in ("pick:", "pick: all", "为 once", "period", "$.", "(seller)", "top_up", "earlier:"):
        assert machinery not in text, machinery
    assert "合计" in text


def test_each_reading_is_stated_once_and_linked_from_the_clauses_that_use_it():
    page = sheet_of(ROOT / "examples" / "seller.yaml")
    stated = re.findall(r'<div class="reading" id="reading-([^"]+)">', page)
    assert stated and len(stated) == len(set(stated))  # once each
    linked = set(re.findall(r'<a href="#reading-([^"]+)">', page))
    assert linked == set(stated)  # every link has its reading, every reading is used by a clause
    # In words for the public: Q2's choice loses its bracket naming the group and the facts, keeps the rest.
    q2 = page[page.index('id="reading-Q2"'):]
    q2 = html.unescape(q2[:q2.index("</div>")])
    assert "叠加，但同一笔支出只计一次" in q2 and "platform-and-site" not in q2 and "site_costs" not in q2


def test_public_text_drops_bracketed_machinery_and_names_facts_by_label():
    policy = load_policy(str(LISHUI))
    assert public_text("不叠加，就高享受（platform-expenses 组 pick: best）。", policy) == "不叠加，就高享受。"
    assert public_text("申报所属年度（资金年度，claim_year），不是", policy) == "申报所属年度（资金年度），不是"
    assert public_text("一次性（period 为 once）", policy) == "一次性"
    label = policy.facts["site_costs"].label
    assert public_text("已计入的部分 site_costs", policy) == f"已计入的部分 {label}"
    assert public_text("按原文（见 Q22）", policy) == "按原文（见 Q22）"  # a reading's number is the reader's
    # A phrase outside brackets that names the file's machinery is left out, the rest of the sentence kept.
    assert public_text("假定自2021-01-01起施行；in_force 标为 assumed，每份计算单都提示此为假定。", policy) == \
        "假定自2021-01-01起施行；每份计算单都提示此为假定。"


def test_conditions_and_steps_are_worded():
    text = words(sheet_of(ROOT / "examples" / "seller.yaml"))
    assert "✓ 在相关系统备案：是" in text
    assert "就高不重复：本年度已按第 2.2 项获 50,000.00元" in text
    assert "site_costs - site_costs_in_promotion" not in text and "1,200,000.00元（120万元） − 0.00元" in text


def test_evaluate_html_is_the_sheet_and_is_written_whole(tmp_path):
    out = tmp_path / "sheet.html"
    r = run("evaluate", LISHUI, ROOT / "examples" / "seller.yaml", "--format", "html", "-o", out)
    assert r.exit_code == 0, r.output
    page = out.read_text(encoding="utf-8")
    assert page.rstrip().endswith("</html>") and "@page" in page and "size: A4" in page
    assert "丽水示例跨境电商有限公司" in page and "865,357.83元" in page
    # An existing file is not replaced without --force, and stays as it was.
    out.write_text("mine", encoding="utf-8")
    r = run("evaluate", LISHUI, ROOT / "examples" / "seller.yaml", "--format", "html", "-o", out)
    assert r.exit_code == 1 and "--force" in r.output and out.read_text(encoding="utf-8") == "mine"
    # Without -o it is printed.
    printed = run("evaluate", LISHUI, ROOT / "examples" / "seller.yaml", "--format", "html")
    assert printed.exit_code == 0 and printed.output.startswith("<!DOCTYPE html>")


def test_a_pdf_needs_a_file_to_go_to():
    r = run("evaluate", LISHUI, ROOT / "examples" / "seller.yaml", "--format", "pdf")
    assert r.exit_code == 2 and "-o" in r.output and "%PDF" not in r.output


def test_the_sheet_in_english_uses_the_english_words():
    text = words(sheet_of(ROOT / "examples" / "seller.yaml", "en"))
    assert "Readings this sheet follows" in text and "Best, not both" in text


@pytest.mark.skipif(not PDF_TOOLS, reason="poppler-utils (pdftotext, pdfinfo) is not installed")
def test_the_pdf_is_a4_with_the_amounts_and_clause_titles_on_its_pages(tmp_path):
    out = tmp_path / "sheet.pdf"
    r = run("evaluate", LISHUI, ROOT / "examples" / "seller.yaml", "--format", "pdf", "-o", out)
    assert r.exit_code == 0, r.output
    info = subprocess.run(["pdfinfo", out], capture_output=True, text=True, check=True).stdout
    assert "(A4)" in info
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert 2 <= pages <= 8
    text = subprocess.run(["pdftotext", "-layout", out, "-"], capture_output=True, text=True, check=True).stdout
    flat = re.sub(r"\s+", "", text)
    for shown in ("250,000.00元（25万元）", "500,000.00元（50万元）", "24,000.00元（2.4万元）", "91,357.83元",
                  "合计：865,357.83元", "首次开展跨境电商企业补助", "年交易额500万元以上企业补助", "独立站企业补助",
                  "入驻园区企业租金补助", "应用公共海外仓补助", f"第1页，共{pages}页", f"第{pages}页，共{pages}页"):
        assert shown in flat, shown
    # Nothing is cut off at the right edge: no line of the text runs past the page's printable width.
    widths = subprocess.run(["pdftotext", "-bbox", out, "-"], capture_output=True, text=True, check=True).stdout
    right = [float(x) for x in re.findall(r'xMax="([\d.]+)"', widths)]
    assert right and max(right) <= 595.28 - 14 * 72 / 25.4 + 1  # A4 width less the right margin (14 mm)


def test_without_weasyprint_the_pdf_says_what_to_install_and_writes_nothing(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as if not installed: importing it fails
    out = tmp_path / "sheet.pdf"
    r = run("evaluate", LISHUI, ROOT / "examples" / "seller.yaml", "--format", "pdf", "-o", out)
    assert r.exit_code == 1 and "WeasyPrint" in r.output and "pip install" in r.output
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_followed_reference_shows_the_other_documents_working(tmp_path):
    from test_model_references import FOLLOWED, REFERENCED, facts

    out = tmp_path / "sheet.html"
    r = run("evaluate", FOLLOWED, facts(tmp_path), "--with", REFERENCED, "--format", "html", "-o", out)
    assert r.exit_code == 0, r.output
    text = words(out.read_text(encoding="utf-8"))
    assert "按《" in text and "计算：" in text and "丽政办发〔2020〕1号" in text
    assert "50,000.00元（5万元）" in text  # the referenced document's cap, worked out there


def test_the_service_gives_the_sheet_as_html():
    from starlette.testclient import TestClient

    from engine.service.app import create_app

    body = {"recipient": "seller", "area": "莲都区", "date": "2024-12-20", "facts": {"cbec_turnover": "620万元"}}
    r = TestClient(create_app(ROOT / "policies")).post("/policies/lishui-2021-67/evaluate?format=html", json=body)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<article class="sheet"' in r.text and "cbec_turnover" not in words(r.text)
