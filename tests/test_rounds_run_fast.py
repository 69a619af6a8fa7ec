"""What makes `policy batch` fast must not change what it writes: CSV files cut into raw records for the workers
read exactly as csv.reader reads them (or are read again where they cannot be), the JSON Lines written from
kept fragments are json.dumps's, and --jobs 1 and --jobs 2 write the same bytes."""

from __future__ import annotations

import csv
import io
import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import LISHUI, ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine.rounds.run as run_module
from cli import cli
from engine.core.messages import t
from engine.rounds.columns import cells_of
from engine.rounds.identity import make_code
from engine.rounds.read import CsvRecords, Source, parse_records, skipped
from engine.rounds.run import Record
from engine.rounds.template import sheet_columns
from engine.rounds.write import JsonlLines, jsonl_line

sys.path.insert(0, str(ROOT / "scripts"))
from population import population

LISHUI_S = str(LISHUI)


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


# --- CSV cut into records ------------------------------------------------------------------------------

def _read_as_round_does(path: Path, encoding: str, size: int) -> list[tuple[int, list[object]]]:
    """The rows a round evaluates: chunks of raw records parsed as a worker does, read again where they cannot."""
    records = CsvRecords(str(path), encoding)
    header = records.header()
    if header is None:
        return [("header read again",)]  # type: ignore[list-item]
    source = Source(str(path), "cells", encoding=encoding, _records=records, _data_start=header[2])
    out: list[tuple[int, list[object]]] = []
    chunks = source.chunks(size)
    while chunks is not None:
        again = None
        for chunk in chunks:
            if chunk.items is not None:
                out += chunk.items  # type: ignore[arg-type]
                continue
            rows = parse_records(chunk.records or [], chunk.encoding)
            if rows is None:
                again = source.reread(chunk, size)
                break
            out += [(n, cells) for n, cells in enumerate(rows, chunk.first) if not skipped(cells)]
        chunks = again
    return out


def _read_as_csv_reader_does(path: Path, encoding: str) -> list[tuple[int, list[object]]]:
    with open(path, encoding=encoding, newline="") as handle:
        rows = list(enumerate(csv.reader(handle), 1))
    first = next(i for i, (_n, cells) in enumerate(rows) if any(str(c).strip() for c in cells))
    return [(n, list(cells)) for n, cells in rows[first + 1:] if not skipped(cells)]


_cell = st.text(alphabet=st.sampled_from(list('ab甲," \n\r\t#')), max_size=6)
_line_end = st.sampled_from(["\n", "\r\n", "\r"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_cell, min_size=0, max_size=4), max_size=12), end=_line_end,
       stray=st.lists(st.tuples(st.integers(0, 400), st.sampled_from(['"', 'x"y', '\n', '""'])), max_size=2),
       size=st.integers(1, 4), final=st.booleans())
def test_cut_records_read_as_csv_reader_reads_the_file(tmp_path, rows, end, stray, size, final):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=end)
    writer.writerow(["credit_code", "recipient"])
    writer.writerows(rows)
    text = buffer.getvalue()
    for at, what in stray:  # hand-made damage: stray quotes and line ends anywhere
        at = min(at, len(text))
        text = text[:at] + what + text[at:]
    if not final:
        text = text.rstrip("\r\n")
    path = tmp_path / "round.csv"
    path.write_text(text, encoding="utf-8", newline="")
    try:
        expected = _read_as_csv_reader_does(path, "utf-8")
    except (StopIteration, csv.Error):
        return  # no header, or a file csv.reader refuses: not what this test is about
    got = _read_as_round_does(path, "utf-8", size)
    if got == [("header read again",)]:
        return  # the round then reads the whole file as csv.reader does
    assert got == expected


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_cut_records_in_other_encodings(tmp_path, encoding):
    path = tmp_path / "round.csv"
    text = 'credit_code,applicant\r\n1,"甲\r\n乙"\r\n2,丙""丁\r\n\r\n3,"戊,己"\r\n'
    path.write_bytes(text.encode(encoding))
    assert _read_as_round_does(path, "utf-8-sig" if encoding == "utf-8-sig" else "gb18030", 2) == \
        _read_as_csv_reader_does(path, encoding)


