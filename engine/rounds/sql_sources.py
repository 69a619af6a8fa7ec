"""A round's input as the SQL engine reads it, whatever its format: one row per row of the file after the header,
in the file's order and numbered as the row engine numbers them, each cell as VARCHAR text in columns c0, c1, …
in the header's order (engine.rounds.sql reads them as it reads a CSV file's cells).

- CSV: read by DuckDB where it lies (engine.rounds.sql.SqlRound.csv), as before.
- Parquet: DuckDB reads it where it lies, each value as the text the row engine reads from it
  (engine.rounds.read.parquet_texts: the same query), so a row handed back to the row engine is the row it reads.
- XLSX and JSON Lines: DuckDB reads neither as the row engine does (openpyxl's cached values, JSON numbers kept
  to their last written digit), so the rows are read here, by the row engine's own readers, streamed into a
  temporary CSV file in the temporary folder (TMPDIR) that DuckDB then reads: memory stays flat. A cell is
  written as text only where the row engine reads that text exactly as it reads the cell — a text cell as typed;
  a number, a date or a boolean in a column of a kind that reads it as its text; a JSON value the facts loader
  reads as a sheet's cell of the same text is read (facts of a kind whose cells are read as typed, a whole
  number, true/false, a date YYYY-MM-DD) — and any other cell is written as MARK, which the SQL facts check
  refuses in every column: that row is handed back, and the row engine reads it as the file holds it
  (SqlSource.item, in the file's order: a JSON Lines file is read once more, forward; a workbook's rows, whose
  parsing costs more than the rest of the round in SQL, are spooled to the temporary folder as first read).

Rows the row engine does not see (a blank line, a blank row of a sheet, a note) are blank rows here, so that the
SQL engine numbers every row as the row engine does and skips the same ones.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import os
import pickle
import re
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterator, Sequence

from engine.model.policy import Policy
from engine.rounds.columns import CODE, DATE, GRANTED, KIND, NAME, Column, blank
from engine.rounds.read import (
    FORMATS,
    RowRefused,
    Source,
    _jsonl_rows,
    json_row,
    parquet_texts,
    skipped,
)

MAX_GAP = 10_000  # blank rows written for a sheet's gap at most: past it, the round is the row engine's (Sparse)
MARK = "\x01"  # a cell the SQL facts check refuses in any column (and not blank: \x1c-\x1f are white space)
_PLAIN_NUMBER = re.compile(r"-?[0-9]{1,16}(\.[0-9]{1,12})?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_AS_TYPED = ("code", "applicant", "area", "granted")  # the fixed columns read as typed, stripped
# kinds whose number cells (and JSON numbers) the facts loader reads as it reads the number's text
_READ_AS_TYPED = ("money", "number", "granted")
# What str.lstrip() strips, for a note's # (engine.rounds.read.skipped) in SQL
_SPACE = r"[\s\x{0b}\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"


class Sparse(Exception):
    """A sheet whose rows lie far apart (a row numbered 1,048,576 after row 2): the SQL engine would read every
    row between as blank, where the row engine reads the rows there are by their numbers."""


def readable(source: Source) -> bool:
    """Whether the SQL engine reads this source (a CSV file's own conditions are engine.rounds.sql's)."""
    form = FORMATS.get(os.path.splitext(source.path)[1].lower())
    return (source.kind == "cells" and form in ("csv", "parquet", "xlsx")) or source.kind == "jsonl"


@dataclass
class SqlSource(Source):
    """A Parquet, XLSX or JSON Lines source as the SQL engine reads it: `relation()` in SQL, and the row engine's
    item for a row handed back (`item`). Its kind is the file's (the row engine's workers read JSON Lines as
    such); a JSON Lines round has the template's columns as its layout and its rows numbered from line 1."""

    form: str = ""
    policy: Policy | None = None
    _relation: str | None = None
    _folder: Any = None  # the temporary folder of the CSV file written for DuckDB, removed with this object
    _back: Iterator[tuple[int, object]] | None = None
    original: Source | None = None  # the round's own source (a workbook's rows are read from its reader, once)

    def relation(self) -> str:
        """What the SQL engine reads FROM: c0, c1, … as text, one row per row after the header, in order."""
        if self._relation is None:
            self._relation = self._parquet() if self.form == "parquet" else self._staged()
        return self._relation

    def item(self, number: int, cells: list[object]) -> tuple[int, object]:
        """The row engine's item for row `number`, handed back with `cells` as the SQL read them."""
        if self.form == "parquet":
            return number, cells
        if self._back is None:
            self._back = self._spooled() if self.form == "xlsx" else self._items()
        for found in self._back:
            if found[0] == number:
                return found
        raise AssertionError(f"row {number} is not in {self.path}")

    def again(self) -> SqlSource:
        """This source, its rows handed back (`item`) read from the first again: asked for in the rows' order
        once more (a workbook's words, engine.rounds.sql_workbook.write_workbook)."""
        return dataclasses.replace(self, _back=None)

    # -- each format ------------------------------------------------------------------------------------
    def _parquet(self) -> str:
        return f"({self._query})"

    def _items(self) -> Iterator[tuple[int, object]]:
        """The row engine's items: a JSON Lines file's read afresh (the round's own reader is left as it was, for
        the row engine should DuckDB not read the round after all); a workbook's from the round's own reader,
        since parsing a workbook costs more than the rest of a round in SQL: its rows are spooled as read, and
        the round's reader then reads the spool (_staged)."""
        if self.form == "jsonl":
            return _jsonl_rows(self.path, self.encoding)
        assert self.original is not None
        return self.original.items()

    def _spooled(self) -> Iterator[tuple[int, object]]:
        """A workbook's rows as read while staging them (parsing the workbook again would cost as much again)."""
        with open(os.path.join(self._folder.name, "rows.pickle"), "rb") as spool:
            while True:
                try:
                    yield pickle.load(spool)
                except EOFError:
                    return

    def _staged(self) -> str:
        """Every row written as text (cells) to a CSV file for DuckDB; the relation reading it."""
        self._folder = tempfile.TemporaryDirectory(prefix="policy-cells-")
        path = os.path.join(self._folder.name, "cells.csv")
        width = len(self.layout)
        texts = _JsonCells(self.policy, self.layout) if self.form == "jsonl" else _SheetCells(self.layout)
        blank_row = [""] * width
        code = next(i for i, c in enumerate(self.layout) if c is not None and c.kind == "code")
        with open(path, "w", encoding="utf-8", newline="") as handle, \
                open(os.path.join(self._folder.name, "rows.pickle"), "wb") as spool:
            keep = self.form == "xlsx"
            out = csv.writer(handle)
            out.writerow([f"c{i}" for i in range(width)])
            number = self.header_row
            sparse: str | None = None
            for found, payload in self._items():
                if keep:
                    pickle.dump((found, payload), spool, protocol=pickle.HIGHEST_PROTOCOL)
                if sparse is None and found - number > MAX_GAP:
                    # a sheet's row far down: the row engine reads it by its number (every row is still spooled,
                    # for it reads the spool)
                    sparse = f"row {found} after row {number}"
                if sparse is not None:
                    continue
                while number + 1 < found:  # the rows the row engine does not see
                    out.writerow(blank_row)
                    number += 1
                row = texts.cells(payload)
                if MARK in row or skipped(row):  # the row engine's (it reads every row written here)
                    row[code] = MARK  # refused in the code column, which every round has
                out.writerow(row)
                number = found
        if keep and self.original is not None:
            self.original._rows = self._spooled()
        if sparse is not None:
            raise Sparse(sparse)
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
        return (f"read_csv('{path.replace(chr(39), chr(39) * 2)}', header=true, columns={columns}, "
                "all_varchar=true, null_padding=false, quote='\"', escape='\"', delim=',', new_line='\\r\\n', "
                "auto_detect=false)")  # csv.writer's line end: never taken for a cell's own line break


