"""engine.rounds.sql_sources: the SQL engine reads Parquet, XLSX and JSON Lines rounds, and writes exactly what the
row engine writes over the same round — every results line, every bad row's row, column and reason, the summary
— with the rows numbered as the row engine numbers them (a header below blank rows, blank rows, notes, blank
lines), JSON numbers read to their last written digit, and cells of other types than text."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest
from rounds_support import ROOT, as_jsonl, as_parquet, as_xlsx, run, write_round

from engine import (
    RoundSettings,
    SqlRound,
    fixed_labels,
    load_policy,
    make_output,
    open_source,
    sheet_columns,
    sql_round_why_not,
)
from engine import SheetHeaders as Headers
from engine.rounds.identity import make_code
from engine.rounds.sql import why_not

pytest.importorskip("duckdb")

POLICY = ROOT / "tests" / "fixtures" / "lishui-2021-67.yaml"
FORMATS = ["r.parquet", "typed.parquet", "r.xlsx", "typed.xlsx", "r.jsonl"]


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sources")
    policy = load_policy(str(POLICY))
    write_round(policy, 100, folder / "r.csv")
    as_parquet(folder / "r.csv", folder / "r.parquet")
    as_parquet(folder / "r.csv", folder / "typed.parquet", typed=True)
    as_xlsx(folder / "r.csv", folder / "r.xlsx")
    as_xlsx(folder / "r.csv", folder / "typed.xlsx", typed=True)
    as_jsonl(policy, 100, folder / "r.jsonl")
    return folder


def both(policy: Path, source: Path, folder: Path, suffix: str = ".csv") -> tuple[dict[str, bytes], dict[str, bytes],
                                                                                 str]:
    """Each engine's files over `source`: {name without the engine: bytes}; the SQL engine's messages."""
    written = []
    for engine in ("rows", "sql"):
        r = run("batch", policy, source, "-o", folder / f"{engine}{suffix}", "--engine", engine, "--lang", "en")
        assert r.exit_code in (0, 1), r.output
        if engine == "sql":
            messages = r.stderr
        written.append({p.name.removeprefix(engine): p.read_bytes() for p in folder.iterdir()
                        if p.name.startswith(engine)})
    return written[0], written[1], messages


@pytest.mark.parametrize("name", FORMATS)
def test_the_sql_engine_writes_what_the_row_engine_writes(made, name, tmp_path):
    rows, sql, messages = both(POLICY, made / name, tmp_path)
    assert "row by row" not in messages
    assert sorted(rows) == [".csv", ".errors.csv", ".summary.csv"]
    assert rows == sql
    errors = rows[".errors.csv"].decode("utf-8")
    assert errors.count("\n") >= 8  # the repeated recipient, the codes, the kind, the amounts, …
    if name != "r.jsonl":  # names with commas, quotes and formula starts, quoted and neutralised alike
        assert '"\'=HYPERLINK(""x""),有限公司"' in rows[".csv"].decode("utf-8")


@pytest.mark.parametrize("name", FORMATS)
def test_the_query_decides_most_rows_itself(made, name, tmp_path):
    policy = load_policy(str(POLICY))
    headers = Headers(sheet_columns(policy, "en", None), {v: k for k, v in fixed_labels("zh").items()})
    opened = open_source(str(made / name), headers)
    settings = RoundSettings("en", "csv")
    assert sql_round_why_not(policy, opened, settings, asked=True) is None
    the_round = SqlRound(policy, opened, settings, {r.label: k for k, r in policy.recipients.items()})
    summary = the_round.run(make_output(str(tmp_path / "r.csv"), policy, "en"))
    rows = summary.applicants + summary.bad_rows
    # bad rows, blank rows, notes and cells in another form go to the row engine, and nothing else
    assert rows >= 100 and the_round.handed_back < 0.35 * rows, (the_round.handed_back, rows)


@pytest.fixture(scope="module")
def csv_results(made, tmp_path_factory) -> dict[str, bytes]:
    """The CSV round's files, row by row."""
    folder = tmp_path_factory.mktemp("csv")
    assert run("batch", POLICY, made / "r.csv", "-o", folder / "r.csv", "--engine", "rows").exit_code == 1
    return {part: (folder / f"r{part}.csv").read_bytes() for part in ("", ".errors", ".summary")}


