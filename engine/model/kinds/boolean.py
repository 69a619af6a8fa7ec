"""Yes or no: true or false in a facts file; 是 or 否 (or TRUE/FALSE, as Excel shows them) in a sheet."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Mapping

from engine.core.messages import Message, msg, t
from engine.lang.expressions import BOOL
from engine.model.kinds.base import BadCell, Converter, FactKind, Refuse, re2_literal

if TYPE_CHECKING:
    from engine.core.errors import ProblemList
    from engine.model.policy import Fact
    from engine.syntax.loader import Path_, SourceMap

# 是/否 as officers write them, TRUE/FALSE as Excel and WPS show a logical cell typed as text; nothing else
# (yes/no, 1/0 are refused with a hint, as in facts files, rather than guessed).
TRUE_WORDS = frozenset({"是", "true"})
FALSE_WORDS = frozenset({"否", "false"})
# What read_cell makes of the texts a sheet holds nearly always, without calling it.
CELL_WORDS = {text: value for value, words in ((True, TRUE_WORDS), (False, FALSE_WORDS)) for word in words
              for text in (word, word.upper(), word.capitalize())}


class Boolean(FactKind):
    keyword: ClassVar[str] = "boolean"
    value: ClassVar[str] = BOOL
    column_type: ClassVar[str] = "BOOLEAN"
    form_input: ClassVar[str] = "yes_no"
    sample: ClassVar[object] = True
    bool_is_value: ClassVar[bool] = True
    cell_words: ClassVar[Mapping[str, object]] = CELL_WORDS
    sql_unstripped: ClassVar[bool] = True  # one of CELL_WORDS: never a space

    def sql_parse(self, fact: Fact, text: str) -> str | None:
        return self.sql_value(fact, text)  # NULL for any other word: no pattern needed

    def sql_pattern(self, fact: Fact, quoted: bool = False) -> str | None:
        return "|".join(re2_literal(word) for word in CELL_WORDS)

    def sql_value(self, fact: Fact, text: str) -> str:
        # one comparison per word, true and false first (the commonest): cheaper than IN lists
        words = sorted(CELL_WORDS.items(), key=lambda wv: wv[0] not in ("true", "false"))
        return (f"CASE {text} " + " ".join(f"WHEN '{w.replace(chr(39), chr(39) * 2)}' THEN {'TRUE' if v else 'FALSE'}"
                                         for w, v in words) + " END")

    def schema(self, fact: Fact) -> dict[str, Any]:
        return {"type": "boolean"}

    def convert(self, fact: Fact, raw: Any, path: Path_, source: SourceMap, problems: ProblemList,
                own: str) -> object:
        return raw

    def fast(self, fact: Fact) -> Converter:
        return boolean

    def wrong_type_hint(self, value: object) -> Message | None:
        return msg("facts.boolean.hint") if isinstance(value, str) else None

    def read_cell(self, value: object, header: str) -> object:
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise BadCell(msg("batch.cell.boolean", column=header, value=str(value).strip()),
                      msg("batch.cell.boolean.hint"))

    def form_words(self) -> Message:
        return msg("facts.form.boolean")

    def note(self, fact: Fact, lang: str) -> str:
        return t("template.type.boolean", lang, unit=f"（{fact.unit}）" if fact.unit else "")

    def example(self, fact: Fact, lang: str, xlsx: bool) -> object:
        return t("template.true", lang)

    def choices(self, fact: Fact, lang: str) -> list[str]:
        return [t("template.true", lang), t("template.false", lang)]


def boolean(raw: Any) -> bool:
    if type(raw) is bool:
        return raw
    raise Refuse
