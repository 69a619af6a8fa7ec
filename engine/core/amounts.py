"""Exact amounts as officers write them (10万元, 2亿元, 50%), Decimal arithmetic, and the one rounding rule."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from functools import cached_property
from typing import cast

from engine.core import numerals
from engine.core.messages import msg

# The arithmetic of every path (compiled closures, the traced run, the reference evaluator, award forms):
# 60 significant digits, and no computed number of 10^48 or more. Below that bound 60 digits reach the 12th
# decimal place (MAX_PLACES, the finest anything is written), so every sum, difference and product of what a
# policy and an applicant write is exact, and every line of the working adds up to the digit. A number at or
# above it (an amount multiplied by an amount by mistake) would lose digits: it raises Overflow, which the
# evaluation reports at the expression that made it, never shows rounded. Traps: nothing becomes NaN or
# Infinity silently.
MAX_COMPUTED_DIGITS = 48
CONTEXT = Context(prec=60, Emax=MAX_COMPUTED_DIGITS - 1, traps=[InvalidOperation, DivisionByZero, Overflow])
# Reading numbers as written and showing them: the same digits without the bound, so a number too large is
# refused by `out_of_range` where it is written, and any Decimal can be shown.
READING = Context(prec=60, traps=[InvalidOperation, DivisionByZero, Overflow])

# No subsidy amount, area or count comes near 10^16 (一亿亿); a larger number, or one with more than
# 12 decimal places, is a typo or an attack on the arithmetic, and is refused where it is written.
MAX_INTEGER_DIGITS = 16
MAX_PLACES = 12


def out_of_range(value: Decimal) -> bool:
    """True for a number too large or too finely divided for any amount a policy or applicant means."""
    if not value.is_finite():
        return True
    if value == 0:
        return False
    exponent = cast(int, value.as_tuple().exponent)  # an int for a finite value ('n'/'N'/'F' are NaN/Infinity)
    return value.adjusted() >= MAX_INTEGER_DIGITS or -exponent > MAX_PLACES


FEN = Decimal("0.01")


def whole_fen(money: Decimal) -> bool:
    """True for money exact to the fen (368000.50, 10.5万元); 368000.505 is not, however it was written."""
    exponent = money.as_tuple().exponent
    return not isinstance(exponent, int) or exponent >= -2 or money == money.quantize(FEN, context=READING)


# Currencies an amount may be written in, by ISO 4217 code, with the word that follows the number (10万美元).
CURRENCIES = {"CNY": "元", "USD": "美元", "EUR": "欧元", "HKD": "港元", "JPY": "日元", "GBP": "英镑"}
CURRENCY_OF_WORD = {word: code for code, word in CURRENCIES.items()}
UNITS = {"万": Decimal(10_000), "亿": Decimal(100_000_000), "%": Decimal("0.01")}
for _word in CURRENCIES.values():
    UNITS.update({_word: Decimal(1), "万" + _word: Decimal(10_000), "亿" + _word: Decimal(100_000_000)})
# Longest first, so that 万美元 is read whole and never as 万 followed by text.
_UNIT_WORDS = "|".join(sorted((u for u in UNITS if u != "%"), key=len, reverse=True))
_MONEY_WORDS = "|".join(sorted((u for u in UNITS if u not in ("%", "万", "亿")), key=len, reverse=True))
# A number with an optional unit: 10万元, 2亿元, 2000万美元, 50%, 1,000,000, 5元. Anchored.
# Digits with commas only as thousands separators (1,000,000), never "1,5": a stray comma is a typo.
DIGITS = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
AMOUNT_RE = re.compile(rf"^\s*([-+]?{DIGITS})\s*({_UNIT_WORDS}|%)?\s*$")
# JSON Schema patterns for the same forms, for generated schemas (the static schemas/*.json carry copies).
# Money may also be written in Chinese numerals as finance writes it (三十万元, 壹拾万元整): engine.core.numerals.
MONEY_PATTERN = rf"^(?:\s*\+?{DIGITS}\s*({_MONEY_WORDS}|万|亿)?\s*|{numerals.PATTERN})$"
NUMBER_PATTERN = rf"^\s*[-+]?{DIGITS}\s*(万|亿)?\s*$"
PERCENT_PATTERN = r"^\s*\d+(\.\d+)?\s*%\s*$"
# The same, findable inside an expression (not after a letter/digit/underscore, so x1万 is not split).
# Inside expressions commas separate arguments (min(5,10万元)), so numbers there have none.
AMOUNT_IN_TEXT = re.compile(rf"(?<![\w.])(\d+(?:\.\d+)?)\s*({_UNIT_WORDS}|%)")


def currency_of(unit: str | None) -> str | None:
    """The currency an amount's unit names: 万美元 → USD, 元 → CNY; None for 万, 亿, % or no unit."""
    if not unit or unit == "%":
        return None
    word = unit.lstrip("万亿") or unit
    return CURRENCY_OF_WORD.get(word)


