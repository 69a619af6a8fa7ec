"""Lint a compiled policy for what the schema cannot see: unused names, dead clauses, implausible numbers."""

from __future__ import annotations

import datetime as dt

from engine.core.errors import Problem
from engine.model.compile import compile_policy, reading_problems
from engine.model.policy import Policy
from engine.syntax.loader import Loaded
from engine.tools.lint.base import counts as counts  # re-exported: how many findings of each severity
from engine.tools.lint.conditions import ConditionChecks
from engine.tools.lint.numbers import NumberChecks
from engine.tools.lint.unused import UnusedChecks
from engine.workspace import Library, load_resolved


class _Linter(UnusedChecks, ConditionChecks, NumberChecks):
    """Every family of checks, over one policy: unused names, conditions (with awards and units, which they
    build on), numbers. engine/tools/lint/ has a module per family, each a class over LinterBase."""


def lint_file(path: str, today: dt.date, library: Library | None = None) -> tuple[Policy, list[Problem]]:
    """Load (following `extends:`), validate and compile a policy file, then lint it, and compile it read each
    other way (every reading's alternatives with a change:): what is wrong there is an error at the change.

    Raises PolicyError if it does not compile. Findings in inherited lines point at the parent's file.
    Returns the compiled policy too, whose language the findings are shown in.
    """
    loaded = load_resolved(path, library)
    policy = compile_policy(loaded)
    found = lint(policy, loaded, today) + reading_problems(loaded)  # each reading's alternatives compile too
    return policy, sorted(found, key=lambda p: (p.line or 0, p.column or 0))


def lint(policy: Policy, loaded: Loaded, today: dt.date) -> list[Problem]:
    """Findings about a compiled policy, ordered by position in the file; each with a suggestion."""
    linter = _Linter(policy, loaded, today)
    for check in (linter.unused_names, linter.unused_references, linter.unused_readings, linter.clauses,
                  linter.units, linter.groups, linter.parameters, linter.in_force, linter.text_numbers):
        check()
    seen: set[tuple[int | None, int | None, str]] = set()
    unique = []
    for p in linter.found:
        key = (p.line, p.column, p.message)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return sorted(unique, key=lambda p: (p.line or 0, p.column or 0))
