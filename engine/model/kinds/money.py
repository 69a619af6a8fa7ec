"""Money: 元 (or the currency the fact declares), never negative; 500万元, 5000000 or 2亿 in a facts file."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

from engine.core.amounts import AMOUNT_RE, CURRENCIES, MAX_PLACES, MONEY_PATTERN, written_currency
from engine.core.format import format_money
from engine.core.messages import Message, msg, t
from engine.lang.units import Dim
from engine.lang.units import money as money_dim
from engine.model.kinds.amounts import AmountKind, fast_amount, plain_amount, wan_yi
from engine.model.kinds.base import Converter, Measured, Refusal

if TYPE_CHECKING:
    from engine.core.errors import ProblemList
    from engine.model.policy import Fact
    from engine.syntax.loader import Path_, SourceMap

SCHEMA: dict[str, Any] = {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": MONEY_PATTERN}]}


class Money(AmountKind):
    keyword: ClassVar[str] = "money"
    measure: ClassVar[str] = "money"
    column_type: ClassVar[str] = "DECIMAL(18,2)"  # 16 integer digits at most (engine.core.amounts), to the fen
    sample: ClassVar[object] = 5_000_000
    number_format: ClassVar[str | None] = "#,##0.00"
    fen: ClassVar[bool] = True

    def sql_parse(self, fact: Fact, text: str) -> str | None:
        # 0 (the commonest cell: nothing granted earlier, nothing spent) at once; plain digits, 元 or not, by a
        # pattern of their own, without looking for 万; 万 last
        plain = "[0-9]{1,16}(?:[.][0-9]{1,2})?"
        if fact.currency is not None:
            return (f"CASE WHEN {text} = '0' THEN CAST(0 AS DECIMAL(18,2)) WHEN regexp_full_match({text}, '{plain}') "
                    f"THEN CAST({text} AS DECIMAL(18,2)) END")
        return (f"CASE WHEN {text} = '0' THEN CAST(0 AS DECIMAL(18,2)) WHEN regexp_full_match({text}, '{plain}元?') "
                f"THEN CAST(CASE WHEN ends_with({text}, '元') THEN {text}[:-2] ELSE {text} END AS DECIMAL(18,2)) "
                f"WHEN regexp_full_match({text}, '{_WAN}') THEN {_wan(text)} END")

    def sql_pattern(self, fact: Fact, quoted: bool = False) -> str | None:
        # 1234.56, 1234.56元, 12.5万元 / 12.5万: exact to the fen (finer is the row engine's to refuse)
        if fact.currency is not None:
            # in another currency: plain digits name none, and are read as they are (engine.core.amounts:
            # written_currency); a word for a currency (万美元, 元) is the row engine's to check
            return "[0-9]{1,16}(?:[.][0-9]{1,2})?"
        return f"[0-9]{{1,16}}(?:[.][0-9]{{1,2}})?元?|{_WAN}"

    def sql_value(self, fact: Fact, text: str) -> str:
        if fact.currency is not None:
            return f"CAST({text} AS DECIMAL(18,2))"
        return (f"CASE WHEN contains({text}, '万') THEN {_wan(text)} "
                f"ELSE CAST(replace({text}, '元', '') AS DECIMAL(18,2)) END")

    def schema(self, fact: Fact) -> dict[str, Any]:
        return {"anyOf": [dict(s) for s in SCHEMA["anyOf"]]}

    def convert(self, fact: Fact, raw: Any, path: Path_, source: SourceMap, problems: ProblemList,
                own: str) -> object:
        written, expected = written_currency(raw), fact.currency or own
        if written is not None and written != expected:
            number = AMOUNT_RE.match(raw)
            problems.add(source.problem(
                msg("facts.currency", name=fact.name, label=fact.label, value=raw, written=CURRENCIES[written],
                    expected=CURRENCIES[expected]), path,
                suggestion=msg("facts.currency.hint", value=f"{number.group(1) if number else raw}"
                               f"{(number.group(2) or '')[:-len(CURRENCIES[written])] if number else ''}"
                               f"{CURRENCIES[expected]}")))
            return None
        return super().convert(fact, raw, path, source, problems, own)

    def fast(self, fact: Fact) -> Converter:
        # Money in another currency, written as text, goes to the full path, which checks the currency named.
        return fast_amount(money_text if fact.currency is None else None, True, False, fact.minimum, fact.maximum,
                           fen=True)

    def wrong_type_hint(self, value: object) -> Message | None:
        return msg("facts.number.hint") if isinstance(value, str) else None

    def refusal(self, fact: Fact, value: object, validator: str, limit: object) -> Refusal | None:
        if isinstance(value, Decimal) and value < 0:  # said so, not as a wrong kind of value
            return msg("facts.negative", name=fact.name, label=fact.label, value=value), None
        return None

    def dim(self, fact: Measured, currency: str) -> Dim | None:
        return money_dim(fact.currency or currency)

    def bound(self, fact: Fact, value: Decimal) -> str:
        return format_money(value)

    def example(self, fact: Fact, lang: str, xlsx: bool) -> object:
        return 500000 if xlsx else "50万元"

    def form_unit(self, fact: Fact, lang: str) -> str:
        return fact.unit or t("form.unit.money", lang)

    def form_example(self, fact: Fact, lang: str) -> str:
        return t("form.example.money", lang)

    def implied_minimum(self, fact: Fact) -> Decimal | None:
        return Decimal(0)  # money is never negative

    def implied_minimum_words(self, name: str, value: str) -> Message:
        return msg("lint.money_min", name=name, value=value)

    def out_of_range(self, value: Decimal, words: Mapping[str, object]) -> Refusal | None:
        if value < 0:
            return msg("lint.money_negative", **words), msg("lint.money_negative.hint", **words)
        return None

    def form_words(self) -> Message:
        return msg("facts.form.money")

    def note(self, fact: Fact, lang: str) -> str:
        return t("template.type.money", lang, unit=f"（{fact.unit}）" if fact.unit else "")


_WAN = "[0-9]{1,12}(?:[.][0-9]{1,6})?万元?"  # RE2: 12.5万元, 12.5万 (to the fen: six places of 万 at most)


def _wan(text: str) -> str:
    """SQL: a text _WAN matches, in 元."""
    return f"CAST(CAST(replace(replace({text}, '元', ''), '万', '') AS DECIMAL(18,6)) * 10000 AS DECIMAL(18,2))"


def money_text(raw: str) -> Decimal:
    """Money in the forms MONEY_PATTERN allows, plainly written: 1234.5, 1234.5元, 10万元, 2亿元, 10万, 2亿."""
    if raw[-1:] == "元":
        before = raw[-2:-1]
        if before == "万" or before == "亿":
            return wan_yi(raw[:-1], False)
        return plain_amount(raw[:-1], None, MAX_PLACES, False)
    return wan_yi(raw, False)
