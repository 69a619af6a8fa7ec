"""What the kinds that are amounts (money, number, percent, integer) share: reading an amount, full and fast.

The full path reads with engine.core.amounts.parse_amount and words what it refuses; the fast one reads plain
ASCII digits without regular expressions and gives exactly the same Decimal, or Refuse. A sheet's cell is
read as the facts loader would read it: text as typed, an int, a float by its shortest text form.
"""

from __future__ import annotations

import datetime as dt
import re
from abc import abstractmethod
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from engine.core.amounts import (
    MAX_INTEGER_DIGITS,
    MAX_PLACES,
    READING,
    UNITS,
    AmountSyntaxError,
    out_of_range,
    parse_amount,
    plain,
    whole_fen,
)
from engine.core.errors import Problem
from engine.core.messages import Message, msg
from engine.lang.expressions import NUM
from engine.model.kinds.base import BadCell, Converter, FactKind, Refuse

if TYPE_CHECKING:
    from engine.core.errors import ProblemList
    from engine.model.policy import Fact
    from engine.syntax.loader import Path_, SourceMap

_LIMIT = 10 ** MAX_INTEGER_DIGITS  # an int is in range when -_LIMIT < n < _LIMIT (Decimal.adjusted() < 16)
_WAN, _YI, _PERCENT = UNITS["万"], UNITS["亿"], UNITS["%"]
_multiply = READING.multiply  # as written: a number too large is refused below, where it is written
_WHOLE = re.compile(r"^[+-]?\d{1,16}$")


class AmountKind(FactKind):
    """A kind whose value is a Decimal read as parse_amount reads it, within the fact's declared bounds."""

    value: ClassVar[str] = NUM
    ordered: ClassVar[bool] = True
    numeric: ClassVar[bool] = True
    cell_as_text: ClassVar[bool] = True
    fen: ClassVar[bool] = False  # exact to the fen (money), whatever source the value comes from
    sql_unstripped: ClassVar[bool] = True  # digits, a point, 万, 元, %: never a space

    def convert(self, fact: Fact, raw: Any, path: Path_, source: SourceMap, problems: ProblemList,
                own: str) -> object:
        value = read_amount(self.number_part(raw), path, source, problems, fact, None)
        if value is None:
            return None
        self.check(fact, raw, value, path, source, problems)
        if fact.minimum is not None and value < fact.minimum:
            problems.add(source.problem(msg("facts.minimum", name=fact.name, label=fact.label,
                                            limit=self.bound(fact, fact.minimum), value=raw), path))
        if fact.maximum is not None and value > fact.maximum:
            problems.add(source.problem(msg("facts.maximum", name=fact.name, label=fact.label,
                                            limit=self.bound(fact, fact.maximum), value=raw), path))
        return value

    def number_part(self, raw: object) -> object:
        """What of a value given is the amount parse_amount reads (all of it, but for a unit of the kind's own)."""
        return raw

    def check(self, fact: Fact, raw: Any, value: Decimal, path: Path_, source: SourceMap,
              problems: ProblemList) -> None:
        """What this kind checks of a value read, besides the declared bounds."""

    @abstractmethod
    def fast(self, fact: Fact) -> Converter: ...

    def restored(self, stored: str) -> object:
        try:
            return Decimal(stored)
        except ArithmeticError:
            return stored  # not a number: the facts check words it

    def places_reason(self, places: int) -> Message:
        """Why an amount with too many decimal places is refused."""
        return msg("facts.range.places", places=places, limit=MAX_PLACES)

    def read_cell(self, value: object, header: str) -> object:
        return amount_cell(value, header, False)


# --- the full path ----------------------------------------------------------------------------------------

def read_amount(raw: object, path: Path_, source: SourceMap, problems: ProblemList, fact: Fact | None,
                clause: str | None) -> Decimal | None:
    """parse_amount's value of a schema-valid amount (of `fact`, or granted for `clause`), or None with a
    problem added: what the schema's patterns let through but no amount can be (17 integer digits, 13
    decimal places, 1000000000000万元, 33.33333333333% which is 13 places) and floats whose text form is
    not an amount (1e-07, nan, inf: Python's way of writing them, not an applicant's); money (and granted)
    finer than the fen, refused the same for every source (a file, Python data, a cell, an HTTP body)."""
    try:
        value = parse_amount(raw)
    except AmountSyntaxError as exc:
        problems.add(unreadable(exc, raw, path, source, fact, clause))
        return None
    if (fact is None or (isinstance(fact.kind, AmountKind) and fact.kind.fen)) and not whole_fen(value):
        shown = raw.strip() if isinstance(raw, str) else repr(raw) if isinstance(raw, float) else str(raw)
        problems.add(source.problem(msg("facts.not_fen", name=fact.name, label=fact.label, value=shown) if fact
                                    else msg("facts.granted.not_fen", clause=clause, value=shown), path,
                                    suggestion=msg("facts.not_fen.hint")))
        return None
    return value


