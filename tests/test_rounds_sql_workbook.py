"""engine.rounds.sql_workbook: a round decided in SQL and written as the officers' workbook (`policy batch … -o
RESULTS.xlsx --engine sql`) is the row engine's workbook, part for part — every clause's words (说明) among them,
found by key — for every shipped policy with bad rows mixed in, every award form's stops, and words forgotten
before their rows are written; a row the row engine decides otherwise ends the SQL round; a workbook is written
row by row unless SQL is asked for."""

from __future__ import annotations

import csv
import json
import sys

import pytest
from rounds_support import ROOT, run, workbook_differences
from test_rounds_sql import POLICIES, bad_round, with_bad_rows

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
sys.path.insert(0, str(ROOT / "scripts"))

from benchmark import write_round_csv


@pytest.fixture(scope="module", params=POLICIES)
def round_csv(request, tmp_path_factory):
    return request.param, bad_round(request.param, tmp_path_factory.mktemp("workbook"))


def test_the_sql_engine_writes_the_row_engines_workbook(round_csv, tmp_path, monkeypatch):
    """The officers' workbook from a round decided in SQL is the row engine's, part for part (results with every
    clause's words, summary, problems, signing sheet, charts); the words of most rows the SQL decides are found by
    key, without evaluating the row again (engine.rounds.sql_workbook)."""
    from engine.rounds import sql_workbook

    policy_path, source = round_csv
    keyed, evaluated = [], []
    monkeypatch.setattr(sql_workbook.SheetWords, "keys", lambda self, *row, _real=sql_workbook.SheetWords.keys:
                        keyed.append(1) or _real(self, *row))
    monkeypatch.setattr(sql_workbook, "_noted", lambda task, _real=sql_workbook._noted: evaluated.extend(task[3]) or
                        _real(task))
    a = run("batch", ROOT / policy_path, source, "-o", tmp_path / "rows.xlsx", "--engine", "rows", "--lang", "en")
    b = run("batch", ROOT / policy_path, source, "-o", tmp_path / "sql.xlsx", "--engine", "sql", "--lang", "en",
            "--jobs", "1")
    assert a.exit_code == b.exit_code == 1  # bad rows
    assert "row by row" not in b.stderr
    assert a.stderr == b.stderr.replace("sql.xlsx", "rows.xlsx")  # the same counts and total
    assert workbook_differences(tmp_path / "rows.xlsx", tmp_path / "sql.xlsx") == []
    assert 0 < len(evaluated) < 0.9 * len(keyed), (len(evaluated), len(keyed))


def test_a_workbook_is_written_row_by_row_unless_sql_is_asked_for(tmp_path, monkeypatch):
    """A workbook is no quicker in SQL (writing it is most of its round): row by row without a word, however
    large the file; in SQL when --engine sql asks; the same workbook."""
    from engine.rounds import sql

    source = tmp_path / "round.csv"
    policy_path = ROOT / POLICIES[0]
    write_round_csv(load_policy(str(policy_path)), 200, source, seed=5)
    monkeypatch.setattr(sql, "SMALL_BYTES", 0)
    ran = []
    monkeypatch.setattr(sql.SqlRound, "_build", lambda self, con, _real=sql.SqlRound._build: ran.append(1) or
                        _real(self, con))
    a = run("batch", policy_path, source, "-o", tmp_path / "a.xlsx", "--lang", "en")
    assert a.exit_code == 0 and not ran and "row by row" not in a.stderr
    b = run("batch", policy_path, source, "-o", tmp_path / "b.xlsx", "--engine", "sql", "--lang", "en")
    assert b.exit_code == 0 and ran and "row by row" not in b.stderr
    assert workbook_differences(tmp_path / "a.xlsx", tmp_path / "b.xlsx") == []


