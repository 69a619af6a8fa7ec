"""engine.rounds.write, Parquet: `-o results.parquet` writes the results CSV's columns under the same names, typed
(row BIGINT, total and each clause's amount DECIMAL(18,2), complete BOOLEAN, the rest VARCHAR, an empty cell
NULL), every value as the CSV has it but never neutralised, with the CSV round's errors and summary beside it;
by both engines alike; whole or absent."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from rounds_support import ROOT, run, write_round

from engine import load_policy
from engine.rounds.write import ParquetOutput, outputs, parquet_types

duckdb = pytest.importorskip("duckdb")

POLICY = ROOT / "tests" / "fixtures" / "lishui-2021-67.yaml"


@pytest.fixture(scope="module")
def round_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("write") / "r.csv"
    write_round(load_policy(str(POLICY)), 120, path)
    return path


def _plain(cell: str) -> str:
    """A results CSV's text cell as written before it was neutralised."""
    return cell[1:] if cell[:2] in ("'=", "'+", "'-", "'@") else cell


def test_parquet_results_are_the_csv_results_typed(round_csv, tmp_path):
    a = run("batch", POLICY, round_csv, "-o", tmp_path / "a.csv", "--engine", "rows")
    b = run("batch", POLICY, round_csv, "-o", tmp_path / "r.parquet", "--engine", "rows")
    assert a.exit_code == b.exit_code == 1
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("r.")) == [
        "r.errors.csv", "r.parquet", "r.summary.csv"]
    for part in (".errors.csv", ".summary.csv"):  # the CSV round's
        assert (tmp_path / f"a{part}").read_bytes() == (tmp_path / f"r{part}").read_bytes()
    with open(tmp_path / "a.csv", newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    con = duckdb.connect()
    described = con.execute(f"DESCRIBE SELECT * FROM '{tmp_path / 'r.parquet'}'").fetchall()
    ids = [h.removesuffix(".outcome") for h in header if h.endswith(".outcome")]
    assert [(name, kind) for name, kind, *_ in described] == list(parquet_types(ids).items())
    assert [name for name, *_ in described] == header
    values = con.execute(f"SELECT * FROM '{tmp_path / 'r.parquet'}'").fetchall()
    assert len(values) == len(rows) > 100
    for row, value in zip(rows, values, strict=True):
        for text, cell, kind in zip(row, value, parquet_types(ids).values(), strict=True):
            if kind == "BIGINT":
                assert cell == int(text)
            elif kind == "DECIMAL(18,2)":
                assert cell == (Decimal(text) if text else None) and (cell is None or str(cell) == text)
            elif kind == "BOOLEAN":
                assert cell is (text == "true")
            else:
                assert cell == (_plain(text) or None)
    names = [v[2] for v in values]
    assert '=HYPERLINK("x"),有限公司' in names and '-"甲" 乙,丙' in names and "+86 公司" in names  # as written
    assert "甲\r\n乙" in names and "丙\r丁" in names
    assert (tmp_path / "r.errors.csv").read_bytes().count(b"\n") > 8
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # nothing staged is left


def test_both_engines_write_the_same_parquet(round_csv, tmp_path):
    for engine in ("rows", "sql"):
        r = run("batch", POLICY, round_csv, "-o", tmp_path / f"{engine}.parquet", "--engine", engine)
        assert r.exit_code == 1 and "row by row" not in r.stderr
    con = duckdb.connect()
    rows, sql = (con.execute(f"SELECT * FROM '{tmp_path / name}'").fetchall() for name in ("rows.parquet",
                                                                                        "sql.parquet"))
    assert rows == sql and len(rows) > 100
    for part in (".errors.csv", ".summary.csv"):
        assert (tmp_path / f"rows{part}").read_bytes() == (tmp_path / f"sql{part}").read_bytes()


def test_the_parquet_outputs_are_named_beside_it_and_never_overwritten(round_csv, tmp_path):
    out = tmp_path / "r.parquet"
    assert outputs(str(out)) == [str(out), str(tmp_path / "r.errors.csv"), str(tmp_path / "r.summary.csv")]
    (tmp_path / "r.summary.csv").write_text("mine", encoding="utf-8")
    r = run("batch", POLICY, round_csv, "-o", out)
    assert r.exit_code == 1 and "r.summary.csv" in r.stderr and not out.exists()
    assert (tmp_path / "r.summary.csv").read_text(encoding="utf-8") == "mine"


def test_a_round_given_up_leaves_no_parquet_nor_what_it_staged(tmp_path):
    policy = load_policy(str(POLICY))
    out = ParquetOutput(str(tmp_path / "r.parquet"), policy, "en")
    out.handle.write("2,x,y,seller,1.00,true\r\n")
    out.abort()
    assert list(tmp_path.iterdir()) == []
    earlier = tmp_path / "r.parquet"
    earlier.write_bytes(b"earlier")
    out = ParquetOutput(str(earlier), policy, "en")
    out.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.parquet"] and earlier.read_bytes() == b"earlier"
