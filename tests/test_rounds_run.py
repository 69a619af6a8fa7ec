"""Application rounds end to end, as officers and programs run them: the application sheet, `policy batch` on
each input format, bad rows, duplicates, pools, the workbook and each applicant's sheet."""

from __future__ import annotations

import csv
import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import LISHUI, ROOT
from openpyxl import Workbook, load_workbook

from cli import cli
from engine import load_policy
from engine.rounds.columns import cells_of
from engine.rounds.identity import make_code
from engine.rounds.template import sheet_columns

sys.path.insert(0, str(ROOT / "scripts"))
from population import population

POOLED = str(ROOT / "tests" / "fixtures" / "rounds" / "pooled.yaml")
LISHUI_S = str(LISHUI)


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def code(n: int) -> str:
    return make_code(f"9133110{n:010d}")


def rows_of(path, sheet=0):
    book = load_workbook(path, read_only=True)
    ws = book.worksheets[sheet] if isinstance(sheet, int) else book[sheet]
    out = [list(r) for r in ws.iter_rows(values_only=True)]
    book.close()
    return out


def jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


# --- the application sheet --------------------------------------------------------------------------

def test_xlsx_template_has_labels_names_notes_lists_and_an_example(tmp_path):
    out = tmp_path / "sheet.xlsx"
    r = run("facts", LISHUI_S, "--template", "xlsx", "--recipient", "incubator", "-o", out)
    assert r.exit_code == 0, r.output
    book = load_workbook(out)
    ws = book.worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[0] == "统一社会信用代码（credit_code）"
    assert "孵化（培训）的企业（incubated_enterprises）" in header
    assert ws.cell(row=2, column=1).value.startswith("#")  # the notes row, skipped when read
    assert ws.cell(row=1, column=1).comment is not None
    lists = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    assert any("跨境电商企业" in f for f in lists.values())  # the kinds of applicant as a drop-down list
    example = [c.value for c in ws[3]]
    incubated = example[header.index("孵化（培训）的企业（incubated_enterprises）")]
    assert json.loads(incubated)[0]["started_cbec"] is True  # a list fact is a JSON cell, with every field
    assert book.sheetnames[1] == "说明"
    # The example row as written reads back as an applicant (its list fact included).
    results = tmp_path / "r.jsonl"
    r = run("batch", LISHUI_S, out, "-o", results)
    assert r.exit_code == 0, r.output
    [line] = jsonl(results)
    assert line["credit_code"] == example[0] and line["clauses"]["6.2"]["outcome"] == "eligible"


@pytest.mark.parametrize("form", ["csv", "xlsx"])
def test_a_policy_that_names_no_areas_has_an_application_sheet(tmp_path, form):
    """The area column's note says it may be left blank (it failed as an internal error), and the example row reads
    back as an applicant."""
    policy = ROOT / "tests" / "fixtures" / "readings" / "everything.yaml"
    out = tmp_path / f"sheet.{form}"
    r = run("facts", policy, "--template", form, "-o", out, "--lang", "en")
    assert r.exit_code == 0, r.output
    if form == "csv":
        with open(out, newline="", encoding="utf-8-sig") as handle:
            header, notes = next(csv.reader(handle)), next(csv.reader(handle))
        area = next(i for i, h in enumerate(header) if h.endswith("(area)") or h.endswith("（area）"))
        assert "names no areas" in notes[area]
    r = run("batch", policy, out, "-o", tmp_path / "r.jsonl")
    assert r.exit_code == 0, r.output
    assert len(jsonl(tmp_path / "r.jsonl")) == 1


def test_template_never_overwrites_and_needs_output(tmp_path):
    out = tmp_path / "t.csv"
    out.write_text("mine")
    assert run("facts", LISHUI_S, "--template", "csv", "-o", out).exit_code == 1
    assert out.read_text() == "mine"
    r = run("facts", LISHUI_S, "--template", "csv")
    assert r.exit_code == 2 and "-o" in r.output


# --- an officers' round in XLSX, with bad rows and a pool that binds ----------------------------------

