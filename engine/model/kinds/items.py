"""A list (`type: list`) of items, each with the fields the fact declares under `items:` (a JSON array in a cell).

The file is items.py: a module named list would hide the builtin in this package's namespace.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, ClassVar

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
    sql_unstripped: ClassVar[bool] = True  # its pattern starts with [ and ends with ]

    def column(self, fact: Fact) -> str:
        """A list of STRUCTs, one field per declared field, each of its own kind's column type."""
        return "STRUCT(" + ", ".join(f"{_quoted(n)} {f.kind.column(f)}" for n, f in fact.items.items()) + ")[]"

    def sql_parse(self, fact: Fact, text: str) -> str | None:
        stages = self.sql_stages(fact, text)
        if stages is None:
            return None
        first, then = stages
        return f"list_transform([{first}], lambda v: {then('v')})[1]"  # a one-item list's lambda binds it to `v`

    def sql_stages(self, fact: Fact, text: str) -> tuple[str, Callable[[str], str]] | None:
        """The cell's JSON array as the list's items, where the facts check reads it plainly: an array of at most
        MAX_ITEMS objects, each with declared fields only, each once, each field null (not given) or a JSON string
        (a boolean for a yes/no field, a whole number where its schema takes one) that its kind's sql_parse reads
        within its bounds, and no two items the same by `unique:` (compared where engine.core.text.identity is
        plain to compute: ASCII and common CJK). Any other text is NULL: the row engine reads it (or words what it
        refuses).

        One regular expression checks the text is such an array, written plainly (JSON's grammar, strings without
        backslash escapes or control characters, numbers whole): DuckDB's JSON reader takes what Python's json
        refuses (a comma before a closing bracket), and keeps the first of a key given twice where Python keeps the
        last (json_keys finds those where the keys are not in the declared order, in which none is given twice).
        The items are then read once (from_json), each field parsed once by its kind, each item with how
        many fields it gave (the first step); then, over those, whether every given field was read within its
        bounds and no two items are the same (the second): a list that is not is NULL."""
        fields = fact.items
        if any(f.at_most is not None or not _plain_name(n) for n, f in fields.items()) or _GIVEN in fields:
            return None  # a field bounded by another, or named so that a pattern would not find it: the row engine's
        ws = "[ \\t\\n\\r]*"
        pairs = []
        typed = []
        read = []  # per field, SQL over an item `y` of the parsed list: its value is read and within its bounds
        shape = {}  # each field as from_json reads it: its JSON text, or its text (a string's unquoted)
        for name, f in fields.items():
            column = f.kind.column(f)
            reads: list[tuple[str | None, str]] = []  # (SQL: given this way, None: any other way; SQL: its value)
            values = ["null"]
            strings, boolean, whole = _json_types(f)
            # a field given as a string or true/false only is read as text, its kind's reading of the string's
            # text or of the word true or false (which that reading takes too): no test of how it was given in
            # the lambda, whose state DuckDB builds again for every vector at a cost that grows with its size
            plain = whole is None
            shape[name] = "VARCHAR" if plain else "JSON"
            raw = f"x.{_quoted(name)}" if plain else f"CAST(x.{_quoted(name)} AS VARCHAR)"  # NULL: null, not given
            pattern = f.kind.sql_pattern(f, quoted=True) if strings else None
            if pattern is not None:  # a string, its text as written (the pattern takes no escapes)
                values.append(f'"(?:{pattern})"')
                string = raw if plain else f"substr({raw}, 2, length({raw}) - 2)"
                reads.append((None if plain else f"starts_with({raw}, '\"')", f.kind.sql_value(f, string)))
            parse = f.kind.sql_parse(f, raw)
            if parse is not None and boolean:
                values.append("true|false")
                if not plain or pattern is None:
                    reads.append((None if plain else f"{raw} IN ('true', 'false')", parse))
            if whole is not None:  # a whole JSON number, as a facts file's number is read: its value as it is
                low, high = whole
                values.append("0|[1-9][0-9]{0,15}")
                number = f"CAST(CAST({raw} AS DECIMAL(38,0)) AS {column})"
                bounded = " AND ".join([f"{number} {op} {bound}" for op, bound in
                                        ((">=", low), ("<=", high)) if bound is not None])
                reads.append((None, f"CASE WHEN {bounded} THEN {number} END" if bounded else number))
            pairs.append(f'"{_pattern(name)}"{ws}:{ws}(?:{"|".join(values)})')
            value = "".join(f"WHEN {given} THEN CAST({got} AS {column}) " if given else
                            f"ELSE CAST({got} AS {column}) " for given, got in reads)
            value = (f"CAST({reads[0][1]} AS {column})" if value.startswith("ELSE") else f"CASE {value}END" if value
                     else f"CAST(NULL AS {column})")
            typed.append(f"{_quoted(name)} := {value}")
            within = sql_within(f, f"y.{_quoted(name)}")
            read.append(f"CAST(y.{_quoted(name)} IS NOT NULL" + (f" AND COALESCE({within}, FALSE)" if within else "")
                        + " AS INTEGER)")
        pair = "(?:" + "|".join(pairs) + ")"
        # the keys in the declared order, each at most once (as the template writes them), or in any order
        ordered = "|".join("(?:" + pairs[i] + "".join(f"(?:{ws},{ws}{p})?" for p in pairs[i + 1:]) + ")"
                           for i in range(len(pairs)))
        shapes = []
        for pairs_written in (ordered, f"{pair}(?:{ws},{ws}{pair})*"):
            item = f"\\{{{ws}(?:{pairs_written})?{ws}\\}}"
            shapes.append(f"\\[{ws}(?:{item}(?:{ws},{ws}{item})*)?{ws}\\]")
        structure = "[{" + ", ".join(f'"{n}": "{shape[n]}"' for n in fields).replace("'", "''") + "}]"
        given = " + ".join(f"CAST(x.{_quoted(n)} IS NOT NULL AS INTEGER)" for n in fields) or "0"
        distinct = (f"COALESCE(list_bool_and(list_transform(json_keys({text}, '$[*]'), "
                    "lambda k: len(k) = len(list_distinct(k)))), TRUE)")
        # each item's fields read (NULL where not read), and how many it gave
        # (the keys in any order looked for only where they are not in order, and each key once only where the
        # array is plain: a CASE evaluates a branch only where it is taken, an OR both sides)
        first = (f"CASE WHEN CASE WHEN regexp_full_match({text}, '{shapes[0]}') THEN TRUE "
                 f"WHEN regexp_full_match({text}, '{shapes[1]}') THEN {distinct} ELSE FALSE END "
                 f"THEN list_transform(from_json({text}, '{structure}'), lambda x: struct_pack("
                 + ", ".join([*typed, f"{_quoted(_GIVEN)} := {given}"]) + ")) END")
        unique = []
        for name in fact.unique:
            if fields[name].kind.value != TEXT:
                return None  # items the same by a number or a date: the row engine compares them
            unique.append(name)

        def then(v: str) -> str:
            # per item: every given field read within bounds, and each unique field's text one whose identity is
            # plainly its text upper case without spaces (ASCII and common CJK; a text field's value is its string
            # as written)
            each = [f"y.{_quoted(_GIVEN)} = {' + '.join(read) or '0'}"] + [
                f"COALESCE(regexp_full_match(y.{_quoted(name)}, '{_PLAIN_IDENTITY}'), TRUE)" for name in unique]
            checks = [f"len({v}) <= {MAX_ITEMS}",
                      f"COALESCE(list_bool_and(list_transform({v}, lambda y: {' AND '.join(each)})), TRUE)"]
            for name in unique:
                # no two identities the same (an item without the field has one of its own: its index, after a NUL)
                keys = (f"list_transform({v}, lambda y, i: COALESCE(NULLIF(upper(replace(y.{_quoted(name)}, ' ', '')), "
                        f"''), chr(0) || CAST(i AS VARCHAR)))")
                checks.append(f"list_unique({keys}) = len({v})")
            value = f"list_transform({v}, lambda y: struct_pack(" + ", ".join(
                f"{_quoted(n)} := y.{_quoted(n)}" for n in fields) + "))"
            return f"CASE WHEN {' AND '.join(checks)} THEN {value} END"
        return first, then

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


_PLAIN_IDENTITY = "[\\x{21}-\\x{7E}\\x{4E00}-\\x{9FFF} ]*"  # RE2: text whose identity is its upper case without spaces
_GIVEN = "$given"  # an item's count of fields given, beside its fields while they are read


def _plain_name(name: str) -> bool:
    """A field's name as a JSON key the pattern finds written as it is (no quote, backslash or control character)."""
    return name != "" and not any(c in '"\\' or c < " " for c in name)


def _pattern(name: str) -> str:
    """A name as a regular expression (RE2) of itself: ASCII letters and digits as they are, others by code."""
    return "".join(c if c.isalnum() or not c.isascii() else f"\\x{{{ord(c):02X}}}" for c in name)


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
