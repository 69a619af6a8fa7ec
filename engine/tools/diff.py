"""A semantic diff of two versions of a policy, and who gains or loses by it among a set of applicants."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

from engine.core.errors import PolicyError, Problem
from engine.core.format import format_money, format_number, show
from engine.core.messages import OUTCOME_KEYS, Message, localize, msg, t
from engine.lang.expressions import Expr
from engine.model.facts import Applicant, applicant_from
from engine.model.outcome import Outcome
from engine.model.policy import Clause, Condition, DatedValue, Fact, Parameter, Policy
from engine.runtime.evaluate import evaluate
from engine.runtime.trace import PERIOD_KEYS, PICK_KEYS, ROUNDING_KEYS, ClauseResult, Result
from engine.syntax.loader import Loaded
from engine.tools.testing import case_applicant, load_suite
from engine.workspace import case_files, load_document

ELIGIBLE = Outcome.ELIGIBLE
T = TypeVar("T")
Text = Callable[..., str]  # a catalogue message in the reader's language: text(key, **values)

# Every sentence the diff shows is in the message catalogue under diff.* (engine/core/locale/*.json).

SECTIONS = ("policy", "reference", "recipient", "fact", "parameter", "derived", "reading", "clause", "group",
            "pool")
_SECTION_KEYS = {"policy": "diff.section.policy", "reference": "diff.section.reference",
                 "recipient": "diff.section.recipient", "fact": "diff.section.fact",
                 "parameter": "diff.section.parameter", "reading": "diff.section.reading",
                 "clause": "diff.section.clause", "group": "diff.section.group",
                 "derived": "diff.section.derived", "pool": "diff.section.pool"}
# A field's name as shown, by the name the diff (and its JSON) uses for it.
_FIELD_KEYS = {
    "id": "diff.field.id", "document": "diff.field.document", "title": "diff.field.title",
    "issuer": "diff.field.issuer", "signed": "diff.field.signed", "in force from": "diff.field.in_force_from",
    "in force until": "diff.field.in_force_until", "money": "diff.field.money", "role": "diff.field.role",
    "note": "diff.field.note", "label": "diff.field.label", "description": "diff.field.description",
    "type": "diff.field.type", "unit": "diff.field.unit", "min": "diff.field.min", "max": "diff.field.max",
    "choices": "diff.field.choices", "item fields": "diff.field.item_fields", "question": "diff.field.question",
    "choice": "diff.field.choice", "alternatives": "diff.field.alternatives", "article": "diff.field.article",
    "text": "diff.field.text", "recipients": "diff.field.recipients", "award": "diff.field.award",
    "cap": "diff.field.cap", "period": "diff.field.period", "refers to": "diff.field.refers_to",
    "measure": "diff.field.measure", "requires": "diff.field.requires", "readings": "diff.field.readings",
    "from": "diff.field.from", "until": "diff.field.until", "members": "diff.field.members",
    "pick": "diff.field.pick", "reading": "diff.field.reading", "fund year": "diff.field.fund_year",
    "fund years paid": "diff.field.fund_years_paid", "filing months": "diff.field.filing_months",
    "per": "diff.field.per", "earlier": "diff.field.earlier", "offset": "diff.field.offset",
    "currency": "diff.field.currency", "unique": "diff.field.unique", "formula": "diff.field.formula",
    "currencies": "diff.field.currencies", "shared conditions": "diff.field.shared_conditions",
    "pool total": "diff.field.pool_total", "share": "diff.field.share", "order by": "diff.field.order_by",
    "pooled clauses": "diff.field.pooled_clauses"}
_VERSION_KEYS = {"old": "diff.version.old", "new": "diff.version.new"}
# The words of the language's keywords a diff shows beside them (一次性（once）)
EARLIER_KEYS = {"top_up": "diff.earlier.top_up", "hold": "diff.earlier.hold", "separate": "diff.earlier.separate"}
FUND_YEAR_RULE_KEYS = {"any_day": "review.fund_year.rule.any_day", "first_day": "review.fund_year.rule.first_day",
                       "last_day": "review.fund_year.rule.last_day", "every_day": "review.fund_year.rule.every_day"}


@dataclass(frozen=True)
class Change:
    """One difference: in `section`, for `subject` (an id; '' for the policy itself), `what` went old → new."""

    section: str
    subject: str
    title: str | None
    what: str
    old: str | None = None
    new: str | None = None


@dataclass(frozen=True)
class ClauseDelta:
    clause: str
    title: str
    old_outcome: str | None  # None: the clause is not in that version
    new_outcome: str | None
    old_amount: Decimal
    new_amount: Decimal

    @property
    def delta(self) -> Decimal:
        return self.new_amount - self.old_amount


@dataclass(frozen=True)
class ApplicantImpact:
    name: str
    where: str
    old_total: Decimal | None = None
    new_total: Decimal | None = None
    complete: bool = True  # False when a clause is undetermined under either version
    clauses: tuple[ClauseDelta, ...] = ()
    error: Problem | None = None  # the applicant's facts do not fit one version (e.g. a fact was removed)
    error_version: str | None = None
    # What a clause the new version cannot decide waits for (often a fact it adds): the applicant is affected, by
    # how much these facts decide; shown apart, never as losing what the undetermined clause paid before.
    needs: tuple[str, ...] = ()
    # An officers' case written to be refused (rejects:): refused by one version only (error, error_version say
    # which), or accepted by both (compared, and said to be what it is)
    expects_refusal: bool = False

    @property
    def delta(self) -> Decimal:
        return (self.new_total or Decimal(0)) - (self.old_total or Decimal(0))


@dataclass(frozen=True)
class Impact:
    where: str
    on: dt.date | None
    applicants: tuple[ApplicantImpact, ...]
    refused: int = 0  # cases written to be refused that both versions refuse

    @property
    def compared(self) -> list[ApplicantImpact]:
        return [a for a in self.applicants if a.error is None]

    @property
    def old_total(self) -> Decimal:
        return sum((a.old_total for a in self.compared if a.old_total is not None), Decimal(0))

    @property
    def new_total(self) -> Decimal:
        return sum((a.new_total for a in self.compared if a.new_total is not None), Decimal(0))


# --- what the policy says ----------------------------------------------------------------------------

def diff_policies(old: Policy, new: Policy) -> list[Change]:
    """Every difference in meaning between two compiled policies, grouped by section in SECTIONS order."""
    out: list[Change] = []
    out += _policy(old, new)
    out += _keyed("reference", old.references, new.references, lambda r: r.title,
                  lambda r: {"title": r.title, "role": r.role, "note": r.note})
    out += _keyed("recipient", old.recipients, new.recipients, lambda r: r.label,
                  lambda r: {"label": r.label, "description": r.description})
    out += _keyed("fact", old.facts, new.facts, lambda f: f.label, _fact_fields, _item_fields)
    out += _parameters(old, new)
    out += _keyed("derived", old.derived, new.derived, lambda d: d.label,
                  lambda d: {"label": d.label, "formula": _Same(d.expr.text, _meaning(d.expr)), "text": d.text})
    out += _keyed("reading", old.readings, new.readings, lambda r: r.question,
                  lambda r: {"question": r.question, "choice": r.choice,
                                   "alternatives": "; ".join(a.choice for a in r.alternatives)})
    out += _keyed("clause", {c.id: c for c in old.clauses}, {c.id: c for c in new.clauses}, _clause_title,
                  _clause_fields, _conditions)
    out += _keyed("group", {g.id: g for g in old.groups}, {g.id: g for g in new.groups}, lambda g: None,
                  lambda g: {"members": _Same(", ".join(g.members),  # order decides first, and best's ties
                                              g.members if g.pick != "all" else tuple(sorted(g.members))),
                             "pick": _keyword(g.pick, msg(PICK_KEYS[g.pick])),
                             "earlier": _keyword(g.earlier, msg(EARLIER_KEYS[g.earlier])) if g.pick != "all" else None,
                             "reading": g.reading})
    out += _keyed("pool", {p.id: p for p in old.pools}, {p.id: p for p in new.pools}, lambda p: p.label,
                  lambda p: {"pool total": p.total, "share": p.share, "order by": p.order_by,
                             "pooled clauses": _Same(", ".join(p.clauses), tuple(sorted(p.clauses))),
                             "label": p.label, "reading": p.reading})
    return out


def _policy(old: Policy, new: Policy) -> Iterator[Change]:
    def fields(p: Policy) -> dict[str, object]:
        return {"id": p.id, "document": p.document, "title": p.title, "issuer": p.issuer, "signed": p.signed,
                "in force from": p.start, "in force until": p.end,
                "money": _Same(msg("diff.money", currency=p.money.currency, step=format_number(p.money.round_to),
                                   rule=msg(ROUNDING_KEYS[p.money.rounding]), code=p.money.rounding),
                               (p.money.currency, p.money.round_to, p.money.rounding)),
                "fund year": p.fund_year,
                "fund years paid": _keyword(p.fund_year_in_force, msg(FUND_YEAR_RULE_KEYS[p.fund_year_in_force]))
                if p.fund_year and p.fund_year_in_force else None,
                "filing months": p.filing_months if p.fund_year else None,
                "currencies": ", ".join(f"{c.code} ({c.rate})" if c.rate else c.code for c in p.currencies.values()),
                "shared conditions": _Same("; ".join(c.expr.text for c in p.conditions),
                                           [_meaning(c.expr) for c in p.conditions])}

    yield from _fields("policy", "", None, fields(old), fields(new))
    gone, came = [a for a in old.areas if a not in new.areas], [a for a in new.areas if a not in old.areas]
    if gone or came:
        yield Change("policy", "", None, msg("diff.field.jurisdiction_areas"), ", ".join(old.areas),
                     ", ".join(new.areas))


def _fields(section: str, subject: str, title: str | None, old: Mapping[str, object],
            new: Mapping[str, object]) -> Iterator[Change]:
    for key in dict.fromkeys([*old, *new]):
        a, b = old.get(key), new.get(key)
        if key == "members" and str(a) == str(b):
            continue  # the same members, compared in order or not as the pick changed: the pick's change says it
        if a != b:
            yield Change(section, subject, title, _field(key), _text(a), _text(b))


def _field(name: str) -> Message | str:
    """A field's name as shown: a catalogue message (English: the name itself) where the catalogue has one."""
    return msg(_FIELD_KEYS[name]) if name in _FIELD_KEYS else name