def written_currency(value: object) -> str | None:
    """The currency a written amount names (835万美元 → USD), or None when it names none (835万, 8350000)."""
    if not isinstance(value, str):
        return None
    match = AMOUNT_RE.match(value)
    if match:
        return currency_of(match.group(2))
    if numerals.written_in_numerals(value):
        try:
            return currency_of(numerals.read(value)[1])
        except numerals.NotNumeral:
            return None
    return None


WAN, YI = UNITS["万"], UNITS["亿"]

ROUNDINGS = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}
_ONE = Decimal(1)


class AmountSyntaxError(ValueError):
    """Text that is not an amount; `message` is the catalogue message (str(exc) is its English text)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def parse_amount(value: object) -> Decimal:
    """An exact Decimal from a number or text such as '10万元', '2亿元', '50%', '1,000,000'."""
    if isinstance(value, bool):
        raise AmountSyntaxError(msg("amount.yes_no", value=repr(value)))
    if isinstance(value, Decimal):
        if out_of_range(value):
            raise AmountSyntaxError(msg("amount.out_of_range", value=value))
        return value.copy_abs() if value == 0 else value  # -0 is 0: never "-0.00" on a sheet
    if isinstance(value, int):
        return parse_amount(Decimal(value))
    if isinstance(value, float):
        # Floats only reach here from callers that built data in Python; their text form is what they meant.
        return parse_amount(repr(value))
    if isinstance(value, str):
        match = AMOUNT_RE.match(value)
        if not match and numerals.written_in_numerals(value):
            try:
                return parse_amount(numerals.read(value)[0])
            except numerals.NotNumeral as exc:
                raise AmountSyntaxError(msg("amount.numerals", value=value.strip(), reason=exc.message)) from None
        if not match:
            raise AmountSyntaxError(msg("amount.not_amount", value=value))
        number, unit = match.groups()
        return parse_amount(READING.multiply(Decimal(number.replace(",", "")), UNITS[unit] if unit else _ONE))
    raise AmountSyntaxError(msg("amount.not_amount.other", value=repr(value)))


@dataclass(frozen=True)
class MoneyRule:
    """How a policy rounds money: to a step (0.01 is the fen) with a named rule (half_up is 四舍五入)."""

    currency: str = "CNY"
    round_to: Decimal = Decimal("0.01")
    rounding: str = "half_up"

    def round(self, amount: Decimal) -> Decimal:
        """The one place money is rounded."""
        rule = ROUNDINGS[self.rounding]
        if self._decimal_step:  # 1, 0.1, 0.01: one quantize
            return amount.quantize(self.round_to, rounding=rule, context=CONTEXT)
        steps = CONTEXT.divide(amount, self.round_to).quantize(_ONE, rounding=rule, context=CONTEXT)
        return CONTEXT.multiply(steps, self.round_to).quantize(self.round_to, context=CONTEXT)

    @cached_property
    def _decimal_step(self) -> bool:
        _sign, digits, exponent = self.round_to.as_tuple()
        return digits == (1,) and isinstance(exponent, int) and exponent <= 0


def plain(value: Decimal) -> str:
    """Decimal as plain positional text, never in exponent form; trailing zeros of a fraction dropped."""
    with localcontext(READING):
        return _plain(value)


def _plain(value: Decimal) -> str:
    if value == value.to_integral_value():
        return f"{value.to_integral_value():f}"
    return f"{value.normalize():f}"
