"""What a policy declares about its applicants' facts, and where in its file: below the award forms, which
build conditions over a list's item fields, and below the compiled policy (engine.model.policy re-exports both)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterator, Mapping

from engine.core.messages import Message, msg
from engine.model.kinds import KINDS
from engine.model.kinds.base import FactKind


@dataclass(frozen=True)
class Where:
    """A position in a policy file, for messages about a compiled element."""

    file: str | None = None
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class Window:
    """支持时间: the days a fact's figure is counted over (costs incurred between two dates), declared with the
    fact as `counted_over:`. Either fixed days (`start`, `end`, both included) or the claim's fund year (1 January
    to 31 December of the year the fund-year fact names). `dates` are date facts in which the applicant states
    the days the figure covers; a stated day outside the window is an input error."""

    start: dt.date | None = None
    end: dt.date | None = None
    fund_year: bool = False
    text: str | None = None
    dates: tuple[str, ...] = ()

    def days(self, year: object) -> tuple[dt.date | None, dt.date | None] | None:
        """The first and last day of the window (None where open); None when it is the fund year and the year
        is not known."""
        if not self.fund_year:
            return self.start, self.end
        if not isinstance(year, (int, Decimal)) or isinstance(year, bool) or not 1 <= int(year) <= 9999:
            return None
        return dt.date(int(year), 1, 1), dt.date(int(year), 12, 31)


def outside_windows(facts: Mapping[str, "Fact"], values: Mapping[str, object], fund_year_fact: str | None
                    ) -> Iterator[tuple[str, str, dt.date, dt.date | None, dt.date | None]]:
    """(fact, date fact, the day stated, first day, last day) for each day an applicant states outside the window
    its fact is counted over."""
    for name, fact in facts.items():
        window = fact.window
        if window is None or not window.dates:
            continue
        days = window.days(values.get(fund_year_fact) if fund_year_fact else None)
        if days is None:
            continue
        first, last = days
        for date_fact in window.dates:
            day = values.get(date_fact)
            if isinstance(day, dt.date) and ((first is not None and day < first) or (last is not None and day > last)):
                yield name, date_fact, day, first, last


def window_words(first: dt.date | None, last: dt.date | None) -> Message:
    """2022-01-01 至 2022-12-31, with an open end said as such (a Message: in the reader's language)."""
    if first is not None and last is not None:
        return msg("window.between", start=first.isoformat(), end=last.isoformat())
    if first is not None:
        return msg("window.from", start=first.isoformat())
    return msg("window.until", end=last.isoformat() if last else "…")


@dataclass(frozen=True)
class Fact:
    """A fact the policy declares an applicant supplies: its kind (`type`), label, unit and bounds."""

    name: str
    type: str  # money | number | integer | percent | boolean | text | date | list
    label: str
    unit: str | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    choices: tuple[str, ...] = ()
    description: str | None = None
    items: Mapping[str, "Fact"] = field(default_factory=dict)  # for type list: the fields of each item
    # For type list: item fields that identify what an item stands for (an enterprise's name or credit code);
    # two items with the same value in one of them are the same thing listed twice, an input error.
    unique: tuple[str, ...] = ()
    currency: str | None = None  # for money: its ISO code when not the policy's (USD for 美元)
    # Another fact of the same type this one can never exceed (a part and its whole): both facts checkers
    # refuse values where it does, naming both.
    at_most: str | None = None
    window: Window | None = None  # counted_over: 支持时间, the days the figure is counted over
    where: Where = Where()

    @property
    def kind(self) -> FactKind:
        """Everything about this fact's kind of value (engine.model.kinds): how it is read, shown and stored."""
        return KINDS[self.type]