def _text(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return format_number(value)
    if isinstance(value, (_Same, Message)):
        return value  # words in the reader's language when shown (an award's formula)
    return str(value)


def _keyed(section: str, old: Mapping[str, T], new: Mapping[str, T], title: Callable[[T], str | None],
           fields: Callable[[T], Mapping[str, object]],
           extra: Callable[[str, str, str | None, T, T], Iterator[Change]] | None = None) -> Iterator[Change]:
    """Added and removed items of a section, then each common item's changed fields (and `extra` ones)."""
    for key in new:
        if key not in old:
            yield Change(section, key, title(new[key]), msg("diff.added"))
    for key in old:
        if key not in new:
            yield Change(section, key, title(old[key]), msg("diff.removed"))
    for key in new:
        if key in old:
            name = title(new[key])
            yield from _fields(section, key, name, fields(old[key]), fields(new[key]))
            if extra is not None:
                yield from extra(section, key, name, old[key], new[key])


def _fact_fields(f: Fact) -> dict[str, object]:
    return {"type": f.type, "label": f.label, "unit": f.unit, "min": f.minimum, "max": f.maximum,
            "choices": ", ".join(f.choices), "description": f.description,
            "item fields": ", ".join(f"{n} ({i.type})" for n, i in f.items.items()), "currency": f.currency,
            "unique": ", ".join(f.unique)}


def _item_fields(section: str, key: str, title: str | None, old: Fact, new: Fact) -> Iterator[Change]:
    """What changed in a list fact's item fields that both versions have: a label, a unit, a bound (an item
    field's meaning can change without its name or type changing)."""
    for name, after in new.items.items():
        before = old.items.get(name)
        if before is None:
            continue
        a, b = _fact_fields(before), _fact_fields(after)
        for field in dict.fromkeys([*a, *b]):
            if a.get(field) != b.get(field):
                yield Change(section, key, title, msg("diff.item_field", item=name, field=_field(field)),
                             _text(a.get(field)), _text(b.get(field)))


class _Same(str):
    """A value shown as written but compared by its meaning: a list whose order does not matter, an
    expression by its parsed form (so 1亿元 and 100000000 are the same bound)."""

    key: str

    shown: str  # as given: a catalogue Message (an award's words) is shown in the reader's language

    def __new__(cls, shown: str, key: object) -> _Same:
        obj = super().__new__(cls, shown)
        obj.key = repr(key)
        obj.shown = shown
        return obj

    def localized(self, lang: str | None) -> str:
        return str(localize(self.shown, lang))

    def __eq__(self, other: object) -> bool:
        return self.key == other.key if isinstance(other, _Same) else str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self.key)


