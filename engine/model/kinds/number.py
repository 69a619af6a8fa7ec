"""A number, with the unit the fact declares if any (平方米, 人): 12000, 1.2万, -3.5."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from engine.core.amounts import NUMBER_PATTERN
from engine.core.messages import Message, msg, t
from engine.lang.units import PLAIN_DIM, UNIT, Dim
from engine.model.kinds.amounts import AmountKind, fast_amount, wan_yi
from engine.model.kinds.base import Converter, Measured, sql_read

if TYPE_CHECKING:
    from engine.model.policy import Fact


class Number(AmountKind):
    keyword: ClassVar[str] = "number"
    column_type: ClassVar[str] = "DECIMAL(28,12)"  # 16 integer digits and 12 places (engine.core.amounts)
    sample: ClassVar[object] = 1.5

    def sql_parse(self, fact: Fact, text: str) -> str | None:
        return sql_read(self, fact, text)

    def sql_pattern(self, fact: Fact, quoted: bool = False) -> str | None:
        return "[0-9]{1,16}(?:[.][0-9]{1,12})?|[0-9]{1,12}(?:[.][0-9]{1,8})?万"

    def sql_value(self, fact: Fact, text: str) -> str:
        return (f"CASE WHEN contains({text}, '万') THEN CAST(CAST(replace({text}, '万', '') AS DECIMAL(28,12)) * 10000 "
                f"AS DECIMAL(28,12)) ELSE CAST({text} AS DECIMAL(28,12)) END")

    def schema(self, fact: Fact) -> dict[str, Any]:
        return {"anyOf": [{"type": "number"}, {"type": "string", "pattern": NUMBER_PATTERN}]}

    def fast(self, fact: Fact) -> Converter:
        return fast_amount(number_text, False, False, fact.minimum, fact.maximum)

    def wrong_type_hint(self, value: object) -> Message | None:
        return msg("facts.number.hint") if isinstance(value, str) else None

    def dim(self, fact: Measured, currency: str) -> Dim | None:
        return Dim(UNIT, fact.unit) if fact.unit else PLAIN_DIM

    def form_words(self) -> Message:
        return msg("facts.form.number")

    def note(self, fact: Fact, lang: str) -> str:
        return t("template.type.number", lang, unit=f"（{fact.unit}）" if fact.unit else "")

    def example(self, fact: Fact, lang: str, xlsx: bool) -> object:
        return 12000

    def form_example(self, fact: Fact, lang: str) -> str:
        return t("form.example.number", lang)


def number_text(raw: str) -> Decimal:
    """A number in the forms NUMBER_PATTERN allows, plainly written: -12.5, 3万, 2亿."""
    return wan_yi(raw, True)
