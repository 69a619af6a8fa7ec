"""An applicant's facts: a JSON Schema generated from the policy's declarations, and loading against it."""

from __future__ import annotations

import copy
import datetime as dt
import math
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Mapping

from engine.core.errors import FactsError, Problem, ProblemList
from engine.core.messages import Message, localize, msg, t
from engine.core.text import name_of, unwanted
from engine.model.checker import FactsChecker, Found, repeats
from engine.model.declared import outside_windows, window_words
from engine.model.kinds import value_schema
from engine.model.kinds.amounts import read_amount
from engine.model.kinds.date import SCHEMA as DATE_SCHEMA
from engine.model.kinds.items import nullable
from engine.model.kinds.money import SCHEMA as MONEY_SCHEMA
from engine.model.policy import Clause, Fact, Policy
from engine.syntax.loader import Loaded, Path_, SourceMap, load_text
from engine.syntax.schema import _kind_of, make_validator, schema_problems

if TYPE_CHECKING:  # jsonschema is imported only where facts are validated (untyped: these are Any)
    from jsonschema.exceptions import ValidationError

_DATE = DATE_SCHEMA


@dataclass(frozen=True)
class Grant:
    """One earlier grant, from the list form of `granted:`: under which clause, how much, for which fund year,
    and for which object (a warehouse, a park) when the clause is counted per object."""

    clause: str
    amount: Decimal
    year: int
    key: str | None = None
    index: int = 0  # its position in the list, for messages


@dataclass(frozen=True)
class Applicant:
    """Validated facts of one applicant: values are Decimal, bool, str, date, or lists of item mappings."""

    recipients: tuple[str, ...]
    values: Mapping[str, object]
    area: str | None = None
    date: dt.date | None = None
    name: str | None = None
    # What was granted before. The mapping form: by clause, what counts against this claim (this object, this
    # fund year for a yearly clause); None: the applicant did not say. The list form, a ledger of grants each with
    # its year (and object), is kept in `ledger`, and `granted` is then {}: the engine.runtime.grants finds what
    # counts.
    granted: Mapping[str, Decimal] | None = None
    ledger: tuple[Grant, ...] = ()
    file: str | None = None
    source: SourceMap | None = field(default=None, compare=False, repr=False)


def facts_schema(policy: Policy) -> dict[str, Any]:
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


_MONEY = MONEY_SCHEMA
MAX_GRANTS = 10000


def _facts_schema(policy: Policy) -> dict[str, Any]:
    kinds = sorted(policy.recipients)
    paid = [c.id for c in policy.clauses if c.award is not None or c.refers_to is not None]
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
                      "properties": {n: nullable(value_schema(f)) for n, f in policy.all_facts().items()}},
            "granted": {"description": "此前已获补助. Either by clause id, the amount that counts against this "
                                       "claim (ever for once and lifetime, this fund year for year; for this "
                                       "object when the clause is counted per object), {} meaning none; or a list "
                                       "of earlier grants, each {clause, amount, year, for}: the engine finds "
                                       "those that count.",
                        "anyOf": [{"type": "object", "additionalProperties": False,
                                   "properties": dict.fromkeys(paid, _MONEY)},
                                  {"type": "array", "maxItems": MAX_GRANTS, "items": {
                                      "type": "object", "additionalProperties": False,
                                      "required": ["clause", "amount", "year"],
                                      "properties": {
                                          "clause": {"enum": paid, "description": "the clause it was granted under"},
                                          "amount": _MONEY,
                                          "year": {"type": "integer", "minimum": 1900, "maximum": 2999,
                                                   "description": "the fund year it was granted for"},
                                          "for": {"type": "string", "minLength": 1, "maxLength": 200,
                                                  "description": "the object it was granted for (a warehouse, a "
                                                                 "park), for clauses counted per object"},
                                          "date": _DATE, "note": {"type": "string"}}}},
                                  {"type": "null"}]},
            "note": {"type": "string"},
        },
    }


