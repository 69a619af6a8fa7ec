"""Ceilings in a round: the workbook's 签批 sheet has an empty 核定金额 column beside each clause whose amount is a
ceiling (up_to); filled in and signed, it is read back by `policy batch --record ROUND --approved SIGNED.xlsx`, and
the ledger records the approved amounts as what was paid (its later rounds count them), the claims as evaluated."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from cli import cli
from engine import open_ledger
from engine.rounds.identity import make_code

ROOT = Path(__file__).resolve().parent.parent
DRAFT = ROOT / "policies" / "hangzhou-2022-draft.yaml"
HEAD = ["credit_code", "applicant", "recipient", "area", "date", "customs_mode", "exports_via_independent_site",
        "hangzhou_clients", "service_revenue", "granted.1.3"]
A, B, C = (make_code(f"9133010{i:010d}") for i in (1, 2, 3))


def run(*args: object):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def applicants(tmp_path: Path) -> Path:
    path = tmp_path / "round.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEAD)
        out.writerow([A, "甲平台", "platform", "杭州市", "2023-06-30", "", "", "", "", ""])
        out.writerow([B, "乙出口", "exporter", "杭州市", "2023-06-30", "9610", "是", "", "", "0"])
        out.writerow([C, "丙服务商", "service_provider", "杭州市", "2023-06-30", "", "", "60", "1200万元", ""])
    return path


def signing(path: Path):
    book = load_workbook(path)
    return book, book["签批"]


def test_the_signing_sheet_has_an_empty_approved_column_beside_each_ceiling(tmp_path):
    out = tmp_path / "results.xlsx"
    assert run("batch", DRAFT, applicants(tmp_path), "-o", out).exit_code == 0
    _book, sheet = signing(out)
    head = [c.value for c in sheet[1]]
    assert head[5:] == ["1.1 最高额", "1.1 核定金额（主管部门填写）", "1.2 最高额", "1.2 核定金额（主管部门填写）",
                        "1.3 最高额", "1.3 核定金额（主管部门填写）", "2 金额"]
    rows = {r[1]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows[A][5] == 1000000 and rows[A][6] is None  # the ceiling, and the cell for the officer
    assert rows[B][7] == 2000000 and rows[B][8] is None and rows[B][9] == 2000000 and rows[B][10] is None
    results = {r[1]: r for r in load_workbook(out)["评审结果"].iter_rows(min_row=2, values_only=True)}
    assert results[A][8] == "最高额，具体由主管部门核定"  # the results sheet says what the amount is
    english = tmp_path / "results-en.xlsx"
    assert run("batch", DRAFT, applicants(tmp_path), "-o", english, "--lang", "en").exit_code == 0
    assert load_workbook(english)["Sign-off"]["G1"].value == "1.1 approved amount (filled in by the department)"


def test_jsonl_results_mark_a_ceiling(tmp_path):
    out = tmp_path / "results.jsonl"
    assert run("batch", DRAFT, applicants(tmp_path), "-o", out).exit_code == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["clauses"]["1.1"] == {"outcome": "eligible", "amount": "1000000.00", "reason": "up_to"}


def test_the_ledger_records_the_approved_amounts_where_given(tmp_path):
    out, ledger = tmp_path / "results.xlsx", tmp_path / "ledger.sqlite"
    source = applicants(tmp_path)
    assert run("batch", DRAFT, source, "-o", out).exit_code == 0
    book, sheet = signing(out)
    for row in sheet.iter_rows(min_row=2):
        if row[1].value == A:
            row[6].value = 650000  # 1.1: the department approves 65万元 of the 100万元 ceiling
        if row[1].value == B:
            row[8].value = "150万元"  # 1.2: 150万元 of 200万元; 1.3 (择优) left empty: its ceiling is recorded
    signed = tmp_path / "signed.xlsx"
    book.save(signed)
    done = run("batch", DRAFT, source, "-o", tmp_path / "final.xlsx", "--ledger", ledger, "--record", "2023-1",
               "--approved", signed)
    assert done.exit_code == 0, done.output
    assert "已按" in done.output and "2 项" in done.output and "1 项最高额未填核定金额" in done.output
    with open_ledger(str(ledger)) as opened:
        grants = {(e.recipient, e.clause): e.amount for e in opened.entries(round_id="2023-1") if e.kind == "grant"}
    assert grants == {(A, "1.1"): Decimal("650000.00"), (B, "1.2"): Decimal("1500000.00"),
                      (B, "1.3"): Decimal("2000000.00")}
    listed = run("ledger", "list", ledger, "--round", "2023-1")
    assert "650,000.00" in listed.output and "1,500,000.00" in listed.output
    replayed = run("ledger", "replay", ledger, "--round", "2023-1")  # the claims, evaluated again, are the same
    assert replayed.exit_code == 0, replayed.output


@pytest.mark.parametrize("cell, value, says", [
    (6, 1000000.01, "超过第 1.1 项本轮应付的 1,000,000.00 元"),
    (6, "一百万零一分", "不是金额"),
    (6, -1, "不是金额"),
])
def test_an_approved_amount_above_the_ceiling_or_not_an_amount_is_refused_and_nothing_recorded(tmp_path, cell, value,
                                                                                                 says):
    out, ledger = tmp_path / "results.xlsx", tmp_path / "ledger.sqlite"
    source = applicants(tmp_path)
    assert run("batch", DRAFT, source, "-o", out).exit_code == 0
    book, sheet = signing(out)
    sheet.cell(row=2, column=cell + 1).value = value
    book.save(tmp_path / "signed.xlsx")
    done = run("batch", DRAFT, source, "-o", tmp_path / "final.xlsx", "--ledger", ledger, "--record", "2023-1",
               "--approved", tmp_path / "signed.xlsx")
    assert done.exit_code == 1 and says in done.output and "签批!G2" in done.output, done.output
    assert "Traceback" not in done.output
    with open_ledger(str(ledger)) as opened:
        assert opened.round("2023-1") is None


def test_approved_amounts_need_a_round_recorded(tmp_path):
    out = tmp_path / "results.xlsx"
    done = run("batch", DRAFT, applicants(tmp_path), "-o", out, "--approved", applicants(tmp_path))
    assert done.exit_code == 2 and "--record" in done.output
