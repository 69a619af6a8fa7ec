"""A list (`type: list`) of items, each with the fields the fact declares under `items:` (a JSON array in a cell).

The file is items.py: a module named list would hide the builtin in this package's namespace.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from engine.core.messages import Message, msg, t
from engine.lang.expressions import LIST, TEXT
from engine.model.kinds.base import BadCell, Converter, FactKind, Refusal, Refuse, sql_within

if TYPE_CHECKING:
    from engine.core.errors import ProblemList
    from engine.model.policy import Fact
    from engine.syntax.loader import Path_, SourceMap

MAX_ITEMS = 10000  # the facts schema's maxItems for a list


class List(FactKind):
    keyword: ClassVar[str] = "list"
    value: ClassVar[str] = LIST
    column_type: ClassVar[str] = "STRUCT()[]"  # its items, each a STRUCT of its fields (see column)
    in_lists: ClassVar[bool] = False
    takes_items: ClassVar[bool] = True
    form_input: ClassVar[str] = "items"
    sample: ClassVar[object] = []

    def column(self, fact: Fact) -> str:
        """A list of STRUCTs, one field per declared field, each of its own kind's column type."""
        return "STRUCT(" + ", ".join(f"{_quoted(n)} {f.kind.column(f)}" for n, f in fact.items.items()) + ")[]"

    def sql_parse(self, fact: Fact, text: str) -> str | None:
        """The cell's JSON array as the list's items, where the facts check reads it plainly: an array of at most
        MAX_ITEMS objects, each with declared fields only, each field null (not given) or a JSON string (a
        boolean for a yes/no field) that its kind's sql_parse reads within its bounds, and no two items the same
        by `unique:` (compared where engine.core.text.identity is plain to compute: ASCII and common CJK). Any
        other text is NULL: the row engine reads it (or words what it refuses). No backslash escapes, no comma
        before a closing bracket (DuckDB's JSON reader takes what Python's json refuses)."""
        fields = fact.items
        names = ", ".join("'" + n.replace("'", "''") + "'" for n in fields)
        # read once: each item's keys and JSON type, then each field's JSON text (NULL where absent)
        # (no lambda binds a value for another: DuckDB runs such nested lambdas row by row; reading twice is cheaper)
        shape_ok = (f"COALESCE(list_bool_and(list_transform(json_type({text}, '$[*]'), lambda y: y = 'OBJECT')), "
                    f"TRUE) AND COALESCE(list_bool_and(list_transform(json_keys({text}, '$[*]'), lambda k: "
                    f"list_has_all([{names}], k) AND array_length(k) = array_length(list_distinct(k)))), TRUE)")
        structure = "[{" + ", ".join(f'"{n}": "JSON"' for n in fields).replace("'", "''") + "}]"
        checks = []
        typed = []
        for name, f in fields.items():
            if f.at_most is not None or '"' in name or "\\" in name:
                return None  # a field bounded by another: the row engine checks it
            raw = f"CAST(x.{_quoted(name)} AS VARCHAR)"
            column = f.kind.column(f)
            reads = []  # (SQL: given this way, SQL: the value read, SQL: whether it is read plainly)
            strings, boolean, whole = _json_types(f)
            # a string's text, as written (no escapes: the cell holds no backslash)
            string = f"substr({raw}, 2, length({raw}) - 2)"
            parse = f.kind.sql_parse(f, string)
            if parse is not None and strings:
                reads.append((f"starts_with({raw}, '\"')", f"CAST({parse} AS {column})",
                              f"NOT contains({raw}, '\\') AND {string} = TRIM({string}) AND {string} <> ''"))
            parse = f.kind.sql_parse(f, raw)
            if parse is not None and boolean:
                reads.append((f"{raw} IN ('true', 'false')", f"CAST({parse} AS {column})", "TRUE"))
            if whole is not None:  # a whole JSON number, as a facts file's number is read: its value as it is
                low, high = whole
                digits = f"regexp_full_match({raw}, '0|[1-9][0-9]{{0,15}}')"
                number = f"CAST(CAST(CASE WHEN {digits} THEN {raw} END AS DECIMAL(38,0)) AS {column})"
                bounded = " AND ".join([f"{number} {op} {bound}" for op, bound in
                                        ((">=", low), ("<=", high)) if bound is not None]) or "TRUE"
                reads.append((digits, number, bounded))
            checks.append(f"(COALESCE({raw}, 'null') = 'null'" + "".join(
                f" OR ({given} AND {plain} AND COALESCE({read} IS NOT NULL"
                + (f" AND {sql_within(f, read)}" if sql_within(f, read) else "") + ", FALSE))"
                for given, read, plain in reads) + ")")
            typed.append(f"{_quoted(name)} := CASE " + "".join(f"WHEN {given} THEN {read} "
                                                               for given, read, _p in reads)
                         + f"ELSE CAST(NULL AS {column}) END")
        items = f"from_json({text}, '{structure}')"
        value = f"list_transform({items}, lambda x: struct_pack({', '.join(typed)}))"
        every = f"COALESCE(list_bool_and(list_transform({items}, lambda x: {' AND '.join(checks) or 'TRUE'})), TRUE)"
        distinct = []
        for name in fact.unique:
            if fields[name].kind.value != TEXT:
                return None  # items the same by a number or a date: the row engine compares them
            # identity, where it is plainly the text upper case without spaces (ASCII and common CJK)
            got = (f"list_filter(list_transform({items}, lambda x: CASE WHEN starts_with(CAST(x.{_quoted(name)} AS "
                   f"VARCHAR), '\"') THEN substr(CAST(x.{_quoted(name)} AS VARCHAR), 2, length(CAST(x.{_quoted(name)} "
                   "AS VARCHAR)) - 2) END), lambda k: k IS NOT NULL)")
            distinct.append(f"list_bool_and(list_transform({got}, lambda k: regexp_full_match(k, "
                            "'[\\x{21}-\\x{7E}\\x{4E00}-\\x{9FFF} ]*')))")
            keys = (f"list_filter(list_transform({got}, lambda k: NULLIF(upper(replace(k, ' ', '')), '')), "
                    "lambda k: k IS NOT NULL)")
            distinct.append(f"array_length(list_distinct({keys})) = array_length({keys})")
        unique = " AND ".join(f"COALESCE({d}, TRUE)" for d in distinct) or "TRUE"
        well_formed = (f"json_valid({text}) AND NOT contains({text}, '\\') AND NOT regexp_matches({text}, "
                       f"',\\s*[\\]}}]') AND json_type({text}) = 'ARRAY' AND json_array_length({text}) <= {MAX_ITEMS}")
        return (f"CASE WHEN {well_formed} THEN CASE WHEN {shape_ok} THEN CASE WHEN {every} AND {unique} THEN "
                f"{value} END END END")

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


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _json_types(fact: Fact) -> tuple[bool, bool, tuple[str | None, str | None] | None]:
    """How a field's value may be given in JSON and read here, as its schema takes it: a string (read by its
    kind's sql_parse), true or false, a whole number (with the schema's bounds on numbers, as SQL text); other
    numbers are the row engine's (a fraction's exact text is not DuckDB's to keep)."""
    from engine.model.kinds import value_schema

    schema = value_schema(fact)
    branches = [schema, *schema.get("anyOf", ())]
    types = {b.get("type") for b in branches}
    whole = None
    for b in branches:
        if b.get("type") in ("number", "integer"):
            whole = tuple(None if b.get(k) is None else f"CAST('{b[k]}' AS DECIMAL(38,12))"
                          for k in ("minimum", "maximum"))
    return "string" in types, "boolean" in types, whole  # type: ignore[return-value]


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    # null means "not known": the fact is then missing, and clauses that need it are undetermined.
    return {"anyOf": [schema, {"type": "null"}], "description": schema.get("description", "")}
