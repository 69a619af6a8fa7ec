"""An area in 平方米: a warehouse's, an office's, a park's floor space (补助按每平方米计); never negative.

A facts file gives 1200, 1200平方米, 1200m², 1200㎡ or 1.2万平方米; an area in another unit (3亩, 2公顷) is
refused with the unit to write, never converted by a guess. Every spelling measures the same thing in
expressions (平方米), so two areas, or an area and a rate per 平方米, always agree; a `unit:` the fact
declares must be one of those spellings.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from engine.core.amounts import DIGITS
from engine.core.format import as_written, format_number
from engine.core.messages import Message, msg, t
from engine.lang.units import UNIT, Dim
from engine.model.kinds.amounts import AmountKind, fast_amount, wan_yi
from engine.model.kinds.base import Converter, Measured, Refusal, sql_read

if TYPE_CHECKING:
    from engine.core.errors import ProblemList
    from engine.model.policy import Fact
    from engine.syntax.loader import Path_, SourceMap

SQUARE_METRE = "平方米"
SPELLINGS = ("平方米", "平米", "m²", "m2", "㎡")  # what officers and applicants write for 平方米
_SPELLINGS = "|".join(sorted(SPELLINGS, key=len, reverse=True))
# A number, 万 or 亿, and any unit word: a unit other than 平方米 is refused by convert, naming it.
PATTERN = rf"^\s*\+?{DIGITS}\s*(万|亿)?\s*[^\d\s.,+\-]*\s*$"
_WRITTEN = re.compile(rf"^\s*(\+?{DIGITS}\s*(?:万|亿)?)\s*([^\d\s.,+\-]*)\s*$")


class Area(AmountKind):
    keyword: ClassVar[str] = "area"
    column_type: ClassVar[str] = "DECIMAL(28,12)"  # in 平方米, as a number is stored
    sample: ClassVar[object] = "1200平方米"

    def sql_parse(self, fact: Fact, text: str) -> str | None:
        return sql_read(self, fact, text)

    def sql_pattern(self, fact: Fact, quoted: bool = False) -> str | None:
        return "[0-9]{1,16}(?:[.][0-9]{1,12})?"

    def sql_value(self, fact: Fact, text: str) -> str:
        return f"CAST({text} AS DECIMAL(28,12))"

    def schema(self, fact: Fact) -> dict[str, Any]:
        return {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": PATTERN}]}

    def convert(self, fact: Fact, raw: Any, path: Path_, source: SourceMap, problems: ProblemList,
                own: str) -> object:
        if isinstance(raw, str):
            written = _WRITTEN.match(raw)
            assert written is not None, "the schema's pattern"
            unit = written.group(2)
            if unit and unit not in SPELLINGS:
                problems.add(source.problem(
                    msg("facts.area.unit", name=fact.name, label=fact.label, value=raw.strip(), unit=unit),
                    path, suggestion=msg("facts.area.unit.hint", spellings="、".join(SPELLINGS))))
                return None
        return super().convert(fact, raw, path, source, problems, own)

    def number_part(self, raw: object) -> object:
        if isinstance(raw, str):
            written = _WRITTEN.match(raw)
            if written is not None:
                return written.group(1)  # 1.2万 of 1.2万平方米, read as any amount is
        return raw

    def fast(self, fact: Fact) -> Converter:
        return fast_amount(area_text, True, False, fact.minimum, fact.maximum)

    def form_words(self) -> Message:
        return msg("facts.form.area")

    def refusal(self, fact: Fact, value: object, validator: str, limit: object) -> Refusal | None:
        if isinstance(value, Decimal) and value < 0:
            return msg("facts.negative", name=fact.name, label=fact.label, value=value), None
        return None

    def wrong_type_hint(self, value: object) -> Message | None:
        return msg("facts.number.hint") if isinstance(value, str) else None

    def declaration_problems(self, fact: Fact) -> list[tuple[Message, str]]:
        if fact.unit is not None and fact.unit not in SPELLINGS:
            return [(msg("compile.area_unit", name=fact.name, unit=fact.unit, spellings="、".join(SPELLINGS)),
                     "unit")]
        return []

    def dim(self, fact: Measured, currency: str) -> Dim | None:
        return Dim(UNIT, SQUARE_METRE)  # whichever spelling the fact declares

    def show(self, value: object, fact: Fact, lang: str = "zh") -> str:
        if isinstance(value, Decimal):
            return format_number(value) + (fact.unit or SQUARE_METRE)
        return super().show(value, fact, lang)

    def shown_unit(self, fact: Fact) -> str | None:
        return fact.unit or SQUARE_METRE

    def as_written(self, value: object, fact: Fact) -> str:
        if isinstance(value, Decimal):
            return as_written(value, "number", fact.unit or SQUARE_METRE)
        return super().as_written(value, fact)

    def bound(self, fact: Fact, value: Decimal) -> str:
        return as_written(value, "number", fact.unit or SQUARE_METRE)

    def example(self, fact: Fact, lang: str, xlsx: bool) -> object:
        return 1200 if xlsx else "1200平方米"

    def note(self, fact: Fact, lang: str) -> str:
        return t("template.type.area", lang)

    def form_unit(self, fact: Fact, lang: str) -> str:
        return fact.unit or SQUARE_METRE

    def form_example(self, fact: Fact, lang: str) -> str:
        return t("form.example.area", lang)

    def implied_minimum(self, fact: Fact) -> Decimal | None:
        return Decimal(0)  # an area is never negative

    def implied_minimum_words(self, name: str, value: str) -> Message:
        return msg("lint.area_min", name=name, value=value)


def area_text(raw: str) -> Decimal:
    """An area plainly written: 1200, 1200平方米, 1.2万平方米, 1200m², 1200㎡ (no spaces, no separators)."""
    for spelling in SPELLINGS:
        if raw.endswith(spelling):
            return wan_yi(raw[:-len(spelling)], False)
    return wan_yi(raw, False)
