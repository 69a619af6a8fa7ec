"""A round's results, written as they come: CSV, JSON Lines or Parquet for programs, an XLSX workbook for
officers.

CSV and JSON Lines: the results file, one line per applicant evaluated, and beside it NAME.errors.(csv|jsonl)
(one line per problem of a bad row) and NAME.summary.(csv|json) (per clause, and the round). Amounts are exact
decimal text, never floats. The workbook's sheets are 结果 (results), 汇总 (summary), 问题 (errors), 签批 (each
applicant's total and awards, narrow enough to print legibly) and 图表 (native charts over the summary), each laid
out to print on A4 landscape one page wide with its header row on every page; they are
written by XlsxWriter in its constant-memory mode, so its rows stream to disk too; amounts are numbers
formatted as money (the amount columns carry the money format, set once).

Parquet: the results CSV's columns under the same names, typed (parquet_types): row BIGINT, total and each
clause's amount DECIMAL(18,2), complete BOOLEAN, every other column VARCHAR, an empty cell NULL; nothing is
neutralised (programs read it, not a spreadsheet). The errors and summary files are the CSV round's
(NAME.errors.csv, NAME.summary.csv). The rows are staged as plain CSV in a hidden folder beside the output and
DuckDB copies them into the Parquet file at the end, so memory stays flat; every file is put in place whole.

Without pools, each applicant's line or row is made by the worker that evaluated it (CsvLines, JsonlLines,
SheetRows: formatter()) and the main process only writes the worker's Part; with pools the main process
formats each Record once the pools are shared, with the same formatters.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Iterable, Sequence

from engine.core.files import replace_when_done
from engine.core.messages import t
from engine.model.policy import Policy
from engine.rounds.results import Output, Part, Record, RowError, Summary, Tally

WRITERS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".xlsx": "xlsx", ".parquet": "parquet"}
MONEY_FORMAT = '#,##0.00" 元"'
OUTCOME_WORDS = {"eligible": "outcome.eligible", "ineligible": "outcome.ineligible",
                 "undetermined": "outcome.undetermined", "referred": "outcome.referred",
                 "not_applicable": "outcome.not_applicable"}


def sibling(path: str, part: str, suffix: str) -> str:
    """results.csv -> results.errors.csv"""
    p = Path(path)
    return str(p.with_name(f"{p.stem}.{part}{suffix}"))


def outputs(path: str) -> list[str]:
    """Every file a round writes for `path` (-o), so none of them is overwritten by surprise."""
    kind = WRITERS[Path(path).suffix.lower()]
    if kind == "xlsx":
        return [path]
    suffix = ".csv" if kind == "parquet" else Path(path).suffix
    return [path, sibling(path, "errors", suffix), sibling(path, "summary", ".json" if kind == "jsonl" else ".csv")]


def make_output(path: str, policy: Policy, lang: str, sheets: str | None = None, source: str | None = None) -> Output:
    """The writer for `path`'s kind; `source` (the applicants' file) names the file of each problem in a workbook."""
    kind = WRITERS[Path(path).suffix.lower()]
    if kind == "csv":
        return CsvOutput(path, policy, lang)
    if kind == "jsonl":
        return JsonlOutput(path, policy, lang)
    if kind == "parquet":
        return ParquetOutput(path, policy, lang)
    return XlsxOutput(path, policy, lang, sheets, source)


# --- cells a spreadsheet would read as a formula (CSV injection) ---------------------------------------------
# OWASP's CSV-injection rule: a cell that starts with = + - @, a tab or a carriage return (or their full-width
# forms, which spreadsheets in Chinese locales take for the ASCII ones) is read as a formula when the CSV is
# opened in Excel, WPS or LibreOffice. Every text cell that does is written with a single quote in front, which
# the spreadsheet shows as text and which keeps the value otherwise. The number columns (row numbers, totals,
# amounts, counts: decimal text this program writes, which a spreadsheet reads as a number, never a formula)
# are written as they are, so an amount of -12.50 stays a number; they are named by position (NUMBERS).
FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")


def safe_cell(value: object) -> object:
    """A text cell as no spreadsheet reads it as a formula (see FORMULA_STARTS)."""
    if type(value) is str and value and value[0] in FORMULA_STARTS:
        return "'" + value
    return value


def safe_row(row: Sequence[object], numbers: frozenset[int] = frozenset()) -> list[object]:
    """`row` with every cell but those at the `numbers` positions neutralised."""
    return [cell if i in numbers else safe_cell(cell) for i, cell in enumerate(row)]


class SafeWriter:
    """csv.writer whose text cells are neutralised as safe_cell says; `numbers`: the number columns' positions."""

    def __init__(self, handle: IO[str], numbers: Iterable[int] = ()):
        self.out = csv.writer(handle)
        self.numbers = frozenset(numbers)

    def writerow(self, row: Sequence[object], numbers: frozenset[int] | None = None) -> None:
        self.out.writerow(safe_row(row, self.numbers if numbers is None else numbers))

    def writerows(self, rows: Iterable[Sequence[object]]) -> None:
        for row in rows:
            self.writerow(row)


