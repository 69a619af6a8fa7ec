"""A policy's facts checker, compiled once: plainly valid facts converted in microseconds, anything else refused.

`FactsChecker(policy).check(data)` reads a facts mapping of exactly the expected shape and returns the fields
of an `Applicant`, or None the moment anything is not plainly valid: an unknown key, a value of the wrong
type or form, a bound crossed, a number out of range, text with a control character or a lone surrogate…
The caller then takes the full path (the JSON Schema and `engine.model.facts._convert`), which words and
places every problem. So `check` never decides a refusal: it accepts a subset of what the full path
accepts, and converts each value to exactly the same Decimal, bool, str, date or tuple of items (amounts
as `engine.core.amounts.parse_amount` reads them).

Each fact gets its kind's fast converter (`engine.model.kinds`, beside the kind's full conversion) when the
checker is made; a converter returns the value or raises `Refuse`. Amount text is read without regular
expressions: plain ASCII digits with at most one decimal point, an optional unit, no spaces, commas or '+'
(and '-' only for a number); every other form (1,000 or ' 5 万元') is valid or not as the full path says.

Converters of amounts and dates remember what they made of each text (and int) they accepted, in a small
table per fact that is emptied when full: applicants repeat values (10万元, 50%, a claim's date), a Decimal
or date is immutable, and the value remembered is the one the conversion made, so nothing read changes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Iterator, Mapping, Sequence

from engine.core.text import identity
from engine.model.declared import outside_windows
from engine.model.kinds.amounts import fast_amount
from engine.model.kinds.base import Converter, Refuse, plain_text
from engine.model.kinds.date import fast_date, remembering
from engine.model.kinds.money import money_text
from engine.model.policy import Fact, Policy

_TOP = frozenset({"applicant", "recipient", "area", "date", "facts", "granted", "note"})
_NONE: Mapping[object, object] = MappingProxyType({})  # the table of a converter that keeps none

# What check() finds: recipients, values, area, date, applicant's name, granted, and the ledger of earlier
# grants as (clause, amount, year, for) (the Applicant's fields).
Ledger = tuple[tuple[str, Decimal, int, "str | None"], ...]
Found = tuple[tuple[str, ...], dict[str, object], str | None, dt.date | None, str | None,
              dict[str, Decimal] | None, Ledger]
_GRANT_KEYS = frozenset({"clause", "amount", "year", "for", "date", "note"})
_Refuse = Refuse
_plain_text = plain_text


def _converter(fact: Fact) -> Converter:
    """The fast converter of `fact`, its kind's (engine.model.kinds); _Unknown for a kind there is none of."""
    from engine.model.kinds import KINDS

    kind = KINDS.get(fact.type)
    if kind is None:
        raise _Unknown(fact.type)
    return kind.fast(fact)


def repeats(items: Sequence[Mapping[str, object]], identities: tuple[str, ...]) -> Iterator[tuple[str, int, int]]:
    """(field, first, second) for each item that repeats an earlier one in an identifying field: the same
    enterprise listed twice (names compared by engine.core.text.identity)."""
    for field in identities:
        seen: dict[object, int] = {}
        for i, item in enumerate(items):
            value = item.get(field)
            if isinstance(value, str):
                value = identity(value)
            if value is None or value == "":
                continue
            if value in seen:
                yield field, seen[value], i
            else:
                seen[value] = i


class _Unknown(Exception):
    """A fact type this checker does not know: it then leaves every applicant to the full path."""


# --- the checker ----------------------------------------------------------------------------------------

