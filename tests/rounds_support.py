"""Shared by the tests of a round's formats: one generated round with bad rows, written as CSV, Parquet (text or
typed columns), XLSX (text or typed cells) and JSON Lines, and `policy batch` run over it."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import sys
from pathlib import Path

from click.testing import CliRunner

from cli import cli
from engine.rounds.identity import make_code

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def write_round(policy, n: int, path: Path, seed: int = 3) -> None:
    """A CSV round of `n` generated applicants, then rows the row engine refuses or reads in another form, a
    blank row, a note, and names with commas, quotes, line breaks and formula starts."""
    from benchmark import write_round_csv

    write_round_csv(policy, n, path, seed=seed)
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, good = rows[0], rows[1]
    col = {h[h.index("（") + 1:-1] if "（" in h else h: i for i, h in enumerate(header)}

    def row(k: int, **cells: str) -> list[str]:
        out = list(good)
        out[0] = make_code(f"9133110{9_000_000_000 + k:010d}")
        for name, value in cells.items():
            out[col[name]] = value
        return out

    extra = [
        row(1, credit_code=good[0]),  # the first row's recipient again
        row(2, credit_code=good[0][:17] + ("0" if good[0][17] != "0" else "1")),  # a wrong check character
        row(3, recipient="不存在的类别"),
        row(4, date="2024/1/2"),  # another spelling the row engine reads
        ["" for _ in header],  # a blank row
        ["# a note"] + ["x" for _ in header[1:]],  # a note: not an applicant
        row(5, applicant='=HYPERLINK("x"),有限公司'),
        row(6, applicant='-"甲" 乙,丙'),
        row(7, applicant="+86 公司"),
        row(13, applicant="甲\r\n乙"),  # line breaks in a cell: quoted, never a row's end
        row(14, applicant="丙\r丁"),
        row(8, cbec_turnover="abc"),
        row(9, cbec_turnover="12.345"),
        row(10, cbec_turnover="10万零5元"),
        row(11, site_domain_holding="150%"),
        row(12, claim_year="2099"),
    ]
    with open(path, "a", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(extra)


def _csv_types(path: Path) -> tuple[list[str], str]:
    with open(path, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    columns = "{" + ", ".join(f"'{h}': 'VARCHAR'" for h in header) + "}"
    return header, (f"read_csv('{path}', header=true, columns={columns}, quote='\"', escape='\"', "
                    "auto_detect=false)")


def as_parquet(source: Path, out: Path, typed: bool = False) -> None:
    """The CSV round as Parquet: every column text, or (`typed`) money as DECIMAL(18,2), the fees as DOUBLE,
    whole numbers as BIGINT, yes/no as BOOLEAN and the claim's date as DATE where every cell reads so."""
    import duckdb

    header, csv_read = _csv_types(source)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE cells AS SELECT * FROM {csv_read}")
    read = "cells"
    select = []
    first = '"' + header[0] + '"'
    for h in header:
        q = '"' + h + '"'
        if typed and "credit_code" not in h:
            for kind in ("BIGINT", "DECIMAL(18,2)", "DOUBLE", "BOOLEAN", "DATE"):
                if "fees" in h and kind != "DOUBLE":
                    continue
                same = (f"TRY_CAST({q} AS DECIMAL(38,10)) = TRY_CAST({q} AS {kind})" if kind in ("BIGINT",
                        "DECIMAL(18,2)", "DOUBLE") else f"TRY_CAST({q} AS {kind}) IS NOT NULL")
                bad = con.execute(f"SELECT count(*) FROM {read} WHERE {q} IS NOT NULL AND NOT "
                                  f"COALESCE({same}, FALSE) AND NOT starts_with({first}, '#')").fetchone()[0]
                if not bad:  # (a note's cells are left out)
                    q = f"TRY_CAST({q} AS {kind}) AS {q}"
                    break
        select.append(q)
    con.execute(f"COPY (SELECT {', '.join(select)} FROM {read}) TO '{out}' (FORMAT parquet)")
    con.close()


