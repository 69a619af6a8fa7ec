"""Where a round's applicants come from: an XLSX sheet, a CSV file, JSON Lines, or a folder of facts files.

Each source is read as a stream of items, one per applicant, so a round of any size is never held in memory:
(row number, the row's cells) for sheets, (line number, the line's text) for JSON Lines, (index, path) for a
folder. What an item says is read by engine.rounds.run's workers. A problem with the whole file (it cannot be
opened, its encoding is not UTF-8 or GBK, its header names a column the policy does not know) raises
RoundError before any applicant is evaluated; a problem with one row is that row's, and the round goes on.

CSV encodings: UTF-8 with or without a byte-order mark; GBK (GB18030), which WPS and Excel on Chinese
Windows write by default, is recognised and read, with a notice; UTF-16 ("Unicode text") is refused.
"""

from __future__ import annotations

import codecs
import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from engine.core.errors import Problem
from engine.core.messages import Message, msg
from engine.rounds.columns import Column, Headers, blank

SAMPLE = 1 << 16
FORMATS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
FACTS_SUFFIXES = (".yaml", ".yml", ".json")


class RoundError(Exception):
    """The round cannot be read at all: the file, its encoding, or its header. Nothing has been evaluated."""

    def __init__(self, message: Message, suggestion: Message | None = None):
        super().__init__(message)
        self.message, self.suggestion = message, suggestion


@dataclass
class Source:
    """An opened source of applicants: its kind, its columns (sheets), an estimate of its size, and notices."""

    path: str
    kind: str  # cells | jsonl | dir
    layout: list[Column | None] = field(default_factory=list)
    total: int | None = None
    notices: list[Message] = field(default_factory=list)
    encoding: str = "utf-8"
    header_row: int = 1
    _rows: Iterator[tuple[int, object]] | None = None

    def items(self) -> Iterator[tuple[int, object]]:
        assert self._rows is not None
        return self._rows


def open_source(path: str, headers: Headers, count: bool = False) -> Source:
    """Open `path` and read its header; `count` estimates the rows (for a progress bar)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(str(f) for f in p.iterdir() if f.suffix.lower() in FACTS_SUFFIXES and f.is_file())
        if not files:
            raise RoundError(msg("batch.read.empty_dir", path=path))
        return Source(path, "dir", total=len(files), _rows=iter(enumerate(files, 1)))
    suffix = p.suffix.lower()
    form = FORMATS.get(suffix)
    if form is None:
        raise RoundError(msg("batch.read.format", path=path), msg("batch.read.format.hint"))
    if not p.is_file():
        raise RoundError(msg("batch.read.missing", path=path))
    if form == "jsonl":
        encoding = _encoding(path, [])
        total = _count_lines(path) if count else None
        return Source(path, "jsonl", total=total, encoding=encoding, _rows=_jsonl_rows(path, encoding))
    if form == "csv":
        source = Source(path, "cells")
        source.encoding = _encoding(path, source.notices)
        rows = _csv_rows(path, source.encoding)
    else:
        source = Source(path, "cells")
        rows = _xlsx_rows(path, source)
    header_row, header = _header(rows, path)
    source.header_row = header_row
    source.layout = _layout(header, headers, path)
    if count:
        source.total = source.total if source.total is not None else max(0, _count_lines(path) - header_row)
    source._rows = ((n, cells) for n, cells in rows if not _skipped(cells))
    return source


def _skipped(cells: Sequence[object]) -> bool:
    """A row that is not an applicant: empty, or a note (its first cell starts with #, as the template's does)."""
    if all(blank(c) for c in cells):
        return True
    first = cells[0] if cells else None
    return isinstance(first, str) and first.lstrip().startswith("#")


def _header(rows: Iterator[tuple[int, list[object]]], path: str) -> tuple[int, list[str]]:
    for number, cells in rows:
        if not all(blank(c) for c in cells):
            return number, ["" if c is None else str(c) for c in cells]
    raise RoundError(msg("batch.read.no_header", path=path))


def _layout(header: list[str], headers: Headers, path: str) -> list[Column | None]:
    layout: list[Column | None] = []
    seen: dict[str, int] = {}
    for position, text in enumerate(header, 1):
        if not text.strip():
            layout.append(None)
            continue
        column = headers.find(text)
        if column is None:
            raise RoundError(msg("batch.read.unknown_column", path=path, column=text.strip(), position=position),
                             headers.suggest(text) or msg("batch.read.unknown_column.hint"))
        if column.name in seen:
            raise RoundError(msg("batch.read.twice", path=path, column=text.strip(), first=seen[column.name],
                                 position=position))
        seen[column.name] = position
        layout.append(column)
    if "credit_code" not in seen:
        raise RoundError(msg("batch.read.no_code", path=path), msg("batch.read.no_code.hint"))
    if "recipient" not in seen:
        raise RoundError(msg("batch.read.no_recipient", path=path))
    return layout


# --- encodings ---------------------------------------------------------------------------------------

def _encoding(path: str, notices: list[Message]) -> str:
    """utf-8-sig for a file with the UTF-8 mark, utf-8 for UTF-8, gb18030 for GBK text; else RoundError."""
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise RoundError(msg("batch.read.utf16", path=path), msg("batch.read.encoding.hint"))
    final = len(sample) < SAMPLE
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=final)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(sample, final=final)
    except UnicodeDecodeError as error:
        raise RoundError(msg("batch.read.encoding", path=path, offset=error.start),
                         msg("batch.read.encoding.hint")) from None
    notices.append(msg("batch.read.gbk", path=path))
    return "gb18030"