@pytest.mark.parametrize("name", ["r.parquet", "typed.parquet", "r.xlsx", "typed.xlsx"])
def test_a_parquet_or_workbook_round_gives_its_csv_rounds_results(made, csv_results, name, tmp_path):
    """Row by row (the SQL engine writes what the row engine writes, above)."""
    assert run("batch", POLICY, made / name, "-o", tmp_path / "r.csv", "--engine", "rows").exit_code == 1
    for part in ("", ".errors", ".summary"):
        assert (tmp_path / f"r{part}.csv").read_bytes() == csv_results[part], part


def test_json_numbers_are_read_to_their_last_written_digit(made, tmp_path):
    """1e5 and 6000000.10 are amounts and 2022.0 the year 2022; 12.345 is finer than the fen and
    12345678901234567890123 too large, in the row engine's words; a key twice, a kind with a space, 是 for a
    boolean, a date with slashes are a facts file's problems: by both engines alike, line for line."""
    rows, sql, _messages = both(POLICY, made / "r.jsonl", tmp_path, ".jsonl")
    assert rows == sql
    results = rows[".jsonl"].decode("utf-8").splitlines()
    errors = rows[".errors.jsonl"].decode("utf-8")
    evaluated = [int(r.split(",", 1)[0].removeprefix('{"row":')) for r in results]
    assert evaluated == list(range(1, 101)) + [101, 102, 105, 107, 110, 111, 118]
    assert [int(r.split(",", 1)[0].removeprefix('{"row":')) for r in errors.splitlines()] == [
        103, 104, 106, 108, 109, 112, 113, 116, 117, 119]
    assert "12.345, not an amount exact to the fen" in errors and "12345678901234567890123 is out of range" in errors


def _sheet(path: Path, rows: dict[int, list[object]]) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for number, cells in rows.items():
        for column, value in enumerate(cells, 1):
            if value is not None:
                sheet.cell(number, column, value)
    book.save(path)


def test_a_workbook_numbered_and_typed_as_officers_make_them(tmp_path):
    """The header below two blank rows, rows far apart, a note, cells Excel keeps as numbers, dates and booleans
    where text is read, a cell past the header and a column without one: the SQL engine numbers, skips and reads
    every row as the row engine does."""
    policy = load_policy(str(POLICY))
    cols = sheet_columns(policy, "zh", None)
    at = {c.name: i for i, c in enumerate(cols)}
    header: list[object] = [c.header for c in cols] + [None, None]

    def row(n: int, **cells: object) -> list[object]:
        out: list[object] = [None] * len(header)
        out[at["credit_code"]] = make_code(f"9133110{n:010d}")
        out[at["applicant"]], out[at["recipient"]], out[at["area"]] = f"企业{n}", "seller", "莲都区"
        out[at["date"]] = dt.datetime(2024, 6, 1)
        out[at["claim_year"]], out[at["registered_cbec"]], out[at["first_time_cbec"]] = 2024, True, True
        out[at["cbec_turnover"]] = 6_000_000
        for name, value in cells.items():
            out[at[name] if name in at else int(name[1:])] = value
        return out

    width = len(cols)
    _sheet(tmp_path / "r.xlsx", {
        3: header,
        4: row(4),
        5: row(5, cbec_turnover=6_000_000.5, platform_fees=12_000.25),
        9: row(9, cbec_turnover=0.1 + 0.2),  # a formula's float: read by its shortest text, as rows read it
        10: ["# 说明", "x"],
        12: row(12, credit_code=91331100),  # a code Excel took for a number
        13: row(13, applicant=2024.0, area=True),  # a name and an area Excel took for a number and a boolean
        14: row(14, **{f"c{width + 1}": 5}),  # a number in the column without a header
        15: row(15, **{f"c{width + 1}": "x"}),
        16: [None] * (width + 1) + [7],  # nothing but a number in the column without a header
        20: row(20, claim_year=2024.0, rent_months=12.5, date=dt.date(2024, 7, 1)),
        1000: row(1000, registered_cbec="是", cbec_turnover="600万元"),
    })
    (tmp_path / "out").mkdir()
    rows, sql, messages = both(POLICY, tmp_path / "r.xlsx", tmp_path / "out")
    assert "row by row" not in messages
    assert rows == sql
    results = rows[".csv"].decode("utf-8").splitlines()
    assert [line.split(",")[0] for line in results[1:]] == ["4", "5", "9", "13", "14", "15", "1000"]
    assert ",2024,seller," in results[4]  # the name Excel took for a number, as it was written
    errors = [line.split(",")[0] for line in rows[".errors.csv"].decode("utf-8").splitlines()]
    assert errors == ["row", "12", "16", "20"]  # the code as a number, no kind, 12.5 months


