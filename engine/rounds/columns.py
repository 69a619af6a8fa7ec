"""The application sheet's columns, and one row of cells read into an applicant's facts.

One column per thing an applicant states: who (统一社会信用代码, name, kind, area, claim date), each fact,
and what was granted before under each capped or one-time clause. A header is `label（name）`, e.g.
`年度跨境电商交易额（cbec_turnover）`; a header that is only the label or only the name is read too.

A list fact (such as incubated_enterprises) is one cell holding a JSON array of its items, each an object
keyed by the item's field names: `[{"name": "甲公司", "started_cbec": true, "years_to_threshold": 1.5}]`.
The template shows the fields and an example; `policy batch` reads it back with the facts loader's checks.

Cells arrive as text (CSV), or as what openpyxl reads from XLSX: str, int, float, bool, datetime. Numbers are
never read through a float's arithmetic: a float is read by its shortest text form (repr), and money that is
not exact to the fen after that (1234.5600000001, from a formula) is refused with a hint to round the cell.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Mapping, Sequence

from engine.core.messages import Message, msg
from engine.core.suggest import did_you_mean, one_of
from engine.model.facts import facts_for
from engine.model.policy import Fact, Policy
from engine.rounds import identity

# Who the applicant is: the fixed columns, before the facts. Their labels come from the catalogue.
CODE, NAME, KIND, AREA, DATE = "credit_code", "applicant", "recipient", "area", "date"
FIXED = (CODE, NAME, KIND, AREA, DATE)
FIXED_LABEL_KEYS = {CODE: "template.col.credit_code", NAME: "template.col.applicant",
                    KIND: "template.col.recipient", AREA: "template.col.area", DATE: "template.col.date"}
GRANTED = "granted."  # granted.<clause id>: what was granted before under that clause
# 是/否 as officers write them, TRUE/FALSE as Excel and WPS show a logical cell typed as text; nothing else
# (yes/no, 1/0 are refused with a hint, as in facts files, rather than guessed).
TRUE_WORDS = frozenset({"是", "true"})
FALSE_WORDS = frozenset({"否", "false"})
_NAME_IN_HEADER = re.compile(r"^(.*?)\s*[（(]\s*([A-Za-z_][\w.]*)\s*[）)]\s*$", re.DOTALL)
_KIND_SEPARATORS = re.compile(r"\s*[、,，;；]\s*")
_SLASH_DATE = re.compile(r"^(\d{4})[/.年](\d{1,2})[/.月](\d{1,2})日?$")
_WHOLE = re.compile(r"^[+-]?\d{1,16}$")


def fixed_labels(lang: str) -> dict[str, str]:
    """The fixed columns' labels in `lang`, by name."""
    from engine.core.messages import t

    return {name: t(FIXED_LABEL_KEYS[name], lang) for name in FIXED}


@dataclass(frozen=True)
class Column:
    """One column of the sheet: `name` is what programs write (a fact's name, credit_code, granted.2.1)."""

    name: str
    label: str
    kind: str  # code | text | recipient | area | date | granted | a fact's type
    fact: Fact | None = None
    clause: str | None = None  # for granted.<clause>

    @property
    def header(self) -> str:
        return f"{self.label}（{self.name}）"


@dataclass(frozen=True)
class CellProblem:
    """A cell that cannot be read: the column and why, and what to do."""

    column: str
    message: Message
    suggestion: Message | None = None


def fixed_columns(labels: Mapping[str, str]) -> list[Column]:
    return [Column(CODE, labels[CODE], "code"), Column(NAME, labels[NAME], "text"),
            Column(KIND, labels[KIND], "recipient"), Column(AREA, labels[AREA], "area"),
            Column(DATE, labels[DATE], "date")]


def granted_clauses(policy: Policy, recipient: str | None = None) -> list[tuple[str, str]]:
    """(clause id, title) of the clauses whose past grants count: capped or one-time awards."""
    return [(c.id, c.title) for c in policy.clauses
            if c.award is not None and (c.cap is not None or c.period == "once")
            and (recipient is None or recipient in c.recipients)]