def test_a_chunk_with_a_stray_quote_is_read_again_and_rows_keep_their_numbers(tmp_path, monkeypatch, lishui):
    """A stray quote late in the file: the chunks before it are the workers', the rest read in the main
    process; --jobs 1 and --jobs 2 write the same bytes, and the same as a file without the damage does."""
    monkeypatch.setattr(run_module, "CHUNK", 7)
    cols = sheet_columns(lishui, "zh", None)
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow([c.header for c in cols])
    for i, d in enumerate(population(lishui, 60, seed=11)):
        out.writerow(["" if v is None else v for v in cells_of(d, cols, make_code(f"9133110{i:010d}"))])
    lines = buffer.getvalue().split("\n")
    lines[40] = lines[40].replace(",", ',ab"c', 1)  # the applicant's name cell now holds ab"c...: a stray quote
    source = tmp_path / "round.csv"
    source.write_text("\n".join(lines), encoding="utf-8")
    outputs = []
    for jobs in ("1", "2", "main"):
        if jobs == "main":  # the reference: the whole file read in the main process, as csv.reader reads it
            monkeypatch.setattr(CsvRecords, "header", lambda self: None)
        result = tmp_path / f"out{jobs}.jsonl"
        r = run("batch", LISHUI_S, source, "-o", result, "--jobs", "1" if jobs == "main" else jobs)
        outputs.append((result.read_bytes(), (tmp_path / f"out{jobs}.errors.jsonl").read_bytes(),
                        (tmp_path / f"out{jobs}.summary.json").read_bytes(), r.exit_code))
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(outputs[0][0].splitlines()) > 50  # the rows after the stray quote were evaluated too


# --- JSON Lines from kept fragments --------------------------------------------------------------------

_text = st.text(alphabet=st.sampled_from(list('a甲"\\\n\t\x00\x7f\u2028é/ ') + ["\ud7ff"]), max_size=5)
_clause = st.tuples(st.sampled_from(["eligible", "ineligible", "undetermined", "referred", "not_applicable"]),
                    st.sampled_from(["", "0", "120000.00", "-5.5", "1E+2"]),
                    st.sampled_from(["", "recipient", "missing:a;b", "cap"]), _text | st.just(""))


@settings(max_examples=300, deadline=None)
@given(records=st.lists(st.tuples(st.integers(1, 10**6), st.none() | _text, st.none() | _text,
                                  st.lists(st.sampled_from(["seller", "school", "甲"]), max_size=2),
                                  st.booleans(), st.none() | _text,
                                  st.lists(_clause, min_size=3, max_size=3)), max_size=5))
def test_jsonl_lines_are_json_dumps(records):
    ids = ["1", "2.1", "甲"]
    lines = JsonlLines(ids)
    for row, code, name, kinds, complete, sheet, clauses in records:
        record = Record(row, str(row), code, name, tuple(kinds), [list(c) for c in clauses], "12.30", complete,
                        sheet=sheet)
        assert lines.line(record) == jsonl_line(record, ids)
        tally = lines.tally(lines.line(record))
        assert tally.total == Decimal("12.30") and [o for o, _a in tally.clauses] == [c[0] for c in clauses]


# --- repeated recipients in every output -----------------------------------------------------------------

@pytest.mark.parametrize("form", ["csv", "jsonl", "xlsx"])
def test_a_repeated_recipient_is_taken_back_from_the_summary_in_every_form(tmp_path, form, lishui):
    good = {"credit_code": make_code("91331100000000021"), "recipient": "seller", "area": "市直",
            "date": "2024-05-01", "granted": {}, "facts": {"cbec_turnover": "600万元", "platform_fees": 10000,
                                                            "digital_promotion": 1000000}}
    other = dict(good, credit_code=make_code("91331100000000022"))
    source = tmp_path / "round.jsonl"
    source.write_text("\n".join(json.dumps(x) for x in [good, other, good, other]) + "\n", encoding="utf-8")
    single = tmp_path / "single.jsonl"
    single.write_text("\n".join(json.dumps(x) for x in [good, other]) + "\n", encoding="utf-8")
    summaries = []
    for jobs in ("1", "2"):
        for src, name in ((source, "o"), (single, "s")):
            out = tmp_path / f"{name}{jobs}.{form}"
            run("batch", LISHUI_S, src, "-o", out, "--jobs", jobs, "--force")
            if form == "xlsx":
                from openpyxl import load_workbook
                book = load_workbook(out, read_only=True)
                rows = [list(r) for r in book["汇总"].iter_rows(values_only=True)]
                book.close()
                summaries.append([r for r in rows if r and r[0] != t("batch.summary.bad_rows", "zh")])
            else:
                summary = tmp_path / (f"{name}{jobs}.summary." + ("json" if form == "jsonl" else "csv"))
                text = summary.read_text(encoding="utf-8")
                summaries.append(text.replace('"bad_rows": 2', '"bad_rows": 0').replace(",bad_rows,2,", ",bad_rows,0,"))
    assert summaries[0] == summaries[1] == summaries[2] == summaries[3]