def _result_numbers(ids: list[str]) -> frozenset[int]:
    """Where csv_row puts numbers: the row, the total, each clause's amount."""
    return frozenset([0, 4] + [7 + 4 * k for k in range(len(ids))])


def _ids(policy: Policy) -> list[str]:
    return [c.id for c in policy.clauses if c.measure is None]


def csv_row(record: Record, ids: list[str]) -> list[str]:
    """An evaluated applicant's row of the results CSV."""
    row = [str(record.row), record.code or "", record.name or "", ";".join(record.kinds), record.total,
           "true" if record.complete else "false"]
    for clause in record.clauses:
        row += clause
    row.append(record.sheet or "")
    return row


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def jsonl_line(record: Record, ids: list[str]) -> str:
    """An evaluated applicant's line of the results JSON Lines, without its newline."""
    clauses = {}
    for cid, (outcome, amount, reason, note) in zip(ids, record.clauses, strict=True):
        entry: dict[str, str] = {"outcome": outcome}
        if amount:
            entry["amount"] = amount
        if reason:
            entry["reason"] = reason
        if note:
            entry["note"] = note
        clauses[cid] = entry
    line: dict[str, Any] = {"row": record.row, "credit_code": record.code, "applicant": record.name,
                            "recipient": list(record.kinds), "total": record.total,
                            "complete": record.complete, "clauses": clauses}
    if record.sheet:
        line["sheet"] = record.sheet
    return _ENCODE(line)


_string = json.encoder.encode_basestring  # what json.dumps writes a str as
_FRAGMENTS = 4096  # clause parts a JsonlLines keeps before it starts again


class JsonlLines:
    """Evaluated applicants' JSON lines, exactly as jsonl_line writes them (json.dumps of a dict), made faster:
    each clause's part is written once per (clause, outcome, reason, note) and kept, with a gap for the amount
    (digits, a point and a sign: nothing to escape)."""

    def __init__(self, ids: list[str]):
        self.ids = ids
        self.fragments: dict[tuple[int, str, bool, str, str], tuple[str, str]] = {}
        self.kinds: dict[tuple[str, ...], str] = {}

    def fragment(self, key: tuple[int, str, bool, str, str]) -> tuple[str, str]:
        index, outcome, paid, reason, note = key
        head = f"{_string(self.ids[index])}:{{\"outcome\":{_string(outcome)}"
        tail = ""
        if paid:
            head += ',"amount":"'
            tail = '"'
        if reason:
            tail += f',"reason":{_string(reason)}'
        if note:
            tail += f',"note":{_string(note)}'
        if len(self.fragments) >= _FRAGMENTS:
            self.fragments.clear()
        self.fragments[key] = (head, tail + "}")
        return head, tail + "}"

    def line(self, record: Record) -> str:
        """An evaluated applicant's line, without its newline."""
        kinds = self.kinds.get(record.kinds)
        if kinds is None:
            kinds = self.kinds[record.kinds] = json.dumps(list(record.kinds), ensure_ascii=False, separators=(",", ":"))
        out = [f'{{"row":{record.row},"credit_code":{"null" if record.code is None else _string(record.code)},'
               f'"applicant":{"null" if record.name is None else _string(record.name)},"recipient":{kinds},'
               f'"total":"{record.total}","complete":{"true" if record.complete else "false"},"clauses":{{']
        fragments = self.fragments
        for index, (outcome, amount, reason, note) in enumerate(record.clauses):
            key = (index, outcome, bool(amount), reason, note)
            found = fragments.get(key) or self.fragment(key)
            out.append(f"{found[0]}{amount}{found[1]}" if amount else found[0] + found[1])
            out.append(",")
        if record.clauses:
            out.pop()
        out.append("}}" if not record.sheet else f'}},"sheet":{_string(record.sheet)}}}')
        return "".join(out)

    def part(self, records: list[Record], part: Part) -> None:
        lines = [self.line(record) + "\n" for record in records]
        end = 0
        for line in lines:
            end += len(line)
            part.ends.append(end)
        part.text = "".join(lines)

    def tally(self, line: str) -> Tally:
        data = json.loads(line)
        return Tally(Decimal(data["total"]), data["complete"],
                     [(c["outcome"], Decimal(c["amount"]) if "amount" in c else None)
                      for c in (data["clauses"][cid] for cid in self.ids)])