def test_every_format_but_a_folder_runs_in_sql(made, tmp_path):
    policy = load_policy(str(POLICY))
    headers = Headers(sheet_columns(policy, "en", None), {v: k for k, v in fixed_labels("zh").items()})
    settings = RoundSettings("en", "csv")
    for name in FORMATS:
        assert sql_round_why_not(policy, open_source(str(made / name), headers), settings, asked=True) is None, name
        # a what-if (engine.rounds.whatif) still reads only a CSV file in SQL: it hands back the cells as read
        assert why_not(policy, open_source(str(made / name), headers), settings) == "input", name
    folder = tmp_path / "facts"
    folder.mkdir()
    (folder / "a.yaml").write_text("recipient: seller\n", encoding="utf-8")
    assert sql_round_why_not(policy, open_source(str(folder), headers), settings) == "input"


def test_a_workbook_found_damaged_in_sql_leaves_no_output(tmp_path):
    """The workbook is read as the SQL engine stages it: a damaged row ends the round in words, nothing written."""
    policy = load_policy(str(POLICY))
    cols = sheet_columns(policy, "zh", None)
    rows: dict[int, list[object]] = {1: [c.header for c in cols]}
    for n in range(2, 40):
        rows[n] = [make_code(f"9133110{n:010d}"), f"企业{n}", "seller"]
    path = tmp_path / "r.xlsx"
    _sheet(path, rows)
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i.filename) for i in z.infolist()}
    members["xl/worksheets/sheet1.xml"] = members["xl/worksheets/sheet1.xml"].replace(b'<row r="30"', b'<row r="3"')
    with zipfile.ZipFile(path, "w") as z:
        for member, content in members.items():
            z.writestr(member, content)
    out = tmp_path / "out"
    r = run("batch", POLICY, path, "-o", out / "r.parquet", "--engine", "sql", "--lang", "en")
    assert r.exit_code == 1 and "cannot read the workbook" in r.output and "not further down" in r.output, r.output
    assert sorted(p.name for p in out.iterdir()) == []


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_a_note_is_skipped_whatever_its_first_column(made, suffix, tmp_path):
    """A sheet whose first column is the name: a row whose name starts with # is a note to both engines."""
    import csv

    with open(made / "r.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[:30]
    rows = [[r[1], r[0], *r[2:]] for r in rows]
    rows[5][0] = " #1号公司"
    source = tmp_path / "note.csv"
    with open(source, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    if suffix == ".parquet":
        as_parquet(source, tmp_path / "note.parquet")
    elif suffix == ".xlsx":
        as_xlsx(source, tmp_path / "note.xlsx")
    (tmp_path / "out").mkdir()
    rows_written, sql, messages = both(POLICY, tmp_path / f"note{suffix}", tmp_path / "out")
    assert "row by row" not in messages
    assert rows_written == sql
    assert "\r\n6," not in rows_written[".csv"].decode("utf-8") and "\r\n7," in rows_written[".csv"].decode("utf-8")