def as_xlsx(source: Path, out: Path, typed: bool = False) -> None:
    """The CSV round as a workbook: every cell text, or (`typed`) numbers, yes/no and dates as Excel keeps them."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    with open(source, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    book = Workbook(write_only=True)
    sheet = book.create_sheet()

    def cell(text: str, column: int) -> object:
        if text == "":
            return None
        if typed and column > 0:
            if re.fullmatch(r"[0-9]{1,15}", text):
                return int(text)
            if re.fullmatch(r"[0-9]{1,12}\.[0-9]{1,2}", text):
                return float(text)
            if text in ("true", "false"):
                return text == "true"
            if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
                return dt.datetime.fromisoformat(text)
        value = WriteOnlyCell(sheet, value=text)
        value.data_type = "s"  # text as typed, never a formula
        return value

    sheet.append(rows[0])
    for row in rows[1:]:
        sheet.append([cell(text, i) for i, text in enumerate(row)])
    book.save(out)


def as_jsonl(policy, n: int, out: Path, seed: int = 4) -> None:
    """`n` generated applicants as JSON Lines (facts files' mappings), plain decimal strings written as JSON
    numbers with their digits as written; then lines that test reading the numbers' text and the lines' forms."""
    from population import population

    lines = []
    for i, data in enumerate(population(policy, n, seed=seed)):
        data = dict(data)
        data["credit_code"] = make_code(f"9133110{i:010d}")
        line = json.dumps(data, ensure_ascii=False)
        lines.append(re.sub(r'"(cbec_turnover|platform_fees|site_costs)": "(-?[0-9]+\.[0-9]+)"', r'"\1": \2', line))
    first = json.loads(lines[0])

    def variant(k: int, text: str) -> str:
        code = make_code(f"9133110{8_000_000_000 + k:010d}")
        return text.replace(f'"credit_code": "{first["credit_code"]}"', f'"credit_code": "{code}"')

    base = lines[0]
    lines += [
        variant(1, re.sub(r'"cbec_turnover": [^,}]+', '"cbec_turnover": 1e5', base)),
        variant(2, re.sub(r'"cbec_turnover": [^,}]+', '"cbec_turnover": 6000000.10', base)),
        variant(3, re.sub(r'"cbec_turnover": [^,}]+', '"cbec_turnover": 12345678901234567890123', base)),
        variant(4, re.sub(r'"cbec_turnover": [^,}]+', '"cbec_turnover": 12.345', base)),
        variant(5, re.sub(r'"claim_year": [^,}]+', '"claim_year": 2022.0', base)),
        variant(6, base.replace('"recipient": "', '"recipient": " ')),
        variant(7, base.replace('"applicant": "', '"applicant": "=HYPERLINK(\\"x\\"), ')),
        variant(8, base[:-1] + ', "unknown": 1}'),
        variant(9, base[:-1] + ', "applicant": "again"}'),  # a key twice
        variant(10, re.sub(r'"granted": \{[^}]*\}', '"granted": {"2.1": 0.00}', base)),
        variant(11, re.sub(r'"granted": \{[^}]*\}', '"granted": null', base)),
        variant(12, re.sub(r'"registered_cbec": (true|false)', '"registered_cbec": "是"', base)),
        variant(13, re.sub(r'"date": "[^"]*"', '"date": "2024/1/2"', base)),
        "",
        "   ",
        "[1, 2]",
        "{not json",
        variant(14, base.replace('"applicant": "', '"applicant": "  ')),
        lines[1],  # the second applicant again
    ]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def workbook_differences(a: Path, b: Path) -> list[str]:
    """The parts of two workbooks (XLSX: zip files of XML) whose bytes differ, or that one has and the other not;
    the time each was made (docProps/core.xml) aside."""
    import zipfile

    with zipfile.ZipFile(a) as first, zipfile.ZipFile(b) as second:
        names = set(first.namelist()) | set(second.namelist())
        return sorted(name for name in names - {"docProps/core.xml"}
                      if name not in first.namelist() or name not in second.namelist()
                      or first.read(name) != second.read(name))