def _fill(path, policy, rows):
    cols = sheet_columns(policy, "zh", None)
    book = Workbook()
    ws = book.active
    ws.append([c.header for c in cols])
    for row in rows:
        ws.append([row.get(c.name) for c in cols])
    book.save(path)


def test_an_xlsx_round_with_bad_rows_and_a_binding_pool(tmp_path):
    policy = load_policy(POOLED)
    base = {"recipient": "跨境电商企业", "area": "莲都区", "date": "2024-05-01", "exporter": "是"}
    rows = [
        dict(base, credit_code=code(1), applicant="甲", promotion=300000, exhibition=100000,
             **{"granted.1": 0}),
        dict(base, credit_code=code(2), applicant="乙", promotion="20万元", exhibition=1000.5,
             **{"granted.1": 0}),
        dict(base, credit_code=code(3)[:-1] + ("0" if code(3)[-1] != "0" else "1"), applicant="校验位错"),
        dict(base, credit_code=code(4), applicant="布尔错", exporter="yes"),
        dict(base, credit_code=code(5), applicant="不到分", promotion=1234.567),
        dict(base, credit_code=code(1), applicant="甲（重复）"),
        dict(base, credit_code=code(6), applicant="丙", promotion=100, **{"granted.1": None}),
        dict(base, credit_code=91331100000000000, applicant="数字代码"),
    ]
    source, out = tmp_path / "round.xlsx", tmp_path / "results.xlsx"
    _fill(source, policy, rows)
    r = run("batch", POOLED, source, "-o", out)
    assert r.exit_code == 1  # some rows had problems; the others were evaluated and written
    assert "5 行有问题" in r.output

    results = rows_of(out, "评审结果")
    head, body = results[0], results[1:]
    assert [b[0] for b in body] == [2, 3, 8]  # sheet rows, in order
    first = dict(zip(head, body[0], strict=False))  # a row read back ends at its last filled cell
    assert first["1 结果"] == "符合" and Decimal(str(first["1 金额"])) == Decimal("149750.29")
    assert "资金池 300,000.00元" in first["1 说明"] and "300,500.25元" in first["1 说明"]
    third = dict(zip(head, body[2], strict=False))
    assert third["1 结果"] == "待定" and "已获补助" in third["1 说明"]  # granted left blank: undetermined, never 0

    errors = {(e[0], e[2]): e[3] for e in rows_of(out, "问题")[1:]}
    assert "校验位" in errors[(4, "统一社会信用代码（credit_code）")]
    assert "是 或 否" in errors[(5, "出口企业（exporter）")]
    assert "精确到分" in errors[(6, "推广费用（promotion）")]
    assert "与第 2 行重复" in errors[(7, "统一社会信用代码")]
    assert "15" in errors[(9, "统一社会信用代码（credit_code）")]

    summary = {r[0]: r for r in rows_of(out, "汇总")[1:] if r and r[0]}
    awarded = Decimal(str(summary["1"][7])) + Decimal(str(summary["2"][7]))
    assert awarded == Decimal("300000")  # the pool, exactly
    ws = load_workbook(out)["评审结果"]
    assert ws["E2"].number_format.startswith("#,##0.00")  # amounts formatted as money


def test_pooled_round_is_deterministic_and_the_same_with_jobs(tmp_path):
    lines = []
    for n in range(40):
        lines.append(json.dumps({"credit_code": code(n), "recipient": "seller", "area": "莲都区",
                                 "date": "2024-05-01", "granted": {},
                                 "facts": {"exporter": True, "promotion": 1000 + n * 7919 % 50000,
                                           "exhibition": n * 331}}))
    source = tmp_path / "round.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outs = []
    for jobs in ("1", "2", "1"):
        out = tmp_path / f"out{len(outs)}.jsonl"
        assert run("batch", POOLED, source, "-o", out, "--jobs", jobs).exit_code == 0
        outs.append(out.read_text(encoding="utf-8"))
    assert outs[0] == outs[1] == outs[2]
    paid = sum(Decimal(c["amount"]) for line in jsonl(tmp_path / "out0.jsonl")
               for cid, c in line["clauses"].items() if cid in ("1", "2") and "amount" in c)
    assert paid == Decimal("300000.00")
    summary = json.loads((tmp_path / "out0.summary.json").read_text(encoding="utf-8"))
    assert summary["pools"]["promotion-fund"]["paid"] == "300000.00" and summary["pools"]["promotion-fund"]["binds"]