def _count_lines(path: str) -> int:
    lines = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines


def _decoding(path: str, encoding: str, rows: Iterator[tuple[int, list[object]]]
              ) -> Iterator[tuple[int, list[object]]]:
    """`rows`, with a file that stops being text in its encoding half way refused in words."""
    try:
        yield from rows
    except UnicodeDecodeError as error:
        raise RoundError(msg("batch.read.encoding_later", path=path, encoding=encoding, offset=error.start),
                         msg("batch.read.encoding.hint")) from None


def _csv_rows(path: str, encoding: str) -> Iterator[tuple[int, list[object]]]:
    def rows() -> Iterator[tuple[int, list[object]]]:
        with open(path, encoding=encoding, newline="") as handle:
            for number, row in enumerate(csv.reader(handle), 1):
                yield number, list(row)
    return _decoding(path, encoding, rows())


def _jsonl_rows(path: str, encoding: str) -> Iterator[tuple[int, object]]:
    def rows() -> Iterator[tuple[int, object]]:
        with open(path, encoding=encoding) as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    yield number, line
    return _decoding(path, encoding, rows())  # type: ignore[arg-type]


def _xlsx_rows(path: str, source: Source) -> Iterator[tuple[int, list[object]]]:
    """The first sheet's rows, streamed (openpyxl's read-only mode); cached values, never formulas."""
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise RoundError(msg("batch.read.xlsx", path=path, reason=str(error) or type(error).__name__),
                         msg("batch.read.xlsx.hint")) from None
    sheet = book.worksheets[0]
    if sheet.max_row is not None:
        source.total = max(0, sheet.max_row - 1)

    def rows() -> Iterator[tuple[int, list[object]]]:
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
                yield number, list(values)
        finally:
            book.close()
    return rows()


def problem_text(problem: Problem, lang: str) -> tuple[str, str]:
    """A facts problem's message and hint in `lang`, without its file:line prefix (the row says where)."""
    from engine.core.messages import localize

    return str(localize(problem.message, lang)), str(localize(problem.suggestion, lang) or "")


def file_label(path: str, base: str) -> str:
    return os.path.relpath(path, base)