class CsvLines:
    """Evaluated applicants' rows of the results CSV (csv_row), written as csv.writer writes them."""

    def __init__(self, ids: list[str]):
        self.ids = ids

    def part(self, records: list[Record], part: Part) -> None:
        buffer = io.StringIO()
        out = SafeWriter(buffer, _result_numbers(self.ids))
        for record in records:
            out.writerow(csv_row(record, self.ids))
            part.ends.append(buffer.tell())
        part.text = buffer.getvalue()

    def tally(self, line: str) -> Tally:
        row = next(csv.reader([line]))
        cells = row[6:6 + 4 * len(self.ids)]
        return Tally(Decimal(row[4]), row[5] == "true",
                     [(outcome, Decimal(amount) if amount else None) for outcome, amount in zip(cells[::4], cells[1::4],
                                                                                                strict=True)])


class SheetRows:
    """Evaluated applicants' rows of the workbook's results sheet: plain values (amounts as Decimal), the
    sheet's file name last with --sheets (XlsxOutput links it)."""

    def __init__(self, policy: Policy, lang: str, sheets: str | None):
        self.ids, self.sheets = _ids(policy), sheets
        self.words = {k: t(OUTCOME_WORDS[k], lang) for k in OUTCOME_WORDS}
        self.outcome_of = {word: k for k, word in self.words.items()}
        self.yes, self.no = t("yes", lang), t("no", lang)
        self.labels = {k: r.label for k, r in policy.recipients.items()}
        self.kinds: dict[tuple[str, ...], str] = {}

    def row(self, record: Record) -> list[Any]:
        kinds = self.kinds.get(record.kinds)
        if kinds is None:
            kinds = self.kinds[record.kinds] = "、".join(self.labels.get(k, k) for k in record.kinds)
        row: list[Any] = [record.row, record.code, record.name, kinds, Decimal(record.total),
                          self.yes if record.complete else self.no]
        words = self.words
        for outcome, amount, _reason, note in record.clauses:
            row += (words[outcome], Decimal(amount) if amount else None, note or None)
        if self.sheets:
            row.append(record.sheet)
        return row

    def part(self, records: list[Record], part: Part) -> None:
        part.rows = [self.row(record) for record in records]

    def tally(self, row: Sequence[Any]) -> Tally:
        cells = row[6:6 + 3 * len(self.ids)]
        return Tally(row[4], row[5] == self.yes,
                     [(self.outcome_of[word], amount) for word, amount in zip(cells[::3], cells[1::3], strict=True)])


class PlainCsvLines(CsvLines):
    """Evaluated applicants' rows as csv.writer writes them, nothing neutralised: a Parquet round's staging."""

    def part(self, records: list[Record], part: Part) -> None:
        buffer = io.StringIO()
        out = csv.writer(buffer)
        for record in records:
            out.writerow(csv_row(record, self.ids))
            part.ends.append(buffer.tell())
        part.text = buffer.getvalue()


def formatter(policy: Policy, form: str, lang: str, sheets: str | None) -> JsonlLines | CsvLines | SheetRows:
    """How a worker formats its applicants' results for the output `form` (csv | jsonl | xlsx | parquet)."""
    if form == "csv":
        return CsvLines(_ids(policy))
    if form == "parquet":
        return PlainCsvLines(_ids(policy))
    if form == "jsonl":
        return JsonlLines(_ids(policy))
    return SheetRows(policy, lang, sheets)


def _lines_but(part: Part, skip: set[int]) -> str:
    """part.text without the lines of the applicants in `skip`."""
    if not skip:
        return part.text
    kept, start = [], 0
    for i, end in enumerate(part.ends):
        if i not in skip:
            kept.append(part.text[start:end])
        start = end
    return "".join(kept)


def _line(part: Part, index: int) -> str:
    return part.text[part.ends[index - 1] if index else 0:part.ends[index]]


def _error_row(e: RowError) -> list[str]:
    return [str(e.row), e.where, e.column, e.message, e.suggestion]


class _Aborted(Exception):
    """The round stopped before its end: what it wrote so far is discarded (never put in place)."""


class _WholeFiles:
    """The files of a round's output, each written to a temporary file beside it (replace_when_done) and all
    put in place by done(), once the round is complete; abort() removes them and leaves the earlier files."""

    files: contextlib.ExitStack[bool | None]

    def abort(self) -> None:
        self.files.__exit__(_Aborted, _Aborted(), None)  # every temporary file removed, nothing renamed

    def done(self) -> None:
        self.files.close()  # every file renamed into place