# --- CSV: UTF-8 with a BOM, GBK from WPS, and what cannot be read ---------------------------------------

def _population_csv(policy, n, encoding, path):
    cols = sheet_columns(policy, "zh", None)
    dicts = population(policy, n, seed=3)
    with open(path, "w", encoding=encoding, newline="") as handle:
        out = csv.writer(handle)
        out.writerow([c.header for c in cols])
        for i, d in enumerate(dicts):
            out.writerow(["" if v is None else v for v in cells_of(d, cols, code(i))])
    return dicts


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk"])
def test_csv_encodings(tmp_path, lishui, encoding):
    source, out = tmp_path / "round.csv", tmp_path / "out.jsonl"
    dicts = _population_csv(lishui, 60, encoding, source)
    r = run("batch", LISHUI_S, source, "-o", out)
    assert r.exit_code == 0, r.output
    assert ("GBK" in r.output) == (encoding == "gbk")
    lines = jsonl(out)
    assert len(lines) == len(dicts)
    # The same totals as evaluating each applicant's facts directly.
    from engine import check_facts, evaluate

    for d, line in zip(dicts, lines, strict=True):
        assert Decimal(line["total"]) == evaluate(lishui, check_facts(lishui, d), trace=False).total


def test_a_file_in_neither_utf8_nor_gbk_is_refused(tmp_path):
    source = tmp_path / "round.csv"
    source.write_bytes("统一社会信用代码,申请人类别\n".encode() + b"\x80\xff\x80\n")
    r = run("batch", LISHUI_S, source, "-o", tmp_path / "o.csv")
    assert r.exit_code == 1 and "GBK" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o.csv").exists()


def test_an_unknown_header_is_refused_with_a_suggestion(tmp_path):
    source = tmp_path / "round.csv"
    source.write_text("credit_code,recipient,cbec_turnovr\n", encoding="utf-8")
    r = run("batch", LISHUI_S, source, "-o", tmp_path / "o.csv", "--lang", "en")
    assert r.exit_code == 1 and "cbec_turnovr" in r.output and "cbec_turnover" in r.output


def test_headers_by_label_or_name(tmp_path):
    source, out = tmp_path / "round.csv", tmp_path / "o.csv"
    source.write_text("统一社会信用代码,recipient,area,date,年度跨境电商交易额,platform_fees,digital_promotion\n"
                      f"{code(7)},跨境电商企业,市直,2024-05-01,600万元,10000,0\n", encoding="utf-8")
    r = run("batch", LISHUI_S, source, "-o", out)
    assert r.exit_code == 0, r.output
    row = next(csv.DictReader(out.open(encoding="utf-8")))
    assert row["2.2.outcome"] == "undetermined" and "granted.2.2" in row["2.2.reason"]


# --- JSON Lines and folders ----------------------------------------------------------------------------

def test_jsonl_bad_lines_are_listed_and_the_rest_evaluated(tmp_path):
    source, out = tmp_path / "round.jsonl", tmp_path / "o.jsonl"
    good = {"recipient": "seller", "area": "市直", "date": "2024-05-01", "granted": {},
            "facts": {"cbec_turnover": "600万元", "platform_fees": 10000, "digital_promotion": 0}}
    source.write_text("\n".join([json.dumps(good), "{not json", json.dumps(dict(good, facts={"cbec_turnover": -5})),
                                 json.dumps(dict(good, credit_code=code(9)))]) + "\n", encoding="utf-8")
    r = run("batch", LISHUI_S, source, "-o", out)
    assert r.exit_code == 1
    assert [line["row"] for line in jsonl(out)] == [1, 4]
    errors = jsonl(tmp_path / "o.errors.jsonl")
    assert [e["row"] for e in errors] == [2, 3]
    assert errors[1]["column"] == "年度跨境电商交易额（cbec_turnover）"


