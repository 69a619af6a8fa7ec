"""A policy-as-data rules engine: load, validate, compile, evaluate and render subsidy policies.

The public surface, all you need to evaluate applicants from Python::

    from engine import load_policy, check_facts, evaluate, render_text

    policy = load_policy("policies/lishui-2021-67.yaml")      # read, validate and compile, once
    applicant = check_facts(policy, {"recipient": "seller", "facts": {...}})
    result = evaluate(policy, applicant, trace=False)         # outcomes and amounts; no explanation
    sheet = render_text(evaluate(policy, applicant))           # traced: the calculation sheet

Everything a policy needs per evaluation (its plan, its facts checker) is made once, on first use, and
kept with the policy, so evaluating many applicants against one loaded policy pays nothing twice.
Every mistake in a user's file raises a subclass of `PolicyError` whose `.problems` carry file, line,
column, JSON path, clause and suggestion. Names are imported on first use, so `import engine` is cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.core.errors import (
        CompileError,
        EvaluateError,
        FactsError,
        InheritError,
        LoadError,
        PolicyError,
        Problem,
        SchemaError,
    )
    from engine.model.compile import compile_policy
    from engine.model.facts import (
        Applicant,
        applicant_from_data,
        applicant_from_text,
        check_facts,
        facts_for,
        facts_schema,
        load_applicant,
    )
    from engine.model.policy import Policy
    from engine.present.result_json import render_json, result_to_json
    from engine.present.sheet import render_text
    from engine.runtime.evaluate import evaluate
    from engine.runtime.plan import Plan, prepare
    from engine.runtime.trace import ClauseResult, Result
    from engine.workspace import load_policy

_WHERE = {
    "CompileError": "engine.core.errors", "EvaluateError": "engine.core.errors", "FactsError": "engine.core.errors",
    "InheritError": "engine.core.errors", "LoadError": "engine.core.errors", "PolicyError": "engine.core.errors",
    "Problem": "engine.core.errors", "SchemaError": "engine.core.errors",
    "compile_policy": "engine.model.compile", "load_policy": "engine.workspace", "Policy": "engine.model.policy",
    "Applicant": "engine.model.facts", "applicant_from_data": "engine.model.facts",
    "applicant_from_text": "engine.model.facts", "check_facts": "engine.model.facts", "facts_for": "engine.model.facts",
    "facts_schema": "engine.model.facts", "load_applicant": "engine.model.facts",
    "evaluate": "engine.runtime.evaluate", "prepare": "engine.runtime.plan", "Plan": "engine.runtime.plan",
    "Result": "engine.runtime.trace", "ClauseResult": "engine.runtime.trace",
    "render_text": "engine.present.sheet", "render_json": "engine.present.result_json",
    "result_to_json": "engine.present.result_json",
}

__all__ = [
    "Applicant", "ClauseResult", "CompileError", "EvaluateError", "FactsError", "InheritError", "LoadError", "Plan",
    "Policy", "PolicyError", "Problem", "Result", "SchemaError", "applicant_from_data", "applicant_from_text",
    "check_facts", "compile_policy", "evaluate", "facts_for", "facts_schema", "load_applicant", "load_policy",
    "prepare", "render_json", "render_text", "result_to_json",
]
assert sorted(__all__) == sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