def _keyword(code: str, words: Message) -> _Same:
    """A keyword of the language (once, best) with its words in the reader's language: 一次性（once）."""
    return _Same(msg("diff.keyword", word=words, code=code), code)


def _shown(value: object, lang: str | None) -> object:
    """A changed value in the reader's language (a compared-by-meaning value keeps the words it was given)."""
    return value.localized(lang) if isinstance(value, _Same) else localize(value, lang)


def _meaning(expr: Expr | None) -> object:
    """What an expression means, compared as the checked tree (10万元 and 100000 are the same)."""
    return expr.node if expr is not None else None


def _clause_title(c: Clause) -> str:
    if not c.article:
        return c.title
    return f"{c.title}{c.article}" if c.article.startswith(("（", "(")) else f"{c.title}（{c.article}）"


def _clause_fields(c: Clause) -> dict[str, object]:
    award = award_text(c)
    return {"title": c.title, "article": c.article, "text": c.text,
            "recipients": _Same(", ".join(c.recipients), sorted(c.recipients)),
            "award": _Same(award, [_meaning(e) for e in (c.award.expressions() if c.award else ())] +
                           [type(c.award).__name__, getattr(c.award, "mode", None), getattr(c.award, "items", None),
                            getattr(c.award, "to", None),
                            c.award.meaning() if c.award is not None else (), c.up_to]) if award is not None else None,
            "cap": _Same(c.cap.text, _meaning(c.cap)) if c.cap else None,
            "offset": _Same(" ".join(x for x in (c.offset.amount.text, c.offset.label, c.offset.source) if x),
                            (_meaning(c.offset.amount), c.offset.label, c.offset.source)) if c.offset else None,
            "period": _keyword(c.period, msg(PERIOD_KEYS[c.period])) if c.award is not None else None,
            "per": c.per, "refers to": c.refers_to,
            "measure": c.measure,
            "requires": _Same(", ".join(c.requires), sorted(c.requires)),
            "readings": _Same(", ".join(c.readings), sorted(c.readings)), "from": c.start, "until": c.end}