class _TextOutput(_WholeFiles, Output):
    """What the CSV and JSON Lines outputs share: a results file and an errors file, written as workers' parts
    arrive (each part's text already formatted by the worker), and the summary beside them at the end."""

    handle: IO[str]
    errors_handle: IO[str]
    lines: CsvLines | JsonlLines

    def add_part(self, part: Part, skip: set[int]) -> None:
        self.handle.write(_lines_but(part, skip))

    def tally(self, part: Part, index: int) -> Tally:
        return self.lines.tally(_line(part, index))

    def _open(self, path: str, newline: str | None) -> IO[str]:
        """A file of this round's output, written whole or not at all: put in place by finish(), never by abort()."""
        return self.files.enter_context(replace_when_done(path, "w", encoding="utf-8", newline=newline))


class CsvOutput(_TextOutput):
    def __init__(self, path: str, policy: Policy, lang: str):
        self.path, self.policy, self.lang = path, policy, lang
        self.ids = _ids(policy)
        self.files = contextlib.ExitStack()
        self.handle = self._open(path, "")
        self.errors_handle = self._open(sibling(path, "errors", ".csv"), "")
        self.summary_handle = self._open(sibling(path, "summary", ".csv"), "")
        self.out = SafeWriter(self.handle, _result_numbers(self.ids))
        self.errors = SafeWriter(self.errors_handle, (0,))
        head = ["row", "credit_code", "applicant", "recipient", "total", "complete"]
        for cid in self.ids:
            head += [f"{cid}.outcome", f"{cid}.amount", f"{cid}.reason", f"{cid}.note"]
        self.out.writerow(head + ["sheet"], frozenset())
        self.errors.writerow(["row", "where", "column", "message", "suggestion"], frozenset())

        self.lines = CsvLines(self.ids)

    def add(self, record: Record) -> None:
        if record.errors:
            self.errors.writerows(_error_row(e) for e in record.errors)
            return
        self.out.writerow(csv_row(record, self.ids))

    def finish(self, summary: Summary) -> None:
        write_summary_csv(self.summary_handle, self.policy, summary)
        self.done()


def parquet_types(ids: Sequence[str]) -> dict[str, str]:
    """The Parquet results' columns (the results CSV's header) and their types."""
    types = {"row": "BIGINT", "credit_code": "VARCHAR", "applicant": "VARCHAR", "recipient": "VARCHAR",
             "total": "DECIMAL(18,2)", "complete": "BOOLEAN"}
    for cid in ids:
        types.update({f"{cid}.outcome": "VARCHAR", f"{cid}.amount": "DECIMAL(18,2)", f"{cid}.reason": "VARCHAR",
                      f"{cid}.note": "VARCHAR"})
    types["sheet"] = "VARCHAR"
    return types


class _PlainWriter(SafeWriter):
    """csv.writer behind SafeWriter's writerow, nothing neutralised (Parquet's staging)."""

    def writerow(self, row: Sequence[object], numbers: frozenset[int] | None = None) -> None:
        self.out.writerow(row)


class ParquetOutput(CsvOutput):
    """Results as Parquet (parquet_types), the errors and summary as a CSV round's: the results' rows are staged
    as plain CSV in a hidden folder beside the output, then copied by DuckDB into the Parquet file at the end."""

    def __init__(self, path: str, policy: Policy, lang: str):
        self.path, self.policy, self.lang = path, policy, lang
        self.ids = _ids(policy)
        self.files = contextlib.ExitStack()
        self.target = self.files.enter_context(replace_when_done(path, "wb"))
        self.errors_handle = self._open(sibling(path, "errors", ".csv"), "")
        self.summary_handle = self._open(sibling(path, "summary", ".csv"), "")
        folder = os.path.dirname(os.path.abspath(path))
        self.staging = self.files.enter_context(tempfile.TemporaryDirectory(
            dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".staging"))
        self.staged = os.path.join(self.staging, "results.csv")
        self.handle = self.files.enter_context(open(self.staged, "w", encoding="utf-8", newline=""))
        self.out = _PlainWriter(self.handle)
        self.errors = SafeWriter(self.errors_handle, (0,))
        self.errors.writerow(["row", "where", "column", "message", "suggestion"], frozenset())
        self.lines = PlainCsvLines(self.ids)

    def finish(self, summary: Summary) -> None:
        import duckdb

        self.handle.close()
        types = parquet_types(self.ids)
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(types))) + "}"
        select = []
        for i, (name, kind) in enumerate(types.items()):
            cell = f"NULLIF(c{i}, '')"
            code = (f"({cell} = 'true')" if kind == "BOOLEAN" else cell if kind == "VARCHAR"
                    else f"CAST({cell} AS {kind})")
            select.append(f"{code} AS " + '"' + name.replace('"', '""') + '"')
        written = os.path.join(self.staging, "results.parquet")
        con = duckdb.connect()
        try:
            con.execute("SET preserve_insertion_order = true")
            con.execute(f"COPY (SELECT {', '.join(select)} FROM read_csv('{_sql_text(self.staged)}', header=false, "
                        f"columns={columns}, quote='\"', escape='\"', delim=',', new_line='\\r\\n', "
                        f"auto_detect=false, null_padding=false)) TO '{_sql_text(written)}' (FORMAT parquet)")
        finally:
            con.close()
        with open(written, "rb") as parquet:
            shutil.copyfileobj(parquet, self.target)
        super().finish(summary)