def test_a_folder_of_facts_files(tmp_path):
    out = tmp_path / "o.csv"
    r = run("batch", LISHUI_S, ROOT / "examples", "-o", out)
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == len(list((ROOT / "examples").glob("*.yaml")))
    seller = next(r for r in rows if r["recipient"] == "seller")
    assert seller["total"] == "865357.83"


# --- each applicant's sheet -----------------------------------------------------------------------------

def test_sheets_are_written_named_by_code_and_linked(tmp_path):
    source, out, sheets = tmp_path / "round.jsonl", tmp_path / "o.xlsx", tmp_path / "sheets"
    source.write_text(json.dumps({"credit_code": code(11), "applicant": "<b>甲</b>", "recipient": "seller",
                                  "area": "莲都区", "date": "2024-05-01", "granted": {},
                                  "facts": {"exporter": True, "promotion": 800000, "exhibition": 0}}) + "\n",
                      encoding="utf-8")
    r = run("batch", POOLED, source, "-o", out, "--sheets", sheets)
    assert r.exit_code == 0, r.output
    page = (sheets / f"{code(11)}.html").read_text(encoding="utf-8")
    assert "@page" in page and "A4" in page  # the review page's print stylesheet
    assert "&lt;b&gt;甲&lt;/b&gt;" in page  # escaped
    assert "资金池" in page and "未超出；核定 200,000.00元" in page
    ws = load_workbook(out)["评审结果"]
    link = ws.cell(row=2, column=ws.max_column)
    # A link to a file beside the workbook; XlsxWriter writes its folder separator as Windows does.
    assert link.hyperlink.target.replace("\\", "/") == f"sheets/{code(11)}.html" and link.value == f"{code(11)}.html"


def test_a_repeated_recipient_is_flagged_and_counted_once(tmp_path):
    source, out = tmp_path / "round.jsonl", tmp_path / "o.jsonl"
    good = {"credit_code": code(21), "recipient": "seller", "area": "市直", "date": "2024-05-01", "granted": {},
            "facts": {"claim_year": 2024, "cbec_turnover": "600万元", "platform_fees": 10000, "digital_promotion": 0}}
    source.write_text("\n".join(json.dumps(x) for x in [good, dict(good, credit_code=code(22)), good]) + "\n",
                      encoding="utf-8")
    for jobs in ("1", "2"):
        r = run("batch", LISHUI_S, source, "-o", out, "--jobs", jobs, "--force")
        assert r.exit_code == 1
        assert [line["row"] for line in jsonl(out)] == [1, 2]
        [error] = jsonl(tmp_path / "o.errors.jsonl")
        assert error["row"] == 3 and "与第 1 行重复" in error["message"]
        summary = json.loads((tmp_path / "o.summary.json").read_text(encoding="utf-8"))
        assert summary["applicants"] == 2 and summary["bad_rows"] == 1
        assert summary["clauses"]["2.2"]["undetermined"] == 2 and summary["clauses"]["2.4"]["referred"] == 2


def test_a_text_or_date_facts_column_is_not_taken_for_the_applicants_name_or_the_claim_date():
    import datetime as dt

    from engine.rounds.template import example_row, note, sheet_columns

    policy = load_policy(str(ROOT / "policies" / "lishui-2021-67.yaml"))
    cols = sheet_columns(policy, "zh", None)
    example = dict(zip([c.name for c in cols], example_row(policy, cols, "zh", None, dt.date(2024, 5, 1), False), strict=True))
    notes = {c.name: note(policy, c, "zh") for c in cols}
    assert notes["warehouse_name"] != notes["applicant"] and example["warehouse_name"] != example["applicant"]
    assert example["date"] == "2024-05-01"
