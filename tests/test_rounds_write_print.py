"""A workbook a finance office can sign: a 200-applicant round's workbook, rendered to PDF by LibreOffice (as an
office would print it), prints in a handful of A4 landscape pages with the header on every page, and carries its
filter, frozen panes, the file of each problem and native charts. In CI (CI=true) a missing LibreOffice fails."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from cli import cli
from engine import load_policy
from engine.rounds.identity import make_code

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from population import population

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture(scope="module")
def workbook(tmp_path_factory) -> Path:
    """200 applicants of the bench population (two of them with money finer than the fen), as a round's workbook."""
    folder = tmp_path_factory.mktemp("round")
    rows = population(load_policy(str(ROOT / "policies" / "lishui-2021-67.yaml")), 200, seed=7)
    with open(folder / "round.jsonl", "w", encoding="utf-8") as handle:
        for i, row in enumerate(rows):
            if i in (5, 77):
                row["facts"]["platform_fees"] = "368000.505"
            handle.write(json.dumps({"credit_code": make_code(f"9133110{i:010d}"), **row}, ensure_ascii=False,
                                    default=str) + "\n")
    out = folder / "results.xlsx"
    run = CliRunner().invoke(cli, ["batch", str(ROOT / "policies" / "lishui-2021-67.yaml"), str(folder / "round.jsonl"),
                                   "-o", str(out)])
    assert run.exit_code == 1, run.output  # the two rows with a problem
    return out


def test_the_workbook_is_laid_out_for_printing_and_filtering(workbook):
    book = load_workbook(workbook)
    assert book.sheetnames == ["评审结果", "汇总", "问题", "签批", "图表"]
    for name in ("评审结果", "汇总", "问题", "签批"):
        ws = book[name]
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9, name
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0, name
        assert ws.print_title_rows == "$1:$1", name
    results = book["评审结果"]
    assert results.freeze_panes == "D2" and results.auto_filter.ref == "A1:AY199"
    # widths that fit: the code column fits its 18 characters, a 说明 column its words (within 40)
    assert 18 <= results.column_dimensions["B"].width <= 24 and results.column_dimensions["I"].width > 20
    errors = [[c.value for c in row] for row in book["问题"].iter_rows()]
    assert [row[:2] for row in errors[1:]] == [[6, "round.jsonl"], [78, "round.jsonl"]]
    charts = book["图表"]._charts
    assert [c.tagname for c in charts] == ["barChart"]  # awards by clause (Lishui declares no pool)
    assert "汇总" in str(charts[0].series[0].val.numRef.f)


def test_a_200_applicant_round_prints_in_a_handful_of_pages_with_the_header_on_each(workbook, tmp_path):
    if SOFFICE is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice is missing: .ci/run installs libreoffice-calc")
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc poppler-utils)")
    profile = tmp_path / "profile"
    done = subprocess.run([SOFFICE, "--headless", "--norestore", f"-env:UserInstallation=file://{profile}",
                           "--convert-to", "pdf", "--outdir", str(tmp_path), str(workbook)],
                          capture_output=True, text=True, timeout=300)
    pdf = tmp_path / "results.pdf"
    assert pdf.exists(), done.stdout + done.stderr
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert "841.89 x 595.3" in info  # A4 landscape
    assert pages <= 10, pages
    texts = [subprocess.run(["pdftotext", "-layout", "-f", str(n), "-l", str(n), str(pdf), "-"], capture_output=True,
                            text=True, check=True).stdout for n in range(1, pages + 1)]
    signing = [text for text in texts if "2.1 金额" in text and "申请人类别" not in text]
    assert 2 <= len(signing) <= 5  # 198 applicants, legibly
    for text in signing:  # the header on every page
        assert text.lstrip().startswith("行号") and "统一社会信用代码" in text.splitlines()[0]
    assert "合成申请人00199" in "".join(signing) and "合成申请人00000" in "".join(signing)
    assert any(text.lstrip().startswith("行号") and "文件" in text.splitlines()[0] for text in texts)  # 问题
    assert any("各条款核定金额与申请金额" in text for text in texts)  # the chart is drawn
