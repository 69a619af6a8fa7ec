"""A policy's facts checker, compiled once: plainly valid facts converted in microseconds, anything else refused.

`FactsChecker(policy).check(data)` reads a facts mapping of exactly the expected shape and returns the fields
of an `Applicant`, or None the moment anything is not plainly valid: an unknown key, a value of the wrong
type or form, a bound crossed, a number out of range, text with a control character or a lone surrogate…
The caller then takes the full path (the JSON Schema and `engine.model.facts._convert`), which words and
places every problem. So `check` never decides a refusal: it accepts a subset of what the full path
accepts, and converts each value to exactly the same Decimal, bool, str, date or tuple of items (amounts
as `engine.core.amounts.parse_amount` reads them).

Each fact gets a converter closure chosen for its type when the checker is made; a converter returns the
value or raises `_Refuse`. Amount text is read without regular expressions: plain ASCII digits with at most
one decimal point, an optional unit, no spaces, commas or '+' (and '-' only for a number); every other form
(1,000 or ' 5 万元') is valid or not as the full path says.

Converters of amounts and dates remember what they made of each text (and int) they accepted, in a small
table per fact that is emptied when full: applicants repeat values (10万元, 50%, a claim's date), a Decimal
or date is immutable, and the value remembered is the one the conversion made, so nothing read changes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar

from engine.core.amounts import MAX_INTEGER_DIGITS, MAX_PLACES, READING, UNITS, out_of_range, whole_fen
from engine.core.text import identity, unwanted
from engine.model.policy import Fact, Policy

_TOP = frozenset({"applicant", "recipient", "area", "date", "facts", "granted", "note"})
_LIMIT = 10 ** MAX_INTEGER_DIGITS  # an int is in range when -_LIMIT < n < _LIMIT (Decimal.adjusted() < 16)
_MAX_ITEMS = 10000  # the facts schema's maxItems for a list
_MEMO_SIZE = 4096  # texts remembered per converter before its table is emptied
_WAN, _YI, _PERCENT = UNITS["万"], UNITS["亿"], UNITS["%"]
_fromisoformat = dt.date.fromisoformat
_multiply = READING.multiply  # as written: a number too large is refused below, where it is written


class _Refuse(Exception):
    """Not plainly valid: the full path decides (and words the problem, if there is one)."""


_NONE: Mapping[object, object] = MappingProxyType({})  # the table of a converter that keeps none

Converter = Callable[[Any], object]
_T = TypeVar("_T")
# What check() finds: recipients, values, area, date, applicant's name, granted, and the ledger of earlier
# grants as (clause, amount, year, for) (the Applicant's fields).
Ledger = tuple[tuple[str, Decimal, int, "str | None"], ...]
Found = tuple[tuple[str, ...], dict[str, object], str | None, dt.date | None, str | None,
              dict[str, Decimal] | None, Ledger]
_GRANT_KEYS = frozenset({"clause", "amount", "year", "for", "date", "note"})


# --- amounts as text ------------------------------------------------------------------------------------

def _plain(core: str, unit: Decimal | None, max_places: int, minus: bool) -> Decimal:
    """parse_amount's value of `core` × `unit`, for core in ASCII digits with at most one point (digits on
    both sides) and, if minus, a leading '-'. parse_amount multiplies by Decimal(1) when there is no unit:
    exact for anything in range (at most 16 + 12 digits), so the Decimal is the same without it."""
    if not core.isascii():
        raise _Refuse
    if not core.isdigit():
        whole, dot, fraction = core.partition(".")
        if minus and whole[:1] == "-":
            whole = whole[1:]
        if not whole.isdigit() or (dot and (not fraction.isdigit() or len(fraction) > max_places)):
            raise _Refuse
    value = Decimal(core) if unit is None else _multiply(Decimal(core), unit)
    # Places are bounded above (unit adds none, except % which the caller allows for): only the size is left.
    if not value:
        return value.copy_abs()  # -0 is 0, as parse_amount has it
    if value.adjusted() >= MAX_INTEGER_DIGITS:
        raise _Refuse
    return value


def _money_text(raw: str) -> Decimal:
    """Money in the forms MONEY_PATTERN allows, plainly written: 1234.5, 1234.5元, 10万元, 2亿元, 10万, 2亿."""
    last = raw[-1:]
    if last == "元":
        before = raw[-2:-1]
        if before == "万":
            return _plain(raw[:-2], _WAN, MAX_PLACES, False)
        if before == "亿":
            return _plain(raw[:-2], _YI, MAX_PLACES, False)
        return _plain(raw[:-1], None, MAX_PLACES, False)
    if last == "万":
        return _plain(raw[:-1], _WAN, MAX_PLACES, False)
    if last == "亿":
        return _plain(raw[:-1], _YI, MAX_PLACES, False)
    return _plain(raw, None, MAX_PLACES, False)


def _number_text(raw: str) -> Decimal:
    """A number in the forms NUMBER_PATTERN allows, plainly written: -12.5, 3万, 2亿."""
    last = raw[-1:]
    if last == "万":
        return _plain(raw[:-1], _WAN, MAX_PLACES, True)
    if last == "亿":
        return _plain(raw[:-1], _YI, MAX_PLACES, True)
    return _plain(raw, None, MAX_PLACES, True)


def _percent_text(raw: str) -> Decimal:
    """A percentage as PERCENT_PATTERN allows, plainly written: 50% is 0.50, 12.5% is 0.125."""
    if raw[-1:] != "%":
        raise _Refuse
    return _plain(raw[:-1], _PERCENT, MAX_PLACES - 2, False)  # × 0.01 adds two places


# --- amounts as numbers ---------------------------------------------------------------------------------

def _amount_number(raw: Any, low: bool, high: bool) -> Decimal:
    """A number given as an int, float or Decimal; within [0, 1] where the schema says so (low, high)."""
    kind = type(raw)
    if kind is int:
        if (low and raw < 0) or (high and raw > 1) or not -_LIMIT < raw < _LIMIT:
            raise _Refuse
        return Decimal(raw)
    if kind is float:
        if (low and not raw >= 0) or (high and not raw <= 1):
            raise _Refuse
        # parse_amount reads a float by its repr: '1e-05', 'nan' and 'inf' are not plain and go the full way.
        return _plain(repr(raw), None, MAX_PLACES, True)
    if kind is Decimal:
        value: Decimal = raw
        if not value.is_finite() or (low and value < 0) or (high and value > 1) or out_of_range(value):
            raise _Refuse
        return value if value else value.copy_abs()
    raise _Refuse  # bool, None, anything else


def _integer(raw: Any, low: bool = False, high: bool = False) -> Decimal:
    kind = type(raw)
    if kind is int:
        if not -_LIMIT < raw < _LIMIT:
            raise _Refuse
        return Decimal(raw)  # never -0
    if kind is Decimal:
        value: Decimal = raw
        if value.is_finite() and not out_of_range(value) and value == value.to_integral_value():
            return value if value else value.copy_abs()
    raise _Refuse  # floats (5.0), text and everything else: the full path decides


def _date(raw: Any) -> dt.date:
    # YYYY-MM-DD in ASCII digits, and a real day (fromisoformat alone would also take 20210101, 2021-W01-1).
    if (type(raw) is not str or len(raw) != 10 or raw[4] != "-" or raw[7] != "-" or not raw.isascii()
            or not (raw[:4] + raw[5:7] + raw[8:]).isdigit()):
        raise _Refuse
    return _fromisoformat(raw)  # ValueError for 2021-02-30: the full path words it


# --- converters -----------------------------------------------------------------------------------------

def _remembering(convert: Callable[[Any], _T]) -> Callable[[Any], _T]:
    """`convert`, remembering the value of each text it accepts."""
    memo: dict[str, _T] = {}
    get = memo.get

    def converter(raw: Any) -> _T:
        value = get(raw) if type(raw) is str else None
        if value is None:
            value = convert(raw)
            if type(raw) is str:
                if len(memo) >= _MEMO_SIZE:
                    memo.clear()
                memo[raw] = value
        return value

    converter.memo = memo  # type: ignore[attr-defined]
    return converter


def _amount(text: Callable[[str], Decimal] | None, low: bool, high: bool,
            minimum: Decimal | None = None, maximum: Decimal | None = None, fen: bool = False) -> Converter:
    """An amount converter: text read by `text` (None: numbers only), numbers within [0, 1] where the
    schema says so (low, high), then the fact's declared bounds; remembering each text and int accepted.

    The table's keys are exact str and int only: no two of them are equal unless the same (True == 1 ==
    1.0 == Decimal(1) never meet in it)."""
    memo: dict[str | int, Decimal] = {}
    get = memo.get
    number = _amount_number if text is not None else _integer

    def amount(raw: Any) -> Decimal:
        kind = type(raw)
        if kind is str:
            value = get(raw)
            if value is not None:
                return value
            if text is None:
                raise _Refuse
            value = text(raw)
        elif kind is int:
            value = get(raw)
            if value is not None:
                return value
            value = number(raw, low, high)
        else:
            value = number(raw, low, high)
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise _Refuse
        if fen and not whole_fen(value):  # money finer than the fen: the full path words it
            raise _Refuse
        if kind is str or kind is int:
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[raw] = value
        return value

    amount.memo = memo  # type: ignore[attr-defined]
    return amount


def _boolean(raw: Any) -> bool:
    if type(raw) is bool:
        return raw
    raise _Refuse


def _plain_text(raw: str) -> bool:
    """True for text with no character engine.core.text.unwanted finds (the full path refuses those in data
    given from Python; a file's were refused as it was read). Printable text has none: one C call."""
    return raw.isprintable() or unwanted(raw) is None


def _text(raw: Any) -> str:
    if type(raw) is str and _plain_text(raw):
        return raw
    raise _Refuse


def _converter(fact: Fact) -> Converter:
    t = fact.type
    if t == "money":
        # Money in another currency, written as text, goes to the full path, which checks the currency named.
        return _amount(_money_text if fact.currency is None else None, True, False, fact.minimum, fact.maximum,
                       fen=True)
    if t == "number":
        return _amount(_number_text, False, False, fact.minimum, fact.maximum)
    if t == "percent":
        # A number above 1 is refused by the schema (and by _convert); text such as 150% only by a maximum.
        return _amount(_percent_text, True, True, fact.minimum, fact.maximum)
    if t == "integer":
        return _amount(None, False, False, fact.minimum, fact.maximum)
    if t == "boolean":
        return _boolean
    if t == "date":
        return _remembering(_date)
    if t == "text":
        if not fact.choices:
            return _text
        choices = frozenset(c for c in fact.choices if type(c) is str and _plain_text(c))

        def choice(raw: Any) -> str:
            if type(raw) is str and raw in choices:
                return raw
            raise _Refuse
        return choice
    if t == "list":
        fields = {name: _converter(item) for name, item in fact.items.items()}

        def items(raw: Any) -> tuple[dict[str, object], ...]:
            if type(raw) is not list or len(raw) > _MAX_ITEMS:
                raise _Refuse
            out = []
            for item in raw:
                if type(item) is not dict:
                    raise _Refuse
                out.append({name: fields[name](value) for name, value in item.items() if value is not None})
                if len(item) != len(out[-1]) and not item.keys() <= fields.keys():
                    raise _Refuse  # an unknown field given as null
            return tuple(out)
        return items
    raise _Unknown(t)


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
        self.booleans = frozenset(name for name, fact in facts.items() if fact.type == "boolean")
        # Lists whose items identify what they stand for: two items with one identity go to the full path,
        # which names both.
        self.unique = {name: fact.unique for name, fact in facts.items() if fact.unique}
        # Parts and their wholes (at_most:): a part above its whole goes to the full path, which names both.
        self.at_most = tuple((name, fact.at_most) for name, fact in facts.items() if fact.at_most is not None)
        self.clause_ids = frozenset(c.id for c in policy.clauses if c.award is not None or c.refers_to is not None)
        self.per = frozenset(c.id for c in policy.clauses if c.per is not None)  # grants must say for which
        self.money = _amount(_money_text, True, False, fen=True)
        self.date = _remembering(_date)

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