class _MessageWords:
    """Award forms' formulas as catalogue messages, put in the reader's language when shown."""

    lang = "en"

    def t(self, key: str, /, **values: object) -> str:
        return msg(key, **values)


def award_text(clause: Clause) -> str | None:
    """An award as one line of its expressions, e.g. `(platform_fees + digital_promotion) × first_time_rate`."""
    # formula() reads only w.t, all _MessageWords offers of the Words protocol: the diff has no policy to
    # word values and labels with, and a formula shows expressions as written.
    if clause.award is None:
        return None
    text = clause.award.formula(_MessageWords())  # type: ignore[arg-type]
    return text + msg("ceiling.formula") if clause.up_to and not clause.award.ceiling() else text


def _conditions(section: str, key: str, title: str | None, old: Clause, new: Clause) -> Iterator[Change]:
    """Conditions matched by their text; what is left on both sides is shown as changed, pair by pair."""
    def shown(c: Condition) -> str:
        return f"{c.expr.text}（{c.label}）" if c.label else c.expr.text

    old_texts = {_meaning(c.expr) for c in old.conditions}
    new_texts = {_meaning(c.expr) for c in new.conditions}
    gone = [shown(c) for c in old.conditions if _meaning(c.expr) not in new_texts]
    came = [shown(c) for c in new.conditions if _meaning(c.expr) not in old_texts]
    for a, b in zip(gone, came, strict=False):  # pair by pair, as far as both go
        yield Change(section, key, title, msg("diff.field.condition"), a, b)
    for a in gone[len(came):]:
        yield Change(section, key, title, msg("diff.field.condition"), a, None)
    for b in came[len(gone):]:
        yield Change(section, key, title, msg("diff.field.condition"), None, b)
    old_by_text = {_meaning(c.expr): c for c in old.conditions}
    for c in new.conditions:
        before = old_by_text.get(_meaning(c.expr))
        if before is None:
            continue
        if before.label != c.label:
            yield Change(section, key, title, msg("diff.field.condition_label", expr=c.expr.text),
                         before.label, c.label)
        if before.reading != c.reading:
            yield Change(section, key, title, msg("diff.field.condition_reading", expr=c.expr.text),
                         before.reading, c.reading)


def show_value(param: Parameter, value: Decimal) -> str:
    return show(value, param.type, param.unit)