@pytest.mark.parametrize("form", ["xlsx", "jsonl"])
def test_words_forgotten_before_their_rows_are_written_are_found_again(tmp_path, monkeypatch, form):
    """Words are kept for so many keys, and the rows are read ahead of the writing: a row whose words were
    forgotten meanwhile is evaluated again, read from the applicants' file as the row engine reads it (a
    workbook's and a JSON Lines file's rows in order again)."""
    from rounds_support import as_jsonl, as_xlsx

    from engine.rounds import sql_workbook

    policy_path = ROOT / POLICIES[0]
    policy = load_policy(str(policy_path))
    source = tmp_path / f"round.{form}"
    if form == "jsonl":
        as_jsonl(policy, 300, source)
    else:
        write_round_csv(policy, 300, tmp_path / "round.csv", seed=7)
        with_bad_rows(tmp_path / "round.csv")
        if form == "xlsx":
            as_xlsx(tmp_path / "round.csv", source)
    monkeypatch.setattr(sql_workbook, "KEPT", 3)
    monkeypatch.setattr(sql_workbook, "BLOCK", 8)
    a = run("batch", policy_path, source, "-o", tmp_path / "a.xlsx", "--engine", "rows", "--lang", "en")
    b = run("batch", policy_path, source, "-o", tmp_path / "b.xlsx", "--engine", "sql", "--lang", "en", "--jobs", "2")
    assert a.exit_code == b.exit_code and "row by row" not in b.stderr, b.stderr
    assert workbook_differences(tmp_path / "a.xlsx", tmp_path / "b.xlsx") == []


def test_a_row_the_row_engine_decides_otherwise_ends_the_sql_round_and_it_runs_row_by_row(tmp_path, monkeypatch):
    """Each row evaluated for its words is checked against the SQL's decision: where they differ, the SQL round
    writes nothing, says so, and the round runs row by row."""
    from engine.rounds import sql_workbook

    source = tmp_path / "round.csv"
    policy_path = ROOT / POLICIES[0]
    write_round_csv(load_policy(str(policy_path)), 200, source, seed=5)

    def otherwise(task, _real=sql_workbook._noted):
        noted = _real(task)
        noted[0][0][0] = "referred" if noted[0][0][0] != "referred" else "eligible"
        return noted

    monkeypatch.setattr(sql_workbook, "_noted", otherwise)
    a = run("batch", policy_path, source, "-o", tmp_path / "a.xlsx", "--lang", "en")
    b = run("batch", policy_path, source, "-o", tmp_path / "b.xlsx", "--engine", "sql", "--lang", "en", "--jobs", "1")
    assert a.exit_code == b.exit_code == 0
    assert "row by row" in b.stderr and "decided otherwise by the row engine" in b.stderr, b.stderr
    assert workbook_differences(tmp_path / "a.xlsx", tmp_path / "b.xlsx") == []


