"""A percentage: 70% or 0.7 in a facts file, 0.7 as a value; never above 1 when written as a number."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

from engine.core.amounts import MAX_PLACES, PERCENT_PATTERN
from engine.core.messages import Message, msg, t
from engine.lang.units import PERCENT_DIM, Dim
from engine.model.kinds.amounts import AmountKind, fast_amount, percent_text
from engine.model.kinds.base import Converter, Measured, Refusal, sql_read

if TYPE_CHECKING:
    from engine.core.errors import ProblemList
    from engine.model.policy import Fact
    from engine.syntax.loader import Path_, SourceMap


class Percent(AmountKind):
    keyword: ClassVar[str] = "percent"
    measure: ClassVar[str] = "percent"
    column_type: ClassVar[str] = "DECIMAL(16,12)"  # a fraction, 12 places at most
    sample: ClassVar[object] = "50%"
    number_format: ClassVar[str | None] = "0%"

    def sql_parse(self, fact: Fact, text: str) -> str | None:
        return sql_read(self, fact, text)

    def sql_pattern(self, fact: Fact, quoted: bool = False) -> str | None:
        # 60%, 12.5%: a fraction, exactly (a bare number's reading is the row engine's)
        return "[0-9]{1,3}(?:[.][0-9]{1,10})?%"

    def sql_value(self, fact: Fact, text: str) -> str:
        return (f"CAST(CAST(replace({text}, '%', '') AS DECIMAL(16,10)) * CAST('0.01' AS DECIMAL(3,2)) "
                "AS DECIMAL(16,12))")

    def schema(self, fact: Fact) -> dict[str, Any]:
        return {"anyOf": [{"type": "number", "minimum": 0, "maximum": 1},
                          {"type": "string", "pattern": PERCENT_PATTERN}]}

    def check(self, fact: Fact, raw: Any, value: Decimal, path: Path_, source: SourceMap,
              problems: ProblemList) -> None:
        if not isinstance(raw, str) and value > 1:
            problems.add(source.problem(msg("facts.percent", name=fact.name, label=fact.label, value=raw), path))

    def fast(self, fact: Fact) -> Converter:
        # A number above 1 is refused by the schema (and by convert); text such as 150% only by a maximum.
        return fast_amount(percent_text, True, True, fact.minimum, fact.maximum)

    def places_reason(self, places: int) -> Message:
        return msg("facts.range.places.percent", places=places, limit=MAX_PLACES, written=MAX_PLACES - 2)

    def dim(self, fact: Measured, currency: str) -> Dim | None:
        return PERCENT_DIM

    def out_of_range(self, value: Decimal, words: Mapping[str, object]) -> Refusal | None:
        if value > 1:
            return msg("lint.percent_range", **words), msg("lint.percent_range.hint", **words)
        return None

    def form_words(self) -> Message:
        return msg("facts.form.percent")

    def note(self, fact: Fact, lang: str) -> str:
        return t("template.type.percent", lang, unit=f"（{fact.unit}）" if fact.unit else "")

    def example(self, fact: Fact, lang: str, xlsx: bool) -> object:
        return 0.6 if xlsx else "60%"

    def form_unit(self, fact: Fact, lang: str) -> str:
        return fact.unit or t("form.unit.percent", lang)

    def form_example(self, fact: Fact, lang: str) -> str:
        return t("form.example.percent", lang)
