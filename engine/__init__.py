"""A policy-as-data rules engine: load, validate, compile, evaluate and render subsidy policies."""

from engine.model.compile import compile_policy
from engine.workspace import load_policy
from engine.core.errors import (CompileError, EvaluateError, FactsError, InheritError, LoadError, PolicyError, Problem,
                     SchemaError)
from engine.runtime.evaluate import evaluate
from engine.runtime.trace import Result
from engine.model.facts import Applicant, applicant_from_data, applicant_from_text, facts_for, facts_schema, load_applicant
from engine.present.result_json import render_json, result_to_json
from engine.present.sheet import render_text

__all__ = [
    "Applicant", "CompileError", "EvaluateError", "FactsError", "InheritError", "LoadError", "PolicyError", "Problem", "Result",
    "SchemaError", "applicant_from_data", "applicant_from_text", "compile_policy", "evaluate", "facts_for",
    "facts_schema", "load_applicant", "load_policy", "render_json", "render_text", "result_to_json",
]