def sql_source(source: Source, policy: Policy, lang: str) -> Source:
    """`source` as the SQL engine reads it: a CSV source as it is, any other an SqlSource."""
    form = "jsonl" if source.kind == "jsonl" else FORMATS.get(os.path.splitext(source.path)[1].lower(), "")
    if source.kind not in ("cells", "jsonl") or form == "csv" or isinstance(source, SqlSource):
        return source
    out = SqlSource(source.path, source.kind, list(source.layout), source.total, [], source.encoding,
                    source.header_row, form=form, policy=policy, original=source)
    if form == "jsonl":
        from engine.rounds.template import sheet_columns

        out.layout, out.header_row = list(sheet_columns(policy, lang, None)), 0
    elif form == "parquet":
        out._query = source._query or parquet_texts(source.path)[1]
    return out


def note(cell: str) -> str:
    """SQL: the row is a note, its first cell (`cell`, as read) starting with # after white space (read.skipped):
    the SQL engine hands it back, and it is skipped as the row engine skips it."""
    return f"COALESCE(regexp_matches({cell}, '^{_SPACE}*#'), FALSE)"


def handed_back(source: Source, number: int, cells: list[object]) -> tuple[int, object]:
    """The row engine's item for a row the SQL engine hands back: the row as the file holds it."""
    return source.item(number, cells) if isinstance(source, SqlSource) else (number, cells)


# --- cells as text, where the row engine reads the text as it reads the cell ---------------------------------

