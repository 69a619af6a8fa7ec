"""The ledger loses nothing, on SQLite and PostgreSQL: writers at once, a writer killed mid-round, and files or
databases that are not (or no longer) a usable ledger, each refused with a clear message and left as they were."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import ledger_support
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from ledger_support import ROOT, lishui_record, population_decisions

from cli import cli
from engine.ledger import LedgerError, open_ledger, store
from engine.ledger import tables as T
from engine.ledger.store import _target

ledger_url, postgres_url = ledger_support.ledger_url, ledger_support.postgres_url  # fixtures
TESTS = Path(__file__).resolve().parent

# A child process: makes `n` decisions (one grant each), waits for the start signal, records them as `round`.
CHILD = textwrap.dedent("""
    import sys, time, os
    sys.path[:0] = [{root!r}, {tests!r}]
    from decimal import Decimal
    from engine.ledger import Decision, ClauseOutcome, GrantRecord, LedgerError, open_ledger, canonical_json
    from engine.ledger.records import sha256_text
    from ledger_support import code, lishui_record
    url, round_id, n, go, hold = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5] == "hold"
    _policy, rec = lishui_record()
    decisions = []
    for i in range(n):
        facts = canonical_json({{"recipient": "warehouse_operator", "facts": {{"warehouse_name": f"{{round_id}}-{{i}}"}}}})
        amount = Decimal(1000 + i) / 100
        decisions.append(Decision(code(i), facts, sha256_text(facts), (ClauseOutcome("5.1", "eligible", amount),),
                                  (GrantRecord("5.1", "once", 2025, f"仓{{i}}", f"仓{{i}}", amount),), 2025))
    ledger = open_ledger(url)
    if hold:  # stop in the middle of writing the round's grants (half of them written), until killed
        import engine.ledger.store as store
        insert = store._insert_many
        def halfway(conn, table, rows):
            if table.name == "entries":
                insert(conn, table, rows[:len(rows) // 2])
                print("writing", flush=True)
                time.sleep(60)
            insert(conn, table, rows)
        store._insert_many = halfway
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.01)
    try:
        summary = ledger.record_round(round_id, policy=rec, engine_version="test", by=round_id, decisions=decisions)
    except LedgerError as error:
        print(error.format("en"), flush=True)
        sys.exit(1)
    print("recorded", summary.decisions, flush=True)
""")


def _child(url: str, round_id: str, n: int, go: Path, hold: bool = False) -> subprocess.Popen:
    script = CHILD.format(root=str(ROOT), tests=str(TESTS))
    return subprocess.Popen([sys.executable, "-c", script, url, round_id, str(n), str(go), "hold" if hold else "-"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _snapshot(url: str) -> dict[str, list]:
    """Every row of every table, in order: what "exactly as before" compares."""
    with sa.create_engine(_target(url).url).connect() as conn:  # the tables as they are (of any schema)
        found = sa.MetaData()
        found.reflect(conn, only=[t for t in T.metadata.tables if sa.inspect(conn).has_table(t)])
        return {t.name: [tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns))]
                for t in found.tables.values()}


def test_four_writers_at_once_lose_and_double_nothing(ledger_url, tmp_path):
    with open_ledger(ledger_url, create=True):
        pass
    go = tmp_path / "go"
    sizes = {"A": 300, "B": 250, "C": 200}
    children = [_child(ledger_url, "A", 300, go), _child(ledger_url, "B", 250, go),
                _child(ledger_url, "C", 200, go), _child(ledger_url, "C", 200, go)]
    for child in children:  # all of them ready, their rounds made and the ledger open, before any starts
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
    go.touch()
    outcomes = [(c.wait(timeout=300), c.stdout.read(), c.stderr.read()) for c in children]
    codes = [code for code, _out, _err in outcomes]
    assert codes[:2] == [0, 0], outcomes
    assert sorted(codes[2:]) == [0, 1], outcomes
    refused = [out for code, out, _err in outcomes if code == 1][0]
    assert "round C is already recorded (200 decisions" in refused
    with open_ledger(ledger_url) as ledger:
        rounds = {r["name"]: r["decisions"] for r in ledger.rounds()}
        assert rounds == sizes
        assert ledger.counts()["decisions"] == ledger.counts()["entries"] == sum(sizes.values())
        for name, n in sizes.items():
            assert len(ledger.entries(round_id=name)) == n
            assert len(ledger.decisions(round_id=name)) == n
        assert ledger.verify() == []


def test_a_writer_killed_mid_round_leaves_the_ledger_exactly_as_before(ledger_url, tmp_path):
    policy, rec = lishui_record()
    with open_ledger(ledger_url, create=True) as ledger:
        ledger.record_round("before", policy=rec, engine_version="test", decisions=population_decisions(policy, 50))
    before = _snapshot(ledger_url)
    go = tmp_path / "go"
    go.touch()
    child = _child(ledger_url, "big", 1_000, go, hold=True)
    assert child.stdout.readline().strip() == "ready", child.stderr.read()
    assert child.stdout.readline().strip() == "writing", child.stderr.read()
    with open_ledger(ledger_url) as ledger:  # the round's decisions are written, not yet committed
        assert ledger.round("big") is None
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    time.sleep(0.5)
    with open_ledger(ledger_url) as ledger:
        assert ledger.verify() == []
        assert ledger.round("big") is None
    assert _snapshot(ledger_url) == before
    # The killed writer's lock is gone: the next round is recorded, on the chain as it was.
    with open_ledger(ledger_url) as ledger:
        summary = ledger.record_round("after", policy=rec, engine_version="test",
                                      decisions=population_decisions(policy, 20, seed=3))
        assert summary.first_decision == len(before["decisions"]) + 1
        assert ledger.verify() == []


# --- what is not a usable ledger ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def made_ledger(tmp_path_factory) -> bytes:
    """A whole SQLite ledger of a 300-decision round, made once: each test damages its own copy."""
    policy, rec = lishui_record()
    path = tmp_path_factory.mktemp("made") / "grants.db"
    with open_ledger(str(path), create=True) as ledger:
        ledger.record_round("r1", policy=rec, engine_version="test", decisions=population_decisions(policy, 300))
    return path.read_bytes()


def _made(tmp_path: Path, made_ledger: bytes) -> Path:
    path = tmp_path / "grants.db"
    path.write_bytes(made_ledger)
    return path


def _refused(location: str, *words: str) -> None:
    """Refused by the API and by the command, with these words, exit 1 and no traceback."""
    with pytest.raises(LedgerError) as caught:
        open_ledger(location)
    for word in words:
        assert word in caught.value.format("en")
    result = CliRunner().invoke(cli, ["ledger", "list", location, "--lang", "en"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    for word in words:
        assert word in result.output


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.3333])
def test_a_truncated_ledger_file_is_refused_and_left_as_it_is(tmp_path, keep, made_ledger, monkeypatch):
    if keep != 0.5:  # a file still short after a second (20 looks, in case a writer is filling it) is refused: the
        # second waited once, here the 20 looks without it (1 s of the API's and 1 s of the command's, no CPU)
        monkeypatch.setattr(store, "time", SimpleNamespace(sleep=lambda _seconds: None))
    path = _made(tmp_path, made_ledger)
    data = path.read_bytes()
    cut = tmp_path / "cut.db"
    cut.write_bytes(data[:int(len(data) * keep)])
    _refused(str(cut), "the ledger is damaged", "it was cut short", "restore the ledger from its last backup")
    assert cut.read_bytes() == data[:int(len(data) * keep)]


def test_a_ledger_file_damaged_inside_is_reported_by_verify(tmp_path, made_ledger):
    path = _made(tmp_path, made_ledger)
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for i in range(3 * page, len(data) - page, 7 * page):  # overwrite the middle of several pages
        data[i + 100:i + 400] = b"\xff" * 300
    path.write_bytes(bytes(data))
    try:
        with open_ledger(str(path)) as ledger:
            problems = ledger.verify()
    except LedgerError as error:  # the damage may be met as soon as the schema is read
        assert "damaged" in error.format("en") or "not a grant ledger" in error.format("en")
        return
    assert problems


@pytest.mark.parametrize("content", [b"hello, this is a text file\n", b"\x89PNG\r\n\x1a\n" + bytes(200),
                                     b"SQLite format 3\x00" + bytes(10)])
def test_a_file_that_is_not_a_ledger_is_refused_and_left_as_it_is(tmp_path, content):
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    _refused(str(path), "not a grant ledger", "nothing in")
    assert path.read_bytes() == content


def test_a_database_that_is_not_a_ledger_is_refused_even_by_init(tmp_path):
    import sqlite3

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (name TEXT)")
    before = path.read_bytes()
    _refused(str(path), "not a grant ledger")
    result = CliRunner().invoke(cli, ["ledger", "init", str(path), "--lang", "en"])
    assert result.exit_code == 1 and "not a grant ledger" in result.output
    assert path.read_bytes() == before


def test_no_ledger_at_a_path_says_how_to_make_one(tmp_path):
    where = str(tmp_path / "missing.db")
    _refused(where, "no ledger here", f"policy ledger init {where}")
    assert not os.path.exists(where)


def test_an_empty_postgresql_database_is_not_a_ledger_until_init(postgres_url):
    ledger_url = postgres_url
    _refused(ledger_url, "not a grant ledger")
    assert CliRunner().invoke(cli, ["ledger", "init", ledger_url]).exit_code == 0
    with open_ledger(ledger_url) as ledger:
        assert ledger.counts()["entries"] == 0


def test_an_unreachable_postgresql_server_is_said_plainly():
    _refused("postgresql://nobody:secret@127.0.0.1:1/none", "cannot reach the ledger's database")
    result = CliRunner().invoke(cli, ["ledger", "list", "postgresql://nobody:secret@127.0.0.1:1/none"])
    assert "secret" not in result.output


def _stamp(ledger_url: str, revision: str) -> None:
    with sa.create_engine(_target(ledger_url).url).begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": revision})


def test_a_ledger_from_a_newer_engine_is_refused(ledger_url):
    policy, rec = lishui_record()
    with open_ledger(ledger_url, create=True) as ledger:
        ledger.record_round("r1", policy=rec, engine_version="test", decisions=population_decisions(policy, 20))
    _stamp(ledger_url, "0099")
    before = _snapshot(ledger_url)
    _refused(ledger_url, f"made by a newer engine (schema 0099; this engine knows up to {T.HEAD})",
             "upgrade policy-engine")
    result = CliRunner().invoke(cli, ["ledger", "upgrade", ledger_url, "--lang", "en"])
    assert result.exit_code == 1 and "newer engine" in result.output
    assert _snapshot(ledger_url) == before


V0001 = TESTS / "fixtures" / "ledger" / "v0001.db"  # a ledger made by the engine of schema 0001 (a round of 40,
# a correction, a reversal, a decision the service logged)


def _v0001_ledger(ledger_url: str) -> None:
    """The schema-0001 ledger at `ledger_url`: the file itself for SQLite; for PostgreSQL, a database migrated to
    0001 by the engine's own script and given the file's rows, as that engine wrote them."""
    import shutil

    from engine.ledger.store import _migrate

    if "://" not in ledger_url:
        shutil.copyfile(V0001, ledger_url)
        return
    source = sa.create_engine(f"sqlite:///{V0001}")
    target = sa.create_engine(_target(ledger_url).url)
    with target.connect() as conn:
        _migrate(conn, "0001")
    with source.connect() as old, target.begin() as new:
        for name in ("policy_sources", "policy_revisions", "rounds", "decisions", "entries"):
            table = sa.Table(name, sa.MetaData(), autoload_with=old)
            rows = [dict(r) for r in old.execute(sa.select(table).order_by(*table.primary_key.columns)).mappings()]
            new.execute(sa.Table(name, sa.MetaData(), autoload_with=new).insert(), rows)
    source.dispose()
    target.dispose()


def test_a_ledger_of_an_older_schema_is_refused_with_the_command_that_upgrades_it(ledger_url):
    _v0001_ledger(ledger_url)
    before = _snapshot(ledger_url)
    _refused(ledger_url, f"older schema (0001; this engine writes {T.HEAD})", f"policy ledger upgrade {ledger_url}")
    assert _snapshot(ledger_url) == before


def test_policy_ledger_upgrade_keeps_every_row_of_a_0001_ledger_and_its_chains_verify(ledger_url):
    """The real upgrade path: a ledger written by the schema-0001 engine, upgraded by `policy ledger upgrade`,
    keeps every row of every table as it was, its hash chains verify, its grants read as before, and it takes
    new rounds (with what pools paid) after them."""
    _v0001_ledger(ledger_url)
    before = _snapshot(ledger_url)
    result = CliRunner().invoke(cli, ["ledger", "upgrade", ledger_url, "--lang", "en"])
    assert result.exit_code == 0, result.output
    with open_ledger(ledger_url) as ledger, ledger.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == T.HEAD
        assert "paid" in {c["name"] for c in sa.inspect(conn).get_columns("decisions")}
        assert ledger.verify() == []
        assert ledger.counts()["decisions"] == 41 and ledger.counts()["entries"] == 42
        first = ledger.entries()[0]
        assert [g.amount for g in ledger.earlier_grants(first.recipient, first.policy_id)] == [Decimal("1000")]
    after = _snapshot(ledger_url)
    assert after["decisions"] == [(*row, None) for row in before["decisions"]]  # the new column: "as claimed"
    assert {t: rows for t, rows in after.items() if t != "decisions"} == \
        {t: rows for t, rows in before.items() if t != "decisions"}  # every other row kept as it was
    policy, rec = lishui_record()
    with open_ledger(ledger_url) as ledger:
        ledger.record_round("2024-2", policy=rec, engine_version="test", decisions=population_decisions(policy, 5))
        assert ledger.verify() == []
        assert replay_all_same(ledger, "2024-2")
        # The 0001 round replays too, every decision of it, under the sources it stored. Where today's engine
        # answers otherwise (a later rule: a missing fund year is never taken as one that is paid), replay says
        # so with the engine that decided it, which is what replay is for.
        from engine.ledger.replay import replay

        report = replay(ledger, round_id="2024-1")
        assert len(report.decisions) == 40
        assert all(d.engine_version != "test" for d in report.decisions if not d.same)


def replay_all_same(ledger, round_id: str) -> bool:
    from engine.ledger.replay import replay

    return replay(ledger, round_id=round_id).all_same


def test_four_processes_making_one_new_ledger_at_once_make_one(ledger_url):
    """The first `--record` of several case workers on a ledger that does not exist yet: one ledger, no error."""
    script = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from engine.ledger import open_ledger; "
              "open_ledger(sys.argv[1], create=True).close(); print('ok')")
    children = [subprocess.Popen([sys.executable, "-c", script, ledger_url], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for child in children:
        out, err = child.communicate(timeout=120)
        assert (child.returncode, out.strip()) == (0, "ok"), err
    with open_ledger(ledger_url) as ledger, ledger.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all() == [T.HEAD]
        assert ledger.verify() == []
