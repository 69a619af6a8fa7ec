"""An applicant's facts: a JSON Schema generated from the policy's declarations, and loading against it."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any, Mapping

from engine.core.amounts import MONEY_PATTERN, NUMBER_PATTERN, PERCENT_PATTERN, parse_amount
from engine.core.errors import FactsError, ProblemList
from engine.core.format import format_money, format_number, format_percent
from engine.core.messages import msg, t
from engine.model.checker import FactsChecker, Found
from engine.model.policy import Clause, Fact, Policy
from engine.syntax.loader import Loaded, SourceMap, load_file, load_text
from engine.syntax.schema import _kind_of, make_validator, schema_problems

_AMOUNT, _PERCENT = MONEY_PATTERN, PERCENT_PATTERN
_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "format": "date"}

_FORMS = {"money": "facts.form.money", "number": "facts.form.number", "integer": "facts.form.integer",
          "percent": "facts.form.percent", "boolean": "facts.form.boolean", "text": "facts.form.text",
          "date": "facts.form.date", "list": "facts.form.list"}  # how a value of each fact type is written


@dataclass(frozen=True)
class Applicant:
    """Validated facts of one applicant: values are Decimal, bool, str, date, or lists of item mappings."""

    recipients: tuple[str, ...]
    values: Mapping[str, object]
    area: str | None = None
    date: dt.date | None = None
    name: str | None = None
    granted: Mapping[str, Decimal] | None = None  # None: the applicant did not say what was granted before
    file: str | None = None
    source: SourceMap | None = field(default=None, compare=False, repr=False)


def _value_schema(fact: Fact) -> dict:
    t = fact.type
    if t == "money":
        schema = {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": _AMOUNT}]}
    elif t == "number":
        schema = {"anyOf": [{"type": "number"}, {"type": "string", "pattern": NUMBER_PATTERN}]}
    elif t == "integer":
        schema = {"type": "integer"}
    elif t == "percent":
        schema = {"anyOf": [{"type": "number", "minimum": 0, "maximum": 1}, {"type": "string", "pattern": _PERCENT}]}
    elif t == "boolean":
        schema = {"type": "boolean"}
    elif t == "date":
        schema = dict(_DATE)
    elif t == "list":
        schema = {"type": "array", "maxItems": 10000,
                  "items": {"type": "object", "additionalProperties": False,
                            "properties": {n: _nullable(_value_schema(f)) for n, f in fact.items.items()}}}
    else:
        schema = {"type": "string"}
        if fact.choices:
            schema["enum"] = list(fact.choices)
    schema["description"] = fact.label + (f"（{fact.unit}）" if fact.unit else "")
    return schema


def _nullable(schema: dict) -> dict:
    # null means "not known": the fact is then missing, and clauses that need it are undetermined.
    return {"anyOf": [schema, {"type": "null"}], "description": schema.get("description", "")}


def facts_schema(policy: Policy) -> dict:
    """The JSON Schema an applicant's facts file must satisfy, generated from the policy's declarations.

    Made once per policy and kept beside it; each caller gets its own copy to keep or change."""
    return copy.deepcopy(_kept(policy)[0])


def _kept(policy: Policy) -> tuple[dict[str, Any], _LazyValidator, FactsChecker]:
    """The facts schema, its validator and the compiled fast checker, made on first use and kept with the
    policy (a Policy is immutable, so are they), as engine.runtime.plan.prepare keeps the plan."""
    found = policy.__dict__.get("_facts_checker")
    if found is None:
        schema = _facts_schema(policy)
        found = (schema, _LazyValidator(schema), FactsChecker(policy))
        object.__setattr__(policy, "_facts_checker", found)  # a cache beside the frozen fields, not one of them
    return found


class _LazyValidator:
    """The facts schema's jsonschema validator, made when first needed: plainly valid facts never need it (the
    fast checker takes them), and importing jsonschema alone costs a command-line run tens of milliseconds."""

    def __init__(self, schema: dict[str, Any]):
        self.schema = schema
        self._validator: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._validator is None:
            self._validator = make_validator(self.schema)
        return getattr(self._validator, name)


def _facts_schema(policy: Policy) -> dict:
    kinds = sorted(policy.recipients)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Facts for {policy.document}",
        "description": f"An applicant's facts for {policy.title}",
        "type": "object",
        "additionalProperties": False,
        "required": ["recipient"],
        "properties": {
            "applicant": {"type": "string", "description": "申请人名称 (for the record only)"},
            "recipient": {"description": "申请人类别: "
                                         + ", ".join(f"{k} ({policy.recipients[k].label})" for k in kinds),
                          "anyOf": [{"enum": kinds}, {"type": "array", "items": {"enum": kinds}, "minItems": 1}]},
            "area": {"type": ["string", "null"], "description": "申请人所在区域, e.g. " + ", ".join(policy.areas[:3])},
            "date": {"anyOf": [_DATE, {"type": "null"}], "description": "申报日期 (the claim's date), YYYY-MM-DD"},
            "facts": {"type": "object", "additionalProperties": False,
                      "properties": {n: _nullable(_value_schema(f)) for n, f in policy.all_facts().items()}},
            "granted": {"description": "此前已获补助: amounts already granted, by clause id, within each clause's "
                                       "period (ever for once, this year for year). {} means none.",
                        "anyOf": [{"type": "object", "additionalProperties": False,
                                   "properties": {c.id: {"anyOf": [{"type": "number", "minimum": 0},
                                                                   {"type": "string", "pattern": _AMOUNT}]}
                                                  for c in policy.clauses
                                                  if c.award is not None or c.refers_to is not None}},
                                  {"type": "null"}]},
            "note": {"type": "string"},
        },
    }


def load_applicant(policy: Policy, path: str) -> Applicant:
    return applicant_from(policy, load_file(path))


def applicant_from_text(policy: Policy, text: str, name: str = "<input>") -> Applicant:
    return applicant_from(policy, load_text(text, name))


def check_facts(policy: Policy, data: Mapping[str, object], name: str = "<data>") -> Applicant:
    """An applicant's facts, given as Python data (from a service or a spreadsheet row), checked against the
    policy's declarations; raises FactsError with every problem. Floats are read by their text form."""
    return applicant_from_data(policy, dict(data), name)


