"""The compiled policy: frozen dataclasses built only from schema-valid documents."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterator, Mapping, Sequence

from engine.core.amounts import MoneyRule
from engine.lang.expressions import Expr
from engine.model.awards.base import AwardForm
from engine.model.declared import Fact as Fact  # re-exported: a fact is part of the compiled policy
from engine.model.declared import Where as Where  # re-exported
from engine.model.declared import Window as Window  # re-exported
from engine.model.kinds import KINDS
from engine.model.kinds.base import FactKind


@dataclass(frozen=True)
class DatedValue:
    """A parameter's value from `start` (to `end`, or to the next value), with its source."""

    start: dt.date
    value: Decimal
    source: str | None = None
    end: dt.date | None = None  # inclusive; None means until the next value or for as long as in force


@dataclass(frozen=True)
class Parameter:
    """A value the policy sets (a rate, a ceiling), by the dates it is in force."""

    name: str
    label: str
    type: str  # money | percent | number
    values: tuple[DatedValue, ...]
    unit: str | None = None
    text: str | None = None
    where: Where = Where()
    currency: str | None = None  # for money written in another currency (1000万美元): its ISO code

    @property
    def kind(self) -> FactKind:
        """The kind of value this parameter is (money, percent or number, as facts are: engine.model.kinds)."""
        return KINDS[self.type]

    def value_on(self, day: dt.date) -> DatedValue | None:
        """The value in force on `day`: the latest one starting on or before it, if not ended."""
        current = None
        for value in self.values:
            if value.start <= day and (value.end is None or day <= value.end):
                current = value
        return current


@dataclass(frozen=True)
class Currency:
    """A currency other than the policy's: its word (美元) and the rate that converts it (a parameter or fact
    whose unit is 元/美元), with the source of the rate."""

    code: str
    word: str
    rate: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class Derived:
    """A named intermediate value (同比增幅, a converted amount, a sum of cost items), declared once: clauses
    read it by name; its formula is evaluated as part of theirs and shown beside them."""

    name: str
    label: str
    expr: Expr
    text: str | None = None
    reading: str | None = None
    where: Where = Where()


@dataclass(frozen=True)
class Condition:
    """One condition of a clause (or of the whole policy), an expression that must hold."""

    expr: Expr
    label: str | None = None
    reading: str | None = None
    where: Where = Where()
    shared: bool = False  # stated once for many clauses (the policy's conditions:, e.g. 申报条件)
    text: str | None = None  # for a shared condition: the sentence of the document it reads


@dataclass(frozen=True)
class Offset:
    """就高不重复 across programmes: what the applicant already received for the same item under another
    programme (an amount over facts), deducted from the clause's award after its cap, never below 0."""

    amount: Expr
    label: str | None = None  # what it is, in the officers' words: 已获市级同类奖励
    source: str | None = None  # the other programme's document: 杭商务〔2020〕X号


@dataclass(frozen=True)
class Clause:
    """One clause: who it is for, its conditions, its award (or the document it refers to), its cap and how
    earlier grants count against it."""

    id: str
    article: str | None
    title: str
    text: str | None
    recipients: tuple[str, ...]
    conditions: tuple[Condition, ...]
    award: AwardForm | None = None
    cap: Expr | None = None
    # How earlier grants under this clause count (engine.runtime.grants): once (一次性: paid once; any earlier
    # grant means nothing more is due), lifetime (a running total up to the cap, ever), year (a running total up
    # to the cap per fund year), claim (each claim on its own).
    period: str = "claim"
    per: str | None = None  # a text fact naming the object the clause is counted per (a park, a warehouse)
    refers_to: str | None = None  # a document number declared under references:
    refers_clause: str | None = None  # the clause id in that document's policy file, when named
    measure: str | None = None
    requires: tuple[str, ...] = ()
    readings: tuple[str, ...] = ()
    note: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    where: Where = Where()
    award_where: Where = Where()  # where its award: is written, for problems with the amount itself
    offset: Offset | None = None  # an amount received under another programme, deducted after the cap
    # A ceiling an officer decides within (不超过…给予, 择优给予不超过…; 核定): the amount computed is the most that
    # may be paid; the sheet says so, the result marks it, and a round's workbook has a column for the approved amount.
    up_to: bool = False

    def expressions(self) -> list[Expr]:
        """Every expression of the clause: conditions, the award's parts, the cap and the offset."""
        exprs = [c.expr for c in self.conditions]
        if self.award is not None:
            exprs += self.award.expressions()
        if self.cap is not None:
            exprs.append(self.cap)
        if self.offset is not None:
            exprs.append(self.offset.amount)
        return exprs

    def dependencies(self) -> tuple[str, ...]:
        """Clauses whose final outcome this one needs: those it requires, and those its award builds on."""
        return self.requires + (self.award.depends_on() if self.award is not None else ())

    def reads(self) -> frozenset[str]:
        """Every fact and parameter name the clause reads (conditions, award, cap)."""
        names = frozenset().union(*(e.names for e in self.expressions()))
        if self.per is not None:
            names |= {self.per}
        return names | self.award.reads() if self.award is not None else names

    @property
    def kind(self) -> str:
        if self.measure is not None:
            return "measure"
        if self.refers_to is not None:
            return "reference"
        return "award"


