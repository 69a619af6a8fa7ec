"""JSON Schema validation (Draft 2020-12) with every error placed at its file:line:col in plain words."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

if TYPE_CHECKING:  # jsonschema costs ~40 ms to import: only what validates pays for it (untyped: these are Any)
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

from engine.core.errors import Problem, ProblemList, SchemaError
from engine.core.messages import Message, msg
from engine.core.suggest import did_you_mean, one_of
from engine.syntax.loader import Loaded, SourceMap

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"

# A policy document, or a block of one, that passed the schema check: a mapping whose shape the schema
# guarantees and the type checker cannot see, so its values are Any. Read it as the schema describes it.
Document = dict[str, Any]
# How a caller words a schema error itself; None leaves it to the generic wording here.
Describe = Callable[["ValidationError", SourceMap], Problem | None]


def _is_integer(checker: object, instance: object) -> bool:
    if isinstance(instance, bool):
        return False
    if isinstance(instance, Decimal):
        return instance.is_finite() and instance == instance.to_integral_value()
    return isinstance(instance, int) or (isinstance(instance, float) and instance.is_integer())


@lru_cache(maxsize=None)
def _validator_class() -> type[Draft202012Validator]:
    """Draft 2020-12 reading our exact Decimals: 5 and 5.0 are integers, as JSON Schema says."""
    import jsonschema

    type_checker = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer)
    extended: type[Draft202012Validator] = jsonschema.validators.extend(jsonschema.Draft202012Validator,
                                                                         type_checker=type_checker)
    return extended


def schema_text(name: str) -> str:
    """A bundled schema's JSON text: from the source tree, or from the installed package."""
    path = SCHEMA_DIR / name
    if path.is_file():
        return path.read_text(encoding="utf-8")
    from importlib import resources  # only what reads a schema pays for it (its import costs an evaluation several ms)

    return resources.files("engine.schemas").joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict[str, Any]:
    """A bundled schema as JSON data (shared: copy it before changing it). Its values are whatever JSON
    Schema nests there, so they are Any to the type checker."""
    schema: dict[str, Any] = json.loads(schema_text(name))
    return schema