def _parameters(old: Policy, new: Policy) -> Iterator[Change]:
    def fields(p: Parameter) -> dict[str, object]:
        return {"label": p.label, "type": p.type, "unit": p.unit}

    def dated(p: Parameter, v: DatedValue) -> str:
        notes = [msg("diff.until", day=v.end)] if v.end else []
        notes += [msg("diff.source", source=v.source)] if v.source else []
        if not notes:
            return show_value(p, v.value)
        both = msg("diff.notes", a=notes[0], b=notes[1]) if len(notes) == 2 else notes[0]
        return msg("diff.dated", value=show_value(p, v.value), notes=both)

    for change in _keyed("parameter", old.parameters, new.parameters, lambda p: p.label, fields):
        yield change
    for name, after in new.parameters.items():
        before = old.parameters.get(name)
        if before is None:
            continue
        # A value that starts with its policy is "the value from the start", whatever that date is: a county
        # that starts later but keeps the city's number has not changed the number.
        old_values = {(None if v.start <= old.start else v.start): v for v in before.values}
        new_values = {(None if v.start <= new.start else v.start): v for v in after.values}
        for day in sorted(set(old_values) | set(new_values), key=lambda d: (d is not None, d or dt.date.min)):
            a, b = old_values.get(day), new_values.get(day)
            if day is None:
                what = (msg("diff.value_from", day=new.start) if old.start == new.start
                        else msg("diff.value_from_start"))
            else:
                what = msg("diff.value_from", day=day)
            if a is not None and b is not None and day is None:
                a, b = replace(a, start=b.start), b
            if a is None:
                assert b is not None, "a day is a key of one of the two versions"
                yield Change("parameter", name, after.label, what, None, dated(after, b))
            elif b is None:
                yield Change("parameter", name, after.label, what, dated(before, a), None)
            elif a != b:
                yield Change("parameter", name, after.label, what, dated(before, a), dated(after, b))


# --- who gains and who loses -------------------------------------------------------------------------

@dataclass(frozen=True)
class _Case:
    """One applicant to compare: where it is written, and how to read it under a given policy."""

    name: str
    where: str
    read: Callable[[Policy], tuple[Applicant, dt.date | None]]
    refused: bool = False  # an officers' case whose facts must be refused (rejects:): compared only if accepted


def load_cases(path: str) -> list[_Case]:
    """Applicants from a test-suite file, a facts file, or a folder of either (YAML or JSON)."""
    cases: list[_Case] = []
    for file in map(Path, case_files(path)):
        loaded = load_document(str(file))
        if isinstance(loaded.data, dict) and "cases" in loaded.data:
            suite = load_suite(str(file))
            for i, case in enumerate(suite.cases):
                line = suite.loaded.source.mark(("cases", i))[0]
                cases.append(_Case(case["name"], f"{suite.file}:{line}", partial(case_applicant, suite=suite, index=i),
                                   refused="rejects" in case))
        else:
            name = loaded.data.get("applicant") if isinstance(loaded.data, dict) else None
            cases.append(_Case(name or file.stem, str(file), partial(_facts_file, loaded=loaded)))
    return cases


def _facts_file(policy: Policy, loaded: Loaded) -> tuple[Applicant, dt.date | None]:
    """The applicant of a facts file under `policy`, and no claim date beside it: the facts carry their own."""
    return applicant_from(policy, loaded), None


def impact(old: Policy, new: Policy, cases: Sequence[_Case], where: str, on: dt.date | None = None) -> Impact:
    """Evaluate every case under both versions, on its own date (else `on`, else its facts' date)."""
    out: list[ApplicantImpact] = []
    refused = 0
    for case in cases:
        results: dict[str, Result] = {}
        errors: dict[str, Problem] = {}
        for version, policy in (("old", old), ("new", new)):
            try:
                applicant, day = case.read(policy)
                results[version] = evaluate(policy, applicant, on=day or on)
            except PolicyError as error:
                errors[version] = error.problems[0]
        if case.refused and len(errors) == 2:
            refused += 1  # refused as written under both versions: nothing to compare
            continue
        if errors:
            version = next(iter(errors))
            out.append(ApplicantImpact(case.name, case.where, error=errors[version], error_version=version,
                                       expects_refusal=case.refused))
            continue
        a, b = results["old"], results["new"]
        # Clauses the new version cannot decide for this applicant (a fact it adds, or one it now reads, is not
        # given): what they wait for, never a loss of what they paid before.
        was = {r.clause.id: r.outcome for r in a.clauses}
        needs = tuple(dict.fromkeys(
            m.key for r in b.clauses if r.outcome is Outcome.UNDETERMINED and was.get(r.clause.id) != r.outcome
            for m in r.missing))
        out.append(ApplicantImpact(case.name, case.where, a.total, b.total, a.complete and b.complete,
                                   tuple(_clause_deltas(a, b)), needs=needs, expects_refusal=case.refused))
    return Impact(where, on, tuple(out), refused)


