"""Officers' test cases: YAML files of applicants and the outcome each clause must give, and their runner."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Mapping, Sequence, cast

from engine.core.amounts import CURRENCIES, MAX_INTEGER_DIGITS, MAX_PLACES, AmountSyntaxError, parse_amount, plain
from engine.core.errors import PolicyError, Problem, ProblemList, SchemaError
from engine.core.format import format_money, format_percent, officer_money, show
from engine.core.messages import OUTCOME_KEYS, Message, msg, t
from engine.core.suggest import did_you_mean, one_of
from engine.lang.analysis import Bound, bounds
from engine.lang.tree import Name
from engine.model.facts import Applicant, applicant_from
from engine.model.outcome import Outcome, Why
from engine.model.policy import Clause, Condition, Policy
from engine.runtime.evaluate import evaluate
from engine.runtime.trace import Result
from engine.syntax.loader import Loaded, Path_, SourceMap
from engine.syntax.schema import Document, load_schema, make_validator, schema_problems
from engine.workspace import load_document

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

ELIGIBLE, INELIGIBLE, REFERRED = Outcome.ELIGIBLE, Outcome.INELIGIBLE, Outcome.REFERRED


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
    rejects: bool = False  # the case expects its facts to be refused (`rejects:`): it tests the input checks

    @property
    def passed(self) -> bool:
        return not self.mismatches and self.error is None


@dataclass(frozen=True)
class Suite:
    file: str
    policy_path: str | None
    cases: tuple[Document, ...]  # each as tests.schema.json describes a case
    loaded: Loaded = field(repr=False)


@lru_cache(maxsize=None)
def _validator() -> Draft202012Validator:
    return make_validator(load_schema("tests.schema.json"))


def load_suite(path: str, for_policy: str | None = None) -> Suite:
    """Load a test file. `for_policy`: the policy file it will be run against, which its `policy:` must name."""
    loaded = load_document(path)
    problems = ProblemList()
    for p in schema_problems(_validator(), loaded.data, loaded.source, _describe):
        problems.add(p)
    problems.raise_if_any(SchemaError)
    data = cast(Document, loaded.data)  # a schema-valid test file is a mapping
    for i, case in enumerate(data["cases"]):
        for where, raw in _expected_amounts(case.get("expect") or {}):
            try:
                parse_amount(raw)
            except AmountSyntaxError as exc:  # what the pattern lets through but no amount can be: 17 digits…
                problems.add(_unreadable(exc, raw, ("cases", i, "expect") + where, loaded.source))
    policy_path = data.get("policy")
    if policy_path is not None:
        policy_path = os.path.normpath(os.path.join(os.path.dirname(path), policy_path))
        if not os.path.isfile(policy_path):
            problems.add(loaded.source.problem(msg("test.policy_missing", path=policy_path), ("policy",),
                                               suggestion=msg("test.policy_missing.hint")))
        elif for_policy is not None and os.path.realpath(policy_path) != os.path.realpath(for_policy):
            problems.add(loaded.source.problem(msg("test.policy_other", declared=policy_path, given=for_policy),
                                               ("policy",), suggestion=msg("test.policy_other.hint")))
    problems.raise_if_any(SchemaError)
    return Suite(loaded.source.file, policy_path, tuple(data["cases"]), loaded)


TESTS_SUFFIXES = (".tests.yaml", ".tests.yml", ".tests.json")


def is_tests_file(path: str) -> bool:
    """Whether `path` is an officers' tests file: named NAME.tests.yaml, or a mapping with `cases:` and no
    `clauses:` (so `policy validate` checks it as one, never as a policy missing every key)."""
    if path.endswith(TESTS_SUFFIXES):
        return True
    try:
        data = load_document(path).data
    except PolicyError:
        return False  # unreadable: validated as a policy, which says why
    return isinstance(data, dict) and "cases" in data and "clauses" not in data


def check_suite(path: str, load: Callable[[str], Policy]) -> tuple[Suite, Policy | None]:
    """A tests file validated as `policy test` reads it, without running it: the schema, the policy it names
    (loaded with `load`), and each case's facts against that policy (except a case that expects them refused)."""
    suite = load_suite(path)
    if suite.policy_path is None:
        return suite, None
    policy = load(suite.policy_path)
    problems = ProblemList()
    for i, case in enumerate(suite.cases):
        if "rejects" in case:
            continue
        try:
            case_applicant(policy, suite, i)
        except PolicyError as error:
            for problem in error.problems:
                problems.add(problem)
    problems.raise_if_any(SchemaError)
    return suite, policy


