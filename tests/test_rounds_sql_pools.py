"""engine.rounds.sql_pools: a round whose policy has pools, run in SQL, writes exactly what the row engine writes —
each pooled clause's share and its sentence, each row's total and completeness, the errors and the summary (its
claims and pools) — whether the pools bind or not, shared pro rata or in order, keys missing or tied, with a
recipient's later rows, bad rows and rows handed back to the row engine among the claims."""

from __future__ import annotations

import csv
import json
import random
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from engine import (
    Round,
    RoundSettings,
    SqlRound,
    fixed_labels,
    load_policy,
    load_reading,
    make_output,
    open_source,
    sheet_columns,
    sql_round_why_not,
)
from engine import SheetHeaders as Headers
from engine.rounds.identity import make_code

duckdb = pytest.importorskip("duckdb")

ROOT = Path(__file__).resolve().parent.parent
POOLED = ROOT / "tests" / "fixtures" / "rounds" / "pooled.yaml"
EVERYTHING = ROOT / "tests" / "fixtures" / "readings" / "everything.yaml"
sys.path.insert(0, str(ROOT / "scripts"))

from benchmark import pooled_round
from rounds_support import workbook_differences


def both(policy, source: Path, tmp_path: Path, form: str, jobs: int = 1, lang: str = "en") -> SqlRound:
    """The round by the row engine (rows.<form>) and by the SQL engine (sql.<form>)."""
    headers = Headers(sheet_columns(policy, "en", None), {v: k for k, v in fixed_labels("zh").items()})
    kinds = {r.label: k for k, r in policy.recipients.items()}
    settings = RoundSettings(lang, form)
    Round(policy, open_source(str(source), headers), settings, kinds).run(
        make_output(str(tmp_path / f"rows.{form}"), policy, lang, source=str(source)))
    opened = open_source(str(source), headers)
    assert sql_round_why_not(policy, opened, settings, asked=True) is None
    the_round = SqlRound(policy, opened, settings, kinds, jobs=jobs)
    the_round.run(str(tmp_path / f"sql.{form}"))
    return the_round


def same_files(tmp_path: Path, form: str) -> None:
    if form == "xlsx":  # one file: every sheet's cells, the notes of the pools' claims among them
        assert workbook_differences(tmp_path / "rows.xlsx", tmp_path / "sql.xlsx") == []
        return
    suffix = ".csv" if form == "parquet" else f".{form}"
    names = [".errors" + suffix, ".summary.json" if form == "jsonl" else ".summary.csv"]
    for name in names + ([] if form == "parquet" else [f".{form}"]):
        assert (tmp_path / f"rows{name}").read_bytes() == (tmp_path / f"sql{name}").read_bytes(), name
    if form == "parquet":  # the row engine's values, typed
        found = duckdb.connect().execute(f"SELECT * FROM read_parquet('{tmp_path / 'sql.parquet'}')").fetchall()
        written = duckdb.connect().execute(f"SELECT * FROM read_parquet('{tmp_path / 'rows.parquet'}')").fetchall()
        assert found == written


@pytest.mark.parametrize("form", ["csv", "jsonl", "parquet", "xlsx"])
def test_pools_that_bind_are_shared_in_sql_as_row_by_row(tmp_path, form):
    policy = load_policy(str(POOLED))
    pooled_round(tmp_path / "round.csv", 300, seed=1)
    the_round = both(policy, tmp_path / "round.csv", tmp_path, form)
    assert the_round.handed_back > 5
    same_files(tmp_path, form)
    if form == "jsonl":
        summary = json.loads((tmp_path / "sql.summary.json").read_text(encoding="utf-8"))
        assert summary["pools"]["promotion-fund"]["binds"] and summary["pools"]["school-fund"]["binds"]
        assert summary["pools"]["school-fund"]["paid"] == "250000.00"
        lines = [json.loads(line) for line in (tmp_path / "sql.jsonl").read_text(encoding="utf-8").splitlines()]
        notes = [c.get("note", "") for line in lines for c in line["clauses"].values()]
        assert any("shared in order of" in n and "rank 1;" in n for n in notes)
        assert any("→" in n for n in notes)  # pro rata: the ratio
        assert any(c.get("reason") == "missing:filed_on" for line in lines for c in line["clauses"].values())


def test_the_pools_sentences_are_the_row_engines_in_chinese_too_and_from_a_parquet_file(tmp_path):
    pooled_round(tmp_path / "round.csv", 200, seed=6)
    duckdb.connect().execute(f"COPY (SELECT * FROM read_csv('{tmp_path / 'round.csv'}', all_varchar=true)) "
                             f"TO '{tmp_path / 'round.parquet'}' (FORMAT parquet)")
    both(load_policy(str(POOLED)), tmp_path / "round.parquet", tmp_path, "jsonl", lang="zh")
    same_files(tmp_path, "jsonl")
    text = (tmp_path / "sql.jsonl").read_text(encoding="utf-8")
    assert "按 材料齐全日期 先后分配，排第 1；" in text and "资金池“招生奖励资金”按 材料齐全日期 先后分配，缺少该事实" in text