def applicant_from_data(policy: Policy, data: dict, name: str = "<data>") -> Applicant:
    """Facts given as Python data (from a service, say); floats are read by their text form."""
    source = SourceMap(name)
    found = _kept(policy)[2].check(data)
    if found is not None:
        return _applicant(found, source)
    return _applicant_full(policy, Loaded(data, source, ""))


def applicant_from(policy: Policy, loaded: Loaded) -> Applicant:
    """The applicant whose facts `loaded` holds, or FactsError with every problem placed and worded.

    Plainly valid facts are read by the policy's compiled checker (engine.model.checker) in microseconds;
    anything else takes the full path, which decides, as it always did, what is accepted and how."""
    found = _kept(policy)[2].check(loaded.data)
    if found is not None:
        return _applicant(found, loaded.source)
    return _applicant_full(policy, loaded)


def _applicant_full(policy: Policy, loaded: Loaded) -> Applicant:
    """The full path: the facts schema (its validator kept with the policy), then _convert."""
    data, source = loaded.data, loaded.source
    validator = _kept(policy)[1]
    problems = ProblemList()
    if not isinstance(data, dict):
        raise FactsError(source.problem(msg("facts.not_mapping"), ()))
    facts = policy.all_facts()

    def describe(error, src):
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties":
            return None  # the generic message names the unknown key and suggests the closest declared one
        if len(path) >= 2 and path[0] == "facts" and path[1] in facts:
            fact = facts[path[1]]
            if fact.type == "list" and len(path) >= 4:
                fact = fact.items.get(path[3], fact)
            value = error.instance
            if fact.type == "money" and isinstance(value, Decimal) and value < 0:
                return src.problem(msg("facts.negative", name=fact.name, label=fact.label, value=value), path)
            hint = None
            if fact.type == "boolean" and isinstance(value, str):
                hint = msg("facts.boolean.hint")
            elif fact.type in ("money", "number") and isinstance(value, str):
                hint = msg("facts.number.hint")
            form = msg(_FORMS[fact.type]) if fact.type in _FORMS else fact.type
            return src.problem(msg("facts.wrong_type", name=fact.name, label=fact.label, form=form,
                                   kind=_kind_of(value)), path, suggestion=hint)
        if path[:1] == ("granted",) and len(path) == 2:
            return src.problem(msg("facts.granted", clause=path[1], kind=_kind_of(error.instance)), path)
        return None

    for problem in schema_problems(validator, data, source, describe):
        problems.add(problem)
    problems.raise_if_any(FactsError)

    values: dict[str, object] = {}
    for name, raw in (data.get("facts") or {}).items():
        if raw is None:
            continue
        fact = facts[name]
        values[name] = _convert(fact, raw, ("facts", name), source, problems)
    recipients = data["recipient"]
    recipients = (recipients,) if isinstance(recipients, str) else tuple(recipients)
    granted = None
    if "granted" in data and data["granted"] is not None:
        granted = {cid: parse_amount(v) for cid, v in data["granted"].items()}
    problems.raise_if_any(FactsError)
    return Applicant(
        # Surrounding spaces in an area name are a typing slip, not another area.
        recipients=recipients, values=values, area=(data.get("area") or "").strip() or None,
        date=dt.date.fromisoformat(data["date"]) if data.get("date") else None, name=data.get("applicant"),
        granted=granted, file=source.file, source=source,
    )


def _fast_check(policy: Policy, data: object, source: SourceMap | None = None) -> Applicant | None:
    """The fast path alone: the Applicant for plainly valid facts, else None (applicant_from then takes the
    full path). For tests and measurements; applicant_from is the API."""
    found = _kept(policy)[2].check(data)
    return None if found is None else _applicant(found, source or SourceMap("<data>"))


