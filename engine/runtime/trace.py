"""What an evaluation says per clause: the outcome, the amount, and — when asked — the explanation.

Everything here is typed: reasons are `Why` dataclasses, steps are `Step` dataclasses, missing things
are `Missing` values. Renderers read fields; nothing is encoded in strings to be parsed back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from engine.core.amounts import CONTEXT
from engine.core.values import Missing
from engine.model.awards.base import Step
from engine.model.outcome import Outcome, Why, Words
from engine.model.policy import Clause, Reference

if TYPE_CHECKING:
    from engine.model.facts import Applicant
    from engine.model.policy import Policy


# --- missing things that are not facts ------------------------------------------------------------

@dataclass(frozen=True)
class MissingGrant(Missing):
    """What was granted before under a capped or one-time clause (the facts file's `granted:`)."""

    clause: str = ""

    @classmethod
    def of(cls, clause: str) -> MissingGrant:
        return cls(f"granted.{clause}", clause)


@dataclass(frozen=True)
class MissingGrantYear(Missing):
    """The fund year of an amount granted under a clause (given summed, without its year): an exclusive group
    needs what was paid in the claim's own fund year."""

    clause: str = ""

    @classmethod
    def of(cls, clause: str) -> MissingGrantYear:
        return cls(f"granted.{clause}.year", clause)


@dataclass(frozen=True)
class MissingDocument(Missing):
    """The rules of a referred document, whose policy file was not supplied."""

    document: str = ""

    @classmethod
    def of(cls, document: str) -> MissingDocument:
        return cls(f"document:{document}", document)


@dataclass(frozen=True, eq=False)  # equal by key, as Missing: one per clause, the first expression that failed
class NotComputable(Missing):
    """An expression the applicant's values make impossible to compute (a division by zero): no fact is
    missing, but the clause cannot be decided until an officer looks at what it read."""

    clause: str = ""
    expr: str = ""
    file: str | None = None
    line: int | None = None
    column: int | None = None
    reads: tuple[tuple[str, object], ...] = ()  # (name, value) of each fact and parameter the expression read

    @classmethod
    def of(cls, clause: str, expr: str, where: tuple[str | None, int | None, int | None],
           reads: tuple[tuple[str, object], ...]) -> NotComputable:
        return cls(f"cannot_compute.{clause}", clause, expr, *where, reads)

    @property
    def location(self) -> str:
        """file:line:col as every other message gives it (what is known of it)."""
        return ":".join(str(x) for x in (self.file, self.line, self.column) if x is not None)


MISSING_AREA = Missing("area")


# --- why a clause is not simply eligible ----------------------------------------------------------

@dataclass(frozen=True)
class MeasureOnly(Why):
    """The clause states a measure, not an amount: nothing to decide for an applicant."""

    reason: ClassVar[str] = "measure"
    measure: str

    def text(self, w: Words) -> str:
        return w.t("reason.measure", measure=self.measure)


@dataclass(frozen=True)
class OutOfPolicyPeriod(Why):
    """The claim date is outside the policy's period in force."""

    reason: ClassVar[str] = "policy_period"
    start: dt.date | None
    end: dt.date | None
    date: dt.date

    def text(self, w: Words) -> str:
        return w.t(_PERIOD_REASON_KEYS[self.reason], date=self.date, start=self.start or "…", end=self.end or "…")


@dataclass(frozen=True)
class OutOfClausePeriod(OutOfPolicyPeriod):
    """The claim date is outside the clause's own from:/until:."""

    reason: ClassVar[str] = "clause_period"


_PERIOD_REASON_KEYS = {"policy_period": "reason.policy_period", "clause_period": "reason.clause_period"}


@dataclass(frozen=True)
class FundYearNotPaid(Why):
    """The claim's fund year is not one the policy pays (fund_year: in_force:)."""

    reason: ClassVar[str] = "fund_year"
    year: int
    first: int
    last: int | None

    def text(self, w: Words) -> str:
        return w.t("reason.fund_year", year=self.year, first=self.first,
                   last=self.last if self.last is not None else "…")


@dataclass(frozen=True)
class FiledLate(Why):
    """The claim is filed after the window for its fund year closed (fund_year: filing_months:)."""

    reason: ClassVar[str] = "filing"
    year: int
    deadline: dt.date
    date: dt.date

    def text(self, w: Words) -> str:
        return w.t("reason.filing", year=self.year, deadline=self.deadline, date=self.date)


@dataclass(frozen=True)
class OtherRecipient(Why):
    """The clause is for other kinds of applicant."""

    reason: ClassVar[str] = "recipient"
    recipients: tuple[str, ...]
    labels: tuple[str, ...]

    def text(self, w: Words) -> str:
        return w.t("reason.recipient", recipients="、".join(self.labels))


@dataclass(frozen=True)
class OutsideJurisdiction(Why):
    """The applicant's area is not one the policy covers (with the closest name, when it looks mistyped)."""

    reason: ClassVar[str] = "jurisdiction"
    area: str
    areas: tuple[str, ...]
    closest: str | None

    def text(self, w: Words) -> str:
        text = w.t("reason.jurisdiction", area=self.area, areas="、".join(self.areas))
        if self.closest:
            text += " " + w.t("reason.jurisdiction.closest", closest=self.closest)
        return text


@dataclass(frozen=True)
class ConditionsFailed(Why):
    """A condition is not met. `at`: the first such condition's place in the clause's conditions (both paths,
    traced or not, name it), so a round's results can say which without a trace."""

    reason: ClassVar[str] = "conditions"
    at: int | None = None

    def text(self, w: Words) -> str:
        return w.t("reason.conditions")


@dataclass(frozen=True)
class RequiresFailed(Why):
    """A clause this one requires was not met."""

    reason: ClassVar[str] = "requires"
    requires: tuple[str, ...]

    def text(self, w: Words) -> str:
        return w.t("reason.requires", ids="、".join(self.requires))


@dataclass(frozen=True)
class MissingFacts(Why):
    """Facts the clause needs are missing: undetermined until they are given."""

    reason: ClassVar[str] = "missing"

    def text(self, w: Words) -> str:
        return w.t("reason.missing")


@dataclass(frozen=True)
class CannotCompute(Why):
    """Undetermined because an expression cannot be computed with the applicant's values (a division by zero).

    Neither eligible nor ineligible: the rule as written has no value for these facts, and inventing one (0,
    or "not met") would decide a case the text does not. The clause waits for an officer, like a missing fact;
    what depends on it waits too.
    """

    reason: ClassVar[str] = "cannot_compute"
    what: NotComputable

    def text(self, w: Words) -> str:
        what = self.what
        values = w.t("cli.list_sep").join(f"{w.label(n)} = {w.value(n, v)}" for n, v in what.reads) or "-"
        return w.t("reason.cannot_compute", clause=what.clause, expr=what.expr, where=what.location or "-",
                   values=values) + " " + w.t("reason.cannot_compute.hint")


@dataclass(frozen=True)
class CapUsed(Why):
    """What was granted before under the clause's cap leaves nothing more to pay."""

    reason: ClassVar[str] = "cap_used"
    cap: Decimal
    granted: Decimal
    # What the clause's amount before its cap waits on, when unknown: a bonus raising this cap needs it.
    pending: tuple[Missing, ...] = ()

    def text(self, w: Words) -> str:
        return w.t("reason.cap_used", cap=w.money(self.cap), granted=w.money(self.granted))


@dataclass(frozen=True)
class OnceGranted(Why):
    """Paid once (一次性): an earlier grant under the clause (for the same object) means nothing more is due."""

    reason: ClassVar[str] = "once_granted"
    granted: Decimal
    key: str | None = None  # the object, for a clause counted per object

    def text(self, w: Words) -> str:
        if self.key is not None:
            return w.t("reason.once_granted.for", granted=w.money(self.granted), key=self.key)
        return w.t("reason.once_granted", granted=w.money(self.granted))


@dataclass(frozen=True)
class LostToGroup(Why):
    """Another member of an exclusive group pays instead."""

    reason: ClassVar[str] = "group"
    group: str
    pick: str
    winner: str
    winner_amount: Decimal | None
    would_be: Decimal | None
    reading: str | None

    def text(self, w: Words) -> str:
        return w.t("reason.group", winner=self.winner, pick=w.t(PICK_KEYS[self.pick]))


@dataclass(frozen=True)
class HeldByGroup(Why):
    """A member of the group was already paid in this period: paying another would be stacking them."""

    reason: ClassVar[str] = "group_granted"
    group: str
    holder: str
    granted: Decimal
    reading: str | None

    def text(self, w: Words) -> str:
        return w.t("reason.group_granted", holder=self.holder, granted=w.money(self.granted))


@dataclass(frozen=True)
class GroupPending(Why):
    """Which member of the group pays depends on what is still missing."""

    reason: ClassVar[str] = "group_pending"
    group: str
    pick: str
    pending: tuple[str, ...]
    would_be: Decimal | None
    reading: str | None

    def text(self, w: Words) -> str:
        return w.t("reason.group_pending", pending="、".join(self.pending), would_be=w.money(self.would_be))


@dataclass(frozen=True)
class Followed(Why):
    """A reference followed into another document's policy, which decided this outcome."""

    reason: ClassVar[str] = "followed"

    def text(self, w: Words) -> str:
        return ""  # the sheet words this from the hop (engine.present.sheet)


PICK_KEYS = {"best": "pick.best", "first": "pick.first", "all": "pick.all"}
PERIOD_KEYS = {"once": "period.once", "lifetime": "period.lifetime", "year": "period.year", "claim": "period.claim"}
ROUNDING_KEYS = {"half_up": "rounding.half_up", "half_even": "rounding.half_even"}


# --- steps every clause may show, whatever its award form ----------------------------------------

@dataclass(frozen=True)
class RoundStep(Step):
    """The amount rounded by the policy's money rule."""

    kind: ClassVar[str] = "round"
    before: Decimal
    after: Decimal
    rule: str
    step: Decimal

    def lines(self, w: Words) -> list[str]:
        return [w.t("step.round", rule=w.t(ROUNDING_KEYS[self.rule]), step=w.number(self.step),
                    before=w.money(self.before), after=w.money(self.after))]


@dataclass(frozen=True)
class NegativeStep(Step):
    """An amount computed below zero: nothing is paid."""

    kind: ClassVar[str] = "negative"
    value: Decimal

    def lines(self, w: Words) -> list[str]:
        return [w.t("step.negative", value=w.money(self.value))]


@dataclass(frozen=True)
class CapStep(Step):
    """The cap, what was granted under it before, and what it leaves of the amount."""

    kind: ClassVar[str] = "cap"
    cap: Decimal
    expr: str
    period: str
    granted: Decimal
    remaining: Decimal
    before: Decimal
    after: Decimal

    def lines(self, w: Words) -> list[str]:
        lines = [w.t("step.cap", cap=w.money(self.cap), period=w.t(PERIOD_KEYS[self.period]),
                     granted=w.money(self.granted), remaining=w.money(self.remaining))]
        if self.after < self.before:
            lines.append(w.t("step.cap.bit", before=w.money(self.before), after=w.money(self.after),
                             excess=w.money(CONTEXT.subtract(self.before, self.after))))  # exact: see CONTEXT
        else:
            lines.append(w.t("step.cap.free"))
        return lines


@dataclass(frozen=True)
class OffsetStep(Step):
    """就高不重复 across programmes: what was received for the same item under another programme is deducted."""

    kind: ClassVar[str] = "offset"
    expr: str
    label: str | None
    source: str | None
    value: Decimal  # the amount received (0 when the expression gives less)
    before: Decimal
    after: Decimal
    name: str | None = None  # the fact, when the amount is one: its label words an offset declared without one

    def lines(self, w: Words) -> list[str]:
        label = self.label or (w.label(self.name) if self.name else f"'{self.expr}'")
        values = {"label": label, "offset": w.money(self.value), "before": w.money(self.before),
                  "after": w.money(self.after)}
        if self.source:
            return [w.t("step.offset.source", source=self.source, **values)]
        return [w.t("step.offset", **values)]


@dataclass(frozen=True)
class ZeroStep(Step):
    """Why an eligible clause pays 0.00: the one line the sheet shows under its heading."""

    kind: ClassVar[str] = "zero"
    cause: str  # zero | negative | rounded | builds_on | offset
    value: Decimal | None = None  # the amount as computed (negative, rounded) or the offset deducted
    to: str | None = None  # the clause a bonus builds on

    def lines(self, w: Words) -> list[str]:
        value = w.number(self.value) if self.cause == "rounded" else w.money(self.value)  # a fraction of a fen
        because = w.t(ZERO_KEYS[self.cause], value=value, to=self.to or "-")
        return [w.t("step.zero", amount=w.money(Decimal(0)), because=because)]


ZERO_KEYS = {"zero": "step.zero.zero", "negative": "step.zero.negative", "rounded": "step.zero.rounded",
             "builds_on": "step.zero.builds_on", "offset": "step.zero.offset"}


@dataclass(frozen=True)
class TopUpStep(Step):
    """就高不重复: what other members of the group paid for the same fund year is deducted."""

    kind: ClassVar[str] = "top_up"
    group: str
    paid: tuple[tuple[str, Decimal], ...]  # (member, amount paid for this fund year), each above zero
    before: Decimal
    after: Decimal
    reading: str | None

    def lines(self, w: Words) -> list[str]:
        paid = w.t("cli.list_sep").join(w.t("step.top_up.member", clause=c, amount=w.money(a)) for c, a in self.paid)
        return [w.t("step.top_up", group=self.group, paid=paid, before=w.money(self.before),
                    after=w.money(self.after))]


@dataclass(frozen=True)
class GroupStep(Step):
    """Another member of an exclusive group pays instead: which, and what each would pay."""

    kind: ClassVar[str] = "group"
    group: str
    pick: str
    winner: str
    winner_amount: Decimal | None
    would_be: Decimal | None
    reading: str | None

    def lines(self, w: Words) -> list[str]:
        return [w.t("step.group", winner=self.winner, pick=w.t(PICK_KEYS[self.pick]), reading=self.reading or "-",
                    would_be=w.money(self.would_be), winner_amount=w.money(self.winner_amount))]


# --- results --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConditionResult:
    """One condition as evaluated: met / failed / unknown, with the values it read."""

    text: str
    label: str | None
    status: str  # met | failed | unknown
    reads: tuple[tuple[str, object], ...]  # (name, value) for each fact/parameter the condition reads
    comparison: tuple[object, str, object] | None = None  # (left value, symbol, right value) for a <op> b
    missing: tuple[Missing, ...] = ()
    reading: str | None = None
    derived: tuple[tuple[str, object], ...] = ()  # (name, value) of each derived value the condition names


@dataclass(slots=True)
class ClauseResult:
    """One clause's outcome. `conditions` and `steps` are filled only when the evaluation was traced.

    Never changed once made (a group's choice makes a new one with dataclasses.replace); not frozen only
    because frozen dataclasses cost several times more to create, and a round makes millions of these.
    """

    clause: Clause
    outcome: Outcome
    amount: Decimal | None = None  # what this clause pays (eligible only)
    why: Why | None = None
    conditions: tuple[ConditionResult, ...] = ()
    steps: tuple[Step, ...] = ()
    missing: tuple[Missing, ...] = ()
    reference: Reference | None = None
    uncapped: Decimal | None = None  # the rounded amount before the cap, for bonuses that raise a cap
    cap_remaining: Decimal | None = None
    hop: Hop | None = None  # a followed reference: the other document's clause, as evaluated

    @property
    def reason(self) -> str | None:
        """The stable name of why (JSON's `reason`), or None for an eligible or plainly referred clause."""
        return self.why.reason if self.why is not None else None

    @property
    def missing_keys(self) -> tuple[str, ...]:
        return tuple(m.key for m in self.missing)


@dataclass(frozen=True)
class Hop:
    """A reference followed into another document: which clause there, and its own result and working."""

    document: str
    title: str
    policy: Policy
    result: ClauseResult


@dataclass(frozen=True)
class Result:
    """One applicant evaluated under a policy on a day: each clause's result, and the total."""

    policy: Policy
    applicant: Applicant
    date: dt.date
    date_source: str  # option | facts | today
    clauses: tuple[ClauseResult, ...]
    total: Decimal
    complete: bool
    traced: bool = True

    def clause(self, clause_id: str) -> ClauseResult:
        for r in self.clauses:
            if r.clause.id == clause_id:
                return r
        raise KeyError(clause_id)

    @property
    def undetermined(self) -> list[str]:
        wanted = Outcome.UNDETERMINED  # looked up once, not per clause
        return [r.clause.id for r in self.clauses if r.outcome is wanted]

    @property
    def referred(self) -> list[str]:
        wanted = Outcome.REFERRED
        return [r.clause.id for r in self.clauses if r.outcome is wanted]