def _usable(text: str) -> bool:
    """Text DuckDB reads back as written (no NUL, no lone surrogate)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _SheetCells:
    """An XLSX row's cells (what openpyxl reads: str, int, float, bool, datetime) as text."""

    def __init__(self, layout: Sequence[Column | None]):
        self.kinds = [None if c is None else c.fact.kind.keyword if c.fact is not None else c.kind for c in layout]
        self.width = len(layout)

    def cells(self, payload: object) -> list[str]:
        assert isinstance(payload, list)
        out = []
        for value, kind in zip(payload, self.kinds, strict=False):
            if value is None:
                out.append("")
            elif type(value) is str:  # as the row engine reads it (a lone surrogate is the row's problem there)
                out.append(value if value.isascii() or _usable(value) else MARK)
            else:
                out.append(_typed(value, kind))
        width = self.width
        out += [""] * (width - len(out))
        if any(not blank(value) for value in payload[width:]):  # a cell past the header: the row engine's
            return [MARK] * width
        return out


def _typed(value: object, kind: str | None) -> str:
    """A cell openpyxl read as a number, boolean or date, as the text its column's kind reads alike; else MARK."""
    if kind is None:
        return ""  # a column without a header: neither engine reads it (a row of nothing else is marked, _staged)
    if type(value) is bool:
        return ("true" if value else "false") if kind == "boolean" else MARK
    if type(value) is int:
        if kind == "integer":
            return str(value) if 0 <= value < 10 ** 16 else MARK
        return str(value) if kind in _READ_AS_TYPED else MARK
    if type(value) is float:
        if value != value or value in (float("inf"), float("-inf")):
            return MARK
        shown = repr(value)
        if kind == "integer":
            exact = Decimal(shown)
            whole = int(exact) if exact == exact.to_integral_value() else -1
            return str(whole) if 0 <= whole < 10 ** 16 else MARK
        return shown if kind in _READ_AS_TYPED and _PLAIN_NUMBER.fullmatch(shown) else MARK
    if isinstance(value, (dt.date, dt.datetime)) and kind in ("date", "claim_date"):
        return (value.date() if isinstance(value, dt.datetime) else value).isoformat()
    return MARK


class _JsonCells:
    """A JSON Lines row (a facts file's mapping on one line) as the sheet's cells, in the template's columns."""

    def __init__(self, policy: Policy | None, layout: Sequence[Column | None]):
        assert policy is not None
        self.recipients = set(policy.recipients)
        self.at = {c.name: i for i, c in enumerate(layout) if c is not None}
        self.columns = list(layout)
        self.granted = next((i for i, c in enumerate(layout) if c is not None and c.kind == "granted"), None)
        self.width = len(layout)

    def cells(self, payload: object) -> list[str]:
        out = [""] * self.width
        if not isinstance(payload, str):  # a line that cannot be read
            return [MARK] * self.width
        try:
            data = json_row(payload, 0)
        except (ValueError, RowRefused):  # not JSON (json.JSONDecodeError), or refused as a facts file is
            data = None
        if not isinstance(data, dict) or not self.fill(data, out):
            return [MARK] * self.width
        return out

    def fill(self, data: dict[str, Any], out: list[str]) -> bool:
        """The row's cells into `out`; False when any value is not one the SQL may read as a cell's text."""
        for key, value in data.items():
            if key == "facts":
                if not isinstance(value, dict):
                    return False
                for name, fact_value in value.items():
                    if not self.put(name, fact_value, out):
                        return False
            elif key == "granted":
                if value is None:
                    continue
                if not isinstance(value, dict):
                    return False
                if not value and self.granted is not None:  # {}: none, as a sheet says it (0 in one column)
                    out[self.granted] = "0"
                for clause, amount in value.items():
                    if not self.put(GRANTED + clause, amount, out):
                        return False
            elif key == "note":
                if type(value) is not str or not _usable(value):
                    return False
            elif key == KIND:
                if type(value) is not str or value not in self.recipients:
                    return False
                out[self.at[KIND]] = value
            elif key in (CODE, NAME, "area", DATE):
                if not self.put(key, value, out):
                    return False
            else:
                return False
        return True

    def put(self, name: str, value: object, out: list[str]) -> bool:
        at = self.at.get(name)
        if at is None:
            return False
        if value is None:
            return True  # null: not given, as a blank cell
        column = self.columns[at]
        assert column is not None
        kind = column.fact.kind.keyword if column.fact is not None else column.kind
        text: str | None = None
        if type(value) is str:
            # a cell the sheet's reader keeps as typed (stripped) goes to the facts loader as this string would
            as_text = column.fact.kind.cell_as_text if column.fact is not None else kind in _AS_TYPED
            if kind in ("date", "claim_date"):
                text = value if _ISO_DATE.fullmatch(value) else None
            elif as_text and value == value.strip() and value != "" and _usable(value):
                text = value
        elif type(value) is bool:
            text = ("true" if value else "false") if kind == "boolean" else None
        elif type(value) is int:
            if kind == "integer":
                text = str(value) if 0 <= value < 10 ** 16 else None
            elif kind in _READ_AS_TYPED:
                text = str(value)
        elif type(value) is Decimal and kind in _READ_AS_TYPED:
            shown = str(value)
            text = shown if _PLAIN_NUMBER.fullmatch(shown) else None
        if text is None:
            return False
        out[at] = text
        return True