def _field(path: Sequence[str | int]) -> str:
    """A place in a case's expect, as an officer finds it: expect.total, expect.2.2.amount."""
    return ".".join(["expect", *(str(part) for part in path[3:6])])


def _kind(value: object) -> Message | str:
    """What was written instead, in words: the text 'abc', the number 5, 50% (a percentage)."""
    if isinstance(value, bool):
        return msg("schema.kind.bool", value=str(value).lower())
    if isinstance(value, Decimal):
        return msg("schema.kind.number", value=value)
    if isinstance(value, str):
        if "%" in value:
            return msg("test.expect.percentage", value=value.strip())
        return msg("schema.kind.text", value=value if len(value) <= 60 else value[:57].replace("\n", " ") + "…")
    if isinstance(value, dict):
        return msg("schema.kind.mapping")
    if isinstance(value, list):
        return msg("schema.kind.list")
    return msg("schema.kind.none") if value is None else type(value).__name__


def _describe(error: ValidationError, source: SourceMap) -> Problem | None:
    """A schema error in a case's expect worded by the field it is in (expect.2.2.amount); None: the generic
    wording, which names only the key."""
    path = tuple(error.absolute_path)
    if len(path) < 4 or path[0] != "cases" or path[2] != "expect" or error.validator not in ("type", "pattern"):
        return None
    key = path[4] if len(path) > 4 else path[3]
    value = error.instance
    if key in ("amount", "total") and len(path) == (5 if key == "amount" else 4):
        return source.problem(msg("test.expect.amount", field=_field(path), kind=_kind(value)), path,
                              suggestion=msg("test.expect.amount.hint"))
    if key == "reason" and len(path) == 5:
        return source.problem(msg("test.expect.reason", field=_field(path), kind=_kind(value)), path,
                              suggestion=msg("test.expect.reason.hint"))
    if key == "missing" and len(path) == 5:
        return source.problem(msg("test.expect.missing", field=_field(path), kind=_kind(value)), path,
                              suggestion=msg("test.expect.missing.hint"))
    if key == "missing" and len(path) == 6:
        return source.problem(msg("test.expect.missing_item", field=_field(path[:5]), kind=_kind(value)), path,
                              suggestion=msg("test.expect.missing.hint"))
    return None


def _expected_amounts(expect: Document) -> Iterator[tuple[Path_, object]]:
    """Each amount a schema-valid expect gives, with its path under expect."""
    for key, want in expect.items():
        if key == "total":
            yield (key,), want
        elif isinstance(want, dict) and "amount" in want:
            yield (key, "amount"), want["amount"]


def _unreadable(exc: AmountSyntaxError, raw: object, path: Path_, source: SourceMap) -> Problem:
    """An expected amount parse_amount refused (out of range, for one the schema's pattern lets through)."""
    message = exc.message
    exact = message.values.get("value") if isinstance(message, Message) and message.key == "amount.out_of_range" \
        else None
    if not isinstance(exact, Decimal) or not exact.is_finite():
        return source.problem(msg("test.expect.amount", field=_field(path), kind=_kind(raw)), path,
                              suggestion=msg("test.expect.amount.hint"))
    written = raw.strip() if isinstance(raw, str) else str(raw)
    hint: Message
    if exact.adjusted() >= MAX_INTEGER_DIGITS:
        reason = msg("facts.range.digits", digits=exact.adjusted() + 1, limit=MAX_INTEGER_DIGITS)
        hint, exact_text = msg("facts.range.digits.hint"), plain(exact)
    else:  # places as written: a unit of 万 or 亿 adds none
        reason = msg("facts.range.places", places=-int(exact.as_tuple().exponent), limit=MAX_PLACES)
        hint, exact_text = msg("facts.range.places.hint"), written
    shown: object = written if written == exact_text else msg("facts.value.exact", value=written, exact=exact_text)
    return source.problem(msg("test.expect.out_of_range", field=_field(path), value=shown, reason=reason), path,
                          suggestion=hint)