def _sql_text(text: str) -> str:
    return text.replace("'", "''")

def write_summary_csv(handle: IO[str], policy: Policy, summary: Summary) -> None:
    """The round's summary CSV (NAME.summary.csv): per clause, then the round (opened with newline="")."""
    out = SafeWriter(handle, range(2, 8))  # the counts and amounts of each clause
    out.writerow(["clause", "title", "eligible", "ineligible", "undetermined", "referred", "claimed",
                  "awarded", "pool"], frozenset())
    for cid in _ids(policy):
        s = summary.clauses[cid]
        out.writerow([cid, policy.clause(cid).title, s.eligible, s.ineligible, s.undetermined,
                      s.referred, f"{s.claimed:f}", f"{s.awarded:f}", _pool_id(policy, cid)])
    out.writerow(["total", "", "", "", "", "", "", f"{summary.total:f}", ""])
    out.writerow(["applicants", summary.applicants, "bad_rows", summary.bad_rows, "complete",
                  summary.complete, "", "", ""], frozenset({1, 3, 5}))


def _pool_id(policy: Policy, cid: str) -> str:
    from engine.model.pools import pool_of

    pool = pool_of(policy.pools, cid)
    return pool.id if pool is not None else ""


def summary_json(policy: Policy, summary: Summary) -> dict[str, Any]:
    pools = {}
    for pool in policy.pools:
        shares = summary.pools.get(pool.id)
        pools[pool.id] = {"clauses": list(pool.clauses), "total": f"{pool.total:f}", "share": pool.share,
                          "claims": f"{shares.claims:f}" if shares else "0",
                          "paid": f"{shares.paid:f}" if shares else "0",
                          "binds": bool(shares and shares.binds)}
    return {
        "policy": policy.id, "document": policy.document,
        "applicants": summary.applicants, "bad_rows": summary.bad_rows, "complete": summary.complete,
        "total": f"{summary.total:f}",
        "clauses": {cid: {"eligible": s.eligible, "ineligible": s.ineligible, "undetermined": s.undetermined,
                          "referred": s.referred, "claimed": f"{s.claimed:f}", "awarded": f"{s.awarded:f}"}
                    for cid, s in summary.clauses.items()},
        "pools": pools,
    }


class JsonlOutput(_TextOutput):
    def __init__(self, path: str, policy: Policy, lang: str):
        self.path, self.policy, self.lang = path, policy, lang
        self.ids = _ids(policy)
        self.files = contextlib.ExitStack()
        self.handle = self._open(path, None)
        self.errors_handle = self._open(sibling(path, "errors", Path(path).suffix), None)
        self.summary_handle = self._open(sibling(path, "summary", ".json"), None)
        self.encode = _ENCODE
        self.jsonl = self.lines = JsonlLines(self.ids)

    def add(self, record: Record) -> None:
        if record.errors:
            for e in record.errors:
                self.errors_handle.write(self.encode({"row": e.row, "where": e.where, "column": e.column,
                                                      "message": e.message, "suggestion": e.suggestion}) + "\n")
            return
        self.handle.write(self.jsonl.line(record) + "\n")

    def finish(self, summary: Summary) -> None:
        json.dump(summary_json(self.policy, summary), self.summary_handle, ensure_ascii=False, indent=2)
        self.summary_handle.write("\n")
        self.done()


class _Sheet:
    """A worksheet written row after row (XlsxWriter's constant-memory mode writes each row once)."""

    def __init__(self, book: Any, name: str):
        self.ws = book.add_worksheet(name)
        self.row = 0

    def widths(self, widths: Sequence[float], formats: dict[int, Any] | None = None) -> None:
        for i, width in enumerate(widths):
            self.ws.set_column(i, i, width, (formats or {}).get(i))

    def append(self, values: Sequence[Any], cell_format: Any = None, money: Sequence[int] = (),
               money_format: Any = None) -> None:
        """One row; the values at the `money` positions as money (their column's format does the rest). Text is
        written with write_string, never write(), so that no cell is ever read as a formula, number or link."""
        ws, r = self.ws, self.row
        for i, value in enumerate(values):
            if i in money and value is not None:
                ws.write_number(r, i, value, money_format)
            elif value is None:
                if cell_format is not None:
                    ws.write_blank(r, i, None, cell_format)
            elif isinstance(value, str):
                ws.write_string(r, i, value, cell_format)
            else:
                ws.write_number(r, i, value, cell_format)
        self.row += 1

    def values(self, values: Sequence[Any]) -> None:
        """One row of text and numbers, each cell in its column's format: the fast way, for the results."""
        ws, r = self.ws, self.row
        text, number = ws.write_string, ws.write_number
        for column, value in enumerate(values):
            if value is None:
                continue
            if type(value) is str:
                text(r, column, value)
            else:
                number(r, column, value)
        self.row += 1