class FactsChecker:
    """The compiled fast check of one policy's facts; shared, and immutable but for its converters' tables."""

    def __init__(self, policy: Policy):
        self.single = {kind: (kind,) for kind in policy.recipients}  # recipient: kind -> recipients
        self.kinds = frozenset(policy.recipients)
        facts = policy.all_facts()
        try:
            self.converters: dict[str, Converter] | None = {name: _converter(fact) for name, fact in facts.items()}
        except _Unknown:
            self.converters = None
        # Each fact's table of values already read (empty and never filled for facts whose converter keeps
        # none), looked up in check() itself before calling the converter; and the boolean facts.
        self.memos = {name: getattr(convert, "memo", _NONE) for name, convert in (self.converters or {}).items()}
        self.booleans = frozenset(name for name, fact in facts.items() if fact.kind.bool_is_value)
        # Lists whose items identify what they stand for: two items with one identity go to the full path,
        # which names both.
        self.unique = {name: fact.unique for name, fact in facts.items() if fact.unique}
        # Parts and their wholes (at_most:): a part above its whole goes to the full path, which names both.
        self.at_most = tuple((name, fact.at_most) for name, fact in facts.items() if fact.at_most is not None)
        # Windows a figure is counted over (counted_over:) with days the applicant states: a day outside goes to
        # the full path, which names it and the window.
        self.windows = {name: fact for name, fact in facts.items() if fact.window is not None and fact.window.dates}
        self.fund_year = policy.fund_year
        self.clause_ids = frozenset(c.id for c in policy.clauses if c.award is not None or c.refers_to is not None)
        self.per = frozenset(c.id for c in policy.clauses if c.per is not None)  # grants must say for which
        self.money = fast_amount(money_text, True, False, fen=True)
        self.date = remembering(fast_date)

    def check(self, data: Any) -> Found | None:
        """(recipients, values, area, date, name, granted) for plainly valid facts, else None."""
        try:
            converters = self.converters
            if type(data) is not dict or converters is None or not data.keys() <= _TOP:
                return None
            get = data.get

            recipient = get("recipient")
            if type(recipient) is str:
                recipients = self.single.get(recipient)
                if recipients is None:
                    return None
            elif type(recipient) is list and recipient:
                recipients = tuple(recipient)
                kinds = self.kinds
                for each in recipients:
                    if type(each) is not str or each not in kinds:
                        return None
            else:
                return None

            values: dict[str, object] = {}
            facts = get("facts")
            if type(facts) is dict:
                memos, booleans = self.memos, self.booleans
                for name, raw in facts.items():  # an unknown name is a KeyError
                    kind = type(raw)
                    if kind is bool and name in booleans:
                        values[name] = raw
                    elif kind is str or kind is int:  # True == 1 never meets the tables: bools go above
                        value = memos[name].get(raw)
                        values[name] = converters[name](raw) if value is None else value
                    elif raw is not None:
                        values[name] = converters[name](raw)
                    elif name not in converters:
                        return None
            elif facts is not None or "facts" in data:
                return None
            for name, identities in self.unique.items():
                items = values.get(name)
                if items and len(items) > 1 and next(repeats(items, identities), None):  # type: ignore[arg-type]
                    return None
            for name, whole in self.at_most:
                part, limit = values.get(name), values.get(whole)
                if isinstance(part, Decimal) and isinstance(limit, Decimal) and part > limit:
                    return None

            if self.windows and any(True for _ in outside_windows(self.windows, values, self.fund_year)):
                return None
            granted = get("granted")
            ledger: Ledger = ()
            if type(granted) is list:
                read = self.ledger(granted)
                if read is None:
                    return None
                ledger, granted = read, {}
            elif granted is not None:
                if type(granted) is not dict or not granted.keys() <= self.clause_ids:
                    return None
                money, amounts = self.money, granted
                granted = {}
                for clause, amount in amounts.items():
                    granted[clause] = money(amount)

            area = get("area")
            if area is not None:
                if type(area) is not str or not _plain_text(area):
                    return None
                # Surrounding spaces in an area name are a typing slip, not another area (as in the full path).
                area = area.strip() or None
            day = get("date")
            if day is not None:
                day = self.date(day)
            name = get("applicant")
            if (name is None and "applicant" in data) or (name is not None and (type(name) is not str
                                                                                 or not _plain_text(name))):
                return None
            if "note" in data and (type(data["note"]) is not str or not _plain_text(data["note"])):
                return None
            return recipients, values, area, day, name, granted, ledger
        except Exception:  # _Refuse, a KeyError for an unknown name, anything unforeseen: the full path decides
            return None

    def ledger(self, entries: list[Any]) -> Ledger | None:
        """The list form of granted:, plainly valid (each entry's clause, amount, year, and for: where the clause is
        counted per object); else None, and the full path says what is wrong."""
        out = []
        money, clause_ids, per = self.money, self.clause_ids, self.per
        if len(entries) > 10000:
            return None
        for entry in entries:
            if type(entry) is not dict or not entry.keys() <= _GRANT_KEYS:
                return None
            clause, year, key = entry.get("clause"), entry.get("year"), entry.get("for")
            if type(year) is Decimal and year.is_finite() and year == year.to_integral_value():
                year = int(year)  # a file's numbers are read as Decimal
            if type(clause) is not str or clause not in clause_ids or type(year) is not int \
                    or not 1900 <= year <= 2999 or "amount" not in entry:
                return None
            if key is None:
                if clause in per:
                    return None
            elif type(key) is not str or not key.strip() or len(key) > 200 or not _plain_text(key):
                return None
            if "date" in entry and entry["date"] is not None:
                self.date(entry["date"])
            note = entry.get("note")
            if note is not None and (type(note) is not str or not _plain_text(note)):
                return None
            amount = money(entry["amount"])
            if not isinstance(amount, Decimal):
                return None
            out.append((clause, amount, year, key.strip() if key is not None else None))
        return tuple(out)
