"""`policy evaluate` starts quickly because it imports only what evaluating one applicant needs (issue 20): a
module that crept onto its path (a web framework, a spreadsheet library, the compiler for a cached policy)
costs every run of the command tens of milliseconds. The time itself is measured by scripts/benchmark.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
POLICY = str(ROOT / "policies" / "lishui-2021-67.yaml")
FACTS = str(ROOT / "examples" / "seller.yaml")  # no credit_code: (checking one would rightly import stdnum)

# The command as the installed console script runs it; at exit, every module it imported.
RUN = ("import atexit, sys\n"
       "atexit.register(lambda: sys.stderr.write('\\nMODULES ' + ' '.join(sorted(sys.modules)) + '\\n'))\n"
       "sys.argv[0] = 'policy'\n"
       "from cli import main\n"
       "main()\n")

# Never needed to evaluate one applicant from a text facts file and print the sheet or the JSON.
NOT_IMPORTED = (
    "jinja2", "starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg", "openpyxl", "xlsxwriter", "lxml",
    "duckdb", "pyarrow", "polars", "ruamel", "hypothesis", "stdnum",
    "engine.service", "engine.rounds", "engine.ledger", "engine.tools", "engine.present.review",
    "engine.runtime.generate",
    "cli_commands",  # every command but evaluate: their options are not built for it
)
# ... nor, once the policy is in the compiled-policy cache, what compiles and validates one (and valid facts
# never need the JSON Schema validator).
NOT_IMPORTED_CACHED = ("engine.model.compile", "engine.syntax.inherit", "engine.syntax.readings",
                       "engine.model.references", "engine.model.awards.steps", "engine.model.awards.tiers",
                       "jsonschema", "referencing", "simpleeval", "difflib", "importlib.resources")


def _imported(cache: Path, *options: str) -> tuple[str, set[str]]:
    env = {**os.environ, "POLICY_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", RUN, "evaluate", POLICY, FACTS, *options], capture_output=True,
                         text=True, cwd=ROOT, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    line = [x for x in run.stderr.splitlines() if x.startswith("MODULES ")][-1]
    return run.stdout, set(line.split()[1:])


def _found(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


@pytest.mark.parametrize("options", [(), ("--format", "json")], ids=["text", "json"])
def test_policy_evaluate_imports_only_what_evaluating_needs(tmp_path, options):
    first, modules = _imported(tmp_path, *options)  # compiles the policy, and caches it
    assert _found(modules, NOT_IMPORTED) == []
    again, cached = _imported(tmp_path, *options)
    assert again == first  # the same sheet or JSON from the cached policy
    assert ("丽政办发〔2021〕67号" in again) if not options else again.lstrip().startswith("{")
    assert _found(cached, NOT_IMPORTED + NOT_IMPORTED_CACHED) == []
    assert "engine.model.compile" in modules  # the check above can see a compiler imported: the first run did


@pytest.mark.parametrize("facts", [FACTS, str(ROOT / "no-such-facts.yaml")], ids=["evaluated", "refused"])
def test_the_garbage_collector_paused_for_the_start_runs_again_after_the_command(facts):
    """A program that runs the command in its own process (as the tests do) keeps collecting garbage after it."""
    import gc

    from click.testing import CliRunner

    from cli import cli

    assert gc.isenabled()
    run = CliRunner().invoke(cli, ["evaluate", POLICY, facts])
    assert run.exit_code == (0 if facts == FACTS else 1), run.output
    assert gc.isenabled()


def test_a_program_that_runs_main_and_goes_on_still_collects_garbage(tmp_path):
    """main() leaves the collector's work undone only when the interpreter exits (gc.freeze, at exit), not in a
    program that catches the command's SystemExit and goes on."""
    program = ("import gc, sys, weakref\n"
               "sys.argv[1:1] = ['policy']\n"
               "sys.argv[0] = sys.argv.pop(1)\n"
               "from cli import main\n"
               "try:\n"
               "    main()\n"
               "except SystemExit as done:\n"
               "    assert done.code in (0, None), done.code\n"
               "class Node: pass\n"
               "a, b = Node(), Node()\n"
               "a.other, b.other = b, a\n"
               "gone = weakref.ref(a)\n"
               "del a, b\n"
               "gc.collect()\n"
               "print('FROZEN', gc.get_freeze_count(), 'COLLECTED', gone() is None, 'ENABLED', gc.isenabled())\n")
    env = {**os.environ, "POLICY_CACHE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", program, "evaluate", POLICY, FACTS], capture_output=True, text=True,
                         cwd=ROOT, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "丽政办发〔2021〕67号" in run.stdout
    assert run.stdout.rstrip().endswith("FROZEN 0 COLLECTED True ENABLED True")