def _clause_deltas(old: Result, new: Result) -> Iterator[ClauseDelta]:
    before = {r.clause.id: r for r in old.clauses}
    after = {r.clause.id: r for r in new.clauses}
    for cid in dict.fromkeys([*after, *before]):
        a, b = before.get(cid), after.get(cid)
        either = b if b is not None else a
        assert either is not None, "a clause id is a key of one of the two results"
        title = _clause_title(either.clause)
        delta = ClauseDelta(cid, title, a.outcome if a else None, b.outcome if b else None, _paid(a), _paid(b))
        if delta.old_outcome != delta.new_outcome or delta.delta:
            yield delta


def _paid(r: ClauseResult | None) -> Decimal:
    return r.amount if r is not None and r.outcome == ELIGIBLE and r.amount else Decimal(0)


# --- output ------------------------------------------------------------------------------------------

def _signed(value: Decimal) -> str:
    return ("+" if value > 0 else "") + format_money(value)


def render_text(changes: list[Change], old_name: str, new_name: str, new: Policy,
                result: Impact | None = None, lang: str | None = None) -> str:
    """The diff for a reader; lang None: English sentences, outcomes in the new policy's language."""
    def text(key: str, /, **values: object) -> str:
        return t(key, lang or "en", **values)

    lines = [text("diff.head", old=old_name, new=new_name), f"{new.document} {new.title}", ""]
    for section in SECTIONS:
        items = [c for c in changes if c.section == section]
        if not items:
            continue
        lines.append(text(_SECTION_KEYS[section]))
        subject = None
        for c in items:
            head = f"  {c.subject} {c.title or ''}".rstrip()
            what = localize(c.what, lang)
            if c.subject and c.old is None and c.new is None:  # the whole item added or removed
                lines.append(text("diff.whole", head=head, what=what))
                subject = None
                continue
            if c.subject and c.subject != subject:
                lines.append(head)
            subject = c.subject
            indent = "    " if c.subject else "  "
            if c.old is None:
                lines.append(indent + text("diff.field_added", what=what, new=_shown(c.new, lang)))
            elif c.new is None:
                lines.append(indent + text("diff.field_removed", what=what, old=_shown(c.old, lang)))
            else:
                lines.append(indent + text("diff.field_changed", what=what, old=_shown(c.old, lang),
                                           new=_shown(c.new, lang)))
        lines.append("")
    count = len(changes)
    lines.append(text("diff.changes.one" if count == 1 else "diff.changes", count=count) if count
                 else text("diff.no_changes"))
    if result is not None:
        lines += [""] + _render_impact(result, lang or new.language, text)
    return "\n".join(lines) + "\n"


