"""The benchmark's synthetic population: deterministic, loadable, and exercising every kind and branch."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from engine import applicant_from_data, evaluate, load_policy
from engine.model.facts import facts_for

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from population import population

POLICIES = ["lishui-2021-67.yaml", "datong-2021-46.yaml"]
N = 2000


@pytest.fixture(scope="module", params=POLICIES)
def case(request):
    policy = load_policy(str(ROOT / "policies" / request.param))
    return policy, population(policy, N, seed=0)


def test_same_seed_same_population(case):
    policy, people = case
    assert population(policy, N, seed=0) == people
    assert population(policy, 50, seed=1) != people[:50]


def test_every_recipient_kind_and_main_share(case):
    policy, people = case
    kinds = Counter(d["recipient"] for d in people)
    assert set(kinds) == set(policy.recipients)
    main = next(iter(policy.recipients))
    assert 0.65 < kinds[main] / N < 0.75


def test_every_branch_of_who_where_when_and_granted(case):
    policy, people = case
    areas = set(policy.areas)
    start, end = policy.start.isoformat(), policy.end.isoformat() if policy.end else None
    assert any(d.get("area") is not None and d["area"] not in areas for d in people)  # out of area
    assert any(d.get("area") in areas for d in people)
    assert any(d["date"] < start or (end is not None and d["date"] > end) for d in people)  # out of period
    assert any(start <= d["date"] and (end is None or d["date"] <= end) for d in people)
    assert any("granted" not in d for d in people)  # unknown
    assert any(d.get("granted") == {} for d in people)
    assert any(d.get("granted") for d in people)  # amounts for capped clauses
    needed = {kind: [f.name for f in facts_for(policy, kind)] for kind in policy.recipients}
    assert any(d["facts"].get(n) is None for d in people for n in needed[d["recipient"]])  # a fact missing


def test_every_applicant_loads(case):
    policy, people = case
    for d in people:
        applicant_from_data(policy, d)  # raises FactsError on any rejected value


def test_lishui_population_reaches_every_outcome():
    policy = load_policy(str(ROOT / "policies" / "lishui-2021-67.yaml"))
    outcomes = Counter(r.outcome for d in population(policy, N)
                       for r in evaluate(policy, applicant_from_data(policy, d)).clauses)
    for outcome in ("eligible", "ineligible", "undetermined", "not_applicable"):
        assert outcomes[outcome] > 0, outcome


def test_benchmark_quick_runs():
    # The service's and the ledger's sections have tests of their own (test_service_app.py, test_ledger_store.py).
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "benchmark.py"), "--quick", "--no-service",
                          "--no-ledger"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "evaluate, facts checked, no trace" in run.stdout
    assert "targets met" in run.stdout
