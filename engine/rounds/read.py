"""Where a round's applicants come from: an XLSX sheet, a CSV file, a Parquet file, JSON Lines, or a folder of
facts files.

Each source is read as a stream of chunks of applicants, so a round of any size is never held in memory. A
chunk holds items read here — (row number, the row's cells) for XLSX sheets, (line number, the line's text)
for JSON Lines, (index, path) for a folder — or, for a CSV file, its records as raw bytes, which the worker
that evaluates them decodes and parses itself (CsvRecords: the main process only cuts the file, so it is
never what a round waits for). A problem with the whole file (it cannot be opened, its encoding is not UTF-8
or GBK, its header names a column the policy does not know) raises RoundError before any applicant is
evaluated; so does a workbook found damaged later (the round's outputs are then discarded). A problem with one
row is that row's, and the round goes on: a row that cannot be read at all (bytes that are not text, a record
longer than RECORD_LIMIT) is an Unreadable item, which names the byte in the file where it is.

CSV encodings: UTF-8 with or without a byte-order mark; GBK (GB18030), which WPS and Excel on Chinese
Windows write by default, is recognised and read, with a notice; UTF-16 ("Unicode text") is refused.

Parquet: read by DuckDB (imported only then), streamed. Its column names are the header (row 1), its rows rows
2, 3, …; each typed value is read as the text a CSV cell would hold (parquet_texts), so a row reads exactly as
the same row of a CSV file, and the SQL engine reads the same texts (engine.rounds.sql_sources).
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Iterator, Sequence, TypeVar

from engine.core.amounts import MAX_INTEGER_DIGITS, out_of_range
from engine.core.errors import Problem
from engine.core.messages import Message, msg
from engine.rounds.columns import Column, Headers, blank

SAMPLE = 1 << 16
_T = TypeVar("_T")
BLOCK = 1 << 20  # bytes of a CSV file read at a time when cutting it into records
RECORD_LIMIT = 1 << 20  # bytes of one record (CSV) or line (JSON Lines) at most: a longer one is a row error
CHUNK_BYTES = 8 << 20  # bytes of records sent to a worker at a time at most
csv.field_size_limit(max(csv.field_size_limit(), RECORD_LIMIT))  # a field as long as a record may be
FORMATS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
           ".parquet": "parquet"}
FACTS_SUFFIXES = (".yaml", ".yml", ".json")


class RoundError(Exception):
    """The round cannot be read at all: the file, its encoding, or its header. Nothing has been evaluated."""

    def __init__(self, message: Message, suggestion: Message | None = None):
        super().__init__(message)
        self.message, self.suggestion = message, suggestion


@dataclass(frozen=True)
class TooLong:
    """A record (or JSON line) longer than RECORD_LIMIT, left unread: `size` bytes of the file."""

    size: int


@dataclass(frozen=True)
class Unreadable:
    """A row that cannot be read: `reason` is "bytes" (not text in `encoding` from byte `offset` of the file)
    or "long" (longer than RECORD_LIMIT; `offset` is where it starts). The round goes on with the next row."""

    reason: str
    path: str
    offset: int
    encoding: str = ""


@dataclass
class Chunk:
    """Applicants for one worker task: `items` read here, or a CSV file's `records` (raw bytes, the first one
    numbered `first`, starting at byte `offset`) for the worker to parse with parse_records."""

    items: list[tuple[int, object]] | None = None
    records: list[bytes | TooLong] | None = None
    first: int = 0
    offset: int = 0
    encoding: str = "utf-8"
    path: str = ""

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
    _query: str = ""  # a Parquet file's rows as texts, in DuckDB's SQL (parquet_texts)

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
            yield Chunk(records=records, first=first, offset=offset, encoding=self._records.encoding, path=self.path)
            first += len(records)

    def reread(self, chunk: Chunk, size: int) -> Iterator[Chunk]:
        """The chunks from `chunk` on, for when the records of `chunk` were not cut where csv.reader ends them
        (a quote the quick cut took for another; parse_records says so): cut again from there by csv.reader's
        own rule (CsvRecords(exact=True)), still bounded and still parsed by the workers. Should those too not
        be one csv.reader record each, the rest of the file is read here as csv.reader reads it."""
        assert self._records is not None or self._rows is not None
        if self._records is not None and not self._records.exact:
            self._records = CsvRecords(self.path, self._records.encoding, exact=True)
            self._data_start = (chunk.offset, chunk.first)
            return self.chunks(size)
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
        encoding = _encoding(path, [], lines=True)
        total = _count_lines(path) if count else None
        return Source(path, "jsonl", total=total, encoding=encoding, _rows=_jsonl_rows(path, encoding))
    source = Source(path, "cells")
    if form == "parquet":
        header, source._query = parquet_texts(path)
        source.layout = _layout(header, headers, path)
        source.total = _parquet_count(path) if count else None
        source._rows = ((n, cells) for n, cells in _parquet_rows(path, source._query) if not skipped(cells))
        return source
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
        rows = _xlsx_rows(path, source, count)
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

def _encoding(path: str, notices: list[Message], lines: bool = False) -> str:
    """utf-8-sig for a file with the UTF-8 mark, utf-8 for UTF-8, gb18030 for GBK text; else RoundError, which
    names the row and the byte of the file where the bytes stop being UTF-8 text, or GBK text when GBK reads on
    to a later line (a UTF-8 file with one bad byte is named by that byte, not by where GBK gave up; a GBK file
    by its bad byte, not by its first Chinese character). `lines`: rows are lines (JSON Lines), not records."""
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
    except UnicodeDecodeError as error:
        utf8 = error.start
    try:
        codecs.getincrementaldecoder("gb18030")().decode(sample, final=final)
    except UnicodeDecodeError as error:
        # GBK's stop is named only when GBK read past the line UTF-8 stopped in (a GBK file, its bad byte further
        # on): bytes that are not UTF-8 often pass for a GBK character or two, by chance, before GBK stops too.
        later = sample.count(b"\n", utf8, error.start) > 0
        encoding, offset = ("gb18030", error.start) if later else ("utf-8", utf8)
        row = sample.count(b"\n", 0, offset) + 1 if lines else _record_at(path, encoding, offset)
        raise RoundError(msg("batch.read.encoding", path=path, row=row, offset=offset,
                             encoding="UTF-8" if encoding == "utf-8" else "GBK"),
                         msg("batch.read.encoding.hint")) from None
    notices.append(msg("batch.read.gbk", path=path))
    return "gb18030"


def _record_at(path: str, encoding: str, offset: int) -> int:
    """The number of the CSV record that holds byte `offset` of the file (cut as the round cuts it)."""
    number = 0
    for start, record in CsvRecords(path, encoding).records(0):
        number += 1
        if offset < start + (record.size if isinstance(record, TooLong) else len(record)):
            break
    return number


def _count_lines(path: str) -> int:
    lines = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines


def _csv_rows(path: str, encoding: str, offset: int = 0, first: int = 1) -> Iterator[tuple[int, list[object]]]:
    """The rows of a CSV file from byte `offset` (a record's start), numbered from `first`, as csv.reader reads
    them (when the file cannot be cut into records: CsvRecords.header, Source.reread). What csv.reader cannot
    read (bytes that are not text, a field longer than RECORD_LIMIT) stops the round, naming the row."""
    def rows() -> Iterator[tuple[int, list[object]]]:
        number = first - 1
        try:
            with open(path, "rb") as raw:
                raw.seek(offset)
                with io.TextIOWrapper(raw, encoding=encoding, newline="") as handle:
                    for number, row in enumerate(csv.reader(handle), first):
                        yield number, list(row)
        except UnicodeDecodeError:
            raise RoundError(msg("batch.read.encoding_later", path=path, encoding=encoding, row=number + 1),
                             msg("batch.read.encoding.hint")) from None
        except csv.Error as error:
            raise RoundError(msg("batch.read.csv", path=path, row=number + 1, reason=str(error)),
                             msg("batch.read.csv.hint")) from None
    return rows()


_START, _FIELD, _QUOTED, _QUOTE = range(4)  # where csv.reader is in a record: see _scan


def _scan(line: bytes, state: int) -> int:
    """Where csv.reader is at the end of `line`, from `state`, by its rule (the Excel dialect): a quote opens a
    quoted field only as a field's first character; inside one, a doubled quote is a quote and a single one
    closes it; anywhere else a quote is a plain character."""
    i, n = 0, len(line)
    while i < n:
        if state == _QUOTED:
            j = line.find(b'"', i)
            if j < 0:
                return _QUOTED
            i, state = j + 1, _QUOTE
        elif state == _FIELD:
            j = line.find(b",", i)
            if j < 0:
                return _FIELD
            i, state = j + 1, _START
        else:
            c = line[i]
            if c == 0x22:  # '"'
                state = _QUOTED  # opens a field (_START), or is a doubled quote inside one (_QUOTE)
            elif c == 0x2C:  # ','
                state = _START
            else:
                state = _FIELD
            i += 1
    return state


class CsvRecords:
    """A CSV file cut into its records as raw bytes, without parsing it, so that each worker parses its own.

    A record ends at a line end (\n, \r\n or \r) outside a quoted field. The quick cut (the default) takes a
    line with an even number of quotes to be a whole record, as it is in CSV as Excel, WPS and csv.writer write
    it, and looks closer (csv.reader's own rule, _scan) only at a line with an odd number: so a stray quote in
    an unquoted field (ACME "Trading) does not open a record that swallows the rest of the file. The rare file
    the quick cut cuts otherwise than csv.reader does (parse_records, in the worker, finds it) is cut again
    from there with `exact=True`, which applies csv.reader's rule to every line (Source.reread).

    Memory stays flat whatever the quoting: a record longer than RECORD_LIMIT (a quote that is never closed,
    a line without end) is given as TooLong — the row's error — and the file is read on from the line after
    the record's first line. UTF-8 and GB18030 never use the bytes of '"', ',', '\r' or '\n' inside a
    character, so their bytes can be cut.
    """

    def __init__(self, path: str, encoding: str, exact: bool = False):
        self.path = path
        self.encoding = "utf-8" if encoding == "utf-8-sig" else encoding  # for every record but the first
        self.bom = len(codecs.BOM_UTF8) if encoding == "utf-8-sig" else 0
        self.exact = exact

    def records(self, start: int) -> Iterator[tuple[int, bytes | TooLong]]:
        """(byte offset, bytes) of each record from byte `start` (a record's start) to the end of the file."""
        exact = self.exact
        with open(self.path, "rb") as handle:
            handle.seek(start)
            offset, rest = start, b""
            lines: list[bytes] = []  # lines read and not yet cut (or given back after a record too long)
            parts: list[bytes] = []  # the lines so far of a record with an open quote
            size, state, end = 0, _START, False
            while True:
                if not lines:
                    if end:
                        if parts:  # an open quote at the end of the file
                            yield offset, b"".join(parts)
                        return
                    if len(rest) <= RECORD_LIMIT:
                        block = handle.read(BLOCK)
                        lines = (rest + block).splitlines(keepends=True)
                        # The last line may go on in the next block (or be a '\r' whose '\n' does): kept for it.
                        rest = lines.pop() if block and lines else b""
                        end = not block
                        continue
                    if parts:  # a line this long without an end, in a record already too long
                        lines, rest = [rest], b""
                    else:  # a line this long without an end: read past its end, not kept
                        skipped = len(rest) + self._skip_line(handle)
                        rest = b""
                        yield offset, TooLong(skipped)
                        offset += skipped
                        continue
                todo, lines = iter(lines), []
                for line in todo:
                    if not parts:
                        if b'"' not in line or (not exact and not line.count(b'"') % 2):
                            if len(line) > RECORD_LIMIT:  # a line this long, read whole: not kept either
                                yield offset, TooLong(len(line))
                            else:
                                yield offset, line
                            offset += len(line)
                            continue
                        parts, size, state = [line], len(line), _scan(line, _START)
                    else:
                        parts.append(line)
                        size += len(line)
                        state = _scan(line, state)
                    if state != _QUOTED:
                        record = b"".join(parts) if len(parts) > 1 else parts[0]
                        parts = []
                        if len(record) > RECORD_LIMIT:
                            yield offset, TooLong(len(record))
                        else:
                            yield offset, record
                        offset += len(record)
                    elif size > RECORD_LIMIT:  # the record's first line is the bad row; read on from the next
                        yield offset, TooLong(len(parts[0]))
                        offset += len(parts[0])
                        lines, parts = parts[1:] + list(todo), []
                        break

    @staticmethod
    def _skip_line(handle: IO[bytes]) -> int:
        """Read past the end of the line being read; how many bytes that was (its end included)."""
        skipped = 0
        while block := handle.read(BLOCK):
            ends = [i for i in (block.find(b"\n"), block.find(b"\r")) if i >= 0]
            if not ends:
                skipped += len(block)
                continue
            stop = min(ends) + 1
            if block[stop - 1:stop + 1] == b"\r\n":
                stop += 1
            handle.seek(stop - len(block), os.SEEK_CUR)
            return skipped + stop
        return skipped

    def batches(self, start: int, size: int) -> Iterator[tuple[int, list[bytes | TooLong]]]:
        """(offset of the first, records) in batches of `size` records (and CHUNK_BYTES at most)."""
        batch: list[bytes | TooLong] = []
        first, length = start, 0
        for offset, record in self.records(start):
            if not batch:
                first, length = offset, 0
            batch.append(record)
            length += record.size if isinstance(record, TooLong) else len(record)
            if len(batch) >= size or length >= CHUNK_BYTES:
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
            if isinstance(record, TooLong):
                return None
            if offset == 0 and self.bom and record.startswith(codecs.BOM_UTF8):
                record = record[self.bom:]
            rows = parse_records([record], self.encoding)
            if rows is None or not isinstance(rows[0], list):
                return None
            cells = rows[0]
            if not all(blank(c) for c in cells):
                return number, cells, (offset + len(record) + (self.bom if offset == 0 else 0), number + 1)
        raise RoundError(msg("batch.read.no_header", path=self.path))


def parse_records(records: Sequence[bytes | TooLong], encoding: str, path: str = "", offset: int = 0
                  ) -> list[list[str] | Unreadable] | None:
    """Each record's cells, as csv.reader reads them, or why it cannot be read (Unreadable: bytes that are not
    text in `encoding`, or a record too long; `offset` is the first record's byte in the file, so each names
    its own); None when a record is not exactly one csv.reader record (see CsvRecords).

    A row of bytes that are not text is that row's error and the round goes on (rather than refusing the whole
    file when it is found, late): every good row is evaluated and written, with the summary, and the row is
    listed with the file's byte where the bad bytes are, so it can be found and fixed. A file that is not text
    from its first bytes on is refused before anything is read (_encoding)."""
    texts: list[str] = []
    out: list[list[str] | Unreadable | None] = []
    at = offset
    for record in records:
        if isinstance(record, TooLong):
            out.append(Unreadable("long", path, at))
            at += record.size
            continue
        try:
            texts.append(record.decode(encoding))
            out.append(None)
        except UnicodeDecodeError as error:
            out.append(Unreadable("bytes", path, at + error.start, encoding))
        at += len(record)
    # A record that ends inside a quoted field would go on into the next text: the sentinel shows it.
    reader = csv.reader(itertools.chain(texts, ("\n",)))
    rows: list[list[str] | Unreadable] = []
    try:
        count = 0
        for item in out:
            if item is not None:
                rows.append(item)
                continue
            count += 1
            rows.append(next(reader))
            if reader.line_num != count:
                return None
    except csv.Error:  # two records in one text ("new-line character seen in unquoted field")...
        return None
    return rows


def _jsonl_rows(path: str, encoding: str) -> Iterator[tuple[int, object]]:
    """Each line that is not blank, as text; a line that is not text in `encoding`, or longer than RECORD_LIMIT,
    as Unreadable (its row's error, naming its byte in the file), and the round goes on."""
    def rows() -> Iterator[tuple[int, object]]:
        with open(path, "rb") as handle:
            offset, number = 0, 0
            while line := handle.readline(RECORD_LIMIT + 1):
                number += 1
                start, offset = offset, offset + len(line)
                if len(line) > RECORD_LIMIT and not line.endswith(b"\n"):
                    skipped = CsvRecords._skip_line(handle)
                    offset += skipped
                    yield number, Unreadable("long", path, start)
                    continue
                if number == 1 and encoding == "utf-8-sig" and line.startswith(codecs.BOM_UTF8):
                    line, start = line[len(codecs.BOM_UTF8):], start + len(codecs.BOM_UTF8)
                try:
                    text = line.decode("utf-8" if encoding == "utf-8-sig" else encoding)
                except UnicodeDecodeError as error:
                    yield number, Unreadable("bytes", path, start + error.start, encoding)
                    continue
                if text.strip():
                    yield number, text
    return rows()


class RowRefused(Exception):
    """A JSON Lines row the facts loader would refuse in a facts file: its message, hint and column (a key)."""

    def __init__(self, message: Message, suggestion: Message | None = None, column: str = ""):
        super().__init__(message)
        self.message, self.suggestion, self.column = message, suggestion, column


def json_row(line: str, number: int) -> object:
    """One JSON Lines row (line `number`) as plain data, with the limits a facts file has (engine.syntax.loader):
    nesting deeper than MAX_DEPTH levels, a key given twice, a number out of range are the row's RowRefused, in
    the loader's words, never a RecursionError, a ValueError of int() or an error message a gigabyte long; any
    other text that is not JSON is json.JSONDecodeError. Numbers are int and Decimal, never float (but NaN)."""
    from engine.syntax.loader import MAX_DEPTH

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        out = dict(items)
        if len(out) < len(items):
            seen: set[str] = set()
            for key, _value in items:
                if key in seen:
                    raise RowRefused(msg("load.duplicate_key", key=key, line=number),
                                     msg("load.duplicate_key.hint"), key)
                seen.add(key)
        return out

    try:
        data = json.loads(line, parse_float=_json_decimal, parse_int=_json_int, object_pairs_hook=pairs)
    except RecursionError:  # deeper than the parser can go, far deeper than MAX_DEPTH
        raise RowRefused(msg("load.too_deep", depth=MAX_DEPTH)) from None
    # A document MAX_DEPTH deep or less has fewer brackets than that: only a line with more is walked.
    if line.count("[") + line.count("{") >= MAX_DEPTH and _deeper(data, MAX_DEPTH):
        raise RowRefused(msg("load.too_deep", depth=MAX_DEPTH))
    return data


def _json_decimal(text: str) -> Decimal:
    value = Decimal(text)
    if out_of_range(value):
        raise RowRefused(msg("load.number_range", value=text), msg("load.number_range.hint"))
    return value


def _json_int(text: str) -> int:
    if len(text) > MAX_INTEGER_DIGITS:  # and int() of 4,300 digits or more is a ValueError
        _json_decimal(text)
    return int(text)


def _deeper(data: object, limit: int) -> bool:
    """Whether `data` is nested more than `limit` levels, counted as the facts loader counts them (the document
    is level 1; a value in a mapping or list one level below it); without recursion."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return False


MAX_ROW, MAX_COLUMN = 1_048_576, 16_384  # a sheet's last row and last column (XFD), in Excel and WPS alike


class _Damaged(Exception):
    """A workbook whose rows or cells are numbered as no spreadsheet numbers them (_sheet_rows)."""

    def __init__(self, message: Message):
        super().__init__(message)
        self.message = message


def _xlsx_rows(path: str, source: Source, count: bool = True) -> Iterator[tuple[int, list[object]]]:
    """The first sheet's rows that hold a cell, by their own row numbers, streamed; cached values, never
    formulas. Rows the sheet leaves out (blank ones) are not walked: a row numbered far down comes at once.
    `count`: estimate the rows (source.total) by the sheet's own word, which openpyxl finds by reading the whole
    sheet when its writer did not say."""
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    # A damaged workbook (not a zip, a sheet cut short, a row numbered "x", a style out of range…) makes openpyxl,
    # zipfile, zlib or the XML parser raise any of a dozen exception types, at opening or at any row: each is
    # "cannot read the workbook", with the row where it stopped, never a crash.
    try:
        book = load_workbook(path, read_only=True, data_only=True)
        sheet = book.worksheets[0]
        if count and sheet.max_row is not None and sheet.max_row <= MAX_ROW:  # the sheet's own word: an estimate
            source.total = max(0, sheet.max_row - 1)
    except (InvalidFileException, zipfile.BadZipFile) as error:
        raise RoundError(msg("batch.read.xlsx", path=path, reason=str(error) or type(error).__name__),
                         msg("batch.read.xlsx.hint")) from None
    except Exception as error:  # a third-party parser of the user's file: see above
        raise RoundError(msg("batch.read.xlsx", path=path, reason=_reason(error)),
                         msg("batch.read.xlsx.hint")) from None

    def rows() -> Iterator[tuple[int, list[object]]]:
        number = 0
        try:
            for number, values in _sheet_rows(book, sheet, path):
                yield number, values
        except _Damaged as damaged:
            raise RoundError(damaged.message, msg("batch.read.xlsx.hint")) from None
        except Exception as error:  # as above
            raise RoundError(msg("batch.read.xlsx_row", path=path, row=number + 1, reason=_reason(error)),
                             msg("batch.read.xlsx.hint")) from None
        finally:
            book.close()
    return rows()


def _sheet_rows(book: Any, sheet: Any, path: str) -> Iterator[tuple[int, list[object]]]:
    """(row number, values by column) of each row the sheet's XML holds, read by openpyxl's own parser as its
    read-only sheet reads them, with three differences that matter here: the blank rows between two rows are
    not made up one by one (openpyxl walks every one, so <row r="99999999999"> took for ever); the sheet's
    <dimension> is not believed (openpyxl leaves out every row and column past it, so a workbook whose writer
    set it too small lost rows without a word); and a row numbered past a sheet's last row or not further down,
    or two cells in one place, is a damaged workbook rather than a row left out or one cell taken for another.
    (The parser is openpyxl's internal one, used as its read-only sheet uses it: tests/test_rounds_run_hardening.py
    reads workbooks through it.)"""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet._reader import WorkSheetParser

    last = 0
    with sheet._get_source() as source:
        parser = WorkSheetParser(source, sheet._shared_strings, data_only=True, epoch=book.epoch,
                                 date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
        for number, cells in parser.parse():
            if not 1 <= number <= MAX_ROW:
                raise _Damaged(msg("batch.read.xlsx_far", path=path, number=number, row=last, limit=MAX_ROW))
            if number <= last:
                raise _Damaged(msg("batch.read.xlsx_order", path=path, number=number, row=last))
            last = number
            width = max((cell["column"] for cell in cells), default=0)
            if width > MAX_COLUMN:
                raise _Damaged(msg("batch.read.xlsx_column", path=path, row=number,
                                   column=get_column_letter(width)))
            values: list[object] = [None] * width
            for cell in cells:
                values[cell["column"] - 1] = cell["value"]
            if len(cells) > 1 and len({cell["column"] for cell in cells}) < len(cells):
                twice = Counter(cell["column"] for cell in cells).most_common(1)[0][0]
                raise _Damaged(msg("batch.read.xlsx_twice", path=path, row=number,
                                   column=get_column_letter(twice)))
            yield number, values


def _reason(error: Exception) -> str:
    text = str(error).encode("utf-8", "backslashreplace").decode("utf-8")  # never a lone surrogate
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# --- Parquet ---------------------------------------------------------------------------------------------

PARQUET_FETCH = 2048  # rows fetched from DuckDB at a time: memory stays flat
_AS_TEXT = frozenset({"VARCHAR", "BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                      "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DATE", "UUID", "JSON"})
_TIMESTAMPS = frozenset({"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"})


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def parquet_cell(column: str, kind: str) -> str | None:
    """SQL: a Parquet value of DuckDB type `kind` as the text a CSV cell would hold, NULL when null; None for a
    type no cell holds. Text as it is; whole numbers and DECIMAL as their digits (1234.50 keeps its places);
    BOOLEAN true/false; DATE 2024-01-31, a TIMESTAMP at midnight too (another time of day as written out, which
    a date's cell refuses); a DOUBLE or FLOAT by its shortest text (0.1, 1234.56: the number its writer wrote,
    so money finer than the fen is refused row by row as from any other source, never rounded; nan, inf and
    1e+16 are refused as they would be in a CSV); a list, struct or map (a list fact's items) as JSON."""
    if kind in _AS_TEXT or kind.startswith(("DECIMAL(", "ENUM(")):
        return f"CAST({column} AS VARCHAR)"
    if kind in _TIMESTAMPS:
        return (f"CASE WHEN {column} = date_trunc('day', {column}) THEN strftime({column}, '%Y-%m-%d') "
                f"ELSE CAST({column} AS VARCHAR) END")
    if kind.endswith("]") or kind.startswith(("STRUCT(", "MAP(")):
        return f"CAST(to_json({column}) AS VARCHAR)"
    return None


def _parquet_error(path: str, error: Exception) -> RoundError:
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return RoundError(msg("batch.read.parquet", path=path, reason=reason), msg("batch.read.parquet.hint"))


def _parquet_source(path: str) -> str:
    return "read_parquet('" + path.replace("'", "''") + "')"


def parquet_texts(path: str) -> tuple[list[str], str]:
    """The Parquet file's column names (its header, row 1) and a DuckDB query of its rows in the file's order
    (rows 2, 3, …: DuckDB keeps the order of what it reads): c0, c1, … each value as the text a CSV cell would
    hold (parquet_cell). RoundError when it cannot be read as Parquet, or a column holds what no cell holds."""
    import duckdb

    con = duckdb.connect()
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {_parquet_source(path)}").fetchall()
    except duckdb.Error as error:
        raise _parquet_error(path, error) from None
    finally:
        con.close()
    header: list[str] = []
    texts: list[str] = []
    for name, kind, *_rest in described:
        cell = parquet_cell(_quoted(name), kind)
        if cell is None:
            raise RoundError(msg("batch.read.parquet_type", path=path, column=name, type=kind),
                             msg("batch.read.parquet_type.hint"))
        header.append(name)
        texts.append(f"{cell} AS c{len(texts)}")
    if not header:
        raise RoundError(msg("batch.read.no_header", path=path))
    return header, f"SELECT {', '.join(texts)} FROM {_parquet_source(path)}"


def _parquet_count(path: str) -> int | None:
    import duckdb

    con = duckdb.connect()
    try:
        found = con.execute(f"SELECT count(*) FROM {_parquet_source(path)}").fetchone()
        return int(found[0]) if found else None
    except duckdb.Error as error:
        raise _parquet_error(path, error) from None
    finally:
        con.close()


def _parquet_rows(path: str, texts: str) -> Iterator[tuple[int, list[object]]]:
    """(row number, cells as texts) of every row of the Parquet file, streamed; a file found damaged while it is
    read is a RoundError naming the row (the round's outputs are then discarded)."""
    def rows() -> Iterator[tuple[int, list[object]]]:
        import duckdb

        number = 1
        con = duckdb.connect()
        try:
            con.execute("SET preserve_insertion_order = true")
            cursor = con.execute(texts)
            while batch := cursor.fetchmany(PARQUET_FETCH):
                for row in batch:
                    number += 1
                    yield number, list(row)
        except duckdb.Error as error:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            # DuckDB reads ahead: the damage is somewhere after the last row read
            raise RoundError(msg("batch.read.parquet_row", path=path, row=number, reason=reason),
                             msg("batch.read.parquet.hint")) from None
        finally:
            con.close()
    return rows()


def problem_text(problem: Problem, lang: str) -> tuple[str, str]:
    """A facts problem's message and hint in `lang`, without its file:line prefix (the row says where)."""
    from engine.core.messages import localize

    return str(localize(problem.message, lang)), str(localize(problem.suggestion, lang) or "")
