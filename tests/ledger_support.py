"""What the ledger tests share: a fresh ledger on each database (SQLite, and PostgreSQL when the test server is
given), the Lishui policy as recorded, and rounds of decisions made by the engine."""

from __future__ import annotations

import os
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine import applicant_from_data, evaluate
from engine.core.errors import FactsError
from engine.ledger import LedgerGrant, PolicyRecord, decision_from_result
from engine.rounds.identity import make_code
from engine.workspace import Library, load_with_sources

ROOT = Path(__file__).resolve().parent.parent
LISHUI = ROOT / "policies" / "lishui-2021-67.yaml"
PG_URL = os.environ.get("POLICY_TEST_POSTGRES_URL")


def _postgres_database() -> tuple[str, str]:
    """A new, empty database on the test server: its URL, and its name (to drop it afterwards)."""
    if not PG_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must test the ledger on PostgreSQL: POLICY_TEST_POSTGRES_URL is not set (.ci/run "
                        "starts the server and sets it)")
        pytest.skip("the ledger on PostgreSQL: set POLICY_TEST_POSTGRES_URL=postgresql://user@host:port/db to run")
    import psycopg

    name = "ledger_test_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    from sqlalchemy.engine import make_url

    # The same server, user and options (a socket folder given as ?host=…), another database.
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False), name


def _drop(name: str) -> None:
    import psycopg

    assert PG_URL is not None
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path):
    """Where a new ledger goes: a SQLite path that does not exist yet, or an empty PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "grants.db")
        return
    url, name = _postgres_database()
    try:
        yield url
    finally:
        _drop(name)


@pytest.fixture
def postgres_url():
    """An empty PostgreSQL database (for what only PostgreSQL has: a database that exists before its ledger)."""
    url, name = _postgres_database()
    try:
        yield url
    finally:
        _drop(name)


_RECORDS: dict[str, tuple[Any, PolicyRecord]] = {}


def lishui_record(path: Path = LISHUI) -> tuple[Any, PolicyRecord]:
    """The policy and its record (revision and sources), as the CLI makes them."""
    key = str(path)
    if key not in _RECORDS:
        policy, files = load_with_sources(key, Library())
        _RECORDS[key] = policy, PolicyRecord.from_files(policy.id, files)
    return _RECORDS[key]


def code(i: int) -> str:
    return make_code(f"9133110{i:010d}")


def warehouse(i: int, name: str, year: int, cost: str = "1360000", granted: Any = ()) -> dict[str, Any]:
    """A warehouse operator's claim (clause 5.1: 50% of the building cost, once per warehouse, at most 50万元)."""
    data: dict[str, Any] = {
        "applicant": f"海外仓公司{i}", "recipient": "warehouse_operator", "area": "市直", "date": f"{year}-05-10",
        "facts": {"claim_year": year, "warehouse_name": name, "warehouse_recognised": True,
                  "warehouse_operating_years": Decimal("1.5"), "warehouse_build_cost": cost,
                  "warehouse_newly_built_belt_and_road": False}}
    data["granted"] = [grant_entry(g) for g in granted]
    return data


def grant_entry(g: LedgerGrant) -> dict[str, Any]:
    """A ledger grant in the facts' ledger form of granted: (what the --ledger wiring feeds an evaluation)."""
    return g.as_granted()


def decisions_of(policy: Any, claims: list[tuple[str, dict[str, Any]]]) -> list:
    """The engine's decisions for (credit code, facts) claims."""
    out = []
    for recipient, data in claims:
        result = evaluate(policy, applicant_from_data(policy, data), trace=False)
        out.append(decision_from_result(result, recipient))
    return out


def population_decisions(policy: Any, n: int, seed: int = 0, first: int = 0) -> list:
    """Decisions for n synthetic applicants of every kind (scripts/population.py); repeated list items, which
    the facts check refuses, are left out."""
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    from population import population

    out = []
    for i, data in enumerate(population(policy, n, seed=seed), first):
        try:
            applicant = applicant_from_data(policy, data)
        except FactsError:
            continue
        out.append(decision_from_result(evaluate(policy, applicant, trace=False), code(i)))
    return out


ZERO = Decimal(0)