def unreadable(exc: AmountSyntaxError, raw: object, path: Path_, source: SourceMap, fact: Fact | None,
               clause: str | None) -> Problem:
    """The problem with an amount parse_amount refused: out of range with its limit, or not an amount."""
    from engine.syntax.schema import _kind_of

    message = exc.message
    exact = (message.values.get("value") if isinstance(message, Message) and message.key == "amount.out_of_range"
             else None)
    floated = msg("facts.float.hint", text=repr(raw)) if isinstance(raw, float) else None
    if isinstance(message, Message) and message.key == "amount.numerals":  # Chinese numerals, and why not exact
        return source.problem(msg("facts.numerals", name=fact.name, label=fact.label, why=message) if fact
                              else msg("facts.granted.numerals", clause=clause, why=message), path)
    if not isinstance(exact, Decimal) or not exact.is_finite():  # not an amount as written (floats only)
        if fact is None:
            return source.problem(msg("facts.granted", clause=clause, kind=_kind_of(raw)), path, suggestion=floated)
        return source.problem(msg("facts.wrong_type", name=fact.name, label=fact.label,
                                  form=fact.kind.form_words(), kind=_kind_of(raw)), path, suggestion=floated)
    written = raw.strip() if isinstance(raw, str) else repr(raw) if isinstance(raw, float) else str(raw)
    hint: Message
    if exact.adjusted() >= MAX_INTEGER_DIGITS:
        reason = msg("facts.range.digits", digits=exact.adjusted() + 1, limit=MAX_INTEGER_DIGITS)
        hint, exact_text = msg("facts.range.digits.hint"), plain(exact)
    else:
        # Places count as written (a unit of 万 or 亿 adds none), but 50% is 0.50: two more as a fraction.
        places = -int(exact.as_tuple().exponent)
        kind = fact.kind if fact is not None else None
        reason = (kind.places_reason(places) if isinstance(kind, AmountKind)
                  else msg("facts.range.places", places=places, limit=MAX_PLACES))
        hint, exact_text = msg("facts.range.places.hint"), f"{exact:f}" if "%" in written else written
    shown: object = written if written == exact_text else msg("facts.value.exact", value=written, exact=exact_text)
    if fact is None:
        return source.problem(msg("facts.granted.out_of_range", clause=clause, value=shown, reason=reason), path,
                              suggestion=floated or hint)
    return source.problem(msg("facts.out_of_range", name=fact.name, label=fact.label, value=shown, reason=reason),
                          path, suggestion=floated or hint)


# --- the fast path: amounts as text -----------------------------------------------------------------------

def plain_amount(core: str, unit: Decimal | None, max_places: int, minus: bool) -> Decimal:
    """parse_amount's value of `core` × `unit`, for core in ASCII digits with at most one point (digits on
    both sides) and, if minus, a leading '-'. parse_amount multiplies by Decimal(1) when there is no unit:
    exact for anything in range (at most 16 + 12 digits), so the Decimal is the same without it."""
    if not core.isascii():
        raise Refuse
    if not core.isdigit():
        whole, dot, fraction = core.partition(".")
        if minus and whole[:1] == "-":
            whole = whole[1:]
        if not whole.isdigit() or (dot and (not fraction.isdigit() or len(fraction) > max_places)):
            raise Refuse
    value = Decimal(core) if unit is None else _multiply(Decimal(core), unit)
    # Places are bounded above (unit adds none, except % which the caller allows for): only the size is left.
    if not value:
        return value.copy_abs()  # -0 is 0, as parse_amount has it
    if value.adjusted() >= MAX_INTEGER_DIGITS:
        raise Refuse
    return value


def wan_yi(raw: str, minus: bool) -> Decimal:
    """A number plainly written with an optional 万 or 亿: -12.5, 3万, 2亿."""
    last = raw[-1:]
    if last == "万":
        return plain_amount(raw[:-1], _WAN, MAX_PLACES, minus)
    if last == "亿":
        return plain_amount(raw[:-1], _YI, MAX_PLACES, minus)
    return plain_amount(raw, None, MAX_PLACES, minus)


