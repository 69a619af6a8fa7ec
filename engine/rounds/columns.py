"""The application sheet's columns, and one row of cells read into an applicant's facts.

One column per thing an applicant states: who (统一社会信用代码, name, kind, area, claim date), each fact,
and what was granted before under each capped or one-time clause. A header is `label（name）`, e.g.
`年度跨境电商交易额（cbec_turnover）`; a header that is only the label or only the name is read too.

A list fact (such as incubated_enterprises) is one cell holding a JSON array of its items, each an object
keyed by the item's field names: `[{"name": "甲公司", "started_cbec": true, "years_to_threshold": 1.5}]`.
The template shows the fields and an example; `policy batch` reads it back with the facts loader's checks.

Cells arrive as text (CSV), or as what openpyxl reads from XLSX: str, int, float, bool, datetime. Numbers are
never read through a float's arithmetic: a float is read by its shortest text form (repr), and money that is
not exact to the fen after that (1234.5600000001, from a formula) is refused by the facts loader with a hint to
round the cell, as money finer than the fen is from any other source.
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
from engine.model.kinds.amounts import amount_cell
from engine.model.kinds.base import BadCell
from engine.model.kinds.date import date_cell as read_date_cell
from engine.model.kinds.text import text_cell as _text_cell
from engine.model.policy import Fact, Policy
from engine.rounds import identity

# Who the applicant is: the fixed columns, before the facts. Their labels come from the catalogue.
CODE, NAME, KIND, AREA, DATE = "credit_code", "applicant", "recipient", "area", "date"
FIXED = (CODE, NAME, KIND, AREA, DATE)
FIXED_LABEL_KEYS = {CODE: "template.col.credit_code", NAME: "template.col.applicant",
                    KIND: "template.col.recipient", AREA: "template.col.area", DATE: "template.col.date"}
GRANTED = "granted."  # granted.<clause id>: what was granted before under that clause
_NAME_IN_HEADER = re.compile(r"^(.*?)\s*[（(]\s*([A-Za-z_][\w.]*)\s*[）)]\s*$", re.DOTALL)
_KIND_SEPARATORS = re.compile(r"\s*[、,，;；]\s*")


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
    # The fixed columns' kinds are their own words, never a fact kind's ("text", "date"): a text or date fact's
    # column must not be taken for the applicant's name or the claim date.
    return [Column(CODE, labels[CODE], "code"), Column(NAME, labels[NAME], "applicant"),
            Column(KIND, labels[KIND], "recipient"), Column(AREA, labels[AREA], "area"),
            Column(DATE, labels[DATE], "claim_date")]


def granted_clauses(policy: Policy, recipient: str | None = None) -> list[tuple[str, str]]:
    """(clause id, title) of the clauses whose past grants count (Policy.counted_clauses)."""
    return [(c.id, c.title) for c in policy.counted_clauses(recipient)]


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


# --- cells to facts: each fact's cell is read by its kind (engine.model.kinds) ---------------------------

def blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_Bad = BadCell  # a cell that cannot be read: its message and suggestion


def date_cell(value: object, column: Column) -> str:
    """A date cell as YYYY-MM-DD (the claim's date, read as a date fact's cell is)."""
    return read_date_cell(value, column.header)


def _granted_cell(value: object, column: Column) -> object:
    """What was granted before: money, read as a money fact's cell is."""
    return amount_cell(value, column.header, False)


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


# How RowReader reads one column: where the value goes, its key, its converter, its column, as_text, and the
# texts its converter reads that are looked up instead (是, 否 for a boolean).
_Step = tuple[int, str, Callable[[object, "Column"], object] | None, "Column", bool, Mapping[str, object]]
_NO_WORDS: Mapping[str, object] = {}


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
            where, key, convert, column, as_text, words = step
            try:
                if where < 0:
                    code = code_cell(value, column)
                elif as_text and type(value) is str:  # text as typed: the facts loader reads and checks it
                    targets[where][key] = value.strip()
                elif words and type(value) is str and value in words:
                    targets[where][key] = words[value]
                elif convert is None:
                    targets[where][key] = _text_cell(value)
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
                steps.append((-1, CODE, None, column, False, _NO_WORDS))
            elif fact is not None:  # its kind reads it: 10万元, 60%, 1,000 as text, read as in a facts file
                steps.append((0, column.name, _cell_reader(fact), column, fact.kind.cell_as_text,
                              fact.kind.cell_words))
            elif kind == "granted":
                assert column.clause is not None
                steps.append((1, column.clause, _granted_cell, column, True, _NO_WORDS))
            elif kind == "recipient":
                steps.append((2, KIND, self.recipient_cell, column, False, _NO_WORDS))
            elif kind == "claim_date":
                steps.append((2, DATE, date_cell, column, False, _NO_WORDS))
            else:
                steps.append((2, column.name, None, column, True, _NO_WORDS))
        self._layout, self._steps = layout, steps
        return steps

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


def _cell_reader(fact: Fact) -> Callable[[object, Column], object]:
    """A fact's cell reader, as RowReader calls its converters."""
    read = fact.kind.read_cell

    def convert(value: object, column: Column) -> object:
        return read(value, column.header)
    return convert


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
            out.append(c.fact.kind.write_cell(facts.get(c.name)))
            continue
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