def columns(policy: Policy, labels: Mapping[str, str], granted_label: Callable[[str, str], str],
            recipient: str | None = None) -> list[Column]:
    """The sheet's columns for one kind of applicant (every column the policy knows, with none given)."""
    facts = facts_for(policy, recipient) if recipient is not None else list(policy.all_facts().values())
    out = fixed_columns(labels)
    out += [Column(f.name, f.label, f.type, fact=f) for f in facts]
    out += [Column(GRANTED + cid, granted_label(cid, title), "granted", clause=cid)
            for cid, title in granted_clauses(policy, recipient)]
    return out


class Headers:
    """Reads a header row against the policy's columns: by name, by label, or `label（name）`."""

    def __init__(self, every: Sequence[Column], extra_labels: Mapping[str, str] = {}):
        self.by_name = {c.name: c for c in every}
        by_label: dict[str, Column | None] = {}
        for c in every:
            by_label[c.label] = None if c.label in by_label else c  # a label two columns share reads as neither
        for label, name in extra_labels.items():  # the fixed columns' labels in the other language
            by_label.setdefault(label, self.by_name[name])
        self.by_label = {label: c for label, c in by_label.items() if c is not None}

    def find(self, header: str) -> Column | None:
        text = header.strip()
        found = self.by_name.get(text) or self.by_label.get(text)
        if found is not None:
            return found
        match = _NAME_IN_HEADER.match(text)
        if match:
            return self.by_name.get(match.group(2)) or self.by_label.get(match.group(1).strip())
        return None

    def suggest(self, header: str) -> Message | None:
        text = header.strip()
        match = _NAME_IN_HEADER.match(text)
        word = match.group(2) if match else text
        return did_you_mean(word, list(self.by_name) + list(self.by_label))


# --- cells to facts --------------------------------------------------------------------------------

def blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _decimal_of_float(value: float) -> Decimal:
    return Decimal(repr(value))


def _amount_cell(value: object, column: Column, fact_type: str) -> object:
    """A number cell as the facts loader reads it: text as typed; an int; a float by its text, checked."""
    if isinstance(value, bool):
        raise _Bad(msg("batch.cell.not_number", column=column.header), None)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _Bad(msg("batch.cell.not_number", column=column.header), None)
        exact = _decimal_of_float(value)
        if fact_type == "integer":
            if exact == exact.to_integral_value():
                return int(exact)
            return exact  # the facts loader refuses it, worded as for a facts file
        return exact  # money finer than the fen is refused by the facts loader, as from any other source
    if isinstance(value, (int, Decimal)):
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        raise _Bad(msg("batch.cell.not_number", column=column.header), None)
    text = str(value).strip()
    if fact_type == "integer" and _WHOLE.match(text):
        return int(text)  # a sheet's cells are text: 30 in a CSV is the number 30, as in a facts file
    return text


def _amount_or_text(fact_type: str) -> Callable[[object, Column], object]:
    def convert(value: object, column: Column) -> object:
        if type(value) is str:
            return value.strip()  # text as typed: 10万元, 60%, 1,000 are read as in a facts file
        return _amount_cell(value, column, fact_type)
    return convert


def _integer_cell(value: object, column: Column) -> object:
    if type(value) is str and value.isdigit() and len(value) <= 16:
        return int(value)
    return _amount_cell(value, column, "integer")


def _boolean_cell(value: object, column: Column) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise _Bad(msg("batch.cell.boolean", column=column.header, value=str(value).strip()),
               msg("batch.cell.boolean.hint"))


# What _boolean_cell makes of the texts a sheet holds nearly always, without calling it.
_BOOLEAN_TEXT = {text: value for value, words in ((True, TRUE_WORDS), (False, FALSE_WORDS)) for word in words
                 for text in (word, word.upper(), word.capitalize())}


