"""What the ledger records and returns: plain frozen dataclasses, and how a decision is made from a result."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal, Mapping, NamedTuple, Protocol, Sequence

from engine.core.text import identity
from engine.model.canonical import canonical_json as canonical_json  # the one canonical text, re-exported
from engine.model.canonical import facts_document
from engine.model.facts import Applicant
from engine.model.outcome import Outcome
from engine.model.policy import Clause, Policy

Counts = Literal["year", "once", "lifetime", "claim"]


def engine_version() -> str:
    """The installed engine's version, as each decision records it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("policy-engine")
    except PackageNotFoundError:
        return "unknown"


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PolicyRecord:
    """The policy a decision was made under: its id, its revision (a content hash of every file it was made
    from) and those files, each by name (as found beside the main file) and the sha256 of its bytes."""

    policy_id: str
    revision: str
    files: tuple[tuple[str, str], ...]  # (name relative to the main file's folder, sha256), the main file first
    sources: Mapping[str, bytes] = field(repr=False)  # sha256 → bytes

    @classmethod
    def from_files(cls, policy_id: str, paths: Sequence[str]) -> PolicyRecord:
        """From the files a policy was read from (engine.workspace.load_with_sources), the main file first."""
        if not paths:
            raise ValueError("a policy is made from at least one file")
        base = Path(paths[0]).resolve().parent
        files, sources = [], {}
        for path in paths:
            data = Path(path).read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            real = Path(path).resolve()
            try:
                name = real.relative_to(base).as_posix()
            except ValueError:  # outside the main file's folder (a --policies folder elsewhere): kept by name
                name = f"_/{digest[:12]}/{real.name}"
            files.append((name, digest))
            sources[digest] = data
        return cls(policy_id, revision_of([d for _n, d in files]), tuple(files), sources)


def revision_of(digests: Sequence[str]) -> str:
    """A policy's revision: the main file's hash, then the others' in a fixed order (where they were found
    does not change what the policy says)."""
    main, *others = digests
    return sha256_text("\n".join([main, *sorted(set(others) - {main})]))


@dataclass(frozen=True)
class GrantRecord:
    """One award as it counts later: under which clause, against what (a fund year, or once/lifetime ever,
    or only this claim), for which object (raw name and its identity key), how much."""

    clause: str
    counts: Counts
    year: int | None  # the fund year the award was for (None when the facts did not say it)
    object: str | None
    object_key: str | None
    amount: Decimal


class ClauseOutcome(NamedTuple):
    """One clause's outcome and what it pays (eligible only). A named tuple: a round makes millions."""

    clause: str
    outcome: str
    amount: Decimal | None