@dataclass(frozen=True)
class Group:
    """An exclusive group of clauses: which of them pays (`pick`), and how members' earlier grants count."""

    id: str
    members: tuple[str, ...]
    pick: str  # best | first | all
    reading: str | None = None
    # With pick best or first, how members paid earlier in the same fund year count (engine.runtime.grants):
    # top_up (就高不重复: the year's total on the group stays within the best member's amount) or hold (the
    # member paid first holds the group for that year) or separate (not consulted: each claim's expenses are new,
    # earlier grants count only against each member's own cap).
    earlier: str = "top_up"
    note: str | None = None
    where: Where = Where()


@dataclass(frozen=True)
class Reference:
    """A document the policy refers to (refers_to:), and what role its rules play."""

    id: str
    title: str
    # rules: amounts are set there | standard: it sets a recognition standard, not an amount | basis: cited only
    role: str = "rules"
    note: str | None = None


@dataclass(frozen=True)
class Alternative:
    """Another reading of the same words: what it says, what changes under it, and, when it can be written,
    the change itself (entries in the form a county file uses) so that `policy diff --reading` can apply it."""

    choice: str
    effect: str | None = None
    change: Mapping[str, object] | None = None


@dataclass(frozen=True)
class Reading:
    """A question the text leaves open, the answer the file takes, and the other readings."""

    id: str
    question: str
    choice: str
    alternatives: tuple[Alternative, ...] = ()
    why: str | None = None  # the reason the file's choice is taken


@dataclass(frozen=True)
class Recipient:
    """A kind of applicant the policy names (seller, park operator ...)."""

    id: str
    label: str
    description: str | None = None


class Links(Mapping[str, "Policy"]):
    """The policies of a linked set by document number: filled while the set is built, read-only once sealed."""

    def __init__(self) -> None:
        self._policies: dict[str, Policy] = {}
        self._sealed = False

    def add(self, document: str, policy: Policy) -> None:
        if self._sealed:
            raise TypeError("a sealed set of linked policies cannot change")
        self._policies[document] = policy

    def seal(self) -> Links:
        self._sealed = True
        return self

    def __getitem__(self, document: str) -> Policy:
        return self._policies[document]

    def __iter__(self) -> Iterator[str]:
        return iter(self._policies)

    def __len__(self) -> int:
        return len(self._policies)


@dataclass(frozen=True)
class Pool:
    """A total shared by the claims of a round on `clauses`: pro rata, or in order of a fact (smallest first)."""

    id: str
    clauses: tuple[str, ...]
    total: Decimal
    share: str  # pro_rata | in_order
    order_by: str | None = None  # a declared fact, or CLAIM_DATE; for share: in_order
    label: str | None = None
    text: str | None = None
    line: int | None = None
    reading: str | None = None  # the reading that explains the pool (its total, how it is shared)

    @property
    def title(self) -> str:
        return self.label or self.id


def pool_of(pools: Sequence[Pool], clause_id: str) -> Pool | None:
    """The pool a clause's amount is paid from, if any (a clause is in one pool at most)."""
    for pool in pools:
        if clause_id in pool.clauses:
            return pool
    return None