def percent_text(raw: str) -> Decimal:
    """A percentage plainly written: 50% is 0.50, 12.5% is 0.125."""
    if raw[-1:] != "%":
        raise Refuse
    return plain_amount(raw[:-1], _PERCENT, MAX_PLACES - 2, False)  # × 0.01 adds two places


# --- the fast path: amounts as numbers --------------------------------------------------------------------

def amount_number(raw: Any, low: bool, high: bool) -> Decimal:
    """A number given as an int, float or Decimal; within [0, 1] where the schema says so (low, high)."""
    kind = type(raw)
    if kind is int:
        if (low and raw < 0) or (high and raw > 1) or not -_LIMIT < raw < _LIMIT:
            raise Refuse
        return Decimal(raw)
    if kind is float:
        if (low and not raw >= 0) or (high and not raw <= 1):
            raise Refuse
        # parse_amount reads a float by its repr: '1e-05', 'nan' and 'inf' are not plain and go the full way.
        return plain_amount(repr(raw), None, MAX_PLACES, True)
    if kind is Decimal:
        value: Decimal = raw
        if not value.is_finite() or (low and value < 0) or (high and value > 1) or out_of_range(value):
            raise Refuse
        return value if value else value.copy_abs()
    raise Refuse  # bool, None, anything else


def whole_number(raw: Any, low: bool = False, high: bool = False) -> Decimal:
    """An integer given as an int or a whole Decimal (floats such as 5.0, and text, go the full way)."""
    kind = type(raw)
    if kind is int:
        if not -_LIMIT < raw < _LIMIT:
            raise Refuse
        return Decimal(raw)  # never -0
    if kind is Decimal:
        value: Decimal = raw
        if value.is_finite() and not out_of_range(value) and value == value.to_integral_value():
            return value if value else value.copy_abs()
    raise Refuse  # floats (5.0), text and everything else: the full path decides


MEMO_SIZE = 4096  # texts remembered per converter before its table is emptied


def fast_amount(text: Callable[[str], Decimal] | None, low: bool, high: bool,
                minimum: Decimal | None = None, maximum: Decimal | None = None, fen: bool = False) -> Converter:
    """An amount converter: text read by `text` (None: numbers only), numbers within [0, 1] where the
    schema says so (low, high), then the fact's declared bounds, exact to the fen if `fen` (money: finer goes
    the full way, which words it); remembering each text and int accepted.

    The table's keys are exact str and int only: no two of them are equal unless the same (True == 1 ==
    1.0 == Decimal(1) never meet in it)."""
    memo: dict[str | int, Decimal] = {}
    get = memo.get
    number = amount_number if text is not None else whole_number

    def amount(raw: Any) -> Decimal:
        kind = type(raw)
        if kind is str:
            value = get(raw)
            if value is not None:
                return value
            if text is None:
                raise Refuse
            value = text(raw)
        elif kind is int:
            value = get(raw)
            if value is not None:
                return value
            value = number(raw, low, high)
        else:
            value = number(raw, low, high)
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise Refuse
        if fen and not whole_fen(value):  # money finer than the fen: the full path words it
            raise Refuse
        if kind is str or kind is int:
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            memo[raw] = value
        return value

    amount.memo = memo  # type: ignore[attr-defined]
    return amount


# --- cells ------------------------------------------------------------------------------------------------

def amount_cell(value: object, header: str, integer: bool) -> object:
    """A number cell as the facts loader reads it: text as typed; an int; a float by its text, checked (a
    whole number as an int for an integer; money finer than the fen is refused by the facts loader, as from
    any other source)."""
    if isinstance(value, bool):
        raise BadCell(msg("batch.cell.not_number", column=header), None)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise BadCell(msg("batch.cell.not_number", column=header), None)
        exact = Decimal(repr(value))
        if integer:
            if exact == exact.to_integral_value():
                return int(exact)
            return exact  # the facts loader refuses it, worded as for a facts file
        return exact
    if isinstance(value, (int, Decimal)):
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        raise BadCell(msg("batch.cell.not_number", column=header), None)
    text = str(value).strip()
    if integer and _WHOLE.match(text):
        return int(text)  # a sheet's cells are text: 30 in a CSV is the number 30, as in a facts file
    return text
