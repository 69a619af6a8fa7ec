"""engine.rounds.read, Parquet: a .parquet round is read as the same round in a CSV file — its column names the
header, its rows numbered 2, 3, … — each typed value as the text a CSV cell would hold (DECIMAL to its last
place, a DOUBLE by its shortest text and never rounded to the fen, DATE, BOOLEAN, a list of items as JSON); a
damaged file or a column no cell can hold is refused with the path and a hint, never a traceback."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from rounds_support import ROOT, run

from engine.rounds.identity import make_code

duckdb = pytest.importorskip("duckdb")

POLICY = ROOT / "tests" / "fixtures" / "lishui-2021-67.yaml"
HEADER = ["credit_code", "applicant", "recipient", "area", "date", "claim_year", "registered_cbec", "first_time_cbec",
          "cbec_turnover", "platform_fees", "digital_promotion", "incubated_enterprises"]
ITEMS = "STRUCT(name VARCHAR, credit_code VARCHAR, started_cbec BOOLEAN, annual_turnover DECIMAL(18,2), " \
        "years_since_incubation DOUBLE, reached_before BOOLEAN)[]"


def _code(n: int) -> str:
    return make_code(f"9133110{n:010d}")


# Each row as the CSV's texts, and as the Parquet file's typed values (SQL literals).
ROWS = [
    ([_code(1), "甲公司", "seller", "莲都区", "2024-06-01", "2024", "true", "true", "6000000.50", "12000.25", "300.5",
      ""],
     [f"'{_code(1)}'", "'甲公司'", "'seller'", "'莲都区'", "DATE '2024-06-01'", "2024", "true", "true",
      "6000000.50", "12000.25", "300.5", "NULL"]),
    ([_code(2), '=乙,"公司"', "seller", "莲都区", "2024-06-01", "2024", "false", "true", "35000.00", "0.1",
      "0.30000000000000004", ""],  # a DOUBLE's sum: 17 places, refused as in a CSV
     [f"'{_code(2)}'", "'=乙,\"公司\"'", "'seller'", "'莲都区'", "TIMESTAMP '2024-06-01 00:00:00'", "2024", "false",
      "true", "35000.00", "0.1", "0.1::DOUBLE + 0.2::DOUBLE", "NULL"]),
    (["", "", "", "", "", "", "", "", "", "", "", ""],  # a blank row
     ["NULL"] * 12),
    (["# 说明", "", "", "", "", "", "", "", "", "", "", ""],  # a note
     ["'# 说明'"] + ["NULL"] * 11),
    ([_code(3), "丙孵化器", "incubator", "莲都区", "2024-06-01 10:30:00", "2024", "", "", "", "", "",
      '[{"name":"丁","credit_code":"X1","started_cbec":true,"annual_turnover":5000000.00,'
      '"years_since_incubation":1.5,"reached_before":false}]'],  # a claim date with a time of day: refused
     [f"'{_code(3)}'", "'丙孵化器'", "'incubator'", "'莲都区'", "TIMESTAMP '2024-06-01 10:30:00'", "2024", "NULL",
      "NULL", "NULL", "NULL", "NULL",
      "[{'name': '丁', 'credit_code': 'X1', 'started_cbec': true, 'annual_turnover': 5000000.00, "
      "'years_since_incubation': 1.5, 'reached_before': false}]"]),
    ([_code(4), "戊公司", "incubator", "莲都区", "2024-06-01", "2024", "", "", "", "", "",
      '[{"name":"己","credit_code":null,"started_cbec":true,"annual_turnover":5000000.00,'
      '"years_since_incubation":2.0,"reached_before":false}]'],
     [f"'{_code(4)}'", "'戊公司'", "'incubator'", "'莲都区'", "DATE '2024-06-01'", "2024", "NULL", "NULL", "NULL",
      "NULL", "NULL",
      "[{'name': '己', 'credit_code': NULL, 'started_cbec': true, 'annual_turnover': 5000000.00, "
      "'years_since_incubation': 2.0, 'reached_before': false}]"]),
]
TYPES = ["VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "TIMESTAMP", "INTEGER", "BOOLEAN", "BOOLEAN", "DECIMAL(18,2)",
         "DOUBLE", "DOUBLE", ITEMS]


def _write(tmp_path: Path) -> tuple[Path, Path]:
    source = tmp_path / "r.csv"
    with open(source, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        out.writerows(texts for texts, _values in ROWS)
    rows = " UNION ALL ".join(
        "SELECT " + ", ".join(f"CAST({v} AS {t}) AS \"{h}\"" for v, t, h in zip(values, TYPES, HEADER, strict=True))
        for _texts, values in ROWS)
    parquet = tmp_path / "r.parquet"
    duckdb.execute(f"COPY ({rows}) TO '{parquet}' (FORMAT parquet)")
    return source, parquet


@pytest.mark.parametrize("engine", ["rows", "sql"])
def test_typed_parquet_values_read_as_the_texts_of_a_csv(tmp_path, engine):
    source, parquet = _write(tmp_path)
    a = run("batch", POLICY, source, "-o", tmp_path / "a.csv", "--lang", "en", "--engine", engine)
    b = run("batch", POLICY, parquet, "-o", tmp_path / "b.csv", "--lang", "en", "--engine", engine)
    assert a.exit_code == b.exit_code == 1, a.output + b.output
    assert "row by row" not in b.stderr
    for part in ("", ".errors", ".summary"):
        assert (tmp_path / f"a{part}.csv").read_bytes() == (tmp_path / f"b{part}.csv").read_bytes(), part
    results = list(csv.reader(open(tmp_path / "b.csv", encoding="utf-8")))
    assert [r[0] for r in results[1:]] == ["2", "7"]  # numbered as the CSV's rows; the blank row and note skipped
    errors = list(csv.reader(open(tmp_path / "b.errors.csv", encoding="utf-8")))
    assert [(e[0], e[2][-19:]) for e in errors[1:]] == [("3", "（digital_promotion）"), ("6", "Claim date（date）")]
    assert "0.30000000000000004" in errors[1][3] and "17 decimal places" in errors[1][3]


def test_a_damaged_parquet_file_is_refused_with_its_path_and_a_hint(tmp_path):
    _source, parquet = _write(tmp_path)
    data = parquet.read_bytes()
    for name, content in [("cut.parquet", data[: len(data) // 2]), ("text.parquet", b"credit_code,applicant\n"),
                          ("empty.parquet", b"")]:
        (tmp_path / name).write_bytes(content)
        for engine in ("rows", "sql"):
            out = tmp_path / "out" / f"{engine}.csv"
            r = run("batch", POLICY, tmp_path / name, "-o", out, "--lang", "en", "--engine", engine)
            assert r.exit_code == 1, r.output
            assert f"{name} cannot be read as a Parquet file" in r.stderr and "write it again as Parquet" in r.stderr
            assert "Traceback" not in r.output
            assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_a_parquet_file_damaged_inside_ends_the_round_in_words(tmp_path):
    big = tmp_path / "big.parquet"
    duckdb.execute(f"COPY (SELECT make_code AS credit_code, 'n' || i AS applicant, 'seller' AS recipient FROM "
                   f"(SELECT i, '{_code(1)}' AS make_code FROM range(60000) t(i))) TO '{big}' "
                   "(FORMAT parquet, ROW_GROUP_SIZE 10000)")
    data = bytearray(big.read_bytes())
    for k in range(len(data) // 2, len(data) // 2 + 4000):
        data[k] = (data[k] * 7 + 3) % 256
    big.write_bytes(bytes(data))
    for engine in ("rows", "sql"):
        out = tmp_path / "out" / f"{engine}.csv"
        r = run("batch", POLICY, big, "-o", out, "--lang", "en", "--engine", engine)
        assert r.exit_code == 1, r.output
        assert "cannot read the Parquet file" in r.stderr and "it is damaged after row" in r.stderr, r.stderr
        assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_a_column_no_cell_holds_is_refused_naming_it(tmp_path):
    parquet = tmp_path / "r.parquet"
    duckdb.execute(f"COPY (SELECT '{_code(1)}' AS credit_code, 'seller' AS recipient, '\\x01'::BLOB AS photo) "
                   f"TO '{parquet}' (FORMAT parquet)")
    r = run("batch", POLICY, parquet, "-o", tmp_path / "r.csv", "--lang", "en")
    assert r.exit_code == 1
    assert "column photo is of type BLOB" in r.stderr and "write the column as text" in r.stderr


def test_a_parquet_rounds_size_is_known_for_the_progress_bar(tmp_path):
    from engine import SheetHeaders as Headers
    from engine import fixed_labels, load_policy, open_source, sheet_columns

    _source, parquet = _write(tmp_path)
    policy = load_policy(str(POLICY))
    headers = Headers(sheet_columns(policy, "en", None), {v: k for k, v in fixed_labels("zh").items()})
    opened = open_source(str(parquet), headers, count=True)
    assert opened.total == len(ROWS)
    assert [number for number, _cells in opened.items()] == [2, 3, 6, 7]  # the blank row and the note skipped