@pytest.mark.parametrize("keyword", sorted(__import__("engine.model.awards", fromlist=["FORMS"]).FORMS))
def test_each_award_form_s_workbook_in_sql_is_the_row_engines(keyword, tmp_path):
    """Each award form's example (tests/test_model_awards.py) over facts spread around its numbers, to a workbook
    in SQL: the words of every stop a form decides (its periods used, below its bands, no whole step, …), of
    caps used and of grants paid once are the row engine's, part for part (each key is what its words read:
    AwardForm.stop_reads)."""
    import random
    import re

    import yaml
    from test_model_awards import APPLICANT, FACTS

    from engine import Round, compile_policy
    from engine.model.awards import FORMS
    from engine.rounds.columns import cells_of
    from engine.runtime.sql import sql_query
    from engine.syntax.loader import load_text

    # the example's policy (test_model_awards.policy_with), its fact `area` named otherwise: a round's sheet has
    # an area column of its own
    form = FORMS[keyword]
    doc = {"id": "forms", "document": "测试〔2024〕1号", "title": "award forms", "in_force": {"from": "2024-01-01"},
           "money": {"currency": "CNY", "round_to": 0.01, "rounding": "half_up"},
           "recipients": {"firm": {"label": "企业"}}, "facts": FACTS,
           "clauses": [{"id": "base", "title": "基础", "recipient": "firm", "award": {"fixed": "40万元"},
                        "cap": "30万元"},
                       {"id": "x", "title": "被测", "recipient": "firm", "award": dict(form.example)}]}
    text = re.sub(r"\barea\b", "floor_area", yaml.safe_dump(doc, allow_unicode=True))
    policy = compile_policy(load_text(text, "forms.yaml"))
    rng = random.Random(keyword)
    columns = sheet_columns(policy, "en", None)
    source = tmp_path / "round.csv"
    with open(source, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow([c.header for c in columns])
        for i in range(300):
            data = json.loads(json.dumps(APPLICANT).replace('"area"', '"floor_area"'))
            facts = data["facts"]
            facts["costs"] = str(rng.choice([0, 1, 50_000, 99_999.99, 100_000, 150_000.5, 300_000, 12_345_678.9]))
            facts["floor_area"] = rng.choice([0, 1, 999, 1000, 1500.25])
            facts["months"] = rng.randint(0, 30)
            facts["months_paid"] = rng.randint(0, 40)  # beyond the 36 periods paid at most
            data["granted"] = {cid: rng.choice([0, 0, 100_000, 400_000]) for cid in ("base", "x")}
            out.writerow(["" if v is None else v for v in cells_of(data, columns, make_code(f"9133110{i:010d}"))])
    headers = Headers(columns, {v: k for k, v in fixed_labels("zh").items()})
    kinds = {r.label: k for k, r in policy.recipients.items()}
    settings = RoundSettings("en", "xlsx")
    Round(policy, open_source(str(source), headers), settings, kinds).run(
        make_output(str(tmp_path / "rows.xlsx"), policy, "en", source=str(source)))
    opened = open_source(str(source), headers)
    assert sql_round_why_not(policy, opened, settings, asked=True) is None
    the_round = SqlRound(policy, opened, settings, kinds)
    the_round.run(str(tmp_path / "sql.xlsx"))
    assert workbook_differences(tmp_path / "rows.xlsx", tmp_path / "sql.xlsx") == []
    if "x" not in sql_query(policy).rows_engine:  # a form with an SQL part: most rows decided, and worded, here
        assert the_round.handed_back < 100, the_round.handed_back


def test_a_pools_sentence_is_not_the_words_of_a_fact_missing(tmp_path):
    """Clause 3 of pooled.yaml is paid in order of filed_on and here reads filed_on itself (students >= 30 or filed
    early): a school of 40 students without filed_on is eligible but cannot be placed in the pool (undetermined,
    missing:filed_on, the pool's sentence); one of 10 students without filed_on waits for the fact (undetermined,
    missing:filed_on too, its words naming it). Each keeps its own words (found by the review of this module)."""
    text = (ROOT / "tests/fixtures/rounds/pooled.yaml").read_text(encoding="utf-8")
    changed = text.replace("when: [{if: students >= 30}]",
                           "when: [{if: \"students >= 30 or filed_on < date('2025-01-01')\"}]")
    assert changed != text
    policy = tmp_path / "pooled.yaml"
    policy.write_text(changed, encoding="utf-8")
    source = tmp_path / "round.csv"
    with open(source, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["credit_code", "applicant", "recipient", "area", "date", "students"])
        out.writerow([make_code("91331100000000001"), "甲学院", "school", "莲都区", "2024-06-01", "40"])
        out.writerow([make_code("91331100000000002"), "乙学院", "school", "莲都区", "2024-06-01", "10"])
    a = run("batch", policy, source, "-o", tmp_path / "rows.xlsx", "--engine", "rows", "--lang", "en")
    b = run("batch", policy, source, "-o", tmp_path / "sql.xlsx", "--engine", "sql", "--lang", "en")
    assert a.exit_code == b.exit_code == 0 and "row by row" not in b.stderr
    from openpyxl import load_workbook

    rows = list(load_workbook(tmp_path / "rows.xlsx", read_only=True).worksheets[0].iter_rows(values_only=True))
    reason = rows[0].index("3 reason")
    assert "pool" in rows[1][reason] and "pool" not in rows[2][reason] and "filed_on" in rows[2][reason]
    assert workbook_differences(tmp_path / "rows.xlsx", tmp_path / "sql.xlsx") == []


@pytest.mark.parametrize("engine", ["rows", "sql"])
def test_a_workbook_round_leaves_nothing_in_the_temporary_folder(tmp_path, monkeypatch, engine):
    """XlsxWriter keeps each sheet's rows in a temporary file until the workbook is closed: none is left behind,
    not the charts sheet's (which has no rows), nor those of the workbook the row engine had begun when the
    round runs in SQL instead (found by the review of this module)."""
    import tempfile

    policy = ROOT / POLICIES[0]
    source = tmp_path / "round.csv"
    write_round_csv(load_policy(str(policy)), 20, source, seed=5)
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    result = run("batch", policy, source, "-o", tmp_path / "out.xlsx", "--engine", engine, "--lang", "en")
    assert result.exit_code == 0 and "row by row" not in result.stderr
    assert list(folder.iterdir()) == []