@dataclass(frozen=True)
class Policy:
    """A policy file compiled: its period, areas, money rule, facts, parameters, clauses, groups, readings and
    pools, built once (engine.model.compile) and only read afterwards."""

    id: str
    document: str
    title: str
    issuer: str | None
    language: str
    start: dt.date
    end: dt.date | None
    areas: tuple[str, ...]
    money: MoneyRule
    recipients: Mapping[str, Recipient]
    facts: Mapping[str, Fact]
    parameters: Mapping[str, Parameter]
    clauses: tuple[Clause, ...]
    groups: tuple[Group, ...]
    references: Mapping[str, Reference]
    readings: Mapping[str, Reading]
    file: str | None = None
    signed: dt.date | None = None
    period_assumed: bool = False  # in_force dates not in the source text: every result says so
    period_reading: str | None = None
    areas_reading: str | None = None
    # The fact stating the year a claim is for (申报所属年度); None: the calendar year of the claim's date.
    fund_year: str | None = None
    fund_year_reading: str | None = None
    # Which fund years are paid, by the days of the year that must fall in the period in force (any_day,
    # first_day, last_day, every_day; None: the fund year is not checked against the period); and how many months
    # after its fund year a claim may be filed (None: the claim date must fall in the period in force). Both
    # only with fund_year.
    fund_year_in_force: str | None = None
    filing_months: int | None = None
    # The document's own article headings, quoted (第四条 → 支持建设跨境电商产业园); clause titles are the file's.
    articles: Mapping[str, str] = field(default_factory=dict)
    # Where the money rule comes from: ("text", the document's sentence) or ("practice", the bureau's practice).
    money_source: tuple[str, str] | None = None
    currencies: Mapping[str, Currency] = field(default_factory=dict)
    derived: Mapping[str, Derived] = field(default_factory=dict)
    conditions: tuple[Condition, ...] = ()  # shared conditions (申报条件), also at the head of each clause's
    pools: tuple[Pool, ...] = ()  # budget pools a round shares out (engine.model.pools; shared: engine.core.shares)
    # Policies of documents this one refers to by clause, by document number, when supplied. Shared by every
    # policy of one linked set (references may point back), so it is filled after they are made, then sealed.
    linked: Mapping[str, "Policy"] = field(default_factory=lambda: Links().seal(), compare=False, repr=False)
    # The files it was made from (the file, its extends: parents, the documents its clauses refer to), as read,
    # each (path, sha256 of its bytes, its bytes), and the revision: one hash of their hashes, in that order.
    # Set where files are read (engine.workspace.load_policy); empty and None for a policy compiled from data.
    sources: tuple[tuple[str, str, bytes], ...] = field(default=(), compare=False, repr=False)
    revision: str | None = field(default=None, compare=False)

    def counted_clauses(self, recipient: str | None = None) -> list[Clause]:
        """The clauses whose earlier grants count, for `recipient` (every kind when None): a capped or one-time
        award, and each member of an exclusive group that weighs its members' earlier grants (earlier: top_up or
        hold; engine.runtime.interpret._Run.choose asks what each was paid this fund year). What an applicant is
        asked under `granted`, a round's granted columns, the form's and the ledger's grants are these."""
        weighed = {m for g in self.groups if g.earlier != "separate" for m in g.members}
        return [c for c in self.clauses if c.award is not None
                and (c.cap is not None or c.period == "once" or c.id in weighed)
                and (recipient is None or recipient in c.recipients)]

    def all_facts(self) -> dict[str, Fact]:
        """This policy's facts, then those of linked documents (their clauses read the same applicant)."""
        out = dict(self.facts)
        for other in self.linked.values():
            if other is not self:
                for name, fact in other.facts.items():
                    out.setdefault(name, fact)
        return out

    def __getstate__(self) -> dict[str, object]:
        """Pickled (engine.cache) without what the runtime keeps beside it (its plan, its facts checker)."""
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def fund_year_paid(self, year: int) -> bool:
        """Whether the policy pays claims for this fund year (fund_year_in_force)."""
        first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
        end = self.end or dt.date.max

        def inside(day: dt.date) -> bool:
            return self.start <= day <= end

        rule = self.fund_year_in_force
        if rule is None:
            return True
        if rule == "first_day":
            return inside(first)
        if rule == "last_day":
            return inside(last)
        if rule == "every_day":
            return inside(first) and inside(last)
        return first <= end and last >= self.start

    def fund_years_paid(self) -> tuple[int, int | None]:
        """The first and last fund year paid (None: no last, for a policy without an end)."""
        year, limit = self.start.year, (self.end.year if self.end is not None else self.start.year + 1)
        while year < limit and not self.fund_year_paid(year):
            year += 1
        if self.end is None:
            return year, None
        last = self.end.year
        while last >= year and not self.fund_year_paid(last):
            last -= 1
        return year, last

    def filing_deadline(self, year: int) -> dt.date | None:
        """The last day a claim for this fund year may be filed (filing_months after the year ends)."""
        if self.filing_months is None:
            return None
        months = 12 * (year + 1) + self.filing_months  # the first month after the window, counted from year 0
        return dt.date(months // 12, months % 12 + 1, 1) - dt.timedelta(days=1)

    def clause(self, clause_id: str) -> Clause:
        for clause in self.clauses:
            if clause.id == clause_id:
                return clause
        raise KeyError(clause_id)

