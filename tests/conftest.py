"""Shared fixtures: paths into the repository and a compiled Lishui policy."""

from __future__ import annotations

import gc
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

# Compiled policies are cached per user (engine.cache); tests keep theirs apart from the user's own.
os.environ["POLICY_CACHE_DIR"] = tempfile.mkdtemp(prefix="policy-cache-tests-")

from engine import load_policy

# Hypothesis in CI (CI=true): derandomised, so a run's examples are the same on every run and a red CI is red again
# on the developer's machine; elsewhere random, so local runs keep finding new inputs. HYPOTHESIS_PROFILE=ci
# chooses CI's locally.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev"))

ROOT = Path(__file__).resolve().parent.parent
# The Lishui policy the engine's tests evaluate: a copy of the shipped one (tests/fixtures/), so that changing how
# Lishui is read fails the policy's own cases (policies/lishui-2021-67.tests.yaml, test_policies_cases.py), not
# tests of the engine. SHIPPED_LISHUI is for tests of the shipped file itself.
LISHUI = ROOT / "tests" / "fixtures" / "lishui-2021-67.yaml"
SHIPPED_LISHUI = ROOT / "policies" / "lishui-2021-67.yaml"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


@pytest.fixture(scope="session")
def lishui():
    """The Lishui policy of the engine's tests (LISHUI), compiled once."""
    return load_policy(str(LISHUI))


# The modules that take longest, longest first (measured with --durations and the CPU each used; they wait on
# subprocesses, a database, a browser or LibreOffice). `pytest -n auto --dist loadfile` hands whole modules to
# the workers in collection order, so these start first and the short ones fill in around them: a long module
# handed out last would end the run alone. Every other module keeps its place after them.
SLOWEST_FIRST = ["test_runtime_sql_spark.py", "test_tools_hooks.py", "test_runtime_sql.py", "test_rounds_sql.py",
                 "test_rounds_sql_workbook.py", "test_ledger_store_failures.py", "test_tools_fmt.py", "test_scripts_fuzz.py",
                 "test_scripts_population.py", "test_ledger_store.py", "test_syntax_schema_editor.py",
                 "test_cli_hardening.py", "test_tools_lint.py", "test_service_app_hardening.py",
                 "test_rounds_run_hardening.py", "test_ledger_use.py", "test_docs_walkthrough.py",
                 "test_syntax_inherit.py", "test_rounds_write_print.py", "test_engine_properties.py"]


def pytest_configure(config: pytest.Config) -> None:
    # xdist would otherwise start the modules with the most tests first, whatever their length.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: within a module, order kept


def pytest_collection_finish(session: pytest.Session) -> None:
    # The test modules, their fixtures' data and the libraries they import live as long as the test process: once
    # collected, the garbage collector need not scan them again (gc.freeze, as engine.rounds.run does in its
    # workers), and it runs less often (20,000 new objects rather than 700 before a young collection). The tests
    # build many short-lived objects; about 5 % less CPU in the CPU-bound modules (measured side by side, same load),
    # no more memory. Only the test processes: a `policy` command the tests start as a program collects as a user's does.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)