@pytest.mark.parametrize("form", ["csv", "jsonl"])
def test_pools_that_hold_every_claim_pay_them_in_full_with_the_same_sentence(tmp_path, form):
    policy = load_policy(str(POOLED))
    pooled_round(tmp_path / "round.csv", 8, seed=4, small=True)
    both(policy, tmp_path / "round.csv", tmp_path, form)
    same_files(tmp_path, form)
    assert "not exceeded" in (tmp_path / f"sql.{form}").read_text(encoding="utf-8")


def test_a_pool_smaller_than_the_first_claim_in_line_pays_what_it_holds_written_as_the_row_engine_does(tmp_path):
    """A pool of 5万元 for claims of 10万元 in order: the first claim gets the pool (50000, with the pool's places),
    the rest what is left of it (0), as engine.core.shares writes them."""
    text = POOLED.read_text(encoding="utf-8").replace("total: 25万元", "total: 5万元")
    (tmp_path / "small.yaml").write_text(text, encoding="utf-8")
    pooled_round(tmp_path / "round.csv", 60, seed=2)
    both(load_policy(str(tmp_path / "small.yaml")), tmp_path / "round.csv", tmp_path, "csv")
    same_files(tmp_path, "csv")
    assert ",50000," in (tmp_path / "sql.csv").read_text(encoding="utf-8")


@pytest.mark.parametrize("reading", [None, "R2"])
def test_a_reading_that_changes_a_pool_to_in_order_by_claim_date_is_shared_alike(tmp_path, reading):
    """everything.yaml's pool, pro rata, and as its reading R2 has it: in order of the claim date (the round's date
    column, some blank, some handed back). (Without its group, which waits on earlier grants no column gives.)"""
    text = EVERYTHING.read_text(encoding="utf-8")
    path = tmp_path / "everything.yaml"
    path.write_text(text[:text.index("\ngroups:")] + text[text.index("\npools:"):], encoding="utf-8")
    policy = load_reading(str(path), reading) if reading else load_policy(str(path))
    rng = random.Random(5)
    with open(tmp_path / "round.csv", "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["credit_code", "applicant", "recipient", "date", "local", "costs"])
        for i in range(120):
            out.writerow([make_code(f"9133120{i:010d}"), f"企业{i}", "firm",
                          rng.choice(["2024-05-01", "2024-05-02", "", "2024/5/3"]), "true",
                          f"{rng.randint(1, 90)}万元"])
    both(policy, tmp_path / "round.csv", tmp_path, "jsonl")
    same_files(tmp_path, "jsonl")


@pytest.mark.parametrize("form", ["csv", "parquet", "xlsx"])
def test_a_pooled_round_cut_into_parts_shares_its_pools_over_every_part(tmp_path, monkeypatch, form):
    from engine.rounds import sql

    monkeypatch.setattr(sql, "SPLIT_BYTES", 0)
    monkeypatch.setattr(sql, "UPDATE_ROWS", 7)
    pooled_round(tmp_path / "round.csv", 200, seed=3)
    the_round = both(load_policy(str(POOLED)), tmp_path / "round.csv", tmp_path, form, jobs=2)
    assert len(the_round.parts) == 2
    same_files(tmp_path, form)


def test_money_text_is_format_money_in_sql():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from engine.core.format import format_money
    from engine.rounds.sql_pools import MACROS

    con = duckdb.connect()
    for macro in MACROS:
        con.execute(macro)

    @settings(max_examples=300, deadline=None)
    @given(st.one_of(st.integers(0, 10**15), st.sampled_from([10**4, 10**8, 15 * 10**3, 25 * 10**7, 10**6 * 123])),
           st.integers(0, 99), st.sampled_from([0, 2, 4]))
    def check(whole: int, cents: int, scale: int) -> None:
        value = Decimal(whole) + (Decimal(cents) / 100 if scale else 0)
        text = con.execute(f"SELECT money_text(CAST(? AS DECIMAL(38,{scale})))", [str(value)]).fetchone()[0]
        assert text == format_money(value)

    check()


def test_policy_batch_runs_a_pooled_round_in_sql_and_says_what_row_by_row_says(tmp_path):
    from click.testing import CliRunner

    from cli import cli

    pooled_round(tmp_path / "round.csv", 120, seed=8)
    said = {}
    for engine in ("rows", "sql"):
        done = CliRunner().invoke(cli, ["batch", str(POOLED), str(tmp_path / "round.csv"), "-o",
                                        str(tmp_path / f"{engine}.csv"), "--engine", engine, "--lang", "en"])
        assert done.exit_code == 1  # bad rows
        said[engine] = done.stderr.replace(str(tmp_path / f"{engine}.csv"), "results.csv")
    assert said["rows"] == said["sql"] and "row by row" not in said["sql"]
    same_files(tmp_path, "csv")
