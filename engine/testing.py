"""Officers' test cases: YAML files of applicants and the outcome each clause must give, and their runner."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from .amounts import format_money, parse_amount
from .errors import PolicyError, Problem, ProblemList, SchemaError
from .evaluate import Result, evaluate
from .facts import Applicant, applicant_from
from .loader import Loaded, load_file
from .model import Policy
from .suggest import did_you_mean
from .validate import load_schema, make_validator, schema_problems


@dataclass(frozen=True)
class Mismatch:
    what: str  # e.g. "2.1 amount", "total"
    expected: str
    actual: str


@dataclass(frozen=True)
class CaseOutcome:
    name: str
    line: int | None
    mismatches: tuple[Mismatch, ...] = ()
    result: Result | None = None
    error: PolicyError | None = None  # the case itself is broken (bad facts): reported, counted as failed

    @property
    def passed(self) -> bool:
        return not self.mismatches and self.error is None


@dataclass(frozen=True)
class Suite:
    file: str
    policy_path: str | None
    cases: tuple[dict, ...]
    loaded: Loaded = field(repr=False)


@lru_cache(maxsize=None)
def _validator():
    return make_validator(load_schema("tests.schema.json"))


def load_suite(path: str) -> Suite:
    loaded = load_file(path)
    problems = ProblemList()
    for p in schema_problems(_validator(), loaded.data, loaded.source):
        problems.add(p)
    problems.raise_if_any(SchemaError)
    policy_path = loaded.data.get("policy")
    if policy_path is not None:
        policy_path = str(Path(path).parent / policy_path)
    return Suite(loaded.source.file, policy_path, tuple(loaded.data["cases"]), loaded)


def run_suite(policy: Policy, suite: Suite) -> list[CaseOutcome]:
    return [run_case(policy, suite, i) for i in range(len(suite.cases))]


def case_applicant(policy: Policy, suite: Suite, index: int) -> tuple[Applicant, dt.date | None]:
    """A case's applicant, validated against `policy`, and the case's own claim date if it gives one."""
    case = suite.cases[index]
    prefix = ("cases", index, "facts")
    applicant = applicant_from(policy, Loaded(case["facts"], _prefixed(suite.loaded.source, prefix), ""))
    return applicant, dt.date.fromisoformat(case["date"]) if case.get("date") else None


def run_case(policy: Policy, suite: Suite, index: int) -> CaseOutcome:
    case = suite.cases[index]
    source = suite.loaded.source
    line = source.mark(("cases", index))[0]
    try:
        applicant, on = case_applicant(policy, suite, index)
        result = evaluate(policy, applicant, on=on)
        mismatches = tuple(_compare(policy, result, case["expect"], source, ("cases", index, "expect")))
    except PolicyError as error:
        return CaseOutcome(case["name"], line, error=error)
    return CaseOutcome(case["name"], line, mismatches, result)


def _prefixed(source, prefix):
    """A SourceMap for a sub-document whose problems still point into the whole file with full paths."""
    sub = source.subtree(prefix)
    original = sub.problem

    def problem(message, path, **kw):
        p = original(message, path, **kw)
        return Problem(p.message, p.file, p.line, p.column, tuple(prefix) + tuple(path), p.clause, p.suggestion)

    sub.problem = problem  # type: ignore[method-assign]
    return sub


def _amount(value) -> Decimal:
    return parse_amount(value)


def _compare(policy: Policy, result: Result, expect: dict, source, path):
    ids = [c.id for c in policy.clauses]
    problems = ProblemList()
    for key, want in expect.items():
        if key == "total":
            if result.total != _amount(want):
                yield Mismatch("total", format_money(_amount(want)), format_money(result.total))
            continue
        if key == "complete":
            if result.complete != want:
                yield Mismatch("complete", str(want).lower(), str(result.complete).lower())
            continue
        if key not in ids:
            problems.add(source.problem(f"expect names clause '{key}', which the policy does not have",
                                        path + (key,), prefer_key=True, suggestion=did_you_mean(key, ids)))
            continue
        got = result.clause(key)
        want = {"outcome": want} if isinstance(want, str) else want
        if got.outcome != want["outcome"]:
            yield Mismatch(f"{key} outcome", want["outcome"], got.outcome + (f" ({got.reason})" if got.reason else ""))
        if "amount" in want:
            actual = format_money(got.amount) if got.amount is not None else "none"
            if got.amount != _amount(want["amount"]):
                yield Mismatch(f"{key} amount", format_money(_amount(want["amount"])), actual)
        if "reason" in want and got.reason != want["reason"]:
            yield Mismatch(f"{key} reason", want["reason"], str(got.reason))
        if "missing" in want and sorted(want["missing"]) != sorted(got.missing):
            yield Mismatch(f"{key} missing", ", ".join(sorted(want["missing"])), ", ".join(sorted(got.missing)))
    problems.raise_if_any(SchemaError)
