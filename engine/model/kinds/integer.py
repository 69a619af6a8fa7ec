"""An integer: a count or a year, 30 or 2021 (never 30.0 or 3万 in a facts file)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from engine.core.amounts import plain
from engine.core.messages import Message, msg, t
from engine.lang.units import PLAIN_DIM, UNIT, Dim
from engine.model.kinds.amounts import AmountKind, amount_cell, fast_amount
from engine.model.kinds.base import Converter, Measured, sql_read

if TYPE_CHECKING:
    from engine.model.policy import Fact


class Integer(AmountKind):
    keyword: ClassVar[str] = "integer"
    column_type: ClassVar[str] = "BIGINT"  # 16 digits at most (engine.core.amounts)
    form_input: ClassVar[str] = "whole"
    sample: ClassVar[object] = 1
    number_format: ClassVar[str | None] = "0"  # a year is 2025, never 2,025
    cell_as_text: ClassVar[bool] = False  # 30 in a CSV is the number 30, as in a facts file

    def sql_parse(self, fact: Fact, text: str) -> str | None:
        return sql_read(self, fact, text)

    def sql_pattern(self, fact: Fact, quoted: bool = False) -> str | None:
        return "[0-9]{1,16}"

    def sql_value(self, fact: Fact, text: str) -> str:
        return f"CAST({text} AS BIGINT)"

    def schema(self, fact: Fact) -> dict[str, Any]:
        return {"type": "integer"}

    def fast(self, fact: Fact) -> Converter:
        return fast_amount(None, False, False, fact.minimum, fact.maximum)

    def dim(self, fact: Measured, currency: str) -> Dim | None:
        return Dim(UNIT, fact.unit) if fact.unit else PLAIN_DIM

    def bound(self, fact: Fact, value: Decimal) -> str:
        return plain(value)  # a count or a year, written as digits: 2021, not 2,021

    def restored(self, stored: str) -> object:
        number = super().restored(stored)
        return int(number) if isinstance(number, Decimal) and number == number.to_integral_value() else number

    def read_cell(self, value: object, header: str) -> object:
        if type(value) is str and value.isdigit() and len(value) <= 16:
            return int(value)
        return amount_cell(value, header, True)

    def form_words(self) -> Message:
        return msg("facts.form.integer")

    def note(self, fact: Fact, lang: str) -> str:
        return t("template.type.integer", lang, unit=f"（{fact.unit}）" if fact.unit else "")

    def example(self, fact: Fact, lang: str, xlsx: bool) -> object:
        return within(fact, 30)

    def form_example(self, fact: Fact, lang: str) -> str:
        return t("form.example.integer", lang)

    def form_bound(self, value: Decimal) -> str:
        return f"{value:f}"  # a year or a number of months as plain digits, 2021 not 2,021


def within(fact: Fact, value: int) -> int:
    """An example integer the fact's own bounds allow."""
    if fact.minimum is not None and value < fact.minimum:
        value = int(fact.minimum)
    if fact.maximum is not None and value > fact.maximum:
        value = int(fact.maximum)
    return value