def run_suite(policy: Policy, suite: Suite) -> list[CaseOutcome]:
    """Each case of the suite run against the policy, in order."""
    return [run_case(policy, suite, i) for i in range(len(suite.cases))]


def case_applicant(policy: Policy, suite: Suite, index: int) -> tuple[Applicant, dt.date | None]:
    """A case's applicant, validated against `policy`, and the case's own claim date if it gives one."""
    case = suite.cases[index]
    prefix = ("cases", index, "facts")
    applicant = applicant_from(policy, Loaded(case["facts"], _Prefixed.of(suite.loaded.source, prefix), ""))
    return applicant, dt.date.fromisoformat(case["date"]) if case.get("date") else None


def run_case(policy: Policy, suite: Suite, index: int) -> CaseOutcome:
    case = suite.cases[index]
    source = suite.loaded.source
    line = source.mark(("cases", index))[0]
    if "rejects" in case:
        return _rejected(policy, suite, index, line)
    try:
        applicant, on = case_applicant(policy, suite, index)
        result = evaluate(policy, applicant, on=on)
        mismatches = tuple(_compare(policy, result, case["expect"], source, ("cases", index, "expect")))
    except PolicyError as error:
        return CaseOutcome(case["name"], line, error=error)
    return CaseOutcome(case["name"], line, mismatches, result)


def _rejected(policy: Policy, suite: Suite, index: int, line: int | None) -> CaseOutcome:
    """A case whose facts must be refused, with a message containing the case's `rejects:` text."""
    case = suite.cases[index]
    wanted = case["rejects"]
    try:
        applicant, on = case_applicant(policy, suite, index)
        # Some input errors show only against the claim date (a fund year after it): evaluated here too.
        result = evaluate(policy, applicant, on=on)
    except PolicyError as error:
        said = [p.format(policy.language) for p in error.problems]
        if any(wanted in text for text in said):
            return CaseOutcome(case["name"], line, rejects=True)
        return CaseOutcome(case["name"], line, (Mismatch(t("test.rejects.what", policy.language), wanted,
                                                         " / ".join(said)),), rejects=True)
    return CaseOutcome(case["name"], line, (Mismatch(t("test.rejects.what", policy.language), wanted,
                                                     t("test.rejects.accepted", policy.language)),), result,
                       rejects=True)


@dataclass
class _Prefixed(SourceMap):
    """A SourceMap for a sub-document whose problems still point into the whole file with full paths."""

    prefix: Path_ = ()

    @classmethod
    def of(cls, source: SourceMap, prefix: Path_) -> _Prefixed:
        sub = source.subtree(prefix)
        return cls(sub.file, sub.values, sub.keys, sub.files, sub.texts, prefix)

    def problem(self, message: str, path: Sequence[str | int], *, prefer_key: bool = False,
                clause: str | None = None, suggestion: str | None = None, severity: str = "error",
                inherited_by: str | None = None) -> Problem:
        p = super().problem(message, path, prefer_key=prefer_key, clause=clause, suggestion=suggestion,
                            severity=severity, inherited_by=inherited_by)
        return Problem(p.message, p.file, p.line, p.column, self.prefix + tuple(path), p.clause, p.suggestion)


def _amount(value: object) -> Decimal:
    return parse_amount(value)


