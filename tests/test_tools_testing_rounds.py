"""Officers' test files holding a round: several applicants and what each is paid once the pools are shared, checked
to the fen by `policy test` (engine/tools/testing.py)."""

from __future__ import annotations

import shutil
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from engine import load_policy, load_suite, run_suite

ROUNDS = Path(__file__).resolve().parent / "fixtures" / "rounds"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(ROUNDS / "pooled.yaml", tmp_path / "pooled.yaml")
    shutil.copy(ROUNDS / "pooled-rounds.tests.yaml", tmp_path / "pooled-rounds.tests.yaml")
    return tmp_path


def _test(folder: Path, *extra: str):
    return CliRunner().invoke(cli, ["test", str(folder / "pooled.yaml"), str(folder / "pooled-rounds.tests.yaml"),
                                    "--no-coverage", *extra])


def test_a_round_passes_when_every_share_is_right_to_the_fen(folder: Path):
    run = _test(folder, "--lang", "en")
    assert run.exit_code == 0, run.output
    assert "1 passed, 0 failed" in run.output


def test_the_expected_shares_are_the_largest_remainder_shares_computed_apart():
    """The fixture's figures, checked here by exact fractions: each quota floored to the fen, the fen left over to
    the largest remainders, summing to the pool (so the file itself is right, not just what the engine says)."""
    claims = [Decimal(150000), Decimal(50000), Decimal(100000), Decimal(30000), Decimal(70001)]
    pool = Decimal(300000)
    quotas = [Fraction(c) * Fraction(pool) / Fraction(sum(claims)) for c in claims]
    floors = [Fraction(int(q * 100), 100) for q in quotas]
    left = int((Fraction(pool) - sum(floors)) * 100)
    for i in sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - floors[i]), i))[:left]:
        floors[i] += Fraction(1, 100)
    assert [Decimal(f.numerator) / f.denominator for f in floors] == \
        [Decimal("112499.72"), Decimal("37499.91"), Decimal("74999.81"), Decimal("22499.94"), Decimal("52500.62")]


def test_one_fen_off_fails_naming_the_applicant_and_the_clause(folder: Path):
    path = folder / "pooled-rounds.tests.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('"2": 37499.91', '"2": 37499.90'), encoding="utf-8")
    run = _test(folder, "--lang", "en")
    assert run.exit_code == 1
    assert "A 公司: clause 2 paid: expected 37,499.90元, got 37,499.91元" in run.output
    assert "0 passed, 1 failed" in run.output
    zh = _test(folder)
    assert "A 公司：第 2 项实付：应为 37,499.90元，实际为 37,499.91元" in zh.output


def test_the_order_of_an_in_order_pool_is_the_facts_not_the_rows(folder: Path):
    path = folder / "pooled-rounds.tests.yaml"
    text = path.read_text(encoding="utf-8")
    # F filed first now: F is paid in full and D, filed last, gets what is left.
    path.write_text(text.replace("filed_on: 2024-03-03", "filed_on: 2024-02-01")
                    .replace('expect: {"3": 5万元, "4": 1万元, total: 6万元}', 'expect: {"3": 10万元, "4": 1万元}')
                    .replace('expect: {"3": 10万元, total: 10万元}', 'expect: {"3": 5万元}'), encoding="utf-8")
    run = _test(folder)
    assert run.exit_code == 0, run.output


def test_a_round_without_its_pools_shared_would_fail():
    """The shares are what the pools pay, not the claims: each applicant's own evaluation pays the full claim."""
    policy = load_policy(str(ROUNDS / "pooled.yaml"))
    suite = load_suite(str(ROUNDS / "pooled-rounds.tests.yaml"))
    [outcome] = run_suite(policy, suite)
    assert outcome.passed and len(outcome.results) == 6
    assert outcome.results[0].clause("1").amount == Decimal(150000)  # the claim; the round pays 112,499.72


def test_a_clause_the_policy_does_not_have_is_named_where_it_is_written(folder: Path):
    path = folder / "pooled-rounds.tests.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('expect: {"3": 10万元}', 'expect: {"33": 10万元}'),
                    encoding="utf-8")
    run = _test(folder, "--lang", "en")
    assert run.exit_code == 1 and "Traceback" not in run.output
    assert "pooled-rounds.tests.yaml:44:" in run.output and "'33'" in run.output


def test_a_round_needs_two_applicants_and_each_an_expectation(folder: Path):
    path = folder / "pooled-rounds.tests.yaml"
    path.write_text("policy: pooled.yaml\nrounds:\n  - name: 一家\n    applicants:\n"
                    "      - name: A\n        facts: {recipient: seller}\n", encoding="utf-8")
    run = _test(folder, "--lang", "en")
    assert run.exit_code == 1 and "Traceback" not in run.output
    assert "pooled-rounds.tests.yaml:5:" in run.output