def applicant_from_text(policy: Policy, text: str, name: str = "<input>") -> Applicant:
    """The applicant in YAML or JSON `text` (a facts file's content; `name` is the file named in messages),
    checked against what `policy` declares; raises LoadError or FactsError, located, when it cannot be used."""
    return applicant_from(policy, load_text(text, name))


def check_facts(policy: Policy, data: Mapping[str, object], name: str = "<data>") -> Applicant:
    """An applicant's facts, given as Python data (from a service or a spreadsheet row), checked against the
    policy's declarations; raises FactsError with every problem. Floats are read by their text form."""
    if not isinstance(data, Mapping):  # a list, a string, None: say so, as a facts file that is not a mapping
        return applicant_from(policy, Loaded(data, SourceMap(name), ""))
    return applicant_from_data(policy, dict(data), name)


def applicant_from_data(policy: Policy, data: dict[str, Any], name: str = "<data>") -> Applicant:
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
    for problem in _screen(data, facts, source):
        problems.add(problem)
    problems.raise_if_any(FactsError)  # what the schema cannot be shown: reported alone

    def describe(error: ValidationError, src: SourceMap) -> Problem | None:
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties":
            return None  # the generic message names the unknown key and suggests the closest declared one
        if len(path) >= 2 and path[0] == "facts" and path[1] in facts:
            fact = facts[path[1]]
            if fact.items and len(path) >= 4:
                fact = fact.items.get(path[3], fact)
            value, kind = error.instance, fact.kind
            refused = kind.refusal(fact, value, error.validator, error.validator_value)
            if refused is not None:
                return src.problem(refused[0], path, suggestion=refused[1])
            return src.problem(msg("facts.wrong_type", name=fact.name, label=fact.label, form=kind.form_words(),
                                   kind=_kind_of(value)), path, suggestion=kind.wrong_type_hint(value))
        if path[:1] == ("granted",) and len(path) == 2 and isinstance(path[1], str):
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
        values[name] = _convert(fact, raw, ("facts", name), source, problems, policy.money.currency)
    given = data["recipient"]
    recipients = (given,) if isinstance(given, str) else tuple(given)
    granted: dict[str, Decimal] | None = None
    ledger: tuple[Grant, ...] = ()
    given_grants = data.get("granted")
    if isinstance(given_grants, dict):
        granted = {}
        for cid, raw in given_grants.items():
            amount = read_amount(raw, ("granted", cid), source, problems, None, cid)
            if amount is not None:
                granted[cid] = amount
    elif isinstance(given_grants, list):
        granted, ledger = {}, _ledger(policy, given_grants, source, problems)
    _check_unique(facts, values, source, problems)
    _check_at_most(facts, values, data.get("facts") or {}, source, problems)
    _check_windows(policy, values, source, problems)
    problems.raise_if_any(FactsError)
    return Applicant(
        # Surrounding spaces in an area name are a typing slip, not another area.
        recipients=recipients, values=values, area=(data.get("area") or "").strip() or None,
        date=dt.date.fromisoformat(data["date"]) if data.get("date") else None, name=data.get("applicant"),
        granted=granted, ledger=ledger, file=source.file, source=source,
    )


def _ledger(policy: Policy, entries: list[dict[str, Any]], source: SourceMap, problems: ProblemList
            ) -> tuple[Grant, ...]:
    """The list form of granted:, each entry schema-valid; one for a clause counted per object must say which."""
    per = {c.id: c.per for c in policy.clauses if c.per is not None}
    out = []
    for i, entry in enumerate(entries):
        cid = entry["clause"]
        amount = read_amount(entry["amount"], ("granted", i, "amount"), source, problems, None, cid)
        key = entry.get("for")
        if cid in per and key is None:
            fact = policy.facts[per[cid]]
            problems.add(source.problem(msg("facts.grant_for", index=i + 1, clause=cid, label=fact.label),
                                        ("granted", i), suggestion=msg("facts.grant_for.hint", name=per[cid])))
        if amount is not None:
            out.append(Grant(cid, amount, entry["year"], key.strip() if key is not None else None, i))
    return tuple(out)