def date_cell(value: object, column: Column) -> str:
    """A date cell as YYYY-MM-DD: a date Excel keeps as a date, or text 2024-12-20, 2024/12/20, 2024年12月20日."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise _Bad(msg("batch.cell.date", column=column.header, value=value), msg("batch.cell.date.hint"))
    text = str(value).strip()
    match = _SLASH_DATE.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
        try:
            return dt.date(year, month, day).isoformat()
        except ValueError:
            raise _Bad(msg("batch.cell.date", column=column.header, value=text), msg("batch.cell.date.hint")) from None
    return text  # YYYY-MM-DD, or whatever the facts loader will word as not a date


def _list_cell(value: object, column: Column) -> object:
    if not isinstance(value, str):
        raise _Bad(msg("batch.cell.list", column=column.header, reason=str(value)), msg("batch.cell.list.hint"))
    try:
        data = json.loads(value, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise _Bad(msg("batch.cell.list", column=column.header, reason=f"{error.msg} (@{error.pos + 1})"),
                   msg("batch.cell.list.hint")) from None
    if not isinstance(data, list):
        raise _Bad(msg("batch.cell.list", column=column.header, reason=type(data).__name__),
                   msg("batch.cell.list.hint"))
    return data


def _text_cell(value: object) -> str:
    if isinstance(value, float) and value == int(value):
        return str(int(value))  # a name or choice Excel took for a number: 2024, not 2024.0
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value).strip()


class _Bad(Exception):
    def __init__(self, message: Message, suggestion: Message | None):
        super().__init__(message)
        self.message, self.suggestion = message, suggestion


def code_cell(value: object, column: Column) -> str:
    """A credit code, normalised; a cell Excel read as a number lost digits and is refused."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise _Bad(msg("batch.code.number", column=column.header), msg("batch.code.number.hint"))
    code = identity.normalise(str(value))
    found = identity.problem(code)
    if found is None:
        return code
    if found.kind == "length":
        raise _Bad(msg("batch.code.length", code=code, length=found.length), msg("batch.code.hint"))
    if found.kind == "character":
        raise _Bad(msg("batch.code.character", code=code, char=found.char, position=found.position),
                   msg("batch.code.character.hint"))
    raise _Bad(msg("batch.code.check", code=code, char=found.char, expected=found.expected), msg("batch.code.hint"))


# How RowReader reads one column: where the value goes, its key, its converter, its column, and as_text.
_Step = tuple[int, str, Callable[[object, "Column"], object] | None, "Column", bool]


class RowReader:
    """Turns one row of cells into (credit code, the facts-file data, problems), for one policy's columns."""

    def __init__(self, policy: Policy, kinds_by_label: Mapping[str, str]):
        self.policy = policy
        self.kinds = dict(kinds_by_label)  # a kind's label or id -> its id
        for kind in policy.recipients:
            self.kinds[kind] = kind

    def read(self, cells: Sequence[object], layout: Sequence[Column | None]
             ) -> tuple[str | None, dict[str, Any], list[CellProblem]]:
        data: dict[str, Any] = {}
        facts: dict[str, object] = {}
        granted: dict[str, object] = {}
        code: str | None = None
        problems: list[CellProblem] = []
        targets = (facts, granted, data)
        steps = self._steps if self._layout is layout else self.plan(layout)
        # Cell by cell, blank ones first left out (half a row or more, in a sheet for every kind of applicant).
        # A row shorter than the header lacks its last cells; a longer one's extra cells have no column.
        for step, value in zip(steps, cells, strict=False):
            if not value:
                if value is None or type(value) is str:
                    continue  # blank ('' or None); 0 and False are values
            elif type(value) is str and value.isspace():
                continue
            if step is None:
                continue
            where, key, convert, column, as_text = step
            try:
                if where < 0:
                    code = code_cell(value, column)
                elif as_text and type(value) is str:  # text as typed: the facts loader reads and checks it
                    targets[where][key] = value.strip()
                elif convert is None:
                    targets[where][key] = _text_cell(value)
                elif convert is _boolean_cell and type(value) is str and value in _BOOLEAN_TEXT:
                    targets[where][key] = _BOOLEAN_TEXT[value]
                else:
                    targets[where][key] = convert(value, column)
            except _Bad as bad:
                problems.append(CellProblem(column.header, bad.message, bad.suggestion))
        if facts:
            data["facts"] = facts
        if granted:
            data["granted"] = granted
        return code, data, problems

    _layout: Sequence[Column | None] | None = None
    _steps: list[_Step | None] = []

    def plan(self, layout: Sequence[Column | None]) -> list[_Step | None]:
        """Per column, once per layout: (facts 0 | granted 1 | data 2 | code -1, key, converter, column, as_text:
        a text cell is kept as typed, stripped), or None for a column without a header."""
        steps: list[_Step | None] = []
        for column in layout:
            if column is None:
                steps.append(None)
                continue
            kind, fact = column.kind, column.fact
            if kind == "code":
                steps.append((-1, CODE, None, column, False))
            elif fact is not None:
                t = fact.type
                if t in ("money", "number", "percent"):  # 10万元, 60%, 1,000: read as in a facts file
                    steps.append((0, column.name, _amount_or_text(t), column, True))
                elif t == "integer":
                    steps.append((0, column.name, _integer_cell, column, False))
                elif t == "boolean":
                    steps.append((0, column.name, _boolean_cell, column, False))
                elif t == "date":
                    steps.append((0, column.name, date_cell, column, False))
                elif t == "list":
                    steps.append((0, column.name, _list_cell, column, False))
                else:
                    steps.append((0, column.name, None, column, True))
            elif kind == "granted":
                assert column.clause is not None
                steps.append((1, column.clause, _amount_or_text("granted"), column, True))
            elif kind == "recipient":
                steps.append((2, KIND, self.recipient_cell, column, False))
            elif kind == "date":
                steps.append((2, DATE, date_cell, column, False))
            else:
                steps.append((2, column.name, None, column, True))
        self._layout, self._steps = layout, steps
        return steps

    def fact_cell(self, value: object, column: Column, fact: Fact) -> object:
        t = fact.type
        if t in ("money", "number", "integer", "percent"):
            return _amount_cell(value, column, t)
        if t == "boolean":
            return _boolean_cell(value, column)
        if t == "date":
            return date_cell(value, column)
        if t == "list":
            return _list_cell(value, column)
        return _text_cell(value)

    def recipient_cell(self, value: object, column: Column) -> str | list[str]:
        words = [w for w in _KIND_SEPARATORS.split(str(value).strip()) if w]
        out = []
        for word in words:
            kind = self.kinds.get(word)
            if kind is None:
                raise _Bad(msg("batch.cell.recipient", column=column.header, value=word,
                               kinds=one_of(self.kinds)), did_you_mean(word, self.kinds))
            out.append(kind)
        return out[0] if len(out) == 1 else out


