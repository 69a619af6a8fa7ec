"""JSON Schema validation (Draft 2020-12) with every error placed at its file:line:col in plain words."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable

import jsonschema
import referencing
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, relevance

from .errors import Problem, ProblemList, SchemaError
from .loader import Loaded, SourceMap
from .suggest import did_you_mean, one_of

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


def _is_integer(checker, instance) -> bool:
    if isinstance(instance, bool):
        return False
    if isinstance(instance, Decimal):
        return instance.is_finite() and instance == instance.to_integral_value()
    return Draft202012Validator.TYPE_CHECKER.is_type(instance, "integer")


_TYPE_CHECKER = Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer)
_Validator = jsonschema.validators.extend(Draft202012Validator, type_checker=_TYPE_CHECKER)


def schema_text(name: str) -> str:
    """A bundled schema's JSON text: from the source tree, or from the installed package."""
    path = SCHEMA_DIR / name
    if path.is_file():
        return path.read_text(encoding="utf-8")
    return resources.files("engine.schemas").joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    return json.loads(schema_text(name))


def make_validator(schema: dict) -> Draft202012Validator:
    # An empty registry: no $ref is ever fetched from anywhere, only resolved inside the schema itself.
    return _Validator(schema, registry=referencing.Registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)


@lru_cache(maxsize=None)
def _policy_validator() -> Draft202012Validator:
    return make_validator(load_schema("policy.schema.json"))


@lru_cache(maxsize=None)
def _partial_policy_validator() -> Draft202012Validator:
    """The schema for a file that extends another: every key checked, but nothing required at the top
    level (the parent provides it), and parameter overrides may give only the changed value."""
    schema = copy.deepcopy(load_schema("policy.schema.json"))
    schema.pop("required", None)
    schema["$defs"]["parameter"].pop("required", None)
    return make_validator(schema)


def validate_policy(loaded: Loaded, partial: bool = False) -> None:
    """Raise SchemaError listing every place the document breaks the policy language's schema.

    partial: the document extends another, so it is checked on its own terms only; the merged
    document is validated in full afterwards.
    """
    problems = ProblemList()
    validator = _partial_policy_validator() if partial else _policy_validator()
    for problem in schema_problems(validator, loaded.data, loaded.source):
        problems.add(problem)
    problems.raise_if_any(SchemaError)


def schema_problems(validator: Draft202012Validator, data, source: SourceMap,
                    describe=None) -> Iterable[Problem]:
    """Problems for each schema error, deepest meaningful error first, one per location."""
    seen: set[tuple] = set()
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        error = _most_helpful(error)
        problem = (describe and describe(error, source)) or _describe(error, source)
        key = (problem.path, problem.message)
        if key not in seen:
            seen.add(key)
            yield problem


def _most_helpful(error: ValidationError) -> ValidationError:
    """For anyOf/oneOf, the error inside the one branch whose type fits the value, if only one does."""
    while error.validator in ("anyOf", "oneOf") and error.context:
        branches: dict[int, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        fitting = [errs for errs in branches.values()
                   if not any(e.validator == "type" and not e.relative_path for e in errs)]
        if len(fitting) != 1:
            return error  # no branch (or several) fits the value's type: describe the alternatives
        error = min(fitting[0], key=lambda e: (-len(e.absolute_path), relevance(e)))
    return error


_TYPE_WORDS = {"string": "text", "number": "a number", "integer": "a whole number", "boolean": "true or false",
               "object": "a mapping (key: value lines)", "array": "a list (lines starting with '- ')",
               "null": "nothing"}


def _kind_of(value) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (yes/no)"
    if isinstance(value, (Decimal, int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text '{value}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (empty)"
    return type(value).__name__


def _path_name(path) -> str:
    for part in reversed(list(path)):
        if isinstance(part, str):
            return part
    return "value"


def _describe(error: ValidationError, source: SourceMap) -> Problem:
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.instance
    name = _path_name(path)
    v = error.validator
    if v == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        extras = [k for k in value if k not in schema.get("properties", {})] if isinstance(value, dict) else []
        key = extras[0] if extras else "?"
        hint = did_you_mean(key, allowed) or (f"allowed here: {one_of(allowed)}" if allowed else None)
        return source.problem(f"unknown key '{key}'", path + (key,), prefer_key=True, suggestion=hint)
    if v == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        desc = schema.get("properties", {}).get(missing, {}).get("description")
        return source.problem(f"'{missing}' is missing", path, prefer_key=True,
                              suggestion=f"add {missing}: …" + (f" — {desc}" if desc else ""))
    if v == "type":
        want = error.validator_value
        wants = want if isinstance(want, list) else [want]
        words = " or ".join(_TYPE_WORDS.get(w, w) for w in wants)
        hint = None
        if "boolean" in wants and isinstance(value, str) and value.lower() in {"yes", "no", "on", "off", "y", "n", "是", "否"}:
            hint = "write true or false (yes/no/on/off are read as text here)"
        elif "string" in wants and isinstance(value, Decimal):
            hint = f"put it in quotes: \"{value}\""
        return source.problem(f"'{name}' must be {words}, not {_kind_of(value)}", path, suggestion=hint)
    if v == "enum":
        options = [str(o) for o in error.validator_value]
        return source.problem(f"'{name}' must be one of {one_of(options)}, not {_kind_of(value)}", path,
                              suggestion=did_you_mean(str(value), options))
    if v in ("anyOf", "oneOf"):
        desc = schema.get("description", "")
        return source.problem(f"'{name}' has the wrong form: {_kind_of(value)}", path,
                              suggestion=desc or None)
    if v == "pattern":
        if "万元" in error.validator_value:  # the amount pattern: say so in the officer's terms
            return source.problem(f"{_kind_of(value)} is not an amount", path,
                                  suggestion="write digits, optionally followed by 元, 万元, 亿元 or %: "
                                             "100000, 10万元, 2亿元, 50%")
        desc = schema.get("description", "") or (error.parent.schema.get("description", "")
                                                 if error.parent is not None else "")
        return source.problem(f"{_kind_of(value)} is not a valid {name}", path, suggestion=desc or None)
    if v == "format":
        return source.problem(f"{_kind_of(value)} is not a valid {error.validator_value}", path,
                              suggestion="write dates as YYYY-MM-DD, e.g. 2022-02-01" if error.validator_value == "date" else None)
    if v in ("minItems", "minProperties", "minLength"):
        return source.problem(f"'{name}' must not be empty", path, suggestion=schema.get("description"))
    if v == "uniqueItems":
        return source.problem(f"'{name}' lists the same item twice", path)
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        words = {"minimum": "at least", "exclusiveMinimum": "more than", "maximum": "at most",
                 "exclusiveMaximum": "less than"}[v]
        return source.problem(f"'{name}' must be {words} {error.validator_value}, not {value}", path)
    if v == "propertyNames":
        return source.problem(f"{error.message}", path, suggestion="names are lower case letters, digits and _; "
                                                                   "they start with a letter")
    if v == "dependentRequired":
        needs = [k for k in error.validator_value if isinstance(value, dict) and k in value
                 and any(n not in value for n in error.validator_value[k])]
        key = needs[0] if needs else name
        return source.problem(f"'{key}' only makes sense in a file that extends another", path + (key,),
                              prefer_key=True, suggestion="add extends: <parent policy id>, or remove it")
    if v == "maxLength":
        return source.problem(f"'{name}' is longer than {error.validator_value} characters", path)
    return source.problem(error.message, path)