def _render_impact(result: Impact, lang: str, text: Text) -> list[str]:
    on = text("diff.on", day=result.on) if result.on else ""
    lines = [text("diff.applicants", count=len(result.applicants), where=result.where, on=on)]
    waiting = [a for a in result.compared if a.needs]
    decided = [a for a in result.compared if not a.needs]
    gains = [a for a in decided if a.delta > 0]
    losses = [a for a in decided if a.delta < 0]
    moved = [a for a in decided if not a.delta and a.clauses]

    def outcome(o: str | None) -> str:
        return t(OUTCOME_KEYS[o], lang) if o else text("diff.none")

    for label, group in ((text("diff.gain"), gains), (text("diff.loss"), losses),
                         (text("diff.changed_outcome"), moved)):
        if not group:
            continue
        lines.append("  " + text("diff.group", label=label))
        for a in sorted(group, key=lambda a: a.delta, reverse=True):
            old_total, new_total = a.old_total, a.new_total
            assert old_total is not None and new_total is not None, "an applicant compared has both totals"
            lines.append("    " + text("diff.applicant", name=a.name, old=format_money(old_total),
                                       new=format_money(new_total), delta=_signed(a.delta), where=a.where))
            for d in a.clauses:
                lines.append("      " + text("diff.clause", clause=d.clause, title=d.title,
                                             old_outcome=outcome(d.old_outcome), old=format_money(d.old_amount),
                                             new_outcome=outcome(d.new_outcome), new=format_money(d.new_amount),
                                             delta=_signed(d.delta)))
    if waiting:
        lines.append("  " + text("diff.group", label=text("diff.needs_new_facts")))
        for a in waiting:
            assert a.old_total is not None, "an applicant compared has both totals"
            lines.append("    " + text("diff.applicant_needs", name=a.name, old=format_money(a.old_total),
                                       facts=", ".join(a.needs), where=a.where))
            for d in a.clauses:
                if d.new_outcome == Outcome.UNDETERMINED:  # no amount yet: not a loss of what was paid
                    lines.append("      " + text("diff.clause_pending", clause=d.clause, title=d.title,
                                                 old_outcome=outcome(d.old_outcome), old=format_money(d.old_amount),
                                                 new_outcome=outcome(d.new_outcome)))
                    continue
                lines.append("      " + text("diff.clause", clause=d.clause, title=d.title,
                                             old_outcome=outcome(d.old_outcome), old=format_money(d.old_amount),
                                             new_outcome=outcome(d.new_outcome), new=format_money(d.new_amount),
                                             delta=_signed(d.delta)))
    same = len(result.compared) - len(gains) - len(losses) - len(moved) - len(waiting)
    if same:
        lines.append("  " + text("diff.same", count=same))
    if result.refused:
        lines.append("  " + text("diff.refused", count=result.refused))
    for a in result.applicants:
        if a.expects_refusal and a.error is None:  # written to be refused, and neither version refuses it
            lines.append("  " + text("diff.refusal_accepted", name=a.name, where=a.where))
        elif a.expects_refusal:  # refused as written by one version only: a change in what is refused
            version = a.error_version
            assert version is not None, "a case refused by one version names it"
            other = "new" if version == "old" else "old"
            lines.append("  " + text("diff.refusal_changed", name=a.name, where=a.where,
                                       refused=text(_VERSION_KEYS[version]), accepted=text(_VERSION_KEYS[other]),
                                       message=a.error.format(lang) if a.error else "").replace("\n", "\n  "))
        elif a.error is not None:
            version = a.error_version
            assert version is not None, "an applicant not compared names the version its facts do not fit"
            lines.append("  " + text("diff.not_compared", name=a.name, where=a.where,
                                       version=text(_VERSION_KEYS[version]),
                                       message=a.error.format(lang)).replace("\n", "\n  "))
    incomplete = [a for a in result.compared if not a.complete]
    total = text("diff.outlay", old=format_money(result.old_total), new=format_money(result.new_total),
                                  delta=_signed(result.new_total - result.old_total))
    if incomplete:
        total += text("diff.incomplete.one" if len(incomplete) == 1 else "diff.incomplete", count=len(incomplete))
    lines.append(total)
    return lines


def to_json(changes: Iterable[Change], old_name: str, new_name: str,
            result: Impact | None = None) -> dict[str, object]:
    """Plain data for --format json; amounts are strings so no precision is lost."""
    data: dict[str, object] = {
        "old": old_name, "new": new_name,
        "changes": [{"section": c.section, "subject": c.subject, "title": c.title, "what": c.what,
                     "old": c.old, "new": c.new} for c in changes]}
    if result is not None:

        def money(v: Decimal | None) -> str | None:
            return str(v) if v is not None else None

        data["impact"] = {
            "cases": result.where, "on": result.on.isoformat() if result.on else None, "refused": result.refused,
            "old_total": money(result.old_total), "new_total": money(result.new_total),
            "delta": money(result.new_total - result.old_total),
            "applicants": [{
                "name": a.name, "where": a.where, "old_total": money(a.old_total), "new_total": money(a.new_total),
                "delta": money(a.delta) if a.error is None else None, "complete": a.complete,
                "needs_new_facts": list(a.needs),
                "error": a.error.format() if a.error is not None else None, "error_version": a.error_version,
                "expects_refusal": a.expects_refusal,
                "clauses": [{"clause": d.clause, "title": d.title, "old_outcome": d.old_outcome,
                             "new_outcome": d.new_outcome, "old_amount": money(d.old_amount),
                             "new_amount": money(d.new_amount), "delta": money(d.delta)} for d in a.clauses],
            } for a in result.applicants],
        }
    return data