def _check_unique(facts: Mapping[str, Fact], values: Mapping[str, object], source: SourceMap,
                  problems: ProblemList) -> None:
    """Items of a list that stand for the same thing (the same name or credit code) listed twice: an input
    error naming both items, never a second award."""
    for name, fact in facts.items():
        items = values.get(name)
        if not fact.unique or not isinstance(items, tuple):
            continue
        for field_name, first, second in repeats(items, fact.unique):
            problems.add(source.problem(
                msg("facts.duplicate_item", name=name, label=fact.label, first=first + 1, second=second + 1,
                    field=fact.items[field_name].label, value=items[second][field_name]),
                ("facts", name, second, field_name), suggestion=msg("facts.duplicate_item.hint")))


def _check_at_most(facts: Mapping[str, Fact], values: Mapping[str, object], raw: Mapping[str, object],
                   source: SourceMap, problems: ProblemList) -> None:
    """A part larger than its whole (a fact above the fact it is declared `at_most:`): an input error naming both,
    never a negative base."""
    for name, fact in facts.items():
        other = fact.at_most
        if other is None:
            continue
        value, whole = values.get(name), values.get(other)
        if isinstance(value, Decimal) and isinstance(whole, Decimal) and value > whole:
            problems.add(source.problem(
                msg("facts.at_most", name=name, label=fact.label, value=raw.get(name), other=other,
                    other_label=facts[other].label, other_value=raw.get(other)),
                ("facts", name), suggestion=msg("facts.at_most.hint", name=name, other=other)))


def _check_windows(policy: Policy, values: Mapping[str, object], source: SourceMap, problems: ProblemList) -> None:
    """A day the applicant states outside the window its figure is counted over (支持时间): an input error at that
    day, naming the window, never a figure silently counted from other days."""
    facts = policy.all_facts()
    for name, date_fact, day, first, last in outside_windows(facts, values, policy.fund_year):
        problems.add(source.problem(
            msg("facts.outside_window", name=date_fact, label=facts[date_fact].label, day=day.isoformat(),
                fact_label=facts[name].label, window=window_words(first, last)),
            ("facts", date_fact), suggestion=msg("facts.outside_window.hint", fact=name)))


def _fast_check(policy: Policy, data: object, source: SourceMap | None = None) -> Applicant | None:
    """The fast path alone: the Applicant for plainly valid facts, else None (applicant_from then takes the
    full path). For tests and measurements; applicant_from is the API."""
    found = _kept(policy)[2].check(data)
    return None if found is None else _applicant(found, source or SourceMap("<data>"))


# Applicant's fields in the order FactsChecker.check gives them, then file and source. A frozen dataclass
# sets each field through object.__setattr__ (≈5 µs for eight here); when Applicant is still a plain one
# (these fields exactly, no __post_init__, no slots) its instance dict is filled directly instead: the same
# object, in a fifth of the time.
_FIELDS = ("recipients", "values", "area", "date", "name", "granted", "ledger", "file", "source")
_FILL_DICT = ({f.name for f in fields(Applicant)} == set(_FIELDS) and not hasattr(Applicant, "__post_init__")
              and "__slots__" not in Applicant.__dict__)
_new = object.__new__


def _applicant(found: Found, source: SourceMap) -> Applicant:
    recipients, values, area, day, name, granted, ledger = found
    grants = tuple(Grant(c, a, y, k, i) for i, (c, a, y, k) in enumerate(ledger))
    if not _FILL_DICT:
        return Applicant(recipients=recipients, values=values, area=area, date=day, name=name, granted=granted,
                         ledger=grants, file=source.file, source=source)
    applicant = _new(Applicant)
    d = applicant.__dict__
    d["recipients"] = recipients
    d["values"] = values
    d["area"] = area
    d["date"] = day
    d["name"] = name
    d["granted"] = granted
    d["ledger"] = grants
    d["file"] = source.file
    d["source"] = source
    return applicant


