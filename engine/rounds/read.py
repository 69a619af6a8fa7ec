"""Where a round's applicants come from: an XLSX sheet, a CSV file, JSON Lines, or a folder of facts files.

Each source is read as a stream of chunks of applicants, so a round of any size is never held in memory. A
chunk holds items read here — (row number, the row's cells) for XLSX sheets, (line number, the line's text)
for JSON Lines, (index, path) for a folder — or, for a CSV file, its records as raw bytes, which the worker
that evaluates them decodes and parses itself (CsvRecords: the main process only cuts the file, so it is
never what a round waits for). A problem with the whole file (it cannot be opened, its encoding is not UTF-8
or GBK, its header names a column the policy does not know) raises RoundError before any applicant is
evaluated; a problem with one row is that row's, and the round goes on.

CSV encodings: UTF-8 with or without a byte-order mark; GBK (GB18030), which WPS and Excel on Chinese
Windows write by default, is recognised and read, with a notice; UTF-16 ("Unicode text") is refused.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence, TypeVar

from engine.core.errors import Problem
from engine.core.messages import Message, msg
from engine.rounds.columns import Column, Headers, blank

SAMPLE = 1 << 16
_T = TypeVar("_T")
BLOCK = 1 << 20  # bytes of a CSV file read at a time when cutting it into records
FORMATS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
FACTS_SUFFIXES = (".yaml", ".yml", ".json")


class RoundError(Exception):
    """The round cannot be read at all: the file, its encoding, or its header. Nothing has been evaluated."""

    def __init__(self, message: Message, suggestion: Message | None = None):
        super().__init__(message)
        self.message, self.suggestion = message, suggestion


@dataclass
class Chunk:
    """Applicants for one worker task: `items` read here, or a CSV file's `records` (raw bytes, the first one
    numbered `first`, starting at byte `offset`) for the worker to parse with parse_records."""

    items: list[tuple[int, object]] | None = None
    records: list[bytes] | None = None
    first: int = 0
    offset: int = 0
    encoding: str = "utf-8"

    def __len__(self) -> int:
        return len(self.items if self.items is not None else self.records or ())


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
    _records: CsvRecords | None = None  # a CSV file whose records the workers parse
    _data_start: tuple[int, int] = (0, 0)  # (byte offset, row number) of the CSV record after the header

    def items(self) -> Iterator[tuple[int, object]]:
        """Every applicant's item, read here (a CSV file's rows parsed here too)."""
        if self._rows is None:
            self._rows = self._csv_items(*self._data_start)
        return self._rows

    def chunks(self, size: int) -> Iterator[Chunk]:
        """The applicants in chunks of `size`: a CSV file's as raw records, others' as items read here."""
        if self._records is None:
            for items in _batches(self.items(), size):
                yield Chunk(items=items)
            return
        start, first = self._data_start
        for offset, records in self._records.batches(start, size):
            yield Chunk(records=records, first=first, offset=offset, encoding=self._records.encoding)
            first += len(records)

    def reread(self, chunk: Chunk, size: int) -> Iterator[Chunk]:
        """The chunks from `chunk` on, read here as csv.reader reads the file and numbers its rows: for when the
        records of `chunk` were not cut where csv.reader ends them (a stray quote; parse_records says so)."""
        self._records = None
        self._rows = self._csv_items(chunk.offset, chunk.first)
        return self.chunks(size)

    def _csv_items(self, offset: int, first: int) -> Iterator[tuple[int, object]]:
        encoding = "utf-8" if offset and self.encoding == "utf-8-sig" else self.encoding
        rows = _csv_rows(self.path, encoding, offset, first)
        return ((n, cells) for n, cells in rows if not skipped(cells))


def _batches(items: Iterator[_T], size: int) -> Iterator[list[_T]]:
    batch: list[_T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


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
    source = Source(path, "cells")
    if form == "csv":
        source.encoding = _encoding(path, source.notices)
        records = CsvRecords(path, source.encoding)
        parsed = records.header()
        if parsed is not None:  # the header, and where the applicants' records start
            header_row, header, source._data_start = parsed
            source._records = records
        else:  # a header csv.reader reads otherwise than the cut records say: the whole file is read here
            rows = _csv_rows(path, source.encoding)
            header_row, header = _header(rows, path)
            source._rows = ((n, cells) for n, cells in rows if not skipped(cells))
    else:
        rows = _xlsx_rows(path, source)
        header_row, header = _header(rows, path)
        source._rows = ((n, cells) for n, cells in rows if not skipped(cells))
    source.header_row = header_row
    source.layout = _layout(header, headers, path)
    if count:
        source.total = source.total if source.total is not None else max(0, _count_lines(path) - header_row)
    return source


def skipped(cells: Sequence[object]) -> bool:
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


def _csv_rows(path: str, encoding: str, offset: int = 0, first: int = 1) -> Iterator[tuple[int, list[object]]]:
    """The rows of a CSV file from byte `offset` (a record's start), numbered from `first`."""
    def rows() -> Iterator[tuple[int, list[object]]]:
        with open(path, "rb") as raw:
            raw.seek(offset)
            with io.TextIOWrapper(raw, encoding=encoding, newline="") as handle:
                for number, row in enumerate(csv.reader(handle), first):
                    yield number, list(row)
    return _decoding(path, encoding, rows())


class CsvRecords:
    """A CSV file cut into its records as raw bytes, without parsing it, so that each worker parses its own.

    A record ends at a line end (\n, \r\n or \r) where the number of quotes since the record began is even:
    exactly where csv.reader ends one for CSV as Excel, WPS and csv.writer write it (a quote only opens or
    closes a field, and is doubled inside one). A hand-made file with a stray quote inside an unquoted field
    (ab"c) may be cut elsewhere: parse_records, in the worker, finds that (each record must be exactly one
    csv.reader record), and the round then reads the file from there on as csv.reader does (Source.reread).
    UTF-8 and GB18030 never use the bytes of '"', '\r' or '\n' inside a character, so their bytes can be cut.
    """

    def __init__(self, path: str, encoding: str):
        self.path = path
        self.encoding = "utf-8" if encoding == "utf-8-sig" else encoding  # for every record but the first
        self.bom = len(codecs.BOM_UTF8) if encoding == "utf-8-sig" else 0

    def records(self, start: int) -> Iterator[tuple[int, bytes]]:
        """(byte offset, bytes) of each record from byte `start` (a record's start) to the end of the file."""
        with open(self.path, "rb") as handle:
            handle.seek(start)
            offset, rest = start, b""
            parts: list[bytes] = []  # the lines so far of a record with an open quote
            while True:
                block = handle.read(BLOCK)
                lines = (rest + block).splitlines(keepends=True)
                # The last line may go on in the next block (or be a '\r' whose '\n' does): kept for it.
                rest = lines.pop() if block and lines else b""
                for line in lines:
                    if parts:
                        parts.append(line)
                        if line.count(b'"') % 2:
                            record = b"".join(parts)
                            parts = []
                            yield offset, record
                            offset += len(record)
                    elif line.count(b'"') % 2:
                        parts.append(line)
                    else:
                        yield offset, line
                        offset += len(line)
                if not block:
                    if parts:  # an open quote at the end of the file
                        yield offset, b"".join(parts)
                    return

    def batches(self, start: int, size: int) -> Iterator[tuple[int, list[bytes]]]:
        """(offset of the first, records) in batches of `size`."""
        batch: list[bytes] = []
        first = start
        for offset, record in self.records(start):
            if not batch:
                first = offset
            batch.append(record)
            if len(batch) >= size:
                yield first, batch
                batch = []
        if batch:
            yield first, batch

    def header(self) -> tuple[int, list[str], tuple[int, int]] | None:
        """(row number, cells) of the header — the first row not blank — and (offset, row number) of the record
        after it; None when csv.reader reads the records there otherwise than they were cut."""
        number = 0
        for offset, record in self.records(0):
            number += 1
            if offset == 0 and self.bom and record.startswith(codecs.BOM_UTF8):
                record = record[self.bom:]
            rows = parse_records([record], self.encoding)
            if rows is None:
                return None
            cells = rows[0]
            if not all(blank(c) for c in cells):
                return number, cells, (offset + len(record) + (self.bom if offset == 0 else 0), number + 1)
        raise RoundError(msg("batch.read.no_header", path=self.path))


def parse_records(records: Sequence[bytes], encoding: str) -> list[list[str]] | None:
    """Each record's cells, as csv.reader reads them; None when a record is not exactly one csv.reader record
    (the file was cut at a stray quote: see CsvRecords) or not text in `encoding`."""
    try:
        texts = [record.decode(encoding) for record in records]
    except UnicodeDecodeError:
        return None  # the main process reads it again, and says where the file stops being text
    # A record that ends inside a quoted field would go on into the next text: the sentinel shows it.
    reader = csv.reader(itertools.chain(texts, ("\n",)))
    rows = []
    try:
        for count in range(1, len(texts) + 1):
            rows.append(next(reader))
            if reader.line_num != count:
                return None
    except csv.Error:  # two records in one text ("new-line character seen in unquoted field"), NUL...
        return None
    return rows


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
