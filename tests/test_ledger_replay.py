"""A round with budget pools recorded in the ledger: each decision keeps its claims and what the pools paid,
the grants count what was paid, and `policy ledger replay --round` shares the pools again over the round's
recorded decisions, so an unchanged round replays the same and a changed pool is reported with its amounts."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from cli import cli
from engine.ledger import open_ledger
from engine.rounds.identity import make_code

ROOT = Path(__file__).resolve().parent.parent
POOLED = ROOT / "tests" / "fixtures" / "rounds" / "pooled.yaml"


def run(*args: object) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def code(n: int) -> str:
    return make_code(f"9133110{n:010d}")


def pooled_round(path: Path) -> None:
    """Twelve sellers whose promotion claims exceed their pool (pro rata), four schools whose awards exceed
    theirs (in order of filing), one of them without a filing date (undetermined, paid nothing)."""
    lines = []
    for n in range(12):
        lines.append({"credit_code": code(n), "recipient": "seller", "area": "莲都区", "date": "2024-05-01",
                      "granted": {}, "facts": {"exporter": True, "promotion": 10000 + n * 7919 % 50000,
                                               "exhibition": n * 3331}})
    for n, filed in enumerate(["2024-03-02", "2024-03-01", None, "2024-03-05"], 100):
        facts: dict[str, Any] = {"students": 40, "partners": []}
        if filed is not None:
            facts["filed_on"] = filed
        lines.append({"credit_code": code(n), "recipient": "school", "area": "莲都区", "date": "2024-05-01",
                      "granted": {}, "facts": facts})
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")


def test_a_pooled_round_records_what_was_paid_and_replays_the_same(tmp_path: Path) -> None:
    source, ledger = tmp_path / "round.jsonl", str(tmp_path / "grants.db")
    pooled_round(source)
    result = run("batch", POOLED, source, "-o", tmp_path / "out.jsonl", "--ledger", ledger, "--record", "p1",
                 "--lang", "en")
    assert result.exit_code == 0, result.output
    with open_ledger(ledger) as book:
        entries = book.entries(round_id="p1")
        by_clause: dict[str, Decimal] = {}
        for e in entries:
            by_clause[e.clause] = by_clause.get(e.clause, Decimal(0)) + e.amount
        # The grants count what the pools paid: exactly each pool, not the claims.
        assert by_clause["1"] + by_clause["2"] == Decimal("300000")
        assert by_clause["3"] == Decimal("250000")
        assert sorted(e.amount for e in entries if e.clause == "3") == [Decimal("50000"), Decimal("100000"),
                                                                        Decimal("100000")]
        decisions = book.decisions(round_id="p1")
        claimed = sum(Decimal(a) for d in decisions for c, _o, a in json.loads(d["outcomes"])
                      if c in ("1", "2") and a is not None)
        paid = sum(Decimal(a) for d in decisions for c, _o, a in json.loads(d["paid"]) if c in ("1", "2") and a)
        assert claimed > Decimal("300000") and paid == Decimal("300000")  # both kept, per clause
        assert sum(Decimal(d["total_fen"]) for d in decisions) / 100 == Decimal("550000")
        assert book.verify() == []
        one = decisions[0]["id"]
    replayed = run("ledger", "replay", ledger, "--round", "p1", "--lang", "en")
    assert replayed.exit_code == 0, replayed.output
    assert "16 of 16 decisions the same" in replayed.output
    # One decision alone compares its claims (its pool's share needs the whole round).
    single = run("ledger", "replay", ledger, "--decision", one, "--lang", "en")
    assert single.exit_code == 0, single.output


def test_a_changed_pool_is_reported_with_the_amounts(tmp_path: Path) -> None:
    source, ledger = tmp_path / "round.jsonl", str(tmp_path / "grants.db")
    pooled_round(source)
    assert run("batch", POOLED, source, "-o", tmp_path / "out.jsonl", "--ledger", ledger, "--record", "p1"
               ).exit_code == 0
    today = tmp_path / "today"
    today.mkdir()
    text = POOLED.read_text(encoding="utf-8")
    assert "    total: 25万元\n" in text
    (today / POOLED.name).write_text(text.replace("    total: 25万元\n", "    total: 35万元\n"), encoding="utf-8")
    with open_ledger(ledger) as book:
        fourth = [e for e in book.entries(round_id="p1") if e.clause == "3" and e.amount == Decimal("50000")]
    assert len(fourth) == 1
    result = run("ledger", "replay", ledger, "--round", "p1", "--policies", today, "--lang", "en")
    assert result.exit_code == 1, result.output
    # Under the policy as recorded, every decision is the same; under today's, the school filed last is paid
    # its claim in full (50,000 → 100,000) and the claims themselves are unchanged.
    assert "clause 3, paid from its pool: 50,000.00元（5万元） → 100,000.00元（10万元）" in result.output
    assert "clause 3:" not in result.output and "under the policy as recorded: same" in result.output
    assert "15 of 16 decisions the same" in result.output


def test_a_recorded_round_says_who_under_which_policy_by_which_engine(tmp_path: Path) -> None:
    """Without --by, the operating system's user records; every decision keeps the engine's version and the
    policy's revision, whose files the ledger keeps by their hash (byte for byte)."""
    import getpass

    from engine.ledger.records import engine_version
    from engine.workspace import load_policy

    source, ledger = tmp_path / "round.jsonl", str(tmp_path / "grants.db")
    pooled_round(source)
    assert run("batch", POOLED, source, "-o", tmp_path / "out.jsonl", "--ledger", ledger, "--record", "p1"
               ).exit_code == 0
    revision = load_policy(str(POOLED)).revision
    with open_ledger(ledger) as book:
        assert {e.by for e in book.entries()} == {getpass.getuser()}
        decisions = book.decisions(round_id="p1")
        assert {(d["engine_version"], d["revision"], d["recorded_by"]) for d in decisions} == {
            (engine_version(), revision, getpass.getuser())}
        policy_id, files = book.policy_sources(revision)
        assert policy_id == "pooled-example" and files[0][1] == POOLED.read_bytes()
        assert files[0][0] == POOLED.name
        assert book.verify() == []

