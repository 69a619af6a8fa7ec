"""A date: YYYY-MM-DD in a facts file; a sheet's date cell, or 2024/12/20 and 2024年12月20日 typed in one."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any, Callable, ClassVar, TypeVar

from engine.core.messages import Message, msg, t
from engine.lang.expressions import DATE
from engine.model.kinds.amounts import MEMO_SIZE
from engine.model.kinds.base import BadCell, Converter, FactKind, Refuse, sql_read

if TYPE_CHECKING:
    from engine.core.errors import ProblemList
    from engine.model.policy import Fact
    from engine.syntax.loader import Path_, SourceMap

SCHEMA = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "format": "date"}
_SLASH_DATE = re.compile(r"^(\d{4})[/.年](\d{1,2})[/.月](\d{1,2})日?$")
_fromisoformat = dt.date.fromisoformat
_T = TypeVar("_T")


class Date(FactKind):
    keyword: ClassVar[str] = "date"
    value: ClassVar[str] = DATE
    column_type: ClassVar[str] = "DATE"
    ordered: ClassVar[bool] = True
    form_input: ClassVar[str] = "date"
    sample: ClassVar[object] = "2024-01-31"
    number_format: ClassVar[str | None] = "yyyy-mm-dd"
    sql_unstripped: ClassVar[bool] = True  # 2024-01-31: never a space

    def sql_parse(self, fact: Fact, text: str) -> str | None:
        return sql_read(self, fact, text)

    def sql_pattern(self, fact: Fact, quoted: bool = False) -> str | None:
        return "[0-9]{4}-[0-9]{2}-[0-9]{2}"

    def sql_value(self, fact: Fact, text: str) -> str:
        return f"TRY_CAST({text} AS DATE)"  # NULL for a day no month has (2024-02-30): the row engine's

    def schema(self, fact: Fact) -> dict[str, Any]:
        return dict(SCHEMA)

    def convert(self, fact: Fact, raw: Any, path: Path_, source: SourceMap, problems: ProblemList,
                own: str) -> object:
        return _fromisoformat(raw)

    def fast(self, fact: Fact) -> Converter:
        return remembering(fast_date)

    def read_cell(self, value: object, header: str) -> object:
        return date_cell(value, header)

    def form_words(self) -> Message:
        return msg("facts.form.date")

    def note(self, fact: Fact, lang: str) -> str:
        return t("template.type.date", lang, unit=f"（{fact.unit}）" if fact.unit else "")

    def example(self, fact: Fact, lang: str, xlsx: bool) -> object:
        return dt.date(2024, 1, 31) if xlsx else "2024-01-31"


def fast_date(raw: Any) -> dt.date:
    # YYYY-MM-DD in ASCII digits, and a real day (fromisoformat alone would also take 20210101, 2021-W01-1).
    if (type(raw) is not str or len(raw) != 10 or raw[4] != "-" or raw[7] != "-" or not raw.isascii()
            or not (raw[:4] + raw[5:7] + raw[8:]).isdigit()):
        raise Refuse
    return _fromisoformat(raw)  # ValueError for 2021-02-30: the full path words it


def remembering(convert: Callable[[Any], _T]) -> Callable[[Any], _T]:
    """`convert`, remembering the value of each text it accepts (a date is immutable; applicants repeat them)."""
    memo: dict[str, _T] = {}
    get = memo.get

    def converter(raw: Any) -> _T:
        value = get(raw) if type(raw) is str else None
        if value is None:
            value = convert(raw)
            if type(raw) is str:
                if len(memo) >= MEMO_SIZE:
                    memo.clear()
                memo[raw] = value
        return value

    converter.memo = memo  # type: ignore[attr-defined]
    return converter


def date_cell(value: object, header: str) -> str:
    """A date cell as YYYY-MM-DD: a date Excel keeps as a date, or text 2024-12-20, 2024/12/20, 2024年12月20日."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise BadCell(msg("batch.cell.date", column=header, value=value), msg("batch.cell.date.hint"))
    text = str(value).strip()
    match = _SLASH_DATE.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
        try:
            return dt.date(year, month, day).isoformat()
        except ValueError:
            raise BadCell(msg("batch.cell.date", column=header, value=text), msg("batch.cell.date.hint")) from None
    return text  # YYYY-MM-DD, or whatever the facts loader will word as not a date
