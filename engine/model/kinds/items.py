"""A list (`type: list`) of items, each with the fields the fact declares under `items:` (a JSON array in a cell).

The file is items.py: a module named list would hide the builtin in this package's namespace.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from engine.core.messages import Message, msg, t
from engine.lang.expressions import LIST
from engine.model.kinds.base import BadCell, Converter, FactKind, Refusal, Refuse

if TYPE_CHECKING:
    from engine.core.errors import ProblemList
    from engine.model.policy import Fact
    from engine.syntax.loader import Path_, SourceMap

MAX_ITEMS = 10000  # the facts schema's maxItems for a list


class List(FactKind):
    keyword: ClassVar[str] = "list"
    value: ClassVar[str] = LIST
    column_type: ClassVar[str] = "JSON"  # its items, as a facts file gives them (a table of their own, later)
    in_lists: ClassVar[bool] = False
    takes_items: ClassVar[bool] = True
    form_input: ClassVar[str] = "items"
    sample: ClassVar[object] = []

    def sql_parse(self, fact: Fact, text: str) -> str | None:
        return None  # a JSON array of items: its rows are the row engine's (a table of items, later)

    def schema(self, fact: Fact) -> dict[str, Any]:
        from engine.model.kinds import value_schema  # the items' fields, each by its own kind

        return {"type": "array", "maxItems": MAX_ITEMS,
                "items": {"type": "object", "additionalProperties": False,
                          "properties": {n: nullable(value_schema(f)) for n, f in fact.items.items()}}}

    def convert(self, fact: Fact, raw: Any, path: Path_, source: SourceMap, problems: ProblemList,
                own: str) -> object:
        return tuple({n: fact.items[n].kind.convert(fact.items[n], v, path + (i, n), source, problems, own)
                      for n, v in item.items() if v is not None}
                     for i, item in enumerate(raw))

    def fast(self, fact: Fact) -> Converter:
        fields = {name: item.kind.fast(item) for name, item in fact.items.items()}

        def items(raw: Any) -> tuple[dict[str, object], ...]:
            if type(raw) is not list or len(raw) > MAX_ITEMS:
                raise Refuse
            out = []
            for item in raw:
                if type(item) is not dict:
                    raise Refuse
                out.append({name: fields[name](value) for name, value in item.items() if value is not None})
                if len(item) != len(out[-1]) and not item.keys() <= fields.keys():
                    raise Refuse  # an unknown field given as null
            return tuple(out)
        return items

    def refusal(self, fact: Fact, value: object, validator: str, limit: object) -> Refusal | None:
        if validator == "maxItems" and isinstance(value, list):
            return msg("facts.too_many_items", name=fact.name, label=fact.label, count=len(value), limit=limit), None
        return None

    def read_cell(self, value: object, header: str) -> object:
        if not isinstance(value, str):
            raise BadCell(msg("batch.cell.list", column=header, reason=str(value)), msg("batch.cell.list.hint"))
        try:
            data = json.loads(value, parse_float=Decimal)
        except json.JSONDecodeError as error:
            raise BadCell(msg("batch.cell.list", column=header, reason=f"{error.msg} (@{error.pos + 1})"),
                          msg("batch.cell.list.hint")) from None
        if not isinstance(data, list):
            raise BadCell(msg("batch.cell.list", column=header, reason=type(data).__name__),
                          msg("batch.cell.list.hint"))
        return data

    def form_words(self) -> Message:
        return msg("facts.form.list")

    def example(self, fact: Fact, lang: str, xlsx: bool) -> object:
        """A JSON array of one item with every field."""
        item = {name: (f.choices[0] if f.choices else f.kind.sample) for name, f in fact.items.items()}
        return json.dumps([item], ensure_ascii=False)

    def note(self, fact: Fact, lang: str) -> str:
        fields = "、".join(f"{n}（{f.label}）" for n, f in fact.items.items())
        return (t("template.type.list", lang, unit=f"（{fact.unit}）" if fact.unit else "") + " "
                + t("template.note.fields", lang, fields=fields))


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    # null means "not known": the fact is then missing, and clauses that need it are undetermined.
    return {"anyOf": [schema, {"type": "null"}], "description": schema.get("description", "")}