def _width(text: str) -> int:
    """Columns a text takes in a spreadsheet: a Chinese character two."""
    return len(text) + sum(1 for c in text if ord(c) > 0x2E7F)


class _Detachable:
    """The workbook's temporary file as XlsxWriter's zip writes it, cut off when the round is given up: the
    half-made zip, collected later, then finds nothing to seek or write (and says nothing)."""

    def __init__(self, raw: IO[bytes]):
        self.raw: IO[bytes] | None = raw

    def write(self, data: bytes) -> int:
        return self.raw.write(data) if self.raw is not None else len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.raw.seek(offset, whence) if self.raw is not None else 0

    def tell(self) -> int:
        return self.raw.tell() if self.raw is not None else 0

    def seekable(self) -> bool:
        return True

    def flush(self) -> None:
        if self.raw is not None:
            self.raw.flush()


class XlsxOutput(_WholeFiles, Output):
    """The officers' workbook: results, summary and errors sheets, streamed (XlsxWriter, constant memory).

    The results sheet's amount columns carry the money format, so each amount is written as a plain number;
    strings are never read as formulas, numbers or links. Excel keeps at most 65,530 links on a sheet: the
    applicants' sheets after that are named without one."""

    LINKS = 65530

    MEASURED = 500  # rows whose text sets the columns' widths (a sample: measuring every cell would cost a round)

    def __init__(self, path: str, policy: Policy, lang: str, sheets: str | None, source: str | None = None):
        import xlsxwriter

        self.path, self.policy, self.lang, self.sheets = path, policy, lang, sheets
        self.source = Path(source).name if source else None
        self.ids = _ids(policy)
        self.files = contextlib.ExitStack()
        self.target = _Detachable(self.files.enter_context(replace_when_done(path, "wb")))
        self.book = xlsxwriter.Workbook(self.target, {"constant_memory": True, "strings_to_formulas": False,
                                               "strings_to_numbers": False, "strings_to_urls": False})
        self.results = _Sheet(self.book, t("batch.sheet.results", lang))
        self.summary = _Sheet(self.book, t("batch.sheet.summary", lang))
        self.errors = _Sheet(self.book, t("batch.sheet.errors", lang))
        # 签批: what a finance office signs, narrow enough to print legibly one page wide (the results sheet has
        # three columns a clause): each applicant's total and what each clause awards.
        self.signing = _Sheet(self.book, t("batch.sheet.signing", lang))
        self.head = self.book.add_format({"bold": True, "pattern": 1, "bg_color": "#F4F6F9"})
        self.wrapped_head = self.book.add_format({"bold": True, "pattern": 1, "bg_color": "#F4F6F9", "text_wrap": True,
                                                  "valign": "top"})
        self.bold = self.book.add_format({"bold": True})
        self.money = self.book.add_format({"num_format": MONEY_FORMAT})
        # 核定金额: the cells an officer fills in for each clause whose amount is a ceiling (up_to), shaded
        self.to_fill = self.book.add_format({"num_format": MONEY_FORMAT, "pattern": 1, "bg_color": "#FFF6D5"})
        self.ceilings = [i for i, cid in enumerate(self.ids) if policy.clause(cid).up_to]
        self.link = self.book.add_format({"font_color": "#1F5FA8", "underline": 1})
        self.rows = SheetRows(policy, lang, sheets)
        self.links = 0
        head = [t("batch.col.row", lang), t("template.col.credit_code", lang), t("template.col.applicant", lang),
                t("template.col.recipient", lang), t("batch.col.total", lang), t("batch.col.complete", lang)]
        for cid in self.ids:
            amount = t("ceiling.col.ceiling" if policy.clause(cid).up_to else "batch.col.amount", lang, clause=cid)
            head += [t("batch.col.outcome", lang, clause=cid), amount, t("batch.col.reason", lang, clause=cid)]
        if sheets:
            head.append(t("batch.col.sheet", lang))
        # Widths that fit: each column's header and the text of the first rows (set when the round is written);
        # amounts are at most 16 digits with separators.
        self.money_columns = [4] + [7 + 3 * k for k in range(len(self.ids))]
        widths = [6, 22, 24, 16, 16, 8] + [10, 14, 30] * len(self.ids) + ([14] if sheets else [])
        # The money format is the column's, taken by each cell as its row is written: set before the first row.
        self.results.widths(widths, dict.fromkeys(self.money_columns, self.money))
        self.widest = [_width(h) for h in head]
        for column in self.money_columns:
            self.widest[column] = max(self.widest[column], 14)
        self.head_row = head
        self.results.ws.freeze_panes(1, 3)  # the header, and row number, code and name, stay in view
        self.results.append(head, self.head)
        sign_head = [head[0], head[1], head[2], head[4], head[5]]
        sign_money: dict[int, Any] = {3: self.money}
        for k, cid in enumerate(self.ids):
            sign_money[len(sign_head)] = self.money
            sign_head.append(head[7 + 3 * k])
            if k in self.ceilings:  # beside the ceiling, the amount the department approves, to fill in
                sign_money[len(sign_head)] = self.to_fill
                sign_head.append(t("ceiling.col.approved", lang, clause=cid))
        self.signing.widths([6, 21, 20, 16, 6] + [14] * (len(sign_head) - 5), sign_money)
        self.signing.ws.freeze_panes(1, 3)
        self.signing.append(sign_head, self.wrapped_head)
        self.errors.widths([6, 16, 36, 60, 50])
        self.errors.append([t("batch.col.row", lang), t("batch.col.where", lang), t("batch.col.column", lang),
                            t("batch.col.problem", lang), t("batch.col.hint", lang)], self.head)
        self.errors.ws.freeze_panes(1, 0)

    def _result(self, row: list[Any]) -> None:
        sheet = self.results
        amounts = row[7:7 + 3 * len(self.ids):3]
        if self.ceilings:  # an empty cell beside each ceiling: 核定金额, for the officer
            for k in reversed(self.ceilings):
                amounts.insert(k + 1, None)
        self.signing.values([row[0], row[1], row[2], row[4], row[5], *amounts])
        if sheet.row <= self.MEASURED:
            widest = self.widest
            for column, value in enumerate(row):
                if type(value) is str and column < len(widest):
                    widest[column] = max(widest[column], _width(value))
        if not self.sheets:
            sheet.values(row)
            return
        name = row.pop()
        sheet.values(row)
        if name and self.links < self.LINKS:
            self.links += 1
            sheet.ws.write_url(sheet.row - 1, len(row), f"external:{Path(self.sheets).name}/{name}", self.link,
                               string=name)
        elif name:
            sheet.ws.write_string(sheet.row - 1, len(row), name)

    def add(self, record: Record) -> None:
        if record.errors:
            for e in record.errors:
                self.problem(e.row, e.where, e.column, e.message, e.suggestion)
            return
        self._result(self.rows.row(record))

    def problem(self, row: int, where: str, column: str, message: str, suggestion: str) -> None:
        """A bad row's problem on the errors sheet; 文件: the folder's file it is in, or the sheet the row is in."""
        self.errors.append([row, where if where != str(row) else self.source, column or None, message,
                            suggestion or None])

    def add_part(self, part: Part, skip: set[int]) -> None:
        for i, row in enumerate(part.rows):
            if i not in skip:
                self._result(row)

    def tally(self, part: Part, index: int) -> Tally:
        return self.rows.tally(part.rows[index])

    def finish(self, summary: Summary) -> None:
        lang, sheet, money = self.lang, self.summary, self.money
        sheet.widths([8, 36, 8, 8, 8, 8, 18, 18, 24])
        sheet.append([t("batch.col.clause", lang), t("batch.col.title", lang), t("outcome.eligible", lang),
                      t("outcome.ineligible", lang), t("outcome.undetermined", lang), t("outcome.referred", lang),
                      t("batch.col.claimed", lang), t("batch.col.awarded", lang), t("batch.col.pool", lang)],
                     self.head)
        from engine.model.pools import pool_of

        for cid in self.ids:
            s = summary.clauses[cid]
            pool = pool_of(self.policy.pools, cid)
            sheet.append([cid, self.policy.clause(cid).title, s.eligible, s.ineligible, s.undetermined, s.referred,
                          s.claimed, s.awarded, pool.title if pool is not None else None], money=(6, 7),
                         money_format=money)
        sheet.ws.write_string(sheet.row, 0, t("batch.col.round_total", lang), self.bold)
        sheet.append([None] * 7 + [summary.total], money=(7,), money_format=money)
        sheet.row += 1  # a blank row
        sheet.append([t("batch.summary.applicants", lang), summary.applicants])
        sheet.append([t("batch.summary.complete", lang), summary.complete])
        sheet.append([t("batch.summary.bad_rows", lang), summary.bad_rows])
        pool_rows = []
        for pool in self.policy.pools:
            shares = summary.pools.get(pool.id)
            claims = shares.claims if shares else Decimal(0)
            paid = shares.paid if shares else Decimal(0)
            pool_rows.append(sheet.row)
            sheet.append([t("batch.summary.pool", lang, pool=pool.title)] + [None] * 5 + [claims, paid, pool.total],
                         money=(6, 7, 8), money_format=money)
        self._lay_out_for_print(summary)
        self._charts(pool_rows)
        self.book.close()
        _sheet_files_removed(self.book)
        self.done()

    def _lay_out_for_print(self, summary: Summary) -> None:
        """A workbook to sign: every sheet on A4 landscape, as wide as one page, its header row on every page, a
        filter on the results; the results' columns as wide as their text (within reason)."""
        results = self.results
        money = set(self.money_columns)
        for column, width in enumerate(self.widest):
            results.ws.set_column(column, column, min(width + 2, 40), self.money if column in money else None)
        results.ws.autofilter(0, 0, max(results.row - 1, 1), len(self.head_row) - 1)
        self.signing.ws.autofilter(0, 0, max(self.signing.row - 1, 1), 4 + len(self.ids) + len(self.ceilings))
        for sheet in (self.signing, self.results, self.summary, self.errors):
            ws = sheet.ws
            ws.set_landscape()
            ws.set_paper(9)  # A4
            ws.fit_to_pages(1, 0)  # one page wide, as many long as it takes
            ws.repeat_rows(0)
            ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
            ws.set_footer("&C&P / &N")  # page x of n
            ws.hide_gridlines(0)  # gridlines printed: rows are easy to follow on paper
        self.summary.ws.freeze_panes(1, 2)

    def _charts(self, pool_rows: list[int]) -> None:
        """The 图表 sheet: native charts over the summary's cells, so they follow any correction made there."""
        lang, summary = self.lang, self.summary.ws.get_name()
        ws = self.book.add_worksheet(t("batch.sheet.charts", lang))
        ws.set_landscape()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        last = len(self.ids)  # the summary's clause rows are 1..last
        awards = self.book.add_chart({"type": "bar"})
        awards.add_series({"name": t("batch.col.awarded", lang), "categories": [summary, 1, 1, last, 1],
                           "values": [summary, 1, 7, last, 7], "fill": {"color": "#1F5FA8"},
                           "data_labels": {"value": True, "num_format": "#,##0"}})
        awards.add_series({"name": t("batch.col.claimed", lang), "categories": [summary, 1, 1, last, 1],
                           "values": [summary, 1, 6, last, 6], "fill": {"color": "#B8C7DC"}})
        awards.set_title({"name": t("batch.chart.awards", lang)})
        awards.set_x_axis({"num_format": "#,##0", "major_gridlines": {"visible": True}})
        awards.set_y_axis({"reverse": True})
        awards.set_legend({"position": "bottom"})
        awards.set_size({"width": 960, "height": max(360, 28 * last + 120)})
        ws.insert_chart(1, 1, awards)
        if pool_rows:
            pools = self.book.add_chart({"type": "column"})
            first, end = pool_rows[0], pool_rows[-1]
            for column, color, name in ((6, "#B8C7DC", t("batch.col.claimed", lang)),
                                        (7, "#1F5FA8", t("batch.col.awarded", lang)),
                                        (8, "#888888", t("batch.col.pool", lang))):
                pools.add_series({"name": name, "categories": [summary, first, 0, end, 0],
                                  "values": [summary, first, column, end, column], "fill": {"color": color}})
            pools.set_title({"name": t("batch.chart.pools", lang)})
            pools.set_y_axis({"num_format": "#,##0"})
            pools.set_legend({"position": "bottom"})
            pools.set_size({"width": 960, "height": 400})
            ws.insert_chart(max(22, 2 + (28 * last + 140) // 20), 1, pools)

    def abort(self) -> None:
        self.target.raw = None
        _sheet_files_removed(self.book)
        super().abort()


def _sheet_files_removed(book: Any) -> None:
    """The temporary file of each sheet of `book` removed: XlsxWriter's constant-memory mode keeps a sheet's rows
    in one, which it removes when the workbook is closed, but not a sheet's that has no rows (the charts), nor
    any when the workbook is given up unclosed (a round stopped, or run in SQL instead)."""
    for sheet in book.worksheets():
        handle, name = getattr(sheet, "row_data_fh", None), getattr(sheet, "row_data_filename", None)
        if handle is not None:
            handle.close()
        if name:
            with contextlib.suppress(FileNotFoundError):
                os.remove(name)
