"""Text, or one of the choices the fact declares (a choice: `choices: [A类, B类]`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar

from engine.core.messages import Message, msg, t
from engine.core.suggest import did_you_mean, one_of
from engine.lang.expressions import TEXT
from engine.model.kinds.base import UNPLAIN, Converter, FactKind, Refusal, Refuse, plain_text, re2_literal, sql_plain

if TYPE_CHECKING:
    from engine.core.errors import ProblemList
    from engine.model.policy import Fact
    from engine.syntax.loader import Path_, SourceMap


class Text(FactKind):
    keyword: ClassVar[str] = "text"
    value: ClassVar[str] = TEXT
    column_type: ClassVar[str] = "VARCHAR"
    takes_choices: ClassVar[bool] = True
    sample: ClassVar[object] = "示例企业"
    cell_as_text: ClassVar[bool] = True

    def sql_parse(self, fact: Fact, text: str) -> str | None:
        plain = sql_plain(text)
        if fact.choices:
            listed = ", ".join("'" + c.replace("'", "''") + "'" for c in self._choices(fact, False)) or "NULL"
            return f"CASE WHEN {text} IN ({listed}) THEN {text} END"
        return f"CASE WHEN {plain} THEN {text} END"

    def sql_pattern(self, fact: Fact, quoted: bool = False) -> str | None:
        if fact.choices:
            return "|".join(re2_literal(c) for c in self._choices(fact, quoted)) or None
        unplain = UNPLAIN[1:-1]  # no control, format or separator character but the space (as sql_parse)
        if not quoted:
            return f"[^{unplain}]+"
        char = f'[^"\\\\ {unplain}]'  # nor a quote or a backslash; a space only within
        return f"{char}(?:(?:{char}| )*{char})?"

    def sql_value(self, fact: Fact, text: str) -> str:
        return text

    @staticmethod
    def _choices(fact: Fact, quoted: bool) -> list[str]:
        """The choices a plain text can be (`quoted`: in a JSON string as written, no quote, backslash, space first
        or last)."""
        return [c for c in fact.choices or () if type(c) is str and plain_text(c) and not (
            quoted and (not c or c != c.strip(" ") or '"' in c or "\\" in c))]

    def schema(self, fact: Fact) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if fact.choices:
            schema["enum"] = list(fact.choices)
        return schema

    def convert(self, fact: Fact, raw: Any, path: Path_, source: SourceMap, problems: ProblemList,
                own: str) -> object:
        return raw

    def fast(self, fact: Fact) -> Converter:
        if not fact.choices:
            return text
        choices = frozenset(c for c in fact.choices if type(c) is str and plain_text(c))

        def choice(raw: Any) -> str:
            if type(raw) is str and raw in choices:
                return raw
            raise Refuse
        return choice

    def refusal(self, fact: Fact, value: object, validator: str, limit: object) -> Refusal | None:
        if validator == "enum" and fact.choices:
            from engine.syntax.schema import _kind_of

            return (msg("facts.choice", name=fact.name, label=fact.label, choices=one_of(fact.choices),
                        kind=_kind_of(value)), did_you_mean(str(value), fact.choices))
        return None

    def read_cell(self, value: object, header: str) -> object:
        return text_cell(value)

    def form_words(self) -> Message:
        return msg("facts.form.text")

    def note(self, fact: Fact, lang: str) -> str:
        return t("template.type.text", lang, unit=f"（{fact.unit}）" if fact.unit else "")

    def example(self, fact: Fact, lang: str, xlsx: bool) -> object:
        return fact.choices[0] if fact.choices else t("template.example.text", lang)


def text(raw: Any) -> str:
    if type(raw) is str and plain_text(raw):
        return raw
    raise Refuse


def text_cell(value: object) -> str:
    """A cell of text as typed: a name, a choice; a number or date Excel made of it, as it was written."""
    if isinstance(value, float) and value == int(value):
        return str(int(value))  # a name or choice Excel took for a number: 2024, not 2024.0
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value).strip()