# An outcome as both the code a test file uses and, in Chinese, its words: 不符合（ineligible）.
_TEST_OUTCOME_KEYS = {"eligible": "test.outcome.eligible", "ineligible": "test.outcome.ineligible",
                      "undetermined": "test.outcome.undetermined", "referred": "test.outcome.referred",
                      "not_applicable": "test.outcome.not_applicable"}
# A condition no case gave one of its results to: never met, never failed, or neither (never decided).
_NEVER_KEYS = {("met",): "test.coverage.status.met", ("failed",): "test.coverage.status.failed",
               ("met", "failed"): "test.coverage.status.both"}


def _outcome(code: str) -> str:
    """The outcome a test file expects, in words (the schema allows only the codes the mapping has)."""
    return msg(_TEST_OUTCOME_KEYS[code])


def _reasons() -> list[str]:
    """Every reason a clause result can give (each `Why` subclass's, award forms' own included), sorted."""
    # Importing FORMS imports every form's module, so that the reasons of their own are among the subclasses.
    from engine.model.awards import FORMS

    assert FORMS, "no award forms found"
    found, todo = set(), list(Why.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.reason:
            found.add(cls.reason)
    return sorted(found)


def _compare(policy: Policy, result: Result, expect: Document, source: SourceMap,
             path: Path_) -> Iterator[Mismatch]:
    ids = [c.id for c in policy.clauses]
    problems = ProblemList()
    for key, want in expect.items():
        if key == "total":
            if result.total != _amount(want):
                yield Mismatch(msg("test.what.total"), format_money(_amount(want)), format_money(result.total))
            continue
        if key == "complete":
            if result.complete != want:
                yield Mismatch(msg("test.what.complete"), str(want).lower(), str(result.complete).lower())
            continue
        if key not in ids:
            problems.add(source.problem(msg("test.unknown_clause", id=key),
                                        path + (key,), prefer_key=True, suggestion=did_you_mean(key, ids)))
            continue
        got = result.clause(key)
        want = {"outcome": want} if isinstance(want, str) else want
        if got.outcome != want["outcome"]:
            actual = _outcome(got.outcome)
            yield Mismatch(msg("test.what.outcome", clause=key), _outcome(want["outcome"]),
                           msg("test.with_reason", outcome=actual, reason=got.reason) if got.reason else actual)
        if "amount" in want:
            actual = format_money(got.amount) if got.amount is not None else msg("test.none")
            if got.amount != _amount(want["amount"]):
                yield Mismatch(msg("test.what.amount", clause=key), format_money(_amount(want["amount"])), actual)
        if "reason" in want and want["reason"] not in _reasons():  # a misspelt reason could never match
            reasons = _reasons()
            problems.add(source.problem(msg("hint.test.reason", reason=want["reason"], reasons=one_of(reasons, 20)),
                                        path + (key, "reason"), suggestion=did_you_mean(want["reason"], reasons)))
        elif "reason" in want and got.reason != want["reason"]:
            yield Mismatch(msg("test.what.reason", clause=key), want["reason"], got.reason or msg("test.none"))
        if "missing" in want and sorted(want["missing"]) != sorted(got.missing_keys):
            yield Mismatch(msg("test.what.missing", clause=key), ", ".join(sorted(want["missing"])),
                           ", ".join(sorted(got.missing_keys)))
    problems.raise_if_any(SchemaError)


# --- coverage: what the cases never exercise ---------------------------------------------------------

# Every sentence the coverage report shows is in the message catalogue under test.coverage.<key>.


@dataclass(frozen=True)
class Gap:
    """A condition (or a bound within one) that no case exercises in some way."""

    clause: str
    text: str  # the condition's expression, or the bound, e.g. cbec_turnover >= 500万元
    line: int | None
    never: tuple[str, ...] = ()  # for conditions: the statuses (met, failed) no case gave it
    file: str | None = None  # set when the line is in another file than the policy's (inherited by a county)


@dataclass(frozen=True)
class DatedGap:
    """A value of a parameter that changes on dates, in force on no evaluated case's day."""

    name: str
    start: dt.date
    value: str  # as the sheet shows it
    line: int | None


@dataclass(frozen=True)
class Coverage:
    cases: int  # every case run, whatever it tests
    never: Mapping[Outcome, tuple[str, ...]]  # outcome -> ids of the clauses no case gave it
    conditions: tuple[Gap, ...]
    thresholds: tuple[Gap, ...]  # only in conditions some case decided; the others are listed as conditions
    # cases that expect their facts refused (`rejects:`): they test the input checks, not a clause, and are named
    rejecting: tuple[str, ...] = ()
    # values of parameters that change on dates (values:) in force on no evaluated case's day
    parameters: tuple[DatedGap, ...] = ()

    @property
    def full(self) -> bool:
        return not (any(self.never.values()) or self.conditions or self.thresholds or self.parameters)


def _relevant_outcomes(policy: Policy, clause: Clause) -> tuple[str, ...]:
    """The outcomes an officer would want a case for; ineligible only where something can make it so."""
    if clause.kind == "measure":
        return ()
    if clause.kind == "reference":
        return (REFERRED, INELIGIBLE) if clause.conditions or clause.requires else (REFERRED,)
    exclusive = any(clause.id in g.members and g.pick != "all" for g in policy.groups)
    can_fail = (clause.conditions or clause.requires or (clause.award is not None and clause.award.can_fail())
                or exclusive)
    return (ELIGIBLE, INELIGIBLE) if can_fail else (ELIGIBLE,)


def coverage(policy: Policy, outcomes: Iterable[CaseOutcome]) -> Coverage:
    """Which clause outcomes, condition results, threshold values and dated parameter values the evaluated cases
    never reach; every case counted, those expecting a refusal named."""
    outcomes = list(outcomes)
    results = [o.result for o in outcomes if o.result is not None and not o.rejects]
    seen: dict[str, set[str]] = {c.id: set() for c in policy.clauses}
    statuses: dict[tuple[str, int], set[str]] = {}
    at_threshold: set[tuple[str, int, int]] = set()
    for result in results:
        for r in result.clauses:
            seen[r.clause.id].add(r.outcome)
            # a clause decided before its conditions (not applicable, say) has none of their results
            for n, (cond, got) in enumerate(zip(r.clause.conditions, r.conditions, strict=False)):
                if cond.shared:  # one condition for every clause: counted once, under the policy's conditions
                    statuses.setdefault(("", policy.conditions.index(cond)), set()).add(got.status)
                    continue
                statuses.setdefault((r.clause.id, n), set()).add(got.status)
                reads = dict(got.reads)
                for k, b in enumerate(bounds(cond.expr, policy.facts.keys(), conjunctive=False)):
                    value, bound = reads.get(b.name), _threshold(b, reads)
                    if isinstance(value, Decimal) and isinstance(bound, Decimal) and value == bound:
                        at_threshold.add((r.clause.id, n, k))
    never = {o: tuple(c.id for c in policy.clauses if o in _relevant_outcomes(policy, c) and o not in seen[c.id])
             for o in (ELIGIBLE, INELIGIBLE, REFERRED)}
    conditions, thresholds = [], []
    for n, cond in enumerate(policy.conditions):
        decided = statuses.get(("", n), set())
        missing = tuple(s for s in ("met", "failed") if s not in decided)
        if missing:
            conditions.append(Gap("", cond.expr.text, cond.where.line, missing, _other(policy, cond)))
    for clause in policy.clauses:
        for n, cond in enumerate(clause.conditions):
            if cond.shared:
                continue
            decided = statuses.get((clause.id, n), set())
            missing = tuple(s for s in ("met", "failed") if s not in decided)
            if missing:
                conditions.append(Gap(clause.id, cond.expr.text, cond.where.line, missing, _other(policy, cond)))
            if len(missing) == 2:
                continue  # no case decides the condition at all: its bounds are implied
            for k, b in enumerate(bounds(cond.expr, policy.facts.keys(), conjunctive=False)):
                if b.op != "==" and (clause.id, n, k) not in at_threshold:
                    thresholds.append(Gap(clause.id, _bound_text(policy, b), cond.where.line,
                                          file=_other(policy, cond)))
    return Coverage(len(outcomes), never, tuple(conditions), tuple(thresholds),
                    tuple(o.name for o in outcomes if o.rejects), _dated_gaps(policy, results))


def _dated_gaps(policy: Policy, results: Sequence[Result]) -> tuple[DatedGap, ...]:
    """Each value of a parameter that changes on dates that no evaluated case's parameter day falls on (the claim
    date, or the policy's last day for a claim filed after it): the value a case never computed with."""
    end = policy.end
    days = {r.date if end is None or r.date <= end else end for r in results}
    gaps = []
    for param in policy.parameters.values():
        if len(param.values) < 2:
            continue
        for value in param.values:
            if not any(param.value_on(day) is value for day in days):
                shown = show(value.value, param.type, CURRENCIES[param.currency] if param.currency else param.unit)
                gaps.append(DatedGap(param.name, value.start, shown, param.where.line))
    return tuple(gaps)


def _threshold(b: Bound, reads: Mapping[str, object]) -> object:
    if isinstance(b.operand, Name):
        return reads.get(b.operand.id)  # a parameter: its value on the claim date
    return b.operand.value


def _bound_text(policy: Policy, b: Bound) -> str:
    operand = b.operand
    if isinstance(operand, Name):
        return f"{b.name} {b.op} {operand.id}"
    value, kind = operand.value, policy.facts[b.name].type
    if not isinstance(value, Decimal):  # orders are between numbers; a date('…') literal bounds nothing
        return f"{b.name} {b.op} {value}"
    shown = officer_money(value) if kind == "money" else format_percent(value) if kind == "percent" else plain(value)
    return f"{b.name} {b.op} {shown}"


def render_coverage(cov: Coverage, lang: str = "en") -> str:
    """The coverage report for `policy test`: compact, one line per thing to add a case for."""
    lines = [t("test.coverage.head.one" if cov.cases == 1 else "test.coverage.head", lang, cases=cov.cases)]
    for outcome, ids in cov.never.items():
        if ids:
            lines.append(t("test.coverage.never", lang, outcome=t(OUTCOME_KEYS[outcome], lang), ids=", ".join(ids)))
    if cov.conditions:
        lines.append(t("test.coverage.conditions", lang))
        for g in cov.conditions:
            status = t(_NEVER_KEYS[g.never], lang)
            lines.append("    " + t("test.coverage.condition", lang, clause=g.clause, text=g.text, status=status,
                                    where=_where(g, lang)))
    if cov.thresholds:
        lines.append(t("test.coverage.thresholds", lang))
        lines += ["    " + t("test.coverage.threshold", lang, clause=g.clause, text=g.text, where=_where(g, lang))
                  for g in cov.thresholds]
    if cov.parameters:
        lines.append(t("test.coverage.parameters", lang))
        lines += ["    " + t("test.coverage.parameter", lang, name=g.name, start=g.start.isoformat(), value=g.value,
                                  where=t("test.coverage.line", lang, line=g.line)) for g in cov.parameters]
    if cov.rejecting:
        lines.append(t("test.coverage.rejecting", lang, count=len(cov.rejecting)))
        lines += ["    " + name for name in cov.rejecting]
    if cov.full:
        lines.append(t("test.coverage.full", lang))
    return "\n".join(lines) + "\n"


def _other(policy: Policy, cond: Condition) -> str | None:
    return cond.where.file if cond.where.file and cond.where.file != policy.file else None


def _where(gap: Gap, lang: str) -> str:
    if gap.file:
        return t("test.coverage.file_line", lang, file=gap.file, line=gap.line)
    return t("test.coverage.line", lang, line=gap.line)
