"""The officers' YAML cases beside each policy pass, one pytest item per case; a wrong expectation fails."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from engine import load_policy
from engine.tools.testing import load_suite, run_case

ROOT = Path(__file__).resolve().parent.parent
SUITES = sorted(ROOT.glob("policies/**/*.tests.yaml"))


def _items():
    for suite_path in SUITES:
        suite = load_suite(str(suite_path))
        for index, case in enumerate(suite.cases):
            yield pytest.param(suite_path, index, id=f"{suite_path.stem}:{index}:{case['name'][:40]}")


@functools.lru_cache(maxsize=None)
def _suite_and_policy(suite_path: Path):
    """Each suite read and its policy compiled once for all its cases (as `policy test` does)."""
    suite = load_suite(str(suite_path))
    return suite, load_policy(suite.policy_path)


@pytest.mark.parametrize("suite_path, index", list(_items()))
def test_case(suite_path: Path, index: int):
    suite, policy = _suite_and_policy(suite_path)
    outcome = run_case(policy, suite, index)
    assert outcome.error is None, outcome.error.format()
    assert not outcome.mismatches, "\n".join(f"{m.what}: expected {m.expected}, got {m.actual}"
                                             for m in outcome.mismatches)


@pytest.fixture(scope="module")
def lishui():
    """The shipped Lishui policy (not the engine tests' copy conftest.py gives): its own cases are tested here."""
    return load_policy(str(ROOT / "policies" / "lishui-2021-67.yaml"))


def test_lishui_suite_covers_every_clause_that_can_pay(lishui):
    suite = load_suite(str(ROOT / "policies" / "lishui-2021-67.tests.yaml"))
    eligible_somewhere = set()
    for i in range(len(suite.cases)):
        result = run_case(lishui, suite, i).result
        if result is not None:  # a case whose facts must be refused (rejects:) has no result
            eligible_somewhere |= {r.clause.id for r in result.clauses if r.outcome == "eligible"}
    paying = {c.id for c in lishui.clauses if c.award is not None}
    assert paying <= eligible_somewhere, paying - eligible_somewhere


def test_a_wrong_expectation_fails_with_expected_and_actual(tmp_path, lishui):
    src = (ROOT / "policies" / "lishui-2021-67.tests.yaml").read_text(encoding="utf-8")
    src = src.replace("policy: lishui-2021-67.yaml", f"policy: {ROOT / 'policies' / 'lishui-2021-67.yaml'}")
    src = src.replace('"2.2": {outcome: eligible, amount: 200000}', '"2.2": {outcome: eligible, amount: 200001}', 1)
    path = tmp_path / "wrong.tests.yaml"
    path.write_text(src, encoding="utf-8")
    outcome = run_case(lishui, load_suite(str(path)), 0)
    assert not outcome.passed
    assert [(m.what, m.expected, m.actual) for m in outcome.mismatches] == [
        ("2.2 amount", "200,001.00元", "200,000.00元（20万元）")]