def _convert(fact: Fact, raw: Any, path: Path_, source: SourceMap, problems: ProblemList, own: str = "CNY") -> object:
    """The value of a schema-valid fact; a problem added (and None) for a bound crossed or an amount the
    schema's pattern lets through but parse_amount cannot read (out of range, or a float such as 1e-07)."""
    return fact.kind.convert(fact, raw, path, source, problems, own)


def _screen(data: dict[str, Any], facts: Mapping[str, Fact], source: SourceMap) -> list[Problem]:
    """What the schema cannot be shown, in facts given as Python data (a file's text was checked as it was
    read, engine.syntax.loader): text with a character no one means to write (engine.core.text.unwanted),
    which no message could print, in every key and text a message may quote; and a NaN or an infinity
    where the schema compares numbers with a bound (a Decimal NaN raises InvalidOperation there)."""
    found: list[Problem] = []

    def bad(value: object) -> str | None:
        """The unwanted character in `value`, named (U+D800 (lone surrogate)), if it is text with one."""
        at = unwanted(value) if isinstance(value, str) else None
        return None if at is None or not isinstance(value, str) else name_of(value[at])

    def refuse(what: Message, char: str, path: Path_, prefer_key: bool = False) -> None:
        found.append(source.problem(msg("facts.bad_character", what=what, char=char), path, prefer_key=prefer_key,
                                    suggestion=msg("load.bad_character.hint")))

    def keys(mapping: Mapping[Any, object], path: Path_) -> None:
        for key in mapping:
            char = bad(key)
            if char is not None:
                refuse(msg("facts.what.key"), char, path + (key,), prefer_key=True)

    def number(value: object, path: Path_, fact: Fact | None, clause: str) -> None:
        if isinstance(value, (Decimal, float)) and not _finite(value):
            if fact is not None:
                found.append(source.problem(msg("facts.wrong_type", name=fact.name, label=fact.label,
                                                form=fact.kind.form_words(), kind=_kind_of(value)), path))
            else:
                found.append(source.problem(msg("facts.granted", clause=clause, kind=_kind_of(value)), path))

    def fact_value(fact: Fact, value: object, path: Path_) -> None:
        items = value if fact.items and isinstance(value, list) else []
        for at, each in [(path, value)] + [(path + (i,), item) for i, item in enumerate(items)]:
            char = bad(each)
            if char is not None:
                refuse(msg("facts.what.fact", name=fact.name, label=fact.label), char, at)
        if fact.kind.numeric:
            number(value, path, fact, "")
        for i, item in enumerate(items):
            if isinstance(item, dict):
                keys(item, path + (i,))
                for field, field_value in item.items():
                    if field in fact.items:  # an unknown field: the schema names it, never its value
                        fact_value(fact.items[field], field_value, path + (i, field))

    foreign = _foreign(data, source)
    if foreign:  # checks below, and the schema's, expect JSON's kinds of value: stop at what is not one
        return foreign
    keys(data, ())
    for key, value in data.items():
        for i, each in enumerate(value if isinstance(value, list) else [value]):
            char = bad(each)
            if char is not None:
                refuse(msg("facts.what.field", name=key), char, (key, i) if isinstance(value, list) else (key,))
    given = data.get("facts")
    if isinstance(given, dict):
        keys(given, ("facts",))
        for name, value in given.items():
            if isinstance(name, str) and name in facts:  # an unknown name: the schema names it, never its value
                fact_value(facts[name], value, ("facts", name))
    granted = data.get("granted")
    if isinstance(granted, dict):
        keys(granted, ("granted",))
        for clause, value in granted.items():
            if isinstance(clause, str):
                char = bad(value)
                if char is not None:
                    refuse(msg("facts.what.granted", clause=clause), char, ("granted", clause))
                number(value, ("granted", clause), None, clause)
    elif isinstance(granted, list):
        for i, entry in enumerate(granted):
            if isinstance(entry, dict):
                keys(entry, ("granted", i))
                clause = entry.get("clause")
                for key, value in entry.items():
                    char = bad(value)
                    if char is not None:
                        refuse(msg("facts.what.field", name=f"granted[{i + 1}].{key}"), char, ("granted", i, key))
                number(entry.get("amount"), ("granted", i, "amount"), None, str(clause))
    return found