def list_example(fact: Fact) -> str:
    """An example cell for a list fact: a JSON array of one item with every field."""
    sample = {"money": 5_000_000, "number": 1.5, "integer": 1, "percent": "50%", "boolean": True,
              "date": "2024-01-31", "text": "示例企业", "list": []}
    item = {name: (f.choices[0] if f.choices else sample.get(f.type, "")) for name, f in fact.items.items()}
    return json.dumps([item], ensure_ascii=False)


def path_column(path: Sequence[str | int], layout_by_name: Mapping[str, Column]) -> str:
    """The column a facts problem at `path` (e.g. ("facts", "cbec_turnover")) is in, as its header shows."""
    if len(path) >= 2 and path[0] == "facts" and isinstance(path[1], str) and path[1] in layout_by_name:
        header = layout_by_name[path[1]].header
        rest = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path[2:])
        return header + rest
    if len(path) >= 2 and path[0] == "granted" and GRANTED + str(path[1]) in layout_by_name:
        return layout_by_name[GRANTED + str(path[1])].header
    if path and isinstance(path[0], str) and path[0] in layout_by_name:
        return layout_by_name[path[0]].header
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def cells_of(data: Mapping[str, Any], cols: Sequence[Column], code: str | None = None) -> list[object]:
    """One row of the sheet for facts in the facts-file shape: what RowReader.read reads back to the same facts
    (for programs that make sheets, such as the benchmark; a blank cell for a fact not given)."""
    facts = data.get("facts") or {}
    granted = data.get("granted")
    out: list[object] = []
    for c in cols:
        if c.kind == "code":
            value: object = code if code is not None else data.get(CODE)
        elif c.kind == "granted":
            value = None if granted is None else granted.get(c.clause, 0)
        elif c.fact is not None:
            value = facts.get(c.name)
        else:
            value = data.get(c.name)
            if c.kind == "recipient" and isinstance(value, list):
                value = "、".join(value)
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            value = json.dumps(value, ensure_ascii=False, default=str)
        elif isinstance(value, Decimal):
            value = f"{value:f}"
        elif isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        out.append(value)
    return out
