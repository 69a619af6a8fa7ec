"""engine.rounds.sql: `policy batch --engine sql` writes exactly what `--engine rows` writes — every results
line, every bad row's row, column and reason, the summary — over a generated population with bad rows mixed in,
for every shipped policy, and says when and why it runs row by row instead."""

from __future__ import annotations

import csv
import json
import sys
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
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

pytest.importorskip("duckdb")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from benchmark import write_round_csv
from rounds_support import workbook_differences

POLICIES = ["policies/lishui-2021-67.yaml", "policies/datong-2021-46.yaml", "policies/hangzhou-2019-99.yaml",
            "policies/hangzhou-2022-draft.yaml"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def with_bad_rows(path: Path) -> None:
    """Rows the row engine refuses or reads in forms the SQL does not, appended to a generated round."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, good = rows[0], rows[1]
    col = {h[h.index("（") + 1:-1] if "（" in h else h: i for i, h in enumerate(header)}

    def row(n: int, **cells: str) -> list[str]:
        out = list(good)
        out[0] = make_code(f"9133110{9_000_000_000 + n:010d}")
        for name, value in cells.items():
            if name in col:
                out[col[name]] = value
        return out

    money = next((n for n in ("cbec_turnover", "platform_fees", "park_cbec_turnover") if n in col), None)
    extra = [
        row(1, credit_code=good[0]),  # the first row's recipient again
        row(2, credit_code=good[0][:17] + ("0" if good[0][17] != "0" else "1")),  # a wrong check character
        row(3, recipient="不存在的类别"),
        row(4, recipient=""),
        row(5, date="2024/1/2"),  # another spelling the row engine reads
        row(6, applicant="名称\t带制表符"),
        row(7, area=" " + good[col["area"]] + " "),
        ["" for _ in header],  # a blank row: skipped by both
        row(8, credit_code="91331100MA2XXXXXX"),  # too short
        row(18, credit_code=f"  {rows[2][0].lower()} "),  # the second row's recipient, in lower case
        row(19, applicant='=HYPERLINK("x"),有限公司'),  # a name the SQL reads, quoted and neutralised
        row(20, applicant='-"甲" 乙,丙'),
        row(21, applicant='甲\\乙"丙'),  # a backslash and a quote: escaped in JSON
        row(22, applicant="＝SUM(1)"),  # a full-width formula start
        row(23, applicant="两行\n的名称"),  # a record of two lines: the rows after it are numbered alike
        row(24, applicant="@x"),
        # spaces around cells the SQL reads unstripped (FactKind.sql_unstripped): the row engine strips and reads them
        row(25, date=" " + good[col["date"]] + " "), row(26, recipient=" " + good[col["recipient"]]),
        row(27, claim_year="2023 ") if "claim_year" in col else row(27),
        row(28, **{"granted.2.1": " 0"}) if "granted.2.1" in col else row(28),
    ]
    if money:
        extra += [row(10, **{money: "abc"}), row(11, **{money: "1,234"}), row(12, **{money: "12.345"}),
                  row(13, **{money: "10万零5元"})]
        # odd shapes a cheap check must leave to the row engine, or read as it reads them
        extra += [row(40 + i, **{money: cell}) for i, cell in enumerate(
            [" 1", "1 ", "  ", "1.", ".5", "+1", "１２", "1e3", "0x10", "1,000", "万", "1.234元", "1元元", "0.5万", "007", "1.5亿"])]
    if "site_costs_in_promotion" in col:
        extra.append(row(14, site_costs="100", site_costs_in_promotion="200"))  # a part above its whole
    if "site_domain_holding" in col:
        extra.append(row(15, site_domain_holding="150%"))  # above its max
    if "claim_year" in col:
        extra += [row(16, claim_year="2099"), row(17, claim_year="")]
    if "incubated_enterprises" in col:  # a list's items: read by the SQL where plain, else the row engine's
        items = [
            '[]', '[{"name": "甲", "annual_turnover": "600万元"}, {"name": "乙"}]',  # read: counted, waiting
            '[{"name": "甲"},]', '[{"name": "甲"}, {"name": " 甲"}]',  # a trailing comma, the same name twice
            '[{"name": "\\u7532", "started_cbec": true}]', '[{"years_since_incubation": 1.5}]',  # escapes, fractions
            '[{"started_cbec": "true"}]', '[{"nme": "甲"}]', '[{"annual_turnover": "-1"}]', "not json",
            # odd shapes the one pattern must hand back (or read as the row engine reads them)
            '[{"name": "甲", "name": "乙"}]', '[{"annual_turnover": "5万元", "name": "丙"}]',  # a key twice, any order
            '[\n {"name":"丁"} ,{ }\t]', '[{"name": "甲\tb"}]', '[{"name": "甲"}, [], null]',  # JSON's spaces, a tab
            '[{"annual_turnover": 12}]', '[{"annual_turnover": 012}]', '[{"annual_turnover": "１２"}]',
            '[{"annual_turnover": 1e3}]', '[{"annual_turnover": -0}]', '[{"name": null, "started_cbec": false}]',
            '[{"name": "A"}, {"name": "a"}]', '[{"name": "a b"}, {"name": "ab"}]', '[{"name": "ｆ"}, {"name": "f"}]',
            '[{"name": "甲", "credit_code": "甲"}]', '[{"name": ""}]', '[{"name": "x\u0000"}]', '{"name": "甲"}',
            '[{"years_since_incubation": "-1"}]', '[{"years_since_incubation": 0}]', '[{"name": "甲"}]]',
            ' [{"name": "甲"}] ', '[{"started_cbec": true }]']
        extra += [row(30 + i, incubated_enterprises=cell, recipient="incubator") for i, cell in enumerate(items)]
    with open(path, "a", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(extra)


def bad_round(policy_path: str, folder: Path) -> Path:
    """A generated round of the policy (3,000 rows of Lishui's, 1,500 of another's) with bad rows appended."""
    path = folder / "round.csv"
    write_round_csv(load_policy(str(ROOT / policy_path)), 3_000 if policy_path.startswith("policies/lishui") else 1_500,
                    path, seed=11)
    with_bad_rows(path)
    return path


@pytest.fixture(scope="module", params=POLICIES)
def round_csv(request, tmp_path_factory):
    return request.param, bad_round(request.param, tmp_path_factory.mktemp("sql"))


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_the_sql_engine_writes_what_the_row_engine_writes(round_csv, suffix, tmp_path):
    policy_path, source = round_csv
    rows, sql = tmp_path / f"rows{suffix}", tmp_path / f"sql{suffix}"
    a = run("batch", ROOT / policy_path, source, "-o", rows, "--engine", "rows", "--lang", "en")
    b = run("batch", ROOT / policy_path, source, "-o", sql, "--engine", "sql", "--lang", "en")
    assert a.exit_code == b.exit_code == 1  # bad rows
    assert "row by row" not in b.stderr
    assert a.stderr == b.stderr.replace(str(sql), str(rows))  # the same counts and total
    written = sorted(p.name.replace("rows", "") for p in tmp_path.iterdir() if p.name.startswith("rows"))
    assert written == sorted(p.name.replace("sql", "") for p in tmp_path.iterdir() if p.name.startswith("sql"))
    assert len(written) == 3  # results, errors, summary
    for name in written:
        assert (tmp_path / f"rows{name}").read_bytes() == (tmp_path / f"sql{name}").read_bytes(), name
    errors = (tmp_path / f"rows.errors{suffix}").read_text(encoding="utf-8")
    assert errors.count("\n") >= 5  # the repeated recipient, the codes, the kinds, …


def test_the_query_decides_most_rows_itself(round_csv, tmp_path):
    policy_path, source = round_csv
    policy = load_policy(str(ROOT / policy_path))
    headers = Headers(sheet_columns(policy, "en", None), {v: k for k, v in fixed_labels("zh").items()})
    opened = open_source(str(source), headers)
    settings = RoundSettings("en", "csv")
    assert sql_round_why_not(policy, opened, settings, asked=True) is None
    the_round = SqlRound(policy, opened, settings, {r.label: k for k, r in policy.recipients.items()})
    summary = the_round.run(make_output(str(tmp_path / "r.csv"), policy, "en"))
    rows = summary.applicants + summary.bad_rows
    assert 0 < the_round.handed_back < 0.5 * rows, (the_round.handed_back, rows)  # handed back to the row engine


def test_a_recipient_written_with_other_white_space_is_still_found_twice(tmp_path):
    """A code with a tab around it is read by the row engine as the same code: every code is then kept."""
    source = tmp_path / "round.csv"
    policy_path = ROOT / POLICIES[0]
    write_round_csv(load_policy(str(policy_path)), 50, source, seed=5)
    with open(source, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    with open(source, "a", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerow([rows[3][0] + "\t", *rows[3][1:]])
    a = run("batch", policy_path, source, "-o", tmp_path / "a.csv", "--engine", "rows", "--lang", "en")
    b = run("batch", policy_path, source, "-o", tmp_path / "b.csv", "--engine", "sql", "--lang", "en")
    assert a.exit_code == b.exit_code == 1
    errors = (tmp_path / "b.errors.csv").read_text(encoding="utf-8")
    assert "is already on row 4" in errors  # names the first row with the code
    for name in ("", ".errors", ".summary"):
        assert (tmp_path / f"a{name}.csv").read_bytes() == (tmp_path / f"b{name}.csv").read_bytes()


def test_a_csv_duckdb_cannot_read_runs_row_by_row_with_the_same_results(tmp_path):
    source = tmp_path / "round.csv"
    policy_path = ROOT / POLICIES[0]
    write_round_csv(load_policy(str(policy_path)), 600, source, seed=5)
    lines = source.read_bytes().split(b"\r\n")
    lines[500] = lines[500].replace(b",", b",\xed\xa0\x80", 1)  # not UTF-8, past what the encoding is told by
    source.write_bytes(b"\r\n".join(lines))
    a = run("batch", policy_path, source, "-o", tmp_path / "a.csv", "--engine", "rows", "--lang", "en")
    b = run("batch", policy_path, source, "-o", tmp_path / "b.csv", "--engine", "sql", "--lang", "en")
    assert a.exit_code == b.exit_code == 1
    for name in ("", ".errors", ".summary"):
        assert (tmp_path / f"a{name}.csv").read_bytes() == (tmp_path / f"b{name}.csv").read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_a_band_for_everyone_and_ceilings_are_written_alike_by_both_engines(tmp_path):
    """tiers otherwise: (a rate for everyone, raised from a band) is the row engine's: the query leaves it there, so
    both write the same, the trade not stated paying the rate for everyone."""
    from engine.rounds.identity import make_code

    source = tmp_path / "raised.csv"
    rows = ["credit_code,applicant,recipient,date,site_costs,trade_usd"]
    for i, (costs, trade) in enumerate([("100万元", ""), ("100万元", "75万美元"), ("40万元", "749999.99"), ("", "1")]):
        rows.append(f"{make_code(f'9133010{i:010d}')},企业{i},firm,2024-06-01,{costs},{trade}")
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    fixture = ROOT / "tests" / "fixtures" / "forms" / "raised-band.yaml"
    a = run("batch", fixture, source, "-o", tmp_path / "a.csv", "--engine", "rows", "--lang", "en")
    b = run("batch", fixture, source, "-o", tmp_path / "b.csv", "--engine", "sql", "--lang", "en")
    assert a.exit_code == b.exit_code == 0, a.stderr + b.stderr
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    amounts = [line.split(",")[7] for line in (tmp_path / "a.csv").read_text(encoding="utf-8").splitlines()[1:]]
    assert amounts == ["200000.00", "300000.00", "120000.00", ""]


def _rows_and_sql(policy_path, source, tmp_path, suffix):
    a = run("batch", policy_path, source, "-o", tmp_path / f"rows{suffix}", "--engine", "rows", "--lang", "en")
    b = run("batch", policy_path, source, "-o", tmp_path / f"sql{suffix}", "--engine", "sql", "--lang", "en")
    assert a.exit_code == b.exit_code
    assert "row by row" not in b.stderr
    for name in ("", ".errors"):
        assert (tmp_path / f"rows{name}{suffix}").read_bytes() == (tmp_path / f"sql{name}{suffix}").read_bytes()
    summary = ".summary.json" if suffix == ".jsonl" else ".summary.csv"
    assert (tmp_path / f"rows{summary}").read_bytes() == (tmp_path / f"sql{summary}").read_bytes()
    return (tmp_path / f"sql.errors{suffix}").read_text(encoding="utf-8")


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_recipient_twice_is_found_across_rows_the_query_decides_and_rows_it_hands_back(tmp_path, suffix,
                                                                                       monkeypatch):
    """The first row without problems keeps a credit code, whichever engine decided it; a bad row keeps none. (The
    rows handed back are put back in batches of two here, as a large round's are.)"""
    from engine.rounds import sql

    monkeypatch.setattr(sql, "UPDATE_ROWS", 2)
    source = tmp_path / "round.csv"
    policy_path = ROOT / POLICIES[0]
    write_round_csv(load_policy(str(policy_path)), 30, source, seed=5)
    with open(source, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    date = next(i for i, h in enumerate(header) if h.endswith("（date）"))
    money = next(i for i, h in enumerate(header) if h.endswith("（cbec_turnover）"))

    def like(n: int, code: str, handed: bool = False, bad: bool = False) -> list[str]:
        out = list(rows[n])
        out[0] = code
        if handed:
            y, m, d = out[date].split("-")
            out[date] = f"{y}/{int(m)}/{int(d)}"  # a spelling the row engine reads and the SQL hands back
        if bad:
            out[money] = "abc"
        return out

    a, b, c = (make_code(f"9133110{8_000_000_000 + n:010d}") for n in range(3))
    more = [like(2, rows[1][0], handed=True),  # row 32: the decided row 2's recipient again, handed back
            like(3, a, handed=True),  # row 33: handed back, keeps a
            [""] * len(header),  # row 34: blank, skipped
            like(4, a),  # row 35: decided, a again
            like(5, b, handed=True, bad=True),  # row 36: a bad row keeps no code
            like(6, b),  # row 37: decided, keeps b
            like(7, b, handed=True),  # row 38: handed back, b again
            like(8, c), like(9, c)]  # rows 39, 40: both decided
    with open(source, "a", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(more)
    errors = _rows_and_sql(policy_path, source, tmp_path, suffix)
    for row, first in ((32, 2), (35, 33), (38, 37), (40, 39)):
        assert f"is already on row {first}" in next(line for line in errors.splitlines() if f'{row}' in line[:12])
    assert errors.count("is already on row") == 4


def test_the_sql_engine_writes_parquet_holding_the_row_engines_results(round_csv, tmp_path):
    """-o results.parquet: the CSV's columns, typed (row BIGINT, amounts DECIMAL(18,2), complete BOOLEAN, the rest
    text, an empty cell NULL), each row's values those the row engine writes; the errors and the summary as CSV
    beside it."""
    import duckdb

    policy_path, source = round_csv
    policy = load_policy(str(ROOT / policy_path))
    assert run("batch", ROOT / policy_path, source, "-o", tmp_path / "rows.jsonl", "--engine", "rows",
               "--lang", "en").exit_code == 1
    assert run("batch", ROOT / policy_path, source, "-o", tmp_path / "rows.csv", "--engine", "rows",
               "--lang", "en").exit_code == 1
    headers = Headers(sheet_columns(policy, "en", None), {v: k for k, v in fixed_labels("zh").items()})
    settings = RoundSettings("en", "parquet")
    opened = open_source(str(source), headers)
    assert sql_round_why_not(policy, opened, settings, asked=True) is None
    summary = SqlRound(policy, opened, settings, {r.label: k for k, r in policy.recipients.items()}).run(
        str(tmp_path / "sql.parquet"))
    for name in ("errors", "summary"):
        assert (tmp_path / f"rows.{name}.csv").read_bytes() == (tmp_path / f"sql.{name}.csv").read_bytes()
    con = duckdb.connect()
    table = con.execute(f"SELECT * FROM read_parquet('{tmp_path / 'sql.parquet'}')")
    columns = [d[0] for d in table.description]
    found = table.fetchall()
    with open(tmp_path / "rows.csv", newline="", encoding="utf-8") as handle:
        assert columns == next(csv.reader(handle))
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{tmp_path / 'sql.parquet'}')").fetchall()}
    for name, kind in types.items():
        expected = {"row": "BIGINT", "complete": "BOOLEAN"}.get(name, "DECIMAL(18,2)" if name == "total"
                                                                  or name.endswith(".amount") else "VARCHAR")
        assert kind == expected, (name, kind)
    ids = [c.id for c in policy.clauses if c.measure is None]
    expected_rows = []
    for line in (tmp_path / "rows.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        cells = [r["row"], r["credit_code"] or None, r["applicant"] or None, ";".join(r["recipient"]) or None,
                 Decimal(r["total"]), r["complete"]]
        for cid in ids:  # an empty cell is NULL
            c = r["clauses"][cid]
            cells += [c["outcome"], Decimal(c["amount"]) if "amount" in c else None, c.get("reason") or None,
                      c.get("note") or None]
        expected_rows.append(tuple(cells + [None]))
    assert found == expected_rows
    assert len(found) == summary.applicants > 1000


def _spread(path: Path, generated: int) -> None:
    """The round's rows with with_bad_rows' rows (but its record of two lines) spread through it: every part of a
    round cut into parts gets rows handed back, bad rows and recipients first seen in an earlier part."""
    with_bad_rows(path)
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    plain = rows[1:generated + 1]
    extra = [r for r in rows[generated + 1:] if not any("\n" in c for c in r)]
    step = max(1, len(plain) // (len(extra) + 1))
    mixed = []
    for i, r in enumerate(plain):
        mixed.append(r)
        if i % step == step - 1 and extra:
            mixed.append(extra.pop(0))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([rows[0], *mixed, *extra])


@pytest.fixture(scope="module")
def spread_round(tmp_path_factory):
    """A Lishui round with bad rows spread through it, and the row engine's files of it (CSV and JSON Lines)."""
    folder = tmp_path_factory.mktemp("parts")
    source = folder / "round.csv"
    write_round_csv(load_policy(str(ROOT / POLICIES[0])), 300, source, seed=3)
    _spread(source, 300)
    for suffix in (".csv", ".jsonl", ".xlsx"):
        assert run("batch", ROOT / POLICIES[0], source, "-o", folder / f"rows{suffix}", "--engine", "rows",
                   "--lang", "en").exit_code == 1
    return folder


@pytest.mark.parametrize("form", ["csv", "jsonl", "parquet", "xlsx"])
def test_a_round_cut_into_parts_one_per_job_writes_what_the_row_engine_writes(spread_round, tmp_path, monkeypatch,
                                                                              form):
    """--jobs 3 on a large CSV file: three parts evaluated at once, each into a table of its own, put together in
    the file's order: the same results, bad rows, later rows of a recipient and summary as row by row."""
    from engine.rounds import sql

    monkeypatch.setattr(sql, "SPLIT_BYTES", 0)
    monkeypatch.setattr(sql, "UPDATE_ROWS", 7)
    source, rows = spread_round / "round.csv", spread_round / "rows"
    policy = load_policy(str(ROOT / POLICIES[0]))
    headers = Headers(sheet_columns(policy, "en", None), {v: k for k, v in fixed_labels("zh").items()})
    opened = open_source(str(source), headers)
    the_round = SqlRound(policy, opened, RoundSettings("en", form), {r.label: k for k, r in policy.recipients.items()},
                         jobs=3)
    the_round.run(str(tmp_path / f"sql.{form}"))
    assert len(the_round.parts) == 3 and 0 < the_round.handed_back
    assert [base for _table, base in the_round.parts][1:] == sql._Lines(str(source), 3).cuts
    if form == "xlsx":  # one file: results, problems and summary are sheets of it
        assert workbook_differences(Path(f"{rows}.xlsx"), tmp_path / "sql.xlsx") == []
        return
    suffix = ".csv" if form == "parquet" else f".{form}"
    if form == "parquet":
        import duckdb

        found = duckdb.connect().execute(f"SELECT * FROM read_parquet('{tmp_path / 'sql.parquet'}')")
        with open(f"{rows}.csv", newline="", encoding="utf-8") as handle:
            written = list(csv.reader(handle))[1:]
        assert [str(r[0]) for r in found.fetchall()] == [r[0] for r in written]  # every row, in order
    else:
        assert Path(f"{rows}{suffix}").read_bytes() == (tmp_path / f"sql{suffix}").read_bytes()
    errors = Path(f"{rows}.errors{suffix}").read_text(encoding="utf-8")
    assert errors == (tmp_path / f"sql.errors{suffix}").read_text(encoding="utf-8")
    assert errors.count("already on row") >= 2
    summary = ".summary.json" if form == "jsonl" else ".summary.csv"
    assert Path(f"{rows}{summary}").read_bytes() == (tmp_path / f"sql{summary}").read_bytes()


def test_a_csv_file_is_cut_only_at_the_end_of_a_record(tmp_path, monkeypatch):
    """A file is cut where a line ends outside a quoted cell, into parts of about equal size, and not at all when a
    cell spans lines or a line ends in a lone carriage return."""
    from engine.rounds import sql

    def cut(path, parts):  # the cuts, where the pass over every line (on its own thread) says they hold
        lines = sql._Lines(str(path), parts)
        return lines.cuts if lines.held() else None

    monkeypatch.setattr(sql, "SPLIT_BYTES", 0)
    path = tmp_path / "r.csv"
    rows = [["code", "name"]] + [[str(i), f'甲,"{i}"' if i % 3 else "乙"] for i in range(100)]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    cuts = cut(path, 4)
    assert cuts is not None and len(cuts) == 3 and all(20 <= b - a <= 30 for a, b in pairwise([0, *cuts]))
    lines = path.read_bytes().split(b"\r\n")
    assert [lines[c + 1].split(b",")[0] for c in cuts] == [str(c).encode() for c in cuts]  # the records' own lines
    rows[50][1] = "两行\n的名称"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    assert cut(path, 2) is None
    path.write_bytes(b"code,name\r" + b"1,a\r" * 50 + b"2,b\n" * 50)
    assert cut(path, 2) is None
    for empty in (b"1,a\n\n", b"1,a\r\n\r\n"):  # DuckDB's skip counts an empty line, its records do not
        path.write_bytes(b"code,name\n" + b"1,a\n" * 10 + empty + b"2,b\n" * 60)
        assert cut(path, 2) is None
    monkeypatch.setattr(sql, "SPLIT_BYTES", 1 << 20)
    path.write_bytes(b"code,name\n" + b"1,a\n" * 100)
    assert cut(path, 2) is None  # too small to pay


def test_a_round_with_a_record_of_two_lines_is_read_in_one_part(tmp_path, monkeypatch):
    """A cell of two lines: the file is not cut (a part's first line could be the middle of a record), and the
    round writes what the row engine writes."""
    from engine.rounds import sql

    monkeypatch.setattr(sql, "SPLIT_BYTES", 0)
    source = tmp_path / "round.csv"
    policy_path = ROOT / POLICIES[0]
    policy = load_policy(str(policy_path))
    write_round_csv(policy, 40, source, seed=8)
    with open(source, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    rows[20][1] = "两行\n的名称"
    with open(source, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    headers = Headers(sheet_columns(policy, "en", None), {v: k for k, v in fixed_labels("zh").items()})
    the_round = SqlRound(policy, open_source(str(source), headers), RoundSettings("en", "csv"),
                         {r.label: k for k, r in policy.recipients.items()}, jobs=2)
    the_round.run(str(tmp_path / "sql.csv"))
    assert len(the_round.parts) == 1
    assert run("batch", policy_path, source, "-o", tmp_path / "rows.csv", "--engine", "rows", "--lang", "en"
               ).exit_code == 0
    for name in ("", ".errors", ".summary"):
        assert (tmp_path / f"rows{name}.csv").read_bytes() == (tmp_path / f"sql{name}.csv").read_bytes()


def test_lines_are_counted_as_csv_reader_ends_them(tmp_path):
    """A line feed, a carriage return and line feed (even across the blocks the file is read in), a lone carriage
    return; the last line with or without its end."""
    from engine.rounds import sql

    path = tmp_path / "r.csv"
    for text, lines in ((b"", 0), (b"a", 1), (b"a\n", 1), (b"a\r\nb", 2), (b"a\rb\r\nc\n\nd", 5), (b"a\r", 1)):
        path.write_bytes(text)
        assert sql._Lines(str(path), 1).count == lines, text
    assert sql._Lines._count(b"ab\r\n" * 10, 40, [], block=3) == (10, [])  # blocks end at line feeds
    assert sql._Lines._count(b"ab\r\n" * 10, 40, [8, 24], block=3) == (10, [1, 5])


@pytest.mark.parametrize("at", [3, 18])
def test_a_csv_file_with_an_empty_line_runs_row_by_row_and_says_so(tmp_path, monkeypatch, at):
    """csv.reader counts an empty line as a row and DuckDB skips it: found after DuckDB read the file (fewer records
    than lines, and one of them empty), the round runs row by row, with the same files — and a file is not cut
    before an empty line (a part would read a record the next one reads too)."""
    from engine.rounds import sql

    monkeypatch.setattr(sql, "SPLIT_BYTES", 0)
    source = tmp_path / "round.csv"
    policy_path = ROOT / POLICIES[0]
    write_round_csv(load_policy(str(policy_path)), 20, source, seed=4)
    lines = source.read_bytes().split(b"\r\n")
    source.write_bytes(b"\r\n".join(lines[:at] + [b""] + lines[at:]))
    a = run("batch", policy_path, source, "-o", tmp_path / "rows.csv", "--engine", "rows", "--lang", "en")
    b = run("batch", policy_path, source, "-o", tmp_path / "sql.csv", "--engine", "sql", "--lang", "en",
            "--jobs", "2")
    assert a.exit_code == b.exit_code == 0
    assert "row by row" in b.stderr and "empty line" in b.stderr
    for name in ("", ".errors", ".summary"):
        assert (tmp_path / f"rows{name}.csv").read_bytes() == (tmp_path / f"sql{name}.csv").read_bytes()


def test_a_cut_that_does_not_hold_is_found_while_the_parts_are_read_and_the_file_read_whole(tmp_path, monkeypatch):
    """The cuts come from the line feeds alone, and the pass over every line runs while DuckDB reads the parts:
    where a lone carriage return comes before a cut (here in a quoted cell, which the row engine refuses), the
    cut does not hold, and the file is read again whole: the same files as row by row, the round still in SQL."""
    from engine.rounds import sql

    monkeypatch.setattr(sql, "SPLIT_BYTES", 0)
    source = tmp_path / "round.csv"
    policy_path = ROOT / POLICIES[0]
    write_round_csv(load_policy(str(policy_path)), 40, source, seed=5)
    lines = source.read_bytes().split(b"\r\n")
    cells = lines[5].split(b",")
    cells[1] = b'"' + cells[1] + b'\r2"'
    source.write_bytes(b"\r\n".join([*lines[:5], b",".join(cells), *lines[6:]]))
    read = []
    monkeypatch.setattr(sql.SqlRound, "_parts", lambda self, con, cuts, at=sql.SqlRound._parts: (
        read.append(cuts), at(self, con, cuts))[1])
    a = run("batch", policy_path, source, "-o", tmp_path / "rows.csv", "--engine", "rows", "--lang", "en")
    b = run("batch", policy_path, source, "-o", tmp_path / "sql.csv", "--engine", "sql", "--lang", "en",
            "--jobs", "2")
    assert a.exit_code == b.exit_code == 0, b.stderr
    assert "row by row" not in b.stderr
    assert len(read) == 2 and read[0] is not None and read[1] is None  # cut, then whole
    for name in ("", ".errors", ".summary"):
        assert (tmp_path / f"rows{name}.csv").read_bytes() == (tmp_path / f"sql{name}.csv").read_bytes()


def test_a_group_that_weighs_earlier_grants_asks_for_them_and_both_engines_wait_for_them(tmp_path):
    """就高不重复 over members neither capped nor one-time: the sheet has a granted column for each member (an
    officer could not say what one was paid before), and a row that says no grants waits in SQL as row by row
    (the SQL paid it when the policy had no other granted column)."""
    policy_path = ROOT / "tests" / "fixtures" / "readings" / "everything.yaml"
    policy = load_policy(str(policy_path))
    headers = [c.header for c in sheet_columns(policy, "zh", None)]
    assert [h for h in headers if "granted." in h] == ["此前已获补助：第2项 一次性奖励（granted.2）",
                                                       "此前已获补助：第3项 首次奖励（granted.3）"]
    source = tmp_path / "round.csv"
    grants = [("", ""), ("0", "0"), ("10000", ""), ("", "20000"), ("5000", "0")]
    with open(source, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(headers)
        for i, (two, three) in enumerate(grants):
            out.writerow([make_code(f"9133110{i:010d}"), f"甲{i}", "企业", "", "2024-05-01", "true", "1000", two, three])
    a = run("batch", policy_path, source, "-o", tmp_path / "rows.jsonl", "--engine", "rows", "--lang", "en")
    b = run("batch", policy_path, source, "-o", tmp_path / "sql.jsonl", "--engine", "sql", "--lang", "en")
    assert a.exit_code == b.exit_code == 0 and "row by row" not in b.stderr
    assert (tmp_path / "rows.jsonl").read_bytes() == (tmp_path / "sql.jsonl").read_bytes()
    found = [json.loads(line)["clauses"] for line in (tmp_path / "sql.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(c["2"]["outcome"], c["3"]["outcome"]) for c in found][:2] == [
        ("undetermined", "undetermined"), ("ineligible", "eligible")]
    assert found[0]["3"]["reason"] == "missing:granted.2" and found[1]["3"]["amount"] == "20000.00"
    # paid under one member before, in a year not said (neither is paid by the year): the other waits for it
    assert found[2]["3"]["reason"] == "missing:granted.2.year" and found[3]["2"]["reason"] == "missing:granted.3.year"


def test_a_small_round_runs_row_by_row_unless_sql_is_asked_for(tmp_path, monkeypatch):
    """DuckDB plans its query in about half a second whatever the round's size: a file under SMALL_BYTES runs row
    by row without a word, and in SQL when --engine sql asks for it; both write the same files."""
    from engine.rounds import sql

    source = tmp_path / "round.csv"
    policy_path = ROOT / POLICIES[0]
    write_round_csv(load_policy(str(policy_path)), 30, source, seed=2)
    ran = []
    monkeypatch.setattr(sql.SqlRound, "_build", lambda self, con, _real=sql.SqlRound._build: ran.append(1) or
                        _real(self, con))
    auto = run("batch", policy_path, source, "-o", tmp_path / "auto.csv")
    assert auto.exit_code == 0 and not ran and "row by row" not in auto.stderr
    asked = run("batch", policy_path, source, "-o", tmp_path / "sql.csv", "--engine", "sql")
    assert asked.exit_code == 0 and ran and "row by row" not in asked.stderr
    monkeypatch.setattr(sql, "SMALL_BYTES", 0)
    assert run("batch", policy_path, source, "-o", tmp_path / "big.csv").exit_code == 0 and len(ran) == 2
    for name in ("", ".errors", ".summary"):
        assert (tmp_path / f"auto{name}.csv").read_bytes() == (tmp_path / f"sql{name}.csv").read_bytes()


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".xlsx"])
def test_a_policy_of_measures_only_runs_in_sql_as_row_by_row(tmp_path, suffix):
    """A policy whose every clause states a measure has no clause to decide: the round still runs in SQL, without a
    word of DuckDB, and writes what row by row writes (the query's columns were joined with nothing between)."""
    policy = tmp_path / "measures.yaml"
    policy.write_text("""language_version: 3
id: measures
document: 示例〔2024〕8号
title: 只有措施
in_force: {from: 2024-01-01}
money: {currency: CNY, round_to: 0.01, rounding: half_up}
recipients:
  firm: {label: 企业}
facts:
  local: {type: boolean, label: 在本市注册}
clauses:
  - id: "1"
    title: 措施
    measure: 建设平台
""", encoding="utf-8")
    source = tmp_path / "round.csv"
    source.write_text("统一社会信用代码（credit_code）,申请人名称（applicant）,申请人类别（recipient）,在本市注册（local）\n"
                      f"{make_code('91331100000000001')},公司1,企业,是\n{make_code('91331100000000002')},公司2,企业,否\n",
                      encoding="utf-8")
    a = run("batch", policy, source, "-o", tmp_path / f"rows{suffix}", "--engine", "rows", "--lang", "en")
    b = run("batch", policy, source, "-o", tmp_path / f"sql{suffix}", "--engine", "sql", "--lang", "en")
    assert a.exit_code == b.exit_code == 0 and "row by row" not in b.stderr, b.stderr
    if suffix == ".xlsx":
        assert workbook_differences(tmp_path / "rows.xlsx", tmp_path / "sql.xlsx") == []
    else:
        assert (tmp_path / f"rows{suffix}").read_bytes() == (tmp_path / f"sql{suffix}").read_bytes()