def make_validator(schema: Mapping[str, object]) -> Draft202012Validator:
    import jsonschema
    import referencing

    # An empty registry: no $ref is ever fetched from anywhere, only resolved inside the schema itself.
    return _validator_class()(schema, registry=referencing.Registry(),
                              format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


@lru_cache(maxsize=None)
def _policy_validator() -> Draft202012Validator:
    return make_validator(load_schema("policy.schema.json"))


def validate_policy(loaded: Loaded, partial: bool = False) -> None:
    """Raise SchemaError listing every place the document breaks the policy language's schema.

    partial: the document extends another. The schema itself knows such a file is partial (its
    `if: {required: [extends]}`), so editors and generic validators agree with this check; the merged
    document, which has no `extends:`, is then validated as a complete policy.
    """
    problems = ProblemList()
    validator = _policy_validator()
    for problem in schema_problems(validator, loaded.data, loaded.source):
        problems.add(problem)
    problems.raise_if_any(SchemaError)


# The keywords the policy schema's root may use for `VariantValidator` to check a document section by section:
# what each says about the root depends only on which top-level keys the document has, so an error about a
# section depends on that section alone (and on the branch of if/then/else its keys choose).
_ROOT_KEYWORDS = {"$schema", "$id", "title", "description", "$comment", "$defs", "type", "additionalProperties",
                  "properties", "required", "dependentRequired", "if", "then", "else"}
_BRANCH_KEYWORDS = {"required", "properties", "description", "$comment"}


class VariantValidator:
    """validate_policy for documents made from one `base` document by changing a few of its top-level sections
    (a reading's alternatives): the sections left as they are were checked with the base, once, and their errors
    are the base's; only the changed sections and the root are checked again. The problems are those
    validate_policy gives, at the same places."""

    def __init__(self, base: Loaded):
        self.base = base.data
        self._base_errors: list[ValidationError] | None = None

    def validate(self, loaded: Loaded, changed: set[str]) -> None:
        """Raise SchemaError as validate_policy(loaded) does; `loaded` is the base with the top-level sections
        `changed` (and no others) changed."""
        data, base = loaded.data, self.base
        validator = _policy_validator()
        schema = validator.schema
        if not (isinstance(data, dict) and isinstance(base, dict) and set(data) == set(base)
                and set(schema) <= _ROOT_KEYWORDS and isinstance(schema.get("additionalProperties", False), bool)
                and all(set(schema.get(k, {})) <= _BRANCH_KEYWORDS for k in ("if", "then", "else"))):
            validate_policy(loaded)
            return
        same = {k for k in data if k not in changed and data[k] == base[k]}
        if self._base_errors is None:
            self._base_errors = list(validator.iter_errors(base))
        thin = {k: None if k in same else v for k, v in data.items()}  # the root sees the same keys
        errors = [e for e in validator.iter_errors(thin) if not (e.absolute_path and e.absolute_path[0] in same)]
        errors += [e for e in self._base_errors if e.absolute_path and e.absolute_path[0] in same]
        problems = ProblemList()
        for problem in _problems(errors, loaded.source):
            problems.add(problem)
        problems.raise_if_any(SchemaError)


def schema_problems(validator: Draft202012Validator, data: object, source: SourceMap,
                    describe: Describe | None = None) -> Iterator[Problem]:
    """Problems for each schema error, deepest meaningful error first, one per location."""
    return _problems(validator.iter_errors(data), source, describe)


def _problems(errors: Iterable[ValidationError], source: SourceMap,
              describe: Describe | None = None) -> Iterator[Problem]:
    seen: set[tuple[tuple[str | int, ...], str]] = set()
    for error in sorted(errors, key=lambda e: list(map(str, e.absolute_path))):
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
        from jsonschema.exceptions import relevance

        error = min(fitting[0], key=lambda e: (-len(e.absolute_path), relevance(e)))
    return error


_TYPE_KEYS = {"string": "schema.type.string", "number": "schema.type.number", "integer": "schema.type.integer",
              "boolean": "schema.type.boolean", "object": "schema.type.object", "array": "schema.type.array",
              "null": "schema.type.null"}
_BOUND_KEYS = {"minimum": "schema.minimum", "exclusiveMinimum": "schema.exclusiveMinimum",
               "maximum": "schema.maximum", "exclusiveMaximum": "schema.exclusiveMaximum"}


# What a key may be, by the propertyNames pattern of the mapping it is in (schemas/policy.schema.json).
_NAME_RULES = {"^[a-z][a-z0-9_]*$": "schema.bad_name.lower", "^[A-Za-z0-9_.-]+$": "schema.bad_name.id"}


def _bad_name(error: ValidationError, source: SourceMap, path: tuple[str | int, ...]) -> Problem:
    """A key its mapping's propertyNames refuses (a fact named 交易额), placed at the key itself: the error
    is the mapping's, and its instance the key."""
    key = str(error.instance)
    pattern = error.validator_value if error.validator == "pattern" else None
    rule = (msg(_NAME_RULES[pattern]) if pattern in _NAME_RULES
            else msg("schema.bad_name.pattern", pattern=pattern) if isinstance(pattern, str)
            else msg("schema.jsonschema", message=error.message))
    hint = None
    if isinstance(pattern, str):
        lowered = re.sub(r"[\s-]+", "_", key.strip()).lower()
        if not key.isascii():
            hint = msg("schema.bad_name.hint", key=key)
        elif lowered != key and re.search(pattern, lowered):
            hint = msg("suggest.did_you_mean", match=lowered)
    return source.problem(msg("schema.bad_name", key=key, name=_path_name(path), rule=rule), path + (key,),
                          prefer_key=True, suggestion=hint)


def _type_words(types: list[str]) -> str:
    """'text or a number': the JSON Schema types a value may have, in the officer's words."""
    words: list[str] = [msg(_TYPE_KEYS[w]) if w in _TYPE_KEYS else w for w in types]
    out = words[0]
    for word in words[1:]:
        out = msg("schema.or", a=out, b=word)
    return out


def _kind_of(value: object) -> Message | str:
    if isinstance(value, bool):
        return msg("schema.kind.bool", value=str(value).lower())
    if isinstance(value, (Decimal, int, float)):
        return msg("schema.kind.number", value=value)
    if isinstance(value, str):
        # A message quotes what was written, not a whole file that was mistaken for a value.
        shown = value if len(value) <= 60 else value[:57].replace("\n", " ") + "…"
        return msg("schema.kind.text", value=shown)
    if isinstance(value, dict):
        return msg("schema.kind.mapping")
    if isinstance(value, list):
        return msg("schema.kind.list")
    if value is None:
        return msg("schema.kind.none")
    return type(value).__name__


def _path_name(path: Sequence[str | int]) -> str:
    for part in reversed(list(path)):
        if isinstance(part, str):
            return part
    return "value"


# The schema's descriptions are English (editors show them on hover): a hint in the reader's language comes
# from the catalogue instead, chosen by the key, or by what the key's pattern asks for.
_KEY_HINTS = {"round_to": "hint.schema.round_to"}
_PATTERN_HINTS = {r"\d{4}-\d{2}-\d{2}": "schema.format.date.hint", "[a-z][a-z0-9_]*": "hint.schema.name",
                  "[a-z0-9][a-z0-9-]": "hint.schema.policy_id", "[A-Za-z0-9_.-]": "hint.schema.id"}


def _hint(name: str, schema: Mapping[str, Any]) -> Message:
    """A hint for a value of the wrong form at key `name` (whose schema is `schema`), in the catalogue."""
    if name in _KEY_HINTS:
        return msg(_KEY_HINTS[name])
    patterns = [schema.get("pattern")] + [alt.get("pattern") for alt in schema.get("anyOf", schema.get("oneOf", ()))
                                          if isinstance(alt, dict)]
    for pattern in patterns:
        for fragment in _PATTERN_HINTS:
            if isinstance(pattern, str) and fragment in pattern:
                return msg(_PATTERN_HINTS[fragment])
    return msg("hint.schema.reference", name=name)


def _describe(error: ValidationError, source: SourceMap) -> Problem:
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.instance
    name = _path_name(path)
    v = error.validator
    if "propertyNames" in error.absolute_schema_path and isinstance(value, str):
        return _bad_name(error, source, path)
    if v == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        extras = [k for k in value if k not in schema.get("properties", {})] if isinstance(value, dict) else []
        key = extras[0] if extras else "?"
        # Every key allowed here, never "… and N more": the one left out may be the one wanted.
        hint = did_you_mean(str(key), allowed) or (msg("schema.allowed_here", allowed=one_of(allowed, len(allowed)))
                                                   if allowed else None)  # str: a key from Python may be 5
        return source.problem(msg("schema.unknown_key", key=key), path + (key,), prefer_key=True, suggestion=hint)
    if v == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return source.problem(msg("schema.missing", key=missing), path, prefer_key=True,
                              suggestion=msg("schema.missing.add", key=missing))
    if v == "type":
        want = error.validator_value
        wants = want if isinstance(want, list) else [want]
        words = _type_words(wants)
        hint = None
        yes_no = {"yes", "no", "on", "off", "y", "n", "是", "否"}
        if "boolean" in wants and isinstance(value, str) and value.lower() in yes_no:
            hint = msg("schema.type.boolean.hint")
        elif "string" in wants and isinstance(value, Decimal):
            hint = msg("schema.type.quote.hint", value=value)
        return source.problem(msg("schema.type", name=name, words=words, kind=_kind_of(value)), path,
                              suggestion=hint)
    if v == "enum":
        options = [str(o) for o in error.validator_value]
        return source.problem(msg("schema.enum", name=name, options=one_of(options), kind=_kind_of(value)), path,
                              suggestion=did_you_mean(str(value), options))
    if v in ("anyOf", "oneOf"):
        return source.problem(msg("schema.wrong_form", name=name, kind=_kind_of(value)), path,
                              suggestion=_hint(name, schema))
    if v == "pattern":
        if "万元" in error.validator_value:  # the amount pattern: say so in the officer's terms
            return source.problem(msg("schema.not_amount", kind=_kind_of(value)), path,
                                  suggestion=msg("schema.not_amount.hint"))
        return source.problem(msg("schema.pattern", kind=_kind_of(value), name=name), path,
                              suggestion=_hint(name, schema))
    if v == "format":
        is_date = error.validator_value == "date"
        return source.problem(msg("schema.format", kind=_kind_of(value),
                                  format=msg("schema.format.date") if is_date else error.validator_value), path,
                              suggestion=msg("schema.format.date.hint") if is_date else None)
    if v == "minItems" and error.validator_value > 1:
        return source.problem(msg("schema.min_items", name=name, count=error.validator_value), path,
                              suggestion=_hint(name, schema))
    if v in ("minItems", "minProperties", "minLength"):
        return source.problem(msg("schema.empty", name=name), path, suggestion=_hint(name, schema))
    if v == "uniqueItems":
        return source.problem(msg("schema.unique", name=name), path)
    if v in _BOUND_KEYS:
        return source.problem(msg(_BOUND_KEYS[v], name=name, limit=error.validator_value, value=value), path)
    if v == "propertyNames":
        return source.problem(msg("schema.jsonschema", message=error.message), path,
                              suggestion=msg("schema.names.hint"))
    if v == "dependentRequired":
        needs = [k for k in error.validator_value if isinstance(value, dict) and k in value
                 and any(n not in value for n in error.validator_value[k])]
        key = needs[0] if needs else name
        return source.problem(msg("schema.extends_only", key=key), path + (key,),
                              prefer_key=True, suggestion=msg("schema.extends_only.hint"))
    if v == "maxLength":
        return source.problem(msg("schema.too_long", name=name, limit=error.validator_value), path)
    # A check this module does not word itself: jsonschema's own English sentence, in both languages.
    return source.problem(msg("schema.jsonschema", message=error.message), path)