_JSON_KINDS = (str, bool, int, float, Decimal, type(None), list, tuple, dict)


def _foreign(data: dict[str, Any], source: SourceMap) -> list[Problem]:
    """Values no facts file could hold, in facts given as Python data: a complex number, a Fraction, an object,
    a key that is not text. Walked with a stack (Python data may nest deep), each reported at its path."""
    found: list[Problem] = []
    stack: list[tuple[Path_, object]] = [((), data)]
    while stack and len(found) < 20:
        path, value = stack.pop()
        if not isinstance(value, _JSON_KINDS):
            found.append(source.problem(msg("facts.not_data", kind=type(value).__name__), path))
        elif isinstance(value, dict):  # keys that are not text: the schema reports them as unknown keys
            stack.extend((path + (key,), item) for key, item in value.items() if isinstance(key, str))
        elif isinstance(value, (list, tuple)) and len(path) < 8:
            stack.extend((path + (i,), item) for i, item in enumerate(value))
    return found


def _finite(value: Decimal | float) -> bool:
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)


def names_of_clause(clause: Clause) -> set[str]:
    """Every fact and parameter name a clause reads (conditions, award, cap), and a per-item award's list."""
    return set(clause.reads())


def facts_for(policy: Policy, recipient: str | None = None) -> list[Fact]:
    """The facts an applicant of this kind must supply, in declaration order (all, with no kind given).

    The policy's fund-year fact (claim_year) is one of them whenever a clause of the kind pays: no expression
    may read it, but it says which earlier grants count against a yearly cap and the year an award is for."""
    wanted: set[str] = set()
    for clause in policy.clauses:
        if recipient is None or recipient in clause.recipients:
            wanted |= names_of_clause(clause)
            if policy.fund_year is not None and clause.award is not None:
                wanted.add(policy.fund_year)
            linked = (policy.linked.get(clause.refers_to)
                      if clause.refers_to is not None and clause.refers_clause is not None else None)
            if linked is not None and clause.refers_clause is not None:  # a followed reference reads the
                wanted |= names_of_clause(linked.clause(clause.refers_clause))  # other document's facts too
    facts = policy.all_facts()
    # the days a wanted figure covers (counted_over: dates:): asked beside it, checked against its window
    wanted |= {d for n in list(wanted) if n in facts and facts[n].window is not None
               for d in facts[n].window.dates}  # type: ignore[union-attr]
    return [f for n, f in facts.items() if n in wanted]


def _window_note(fact: Fact, lang: str) -> str:
    """For a figure counted over a window (counted_over:), the days to count, after its label in the template."""
    window = fact.window
    if window is None:
        return ""
    days = t("window.fund_year_unknown", lang) if window.fund_year \
        else str(localize(window_words(window.start, window.end), lang))
    return t("facts.template.window", lang, window=days)


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
        lines.append(f"  {fact.name}: ~   # {fact.type}{unit} — {fact.label}{_window_note(fact, lang)}")
        if fact.items:
            fields = ", ".join(f"{name}: ~" for name in fact.items)
            lines.append(f"  # {t('facts.template.list', lang)}")
            lines.append(f"  #   - {{{fields}}}")
            lines.extend(f"  #     {name}: {item.type} — {item.label}" for name, item in fact.items.items())
    capped = [c.id for c in policy.counted_clauses(recipient)]
    if capped:
        lines.append(f"granted: {{}}   # {t('facts.template.granted', lang, example=capped[0])}")
    return "\n".join(lines) + "\n"