@dataclass(frozen=True)
class Decision:
    """One evaluation as the ledger keeps it. `facts` is canonical JSON (canonical_json), `facts_hash` its
    sha256; `grants` are what it awards (none for a decision only logged)."""

    recipient: str  # 统一社会信用代码
    facts: str
    facts_hash: str
    outcomes: Sequence[ClauseOutcome]  # a tuple, or Outcomes (from a worker)
    grants: tuple[GrantRecord, ...] = ()
    year: int | None = None  # the claim's fund year
    # What a round's pools paid of each clause (its outcome as evaluated, the amount paid: the grants count
    # this); None when nothing was shared (paid as claimed). `outcomes` keep the claims.
    paid: Sequence[ClauseOutcome] | None = None

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as plain tuples of text (a round's workers send every decision to the main process): a
        Decimal pickles through Python-level calls, ten times slower than its text, and a round has 170k."""
        return _decision, (self.recipient, self.facts, self.facts_hash, Outcomes.of(self.outcomes),
                           tuple((g.clause, g.counts, g.year, g.object, g.object_key, str(g.amount))
                                 for g in self.grants),
                           self.year, None if self.paid is None else Outcomes.of(self.paid))

    @property
    def total(self) -> Decimal:
        """What was paid: the pools' shares where they shared, else the claims."""
        paid = self.paid if self.paid is not None else self.outcomes
        if isinstance(paid, Outcomes):
            return paid.total
        return sum((o.amount for o in paid if o.amount is not None), Decimal(0))


class Outcomes(Sequence[ClauseOutcome]):
    """A decision's outcomes as their canonical JSON (outcomes_json), read only when asked: what a round's
    worker sends the main process, which records the text as it is (canonical JSON made once, in the worker)."""

    __slots__ = ("text", "total", "_items")

    def __init__(self, text: str, total: str):
        self.text = text
        self.total = Decimal(total)  # the sum of the amounts, as the store records it (total_fen)
        self._items: tuple[ClauseOutcome, ...] | None = None

    @classmethod
    def of(cls, outcomes: Iterable[ClauseOutcome]) -> Outcomes:
        if isinstance(outcomes, Outcomes):
            return outcomes
        listed = list(outcomes)
        return cls(outcomes_json(listed), str(sum((o.amount for o in listed if o.amount is not None), Decimal(0))))

    def _read(self) -> tuple[ClauseOutcome, ...]:
        if self._items is None:
            self._items = outcomes_from_json(self.text)
        return self._items

    def __getitem__(self, index: Any) -> Any:
        return self._read()[index]

    def __len__(self) -> int:
        return len(self._read())

    def __iter__(self) -> Iterator[ClauseOutcome]:
        return iter(self._read())

    def __eq__(self, other: object) -> bool:
        return tuple(self) == (tuple(other) if isinstance(other, (tuple, Outcomes)) else other)

    def __hash__(self) -> int:
        return hash(self._read())

    def __repr__(self) -> str:
        return repr(self._read())

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return Outcomes, (self.text, str(self.total))


def _decision(recipient: str, facts: str, facts_hash: str, outcomes: Outcomes, grants: Iterable[tuple[Any, ...]],
              year: int | None, paid: Outcomes | None) -> Decision:
    """A Decision from its pickled form (Decision.__reduce__), made as a frozen dataclass's own pickle makes
    one (its fields set, its checks already passed where it was made), without __init__'s per-field calls."""
    made = []
    for c, n, y, o, k, a in grants:
        grant = object.__new__(GrantRecord)
        grant.__dict__.update(clause=c, counts=n, year=y, object=o, object_key=k, amount=Decimal(a))
        made.append(grant)
    decision = object.__new__(Decision)
    decision.__dict__.update(recipient=recipient, facts=facts, facts_hash=facts_hash, outcomes=outcomes,
                             grants=tuple(made), year=year, paid=paid)
    return decision


@dataclass(frozen=True)
class LedgerGrant:
    """An earlier grant as an evaluation reads it: corrections applied, reversals left out."""

    clause: str
    amount: Decimal
    # The fund year the award was for, whatever it counts against (`counts`: year, once, lifetime or claim):
    # an exclusive group compares what was paid in a fund year, once-clauses included. None only when the
    # decision's facts did not state the fund year.
    year: int | None
    counts: Counts
    object: str | None
    object_key: str | None
    round: str | None
    entry: int

    def as_granted(self) -> dict[str, Any]:
        """This grant as an entry of the facts' ledger form of `granted:` ({clause, amount, year, for})."""
        entry: dict[str, Any] = {"clause": self.clause, "amount": str(self.amount), "year": self.year}
        if self.object is not None:
            entry["for"] = self.object
        return entry


@dataclass(frozen=True)
class RoundSummary:
    round: str
    decisions: int
    grants: int
    total: Decimal
    first_decision: int | None
    first_entry: int | None


@dataclass(frozen=True)
class Entry:
    """One row of the entries table, as `show` and `list` print it."""

    id: int
    kind: str  # grant | correction | reversal
    round: str | None
    decision: int | None
    recipient: str
    policy_id: str
    clause: str
    counts: str
    year: int | None
    object: str | None
    amount: Decimal
    corrects: int | None
    reason: str | None
    by: str
    at: str


# --- from an evaluation --------------------------------------------------------------------------------

class _ClauseLike(Protocol):
    """engine.runtime.trace.ClauseResult as the ledger reads it (the ledger does not import the runtime)."""

    @property
    def clause(self) -> Clause: ...
    @property
    def outcome(self) -> Outcome: ...
    @property
    def amount(self) -> Decimal | None: ...


class _ResultLike(Protocol):
    """engine.runtime.trace.Result as the ledger reads it."""

    @property
    def policy(self) -> Policy: ...
    @property
    def applicant(self) -> Applicant: ...
    @property
    def date(self) -> dt.date: ...
    @property
    def clauses(self) -> Sequence[_ClauseLike]: ...


def facts_data(policy: Policy, applicant: Applicant, date: dt.date | None = None) -> dict[str, Any]:
    """An applicant as a facts document (engine.model.facts reads it back to the same applicant): what the
    ledger keeps of a decision, including the earlier grants the evaluation was given, and the date it was
    evaluated on when the facts did not give one (so that evaluating it again later is on the same day)."""
    return facts_document(applicant, date)


def fund_year(policy: Policy, applicant: Applicant, date: dt.date) -> int | None:
    """The year a claim is for: the policy's fund-year fact, else the calendar year of the claim's date."""
    if policy.fund_year is None:
        return date.year
    value = applicant.values.get(policy.fund_year)
    return int(value) if isinstance(value, (Decimal, int)) and not isinstance(value, bool) else None


# Each outcome's name by the member's id: Enum's `.value` is a Python-level descriptor, too slow for a round.
_OUTCOME = {id(o): o.value for o in Outcome}
_ELIGIBLE = Outcome.ELIGIBLE
_MAKE = ClauseOutcome._make  # tuple.__new__ itself: NamedTuple's own __new__ is a Python function


def decision_from_result(result: _ResultLike, recipient: str, *, facts: Mapping[str, Any] | None = None,
                         grants: bool = True) -> Decision:
    """The decision a result records: its facts (the applicant as a facts document unless `facts` is given),
    each clause's outcome and amount, and (with `grants`) each amount paid as a grant counted by its clause's
    `period:` against the claim's fund year, and per its `per:` object."""
    policy, applicant = result.policy, result.applicant
    text = canonical_json(facts if facts is not None else facts_data(policy, applicant, result.date))
    year = fund_year(policy, applicant, result.date)
    outcomes, awards = [], []
    make, named, eligible = _MAKE, _OUTCOME, _ELIGIBLE  # a round makes 170k of these: no lookups in the loop
    for r in result.clauses:
        outcome = r.outcome
        paid = r.amount if outcome is eligible else None
        outcomes.append(make((r.clause.id, named[id(outcome)], paid)))
        if grants and paid:
            clause = r.clause
            raw = applicant.values.get(clause.per) if clause.per is not None else None
            name = raw if isinstance(raw, str) else None
            counts: Counts = clause.period if clause.period in ("year", "once", "lifetime") else "claim"  # type: ignore[assignment]
            awards.append(GrantRecord(clause.id, counts, year, name,
                                      identity(name) if name is not None else None, paid))
    return Decision(recipient, text, sha256_text(text), tuple(outcomes), tuple(awards), year)


def outcomes_json(outcomes: Iterable[ClauseOutcome]) -> str:
    if isinstance(outcomes, Outcomes):
        return outcomes.text
    # Lists of text only: canonical_json's text without its key sorting and fallbacks (a round makes 10k).
    return _LISTS([[c, o, None if a is None else str(a)] for c, o, a in outcomes])


_LISTS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def outcomes_from_json(text: str) -> tuple[ClauseOutcome, ...]:
    return tuple(ClauseOutcome(c, o, None if a is None else Decimal(a)) for c, o, a in json.loads(text))
