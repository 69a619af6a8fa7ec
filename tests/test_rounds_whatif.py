"""`policy diff OLD NEW --cases ROUND.csv` in SQL: every applicant's figures under both versions are the row
engine's, and the summary (who gains, who loses, the outlay in total and per clause, the largest movers) is the
one a row-by-row comparison gives, over a generated population and with bad rows mixed in."""

from __future__ import annotations

import csv
import json
import os
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from engine import load_policy, load_reading, population_diff, population_json
from engine.rounds.whatif import in_sql, row_by_row

pytest.importorskip("duckdb")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from benchmark import write_round_csv

POLICY = str(ROOT / "policies" / "lishui-2021-67.yaml")
BASE = str(ROOT / "tests" / "fixtures" / "lishui-base.yaml")
AMENDED = str(ROOT / "tests" / "fixtures" / "lishui-amended.yaml")


@pytest.fixture(scope="module")
def round_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("whatif") / "round.csv"
    write_round_csv(load_policy(POLICY), 3000, path, seed=7)
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    money = next(i for i, h in enumerate(header) if "交易额" in h or "turnover" in h)
    rows[5][money] = "很多"  # a cell no version reads: the row is not compared, and said so
    rows[9][money] = "-5"  # below the fact's minimum
    rows[12][money] = "三十五万元"  # in words: the SQL hands the row back, the row engine reads it
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.fixture(scope="module")
def bounded(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The amendment with the fund year's bound lowered as well: the two versions read the round's cells
    differently (a 2026 claim is refused by the new one), so each reads the file itself."""
    path = tmp_path_factory.mktemp("bounded") / "lishui-bounded.yaml"
    text = Path(AMENDED).read_text(encoding="utf-8")
    assert text.count("max: 2100") == 1
    path.write_text(text.replace("max: 2100", "max: 2025"), encoding="utf-8")
    return str(path)


def _versions(which: str):
    if which == "reading":
        return load_policy(POLICY), load_reading(POLICY, "Q1")
    return load_policy(BASE), load_policy(AMENDED)


@pytest.mark.parametrize("which", ["reading", "amended"])
def test_every_applicant_as_row_by_row(round_csv: Path, which: str) -> None:
    old, new = _versions(which)
    by_sql = list(in_sql(old, new, str(round_csv)))
    by_rows = list(row_by_row(old, new, str(round_csv)))
    assert len(by_rows) == 3000 - 2
    assert by_sql == by_rows
    assert any(a.new_total != a.old_total for a in by_rows)  # the versions do differ for some applicants


@pytest.mark.parametrize("which", ["reading", "amended"])
def test_summary_as_row_by_row(round_csv: Path, which: str) -> None:
    old, new = _versions(which)
    sql = population_diff(old, new, str(round_csv))
    rows = population_diff(old, new, str(round_csv), engine="rows")
    assert sql.engine == "sql" and 0 < sql.by_rows_engine < rows.by_rows_engine == 3000 - 2
    a, b = population_json(sql), population_json(rows)
    for key in ("engine", "decided_by_row_engine"):
        del a[key], b[key]
    assert a == b
    assert sql.gains + sql.losses + sql.same + sql.undetermined == sql.applicants == 3000 - 2
    assert sql.bad_count == 2 and {r.row for r in sql.bad_rows} == {6, 10}
    # the outlay per clause adds up to the change in total, to the fen
    assert sum((c.delta for c in sql.clauses), Decimal(0)) == sql.delta
    gains = [m.delta for m in sql.largest_gains]
    assert gains == sorted(gains, reverse=True) and all(g > 0 for g in gains)


def test_versions_that_read_the_cells_differently(round_csv: Path, bounded: str, tmp_path: Path) -> None:
    with open(round_csv, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))[:401]
    year = rows[0].index(next(h for h in rows[0] if "年度" in h or "claim_year" in h))
    late = {n for n, row in enumerate(rows[1:], 2) if row[year].strip() > "2025"}
    assert late  # rows the new version refuses
    small = tmp_path / "round.csv"
    with open(small, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    old, new = load_policy(BASE), load_policy(bounded)
    assert list(in_sql(old, new, str(small))) == list(row_by_row(old, new, str(small)))
    sql = population_diff(old, new, str(small))
    by_rows = population_diff(old, new, str(small), engine="rows")
    assert sql.engine == "sql" and sql.bad_count == by_rows.bad_count == len(late | {6, 10})
    assert {r.row for r in sql.bad_rows if r.version == "new"} <= late
    a, b = population_json(sql), population_json(by_rows)
    for key in ("engine", "decided_by_row_engine"):
        del a[key], b[key]
    assert a == b


def test_cli_text_and_json(round_csv: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(cli, ["diff", BASE, AMENDED, "--cases", str(round_csv), "--lang", "en"])
    assert done.exit_code == 0, done.output
    assert "applicants compared under both versions" in done.output
    assert "Total outlay:" in done.output and "largest gains" in done.output
    assert "row 6" in done.output  # the bad row, named
    done = runner.invoke(cli, ["diff", POLICY, "--reading", "Q1", "--cases", str(round_csv), "--format", "json"])
    assert done.exit_code == 0, done.output
    impact = json.loads(done.output)["impact"]
    old, new = _versions("reading")
    expected = population_json(population_diff(old, new, str(round_csv), "zh", engine="rows"))
    assert {k: v for k, v in impact.items() if k not in ("engine", "decided_by_row_engine")} == {
        k: v for k, v in expected.items() if k not in ("engine", "decided_by_row_engine")}
    done = runner.invoke(cli, ["diff", BASE, AMENDED, "--cases", str(round_csv), "--format", "html"])
    assert done.exit_code == 0, done.output
    assert done.output.count("<section") >= 1 and "</main>" in done.output and "合成申请人" in done.output


def test_a_round_with_an_unknown_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "round.csv"
    path.write_text("no_such_column\n1\n", encoding="utf-8")
    done = CliRunner().invoke(cli, ["diff", BASE, AMENDED, "--cases", str(path), "--lang", "en"])
    assert done.exit_code == 1
    assert "no_such_column" in done.output and "Traceback" not in done.output


def test_rows_handed_back_in_worker_processes(round_csv: Path) -> None:
    old, new = _versions("amended")
    alone = population_diff(old, new, str(round_csv))
    shared = population_diff(old, new, str(round_csv), jobs=2)
    assert population_json(shared) == population_json(alone)
    assert shared.by_rows_engine > 0


def test_a_workbook_round_is_compared_row_by_row_with_the_same_figures(round_csv: Path, tmp_path: Path) -> None:
    import openpyxl

    with open(round_csv, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))[:301]
    small, book = tmp_path / "round.csv", openpyxl.Workbook()
    with open(small, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    for row in rows:
        book.active.append(row)
    book.save(tmp_path / "round.xlsx")
    old, new = _versions("amended")
    by_sheet = population_diff(old, new, str(tmp_path / "round.xlsx"))
    by_csv = population_diff(old, new, str(small))
    assert (by_sheet.engine, by_csv.engine) == ("rows", "sql")
    a, b = population_json(by_sheet), population_json(by_csv)
    for key in ("cases", "engine", "decided_by_row_engine"):
        del a[key], b[key]
    assert a == b and by_sheet.applicants == 298


POOLED = str(ROOT / "tests" / "fixtures" / "rounds" / "pooled.yaml")


def test_pools_are_compared_once_shared(tmp_path: Path) -> None:
    """Each version's pools shared among the round's claims before the versions are compared: what a pooled
    clause costs is what its pool pays out, in SQL as row by row (engine.rounds.pools_sql, engine.core.shares)."""
    text = Path(POOLED).read_text(encoding="utf-8")
    assert text.count("total: 30万元") == text.count("total: 25万元") == 1
    amended = tmp_path / "pooled-new.yaml"
    amended.write_text(text.replace("total: 30万元", "total: 20万元").replace("total: 25万元", "total: 35万元")
                       .replace("value: 50%", "value: 60%"), encoding="utf-8")
    old, new = load_policy(POOLED), load_policy(str(amended))
    cases = tmp_path / "round.csv"
    write_round_csv(old, 300, cases, seed=3)
    with open(cases, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    labels = [f.label for f in old.all_facts().values() if f.type == "money"]
    money = next(i for i, h in enumerate(rows[0]) if any(label in h for label in labels))
    row = next(r for r in rows[1:] if r[money].strip())
    row[money] = "一万元"  # in words: the SQL hands the row back, and its claim is shared with the others
    with open(cases, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    by_sql = list(in_sql(old, new, str(cases)))
    assert by_sql == list(row_by_row(old, new, str(cases)))
    sql = population_diff(old, new, str(cases))
    rows = population_diff(old, new, str(cases), engine="rows")
    assert sql.engine == "sql" and 0 < sql.by_rows_engine < rows.by_rows_engine
    a, b = population_json(sql), population_json(rows)
    for key in ("engine", "decided_by_row_engine"):
        del a[key], b[key]
    assert a == b
    outlay = {c.clause: c for c in sql.clauses}
    # the claims exceed the promotion pool under both versions: it pays out its total, 30万 then 20万
    assert outlay["1"].old + outlay["2"].old == Decimal("300000")
    assert outlay["1"].new + outlay["2"].new == Decimal("200000")
    assert sum(a.old_total for a in by_sql) == sql.old_total and sql.losses > 0
    # a school's claim on the pool shared in order of its filing date waits when that date is not given
    assert sql.undetermined > 0


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid and stat[0] not in ("Z", "X"):
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_what_if_stopped_with_sigterm_ends_with_its_workers(round_csv: Path, tmp_path: Path) -> None:
    """`timeout` stops a what-if with SIGTERM: it ends at once, with the shell's code for the signal, its worker
    processes with it (engine.rounds.run.Engine, the round's pool), and writes nothing."""
    import signal
    import subprocess
    import time

    out = tmp_path / "impact.json"
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from cli import main; sys.argv[0] = 'policy'; main()", "diff", BASE,
         AMENDED, "--cases", str(round_csv), "--jobs", "2", "--format", "json", "-o", str(out)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline and process.poll() is None and len(workers) < 2:
        workers = _children(process.pid)
        time.sleep(0.02)
    assert process.poll() is None and len(workers) == 2, "the what-if ended before it could be stopped"
    process.terminate()
    try:
        _out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 128 + signal.SIGTERM
    assert b"Traceback" not in err, err.decode(errors="replace")[-3000:]
    time.sleep(0.2)
    assert not [w for w in workers if _alive(w)]
    assert not out.exists()