# Applicant's fields in the order FactsChecker.check gives them, then file and source. A frozen dataclass
# sets each field through object.__setattr__ (≈5 µs for eight here); when Applicant is still a plain one
# (these fields exactly, no __post_init__, no slots) its instance dict is filled directly instead: the same
# object, in a fifth of the time.
_FIELDS = ("recipients", "values", "area", "date", "name", "granted", "file", "source")
_FILL_DICT = ({f.name for f in fields(Applicant)} == set(_FIELDS) and not hasattr(Applicant, "__post_init__")
              and "__slots__" not in Applicant.__dict__)
_new = object.__new__


def _applicant(found: Found, source: SourceMap) -> Applicant:
    recipients, values, area, day, name, granted = found
    if not _FILL_DICT:
        return Applicant(recipients=recipients, values=values, area=area, date=day, name=name, granted=granted,
                         file=source.file, source=source)
    applicant = _new(Applicant)
    d = applicant.__dict__
    d["recipients"] = recipients
    d["values"] = values
    d["area"] = area
    d["date"] = day
    d["name"] = name
    d["granted"] = granted
    d["file"] = source.file
    d["source"] = source
    return applicant


def _convert(fact: Fact, raw, path, source: SourceMap, problems: ProblemList):
    t = fact.type
    if t == "list":
        return tuple({n: _convert(fact.items[n], v, path + (i, n), source, problems)
                      for n, v in item.items() if v is not None}
                     for i, item in enumerate(raw))
    if t in ("boolean", "text"):
        return raw
    if t == "date":
        return dt.date.fromisoformat(raw)
    value = parse_amount(raw)
    if t == "percent" and isinstance(raw, str) is False and value > 1:
        problems.add(source.problem(msg("facts.percent", name=fact.name, label=fact.label, value=raw), path))
    if fact.minimum is not None and value < fact.minimum:
        problems.add(source.problem(msg("facts.minimum", name=fact.name, label=fact.label,
                                        limit=_bound(fact, fact.minimum), value=raw), path))
    if fact.maximum is not None and value > fact.maximum:
        problems.add(source.problem(msg("facts.maximum", name=fact.name, label=fact.label,
                                        limit=_bound(fact, fact.maximum), value=raw), path))
    return value


def _bound(fact: Fact, value: Decimal) -> str:
    """A declared bound as the applicant would write it: 100% for a percentage, 500万元 for money."""
    if fact.type == "percent":
        return format_percent(value)
    if fact.type == "money":
        return format_money(value)
    return format_number(value)


def names_of_clause(clause: Clause) -> set[str]:
    """Every fact and parameter name a clause reads (conditions, award, cap), and a per-item award's list."""
    return set(clause.reads())


def facts_for(policy: Policy, recipient: str | None = None) -> list[Fact]:
    """The facts an applicant of this kind must supply, in declaration order (all, with no kind given)."""
    wanted: set[str] = set()
    for clause in policy.clauses:
        if recipient is None or recipient in clause.recipients:
            wanted |= names_of_clause(clause)
            linked = policy.linked.get(clause.refers_to) if clause.refers_clause else None
            if linked is not None:  # a followed reference reads the other document's facts too
                wanted |= names_of_clause(linked.clause(clause.refers_clause))
    return [f for n, f in policy.all_facts().items() if n in wanted]


def facts_template(policy: Policy, recipient: str | None, lang: str = "zh", today: dt.date | None = None) -> str:
    """A facts file to copy and fill in: valid YAML as it stands, every fact unknown (~) until filled in."""
    kinds = ", ".join(f"{k} ({r.label})" for k, r in policy.recipients.items())
    lines = [t("facts.template.head", lang, document=policy.document, title=policy.title),
             t("facts.template.unknown", lang),
             f"recipient: {recipient}" if recipient
             else f"recipient: ~   # {t('facts.template.one_of', lang, items=kinds)}"]
    if policy.areas:
        lines.append(f"area: ~   # {t('facts.template.one_of', lang, items=', '.join(policy.areas))}")
    lines += [f"date: {(today or dt.date.today()).isoformat()}   # {t('facts.template.date', lang)}", "facts:"]
    for fact in facts_for(policy, recipient):
        unit = f", {fact.unit}" if fact.unit else ""
        lines.append(f"  {fact.name}: ~   # {fact.type}{unit} — {fact.label}")
        if fact.items:
            fields = ", ".join(f"{name}: ~" for name in fact.items)
            lines.append(f"  # {t('facts.template.list', lang)}")
            lines.append(f"  #   - {{{fields}}}")
            lines.extend(f"  #     {name}: {item.type} — {item.label}" for name, item in fact.items.items())
    capped = [c.id for c in policy.clauses if c.award is not None and (recipient is None or recipient in c.recipients)
              and (c.cap is not None or c.period == "once")]
    if capped:
        lines.append(f"granted: {{}}   # {t('facts.template.granted', lang, example=capped[0])}")
    return "\n".join(lines) + "\n"
