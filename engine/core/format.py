"""The one formatter: money, percentages, numbers, dates and values of any kind, as every output shows them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, localcontext
from typing import cast

from engine.core.amounts import READING, WAN, YI, plain
from engine.core.messages import t
from engine.core.values import Unknown


def format_money(value: Decimal, unit: str = "元") -> str:
    """An amount as shown to officers: 1234567.5 -> '1,234,567.50元'; whole 万 amounts also in 万元."""
    with localcontext(READING):
        return _format_money(value, unit)


def _format_money(value: Decimal, unit: str) -> str:
    """1234567.5 -> '1,234,567.50元'; whole 万 amounts also in 万元: '100,000.00元（10万元）'.

    Never hides digits: an unrounded intermediate such as 75000.0025 is shown in full.
    """
    exponent = value.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    text = f"{value:,.{places}f}{unit}"
    if abs(value) >= _BEYOND_WORDS:  # no amount is this large; its remainder by 万 is past the precision
        return text
    if value and abs(value) >= 100_000_000 and value % 1_000_000 == 0:
        text += f"（{plain(value / 100_000_000)}亿{unit}）"
    elif value and abs(value) >= 10_000 and value % 100 == 0:
        text += f"（{plain(value / 10_000)}万{unit}）"
    return text


# Amounts from here up are shown in digits only: 万/亿 are for amounts people pay (and `%` on a Decimal
# this large would need more digits than the decimal context has).
_BEYOND_WORDS = Decimal(10) ** 30


def officer_number(value: Decimal) -> str:
    """2亿 / 10万 when the value divides evenly, else digits with thousands separators: 1,234.5."""
    if abs(value) >= _BEYOND_WORDS:
        return format_number(value)
    if value and value % YI == 0:
        return format_number(value / YI) + "亿"
    if value and value % WAN == 0:
        return format_number(value / WAN) + "万"
    return format_number(value)


def officer_money(value: Decimal, unit: str = "元") -> str:
    """10万元, 2亿元, 5元: an amount the way an officer writes it; one not whole 万 keeps its fen: 12,345.50元."""
    text = officer_number(value)
    if value != value.to_integral_value() and not text.endswith(("万", "亿")):
        # an amount is finite, so its exponent is an int ('n'/'N'/'F' only for NaN/Infinity)
        exponent = cast(int, value.normalize().as_tuple().exponent)
        text = f"{value:,.{max(2, -exponent)}f}"
    return text + unit


def format_percent(value: Decimal) -> str:
    with localcontext(READING):
        return f"{plain(value * 100)}%"


def format_number(value: Decimal) -> str:
    with localcontext(READING):
        return _format_number(value)


def _format_number(value: Decimal) -> str:
    if value == value.to_integral_value():
        return f"{value.to_integral_value():,f}"
    return f"{value.normalize():,f}"


def show(value: object, kind: str = "number", unit: str | None = None, lang: str = "zh") -> str:
    """A value of a fact or parameter of `kind` as the calculation sheet shows it; unknown is said so."""
    if isinstance(value, Unknown) or value is None:
        return t("unknown_value", lang)
    if isinstance(value, bool):
        return t("yes" if value else "no", lang)
    if isinstance(value, Decimal):
        if kind == "money":
            return format_money(value, unit or "元")  # unit: the currency's word (美元) when not the policy's
        if kind == "percent":
            return format_percent(value)
        return format_number(value) + (unit or "")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return t("value.items", lang, count=len(value))
    return str(value)


def as_written(value: object, kind: str | None = "number", unit: str | None = None, *, digits: bool = False) -> str:
    """A value the way an officer writes it in a policy file: 10万元, 2亿元, 50%, 1万m², true.

    `digits` writes plain numbers without 万 or separators (for files a program writes, such as fork's).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        if kind == "money":
            return officer_money(value, unit or "元")
        if kind == "percent":
            return format_percent(value)
        return (plain(value) if digits else officer_number(value)) + (unit or "")
    if isinstance(value, str):
        return repr(value)
    return str(value)
