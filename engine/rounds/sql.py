"""A round in SQL: DuckDB reads the CSV, checks each row's cells as SQL, runs the policy's query
(engine.runtime.sql) over every row once into a table of the round, and writes the results file itself; Python
touches only the rows the SQL hands to the row engine, so each row's results and problems are exactly the row
engine's.

The SQL facts check reads a cell only in a plain form its kind's `sql_parse` knows (1234.56, 35万元, 60%, true,
2024-01-31, a credit code of 18 capitals and digits with its check character right), within the fact's bounds
(min, max, at_most, choices); a row with any other cell is the row engine's, which reads it or words its
problem (row, column, reason) as always. A row the query cannot decide exactly (a fact missing, a clause it
does not translate) is the row engine's too.

The round, step by step (SqlRound.run): the table `ev` holds, per record in the file's order (its rowid), what
the results file needs (a decided row's line, made in SQL exactly as the row engine's writers make it, or the
Parquet file's columns) and what the summary needs (outcomes, amounts as DECIMAL); the rows handed back are read
from it, evaluated by the row engine's workers (--jobs) and put back by row, their lines made by the row
engine's own writers (`ev` is the view of the round's parts, `ev0`, `ev1`, …: a large CSV file is cut at the ends
of records into one part per job, each evaluated at once on a thread of its own, SqlRound._build); a recipient's
later rows are found by SQL (the first row without problems keeps the credit code, as the row engine's check); a
policy's pools are then shared over the rows decided, those handed back among them (engine.rounds.sql_pools:
engine.rounds.pools_sql's shares, each claim's amount and the pool's sentence in its note, each changed row's
total, complete and line made again, each part table rebuilt in the rows' order); the summary is SQL's counts and
exact sums; the results file is DuckDB's COPY, the problems and the summary are written here. DuckDB keeps the
table in memory up to
MEMORY_LIMIT and the rest in a temporary folder: memory stays flat however large the round. Every file is
written to a temporary file beside it and renamed when complete (engine.core.files).

The officers' workbook (XLSX) is written from the round's table by engine.rounds.sql_workbook, which finds each
clause's words.

`why_not(...)` says when a round stays with the row engine altogether: another input than a UTF-8 CSV whose
header is its first line, --sheets, --ledger or --record, or a policy the query cannot express. DuckDB is
imported only here, when a round runs in SQL.
"""

from __future__ import annotations

import contextlib
import heapq
import io
import itertools
import json
import mmap
import os
import re
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Mapping

from engine.core.files import path_when_done, replace_when_done
from engine.core.messages import t
from engine.model.kinds.base import sql_plain, sql_within
from engine.model.outcome import Outcome
from engine.model.policy import Policy
from engine.rounds.columns import CODE, DATE, GRANTED, KIND, NAME, Column
from engine.rounds.identity import ALPHABET, WEIGHTS
from engine.rounds.pools_sql import decimal_scale
from engine.rounds.read import RECORD_LIMIT, Chunk, Source, skipped
from engine.rounds.results import ClauseSummary, Output, Record, Summary
from engine.rounds.run import CHUNK, Settings
from engine.rounds.sql_sources import Sparse, SqlSource, handed_back, note, readable, sql_source
from engine.rounds.sql_workbook import handed_back_sql
from engine.rounds.write import (
    FORMULA_STARTS,
    JsonlLines,
    SafeWriter,
    _result_numbers,
    csv_row,
    sibling,
    summary_json,
    write_summary_csv,
)
from engine.runtime.sql import (
    AREA_COLUMN,
    CLAIM_DATE,
    GRANTED_KNOWN,
    RECIPIENT,
    ROW,
    ROWS_ENGINE,
    TOTAL,
    SqlUnsupported,
    ident,
    literal,
    sql_query,
)

FETCH = 4096  # rows fetched from DuckDB at a time: memory stays flat
_NO_LINE = ("parquet", "xlsx")  # the forms whose rows the table keeps as columns, not as a line of the results
SMALL_BYTES = 1 << 20  # a file below this runs row by row unless SQL is asked for (about 4,000 rows of 50 cells)
STAGE = "$read."  # typed0's column of a fact read in two steps (FactKind.sql_stages): "$read.<fact>"
_AREA = "area"
_OUTCOME = f"ENUM({', '.join(literal(o.value) for o in Outcome)})"  # a clause's outcome as the round's table keeps it


def batch_why_not(policy: Policy, source: Source, settings: Settings, asked: bool = False) -> str | None:
    """why_not for `policy batch`, which reads a Parquet, XLSX or JSON Lines file in SQL too (sql_sources); and,
    unless SQL was `asked` for, "small" for a file under SMALL_BYTES: DuckDB spends about half a second planning
    the query whatever the round's size, more than the row engine takes for a few thousand applicants; and
    "workbook" for the officers' workbook, which is no quicker in SQL: writing it (XlsxWriter, in this process)
    is most of its time either way, and the words of many rows are the row engine's to find (sql_workbook)."""
    why = why_not(policy, source, settings, every_format=True, lines_later=True)
    if why is None and not asked:
        if settings.words:
            return "workbook"
        if os.path.isfile(source.path) and os.path.getsize(source.path) < SMALL_BYTES:
            return "small"
    return why


def why_not(policy: Policy, source: Source, settings: Settings, every_format: bool = False,
            lines_later: bool = False) -> str | None:
    """Why this round runs row by row, or None when it can run in SQL (a CSV file, or `every_format` but a folder).
    `lines_later`: a CSV file's empty lines are looked for by SqlRound.run, only when DuckDB read fewer records
    than the file has lines (_Lines), not here in a pass of their own."""
    is_csv = source.kind == "cells" and source.path.lower().endswith(".csv")
    if not (is_csv or every_format and readable(source)) or is_csv and (
            source.encoding not in ("utf-8", "utf-8-sig") or source.header_row != 1 or source._records is None):
        return "input"
    if settings.sheets or settings.ledger or settings.record:
        return "options"
    names = [c.name for c in source.layout if c is not None]
    if len(names) != len(set(names)):
        return "input"
    try:
        sql_query(policy)
    except SqlUnsupported:
        return "policy"
    if is_csv and not lines_later and _blank_lines(source.path):
        return "input"  # csv.reader counts an empty line as a row, DuckDB skips it: row numbers would differ
    return None


def _blank_lines(path: str) -> bool:
    """Whether the file holds an empty line (read in blocks: memory stays flat)."""
    last = b""
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            text = last + block
            if _empty_line(text):
                return True
            last = text[-2:]
    return False


def _text(column: str) -> str:
    """A cell's text, stripped of spaces, NULL when blank."""
    return f"NULLIF(TRIM({column}), '')"


def _code_valid(code: str) -> str:
    terms = " + ".join(f"(instr('{ALPHABET}', substr({code}, {i + 1}, 1)) - 1) * {w}" for i, w in enumerate(WEIGHTS))
    return (f"(regexp_full_match({code}, '[{ALPHABET}]{{18}}') AND substr({code}, 18, 1) = "
            f"substr('{ALPHABET}', ((31 - ({terms}) % 31) % 31) + 1, 1))")


class SqlFallback(Exception):
    """DuckDB could not run the round (a CSV it reads otherwise than csv.reader, bytes not UTF-8, an amount beyond
    its DECIMAL): nothing was written, and the round runs row by row instead."""


class SqlRound:
    """A round run by DuckDB, with the row engine for the rows the SQL does not read or decide exactly."""

    def __init__(self, policy: Policy, source: Source, settings: Settings, kinds_by_label: Mapping[str, str],
                 jobs: int = 1, progress: Callable[[int], None] | None = None):
        self.policy, self.source, self.settings, self.jobs, self.progress = policy, source, settings, jobs, progress
        self.kinds = dict(kinds_by_label)
        for kind in policy.recipients:
            self.kinds[kind] = kind
        self.query = sql_query(policy)
        self.source = sql_source(source, policy, settings.lang)  # XLSX, JSON Lines, Parquet as DuckDB reads them
        self.decisions: list[Any] = []  # never kept (--record stays with the row engine)
        self.handed_back = 0  # how many rows the row engine decided (run)
        self.serial = False  # the CSV read by one thread (a cell of several lines: csv)
        self.parts: list[tuple[str, int]] = []  # the round's tables and the rid of their first row (_build)
        self.lines: _Lines | None = None  # a CSV file's lines and where it is cut (_build)

    @property
    def clause_ids(self) -> list[str]:
        return list(self.query.clause_ids)

    # -- the SQL ----------------------------------------------------------------------------------------
    def typed(self, part: Part | None = None) -> str:
        """The CTEs reading the CSV's cells (`cells`: c0, c1, … as read; t0, t1, … stripped, or as read where their
        reading takes no space first or last, FactKind.sql_unstripped; NULL when blank) as the
        query's typed columns, each cell parsed once (`typed0`; a fact read in two steps, FactKind.sql_stages, has
        its first there, its value in `typed1`), then what makes a row the row engine's (`typed`); of the records
        of `part` only (csv)."""
        layout = self.source.layout
        facts = self.policy.all_facts()
        cols: dict[str, str] = {}
        # the cells read as they are, not stripped: those whose reading takes no space first or last (a cell with
        # spaces around is then refused, and the row engine strips and reads it); stripping costs more than reading
        unstripped: set[int] = set()
        later: dict[str, str] = {}  # facts read in two steps (FactKind.sql_stages): their second
        refused: list[str] = []
        granted: list[str] = []
        for i, column in enumerate(layout):
            if column is None:
                continue
            text = f"t{i}"
            if column.kind == "code":
                unstripped.add(i)  # 18 capitals and digits
                cols["$code"] = f"UPPER({text})"
                refused.append(f"({text} IS NOT NULL AND NOT COALESCE({_code_valid(ident('$code'))}, FALSE))")
            elif column.fact is not None:
                fact = column.fact
                stages = fact.kind.sql_stages(fact, text)
                parse = fact.kind.sql_parse(fact, text) if stages is None else stages[0]
                if parse is None:
                    refused.append(f"({text} IS NOT NULL)")
                    continue
                if fact.kind.sql_unstripped:
                    unstripped.add(i)
                if stages is not None:  # the first step kept as a column of typed0, the value made of it in typed1
                    cols[STAGE + fact.name] = parse
                    later[fact.name] = f"CAST({stages[1](ident(STAGE + fact.name))} AS {fact.kind.column(fact)})"
                else:
                    cols[fact.name] = f"CAST({parse} AS {fact.kind.column(fact)})"
                within = sql_within(fact, ident(fact.name))
                refused.append(f"({text} IS NOT NULL AND " + (f"NOT COALESCE({within}, FALSE))" if within else
                                                              f"{ident(fact.name)} IS NULL)"))
            elif column.kind == "granted":
                assert column.clause is not None
                unstripped.add(i)  # money
                cols[GRANTED + column.clause] = f"CAST({_money(text)} AS DECIMAL(18,2))"
                granted.append(text)
                refused.append(f"({text} IS NOT NULL AND {ident(GRANTED + column.clause)} IS NULL)")
            elif column.name == KIND:
                if all(word == word.strip(" ") for word in self.kinds):
                    unstripped.add(i)  # one of the kinds' words, as they are
                cases = " ".join(f"WHEN {literal(word)} THEN {literal(kind)}" for word, kind in self.kinds.items())
                cols[RECIPIENT] = f"CASE {text} {cases} END"
            elif column.name == _AREA:
                cols[AREA_COLUMN] = text
                refused.append(f"({text} IS NOT NULL AND NOT {sql_plain(text)})")
            elif column.name == DATE:
                unstripped.add(i)  # 2024-01-31
                cols[CLAIM_DATE] = (f"CASE WHEN regexp_full_match({text}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') "
                                      f"THEN TRY_CAST({text} AS DATE) END")
                refused.append(f"({text} IS NOT NULL AND {ident(CLAIM_DATE)} IS NULL)")
            elif column.name == NAME:
                refused.append(f"({text} IS NOT NULL AND NOT {sql_plain(text)})")
            else:  # a column the query does not read: the row engine reads any text in it
                refused.append(f"({text} IS NOT NULL)")
        cols.setdefault("$code", "CAST(NULL AS VARCHAR)")
        cols.setdefault(RECIPIENT, "CAST(NULL AS VARCHAR)")
        cols.setdefault(AREA_COLUMN, "CAST(NULL AS VARCHAR)")
        cols.setdefault(CLAIM_DATE, "CAST(NULL AS DATE)")
        refused.append(f"{ident(RECIPIENT)} IS NULL")  # no kind, or one the sheet does not know, or several
        refused.append(note("c0"))  # a note, whatever its first column: the row engine skips it
        for name, fact in facts.items():
            if name not in cols and name not in later:
                cols[name] = f"CAST(NULL AS {fact.kind.column(fact)})"
            if fact.at_most is not None and fact.at_most in facts:
                refused.append(f"COALESCE({ident(name)} > {ident(fact.at_most)}, FALSE)")
        for cid in self.query.granted:
            cols.setdefault(GRANTED + cid, "CAST(NULL AS DECIMAL(18,2))")
        cols[GRANTED_KNOWN] = "(" + (" OR ".join(f"{g} IS NOT NULL" for g in granted) or "FALSE") + ")"
        select = ", ".join(f"{code} AS {ident(name)}" for name, code in cols.items())
        raw = ", ".join(f"c{i}" for i in range(len(layout)))
        trimmed = ", ".join(f"NULLIF(c{i}, '') AS t{i}" if i in unstripped else f"NULLIF(TRIM(c{i}), '') AS t{i}"
                            for i in range(len(layout)))
        step = (f"typed1 AS (SELECT *, {', '.join(f'{code} AS {ident(name)}' for name, code in later.items())} "
                "FROM typed0), ") if later else ""
        return (f"cells AS (SELECT CAST(NULL AS BIGINT) AS {ident(ROW)}, {raw}, {trimmed} FROM {self.csv(part)}), "
                f"typed0 AS (SELECT {ident(ROW)}, {raw}, {', '.join(f't{i}' for i in range(len(layout)))}, {select} "
                f"FROM cells), {step}"
                f"typed AS (SELECT *, ({' OR '.join(refused)}) AS \"$refused\" FROM {'typed1' if later else 'typed0'})")

    def csv(self, part: Part | None = None) -> str:
        """The CSV file as DuckDB reads it: every cell as text, columns c0, c1, … in the header's order; of `part`,
        its records only (the lines after the header it skips, how many it reads: _Lines)."""
        if isinstance(self.source, SqlSource):  # another format than CSV: engine.rounds.sql_sources
            return self.source.relation()
        layout = self.source.layout
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(layout))) + "}"
        path = self.source.path.replace("'", "''")
        skip, count = part or (0, None)
        start = "header=true" if not skip else f"header=false, skip={skip + 1}"
        read = (f"read_csv('{path}', {start}, columns={columns}, all_varchar=true, null_padding=true, "
                "quote='\"', escape='\"', delim=',', auto_detect=false" + (", parallel=false)" if self.serial else ")"))
        return read if count is None else f"(SELECT * FROM {read} LIMIT {count})"

    def statement(self, part: Part | None = None) -> str:
        """The round evaluated, one row per record in the file's order (projections only: no sort, no window, no
        join, so that a table made of it keeps the file's order in its rowid). Per row: `h`, whether the row
        engine decides it (the SQL does not read a cell, or cannot decide the row exactly); `st` (0: decided
        here, 2: the row engine's to decide); `long` (near the row engine's bound on a record's length); `dup`
        (later: the row of a recipient's first row); its code; what the results file needs of it (`line`, its
        line but for the row number, for CSV and JSON Lines; or the Parquet file's columns); what the summary
        needs (complete, total, and each clause's outcome o<k> and amount a<k>); and, for a row handed back,
        its `cells` as read. Of the records of `part` only (csv)."""
        width = len(self.source.layout)
        query = self.query.text.removeprefix("WITH ")
        # the policy's query runs over every row (those the SQL does not read have NULLs, and are handed back)
        query = query.replace(" FROM applicants)", " FROM typed)", 1)
        ctes, final = query.rsplit("\nSELECT ", 1)
        columns, last = final.rsplit(" FROM ", 1)
        at = next((i for i, c in enumerate(self.source.layout) if c is not None and c.name == NAME), None)
        name = f"t{at}" if at is not None else "CAST(NULL AS VARCHAR)"
        # a record near the row engine's bound on a record's length (engine.rounds.read.RECORD_LIMIT, which it
        # reports as the row's problem): the round is the row engine's
        every = ", ".join(f"c{i}" for i in range(width))
        # (the record's length only where its longest cell could make it so: concat costs, greatest does not; a
        # CASE, whose branch is evaluated only where it is taken, where an AND evaluates both sides for every row)
        most = f"COALESCE(greatest({', '.join(f'strlen(c{i})' for i in range(width))}), 0)"
        long = (f"CASE WHEN {most} * {width} + {2 * width} >= {RECORD_LIMIT // 2} "
                f"THEN strlen(concat({every}, '')) + {2 * width} >= {RECORD_LIMIT // 2} ELSE FALSE END")
        values, reasons = [], []
        # an amount kept as a DECIMAL(18,places), the size of the money a cell holds (a larger one is an error of
        # DuckDB's: the round runs row by row), which DuckDB keeps and writes as text in half the room and time
        money = f"DECIMAL(18,{self.query.places})"
        for k, cid in enumerate(self.clause_ids):
            outcome, amount, reason = (ident(f"{cid}:{part}") for part in ("outcome", "amount", "reason"))
            if self.policy.clause(cid).up_to:  # an eligible ceiling's reason is up_to, as the row engine writes it
                reason = f"CASE WHEN {outcome} = 'eligible' AND {amount} IS NOT NULL THEN 'up_to' ELSE {reason} END"
            reasons.append(f"COALESCE({reason}, '')")
            values += [f"{outcome} AS o{k}", f"CAST({amount} AS {money}) AS a{k}", f"{reasons[-1]} AS r{k}"]
        n = len(self.clause_ids)
        workbook = self.settings.form == "xlsx"
        if self.settings.form in _NO_LINE:
            kept = ["name", "kind AS kinds"] + [f"r{k}" for k in range(n)]
        else:
            kept = [f"CASE WHEN h THEN NULL ELSE {self._line()} END AS line"]
        keys, passed, more = self._pooled() if self.policy.pools else ("", "", [])
        kept += more
        handed = ["refused", "long", f"COALESCE({ident(ROWS_ENGINE)}, TRUE)"]  # the row engine's to decide
        if workbook:
            if not self.policy.pools:
                kept += [f"CAST('' AS VARCHAR) AS n{k}" for k in range(n)]
            # and a workbook's rows with words not keyed (engine.rounds.sql_workbook): the row engine's to word
            handed += [handed_back_sql(reason) for reason in reasons]
        return (f"WITH {self.typed(part)}, {ctes}, "
                f"q AS (SELECT {columns}, \"$refused\" AS refused, \"$code\" AS code, {ident(RECIPIENT)} AS kind, "
                f"{name} AS name, {long} AS long, {every}{keys} FROM {last}), "
                f"v AS (SELECT ({' OR '.join(handed)}) AS h, long, code, name, kind, "
                f"CAST({ident(TOTAL)} AS {money}) AS total, "
                f"{self._complete()} AS complete, {''.join(f'{v}, ' for v in values)}{every}{passed} "
                "FROM q) "
                "SELECT h, CAST(CASE WHEN h THEN 2 ELSE 0 END AS TINYINT) AS st, long, CAST(NULL AS BIGINT) AS dup, "
                f"code, {', '.join(kept)}, complete, total, "
                # an outcome kept as an ENUM: a byte, where its text took sixteen
                f"{''.join(f'CAST(o{k} AS {_OUTCOME}) AS o{k}, a{k}, ' for k in range(n))}"
                # a workbook's rows keep their cells: what the words of each clause depend on (sql_workbook)
                f"{f'[{every}]' if workbook else f'CASE WHEN h THEN [{every}] END'} AS cells FROM v")

    def _pooled(self) -> tuple[str, str, list[str]]:
        """What sharing the pools reads of each row (engine.rounds.sql_pools): each in_order pool's place key
        (key<i>: read in `q`, passed through `v`), and kept: the name, kinds, reasons (r<k>) and notes (n<k>)."""
        from engine.rounds.sql_pools import order_key

        n = len(self.clause_ids)
        found = {f"key{i}": order_key(pool, self.policy) for i, pool in enumerate(self.policy.pools)}
        keys = {key: code for key, code in found.items() if code is not None}
        kept = [] if self.settings.form in _NO_LINE else ["name", "kind AS kinds"] + [f"r{k}" for k in range(n)]
        kept += [f"CAST('' AS VARCHAR) AS n{k}" for k in range(n)] + list(keys)
        return "".join(f", {code} AS {key}" for key, code in keys.items()), "".join(f", {k}" for k in keys), kept

    def _complete(self) -> str:
        """Whether a decided row is complete: no clause waits (undetermined)."""
        waiting = " OR ".join(f"COALESCE({ident(cid + ':outcome')} = 'undetermined', FALSE)"
                              for cid in self.query.clause_ids)
        return f"NOT ({waiting or 'FALSE'})"

    def _line(self) -> str:
        """SQL: a decided row's line of the results, from the comma after its row number on, exactly as the row
        engine writes it — CSV as engine.rounds.write.csv_row and SafeWriter write it (csv_text neutralises and
        quotes the name; the code, kind, numbers, outcome and reason codes are the query's own plain text), JSON
        Lines as JsonlLines writes it (json_text: json.dumps' escapes, ensure_ascii off)."""
        n = len(self.clause_ids)
        if self.settings.form == "csv":
            parts = ["COALESCE(code, '')", "csv_text(COALESCE(name, ''))", "kind", "CAST(total AS VARCHAR)",
                     "CASE WHEN complete THEN 'true' ELSE 'false' END"]
            for k in range(n):
                parts += [f"o{k}", f"CAST(a{k} AS VARCHAR)", f"r{k}", "''"]  # no amount: none (concat skips NULL)
            return _concat([x for p in parts for x in ("','", p)] + ["','"])  # the sheet: none (--sheets: rows')
        parts = ["',\"credit_code\":'", "json_text(code)", "',\"applicant\":'", "json_text(name)",
                 "',\"recipient\":['", "json_text(kind)", "'],\"total\":\"'", "CAST(total AS VARCHAR)",
                 "'\",\"complete\":'", "CASE WHEN complete THEN 'true' ELSE 'false' END", "',\"clauses\":{'"]
        for k, cid in enumerate(self.clause_ids):
            parts += [literal(("," if k else "") + _json_string(cid) + ":{\"outcome\":\""), f"o{k}", "'\"'",
                      f"CASE WHEN a{k} IS NOT NULL THEN concat(',\"amount\":\"', CAST(a{k} AS VARCHAR), '\"') "
                      "ELSE '' END",
                      f"CASE WHEN r{k} <> '' THEN concat(',\"reason\":\"', r{k}, '\"') ELSE '' END", "'}'"]
        return _concat([*parts, "'}}'"])

    # -- the round ------------------------------------------------------------------------------------
    def run(self, output: Output | str) -> Summary:
        """The round, written to the results file `output` (a path, or the Output that would write it row by row,
        which is aborted at once: its temporary files removed) and the errors and summary files beside it
        (engine.rounds.write.outputs; beside a Parquet file, CSV files), each whole or not at all: the results
        by DuckDB's COPY, the problems and the summary here. SqlFallback, with nothing written, when DuckDB
        cannot run the round."""
        import duckdb

        path: object = output
        if not isinstance(output, str):
            path = getattr(output, "path", None)
            output.abort()
        if not isinstance(path, str):
            raise SqlFallback("output")
        # The round's table is DuckDB's, in memory up to MEMORY_LIMIT and on disk past it (its temporary folder, in
        # the system's): memory stays flat however large the round.
        _clear_leftovers()
        folder = tempfile.mkdtemp(prefix=f"{_FOLDER}{os.getpid()}-")
        try:
            with _signals_kept() as stopped:
                con = duckdb.connect()
                try:
                    return self._run(con, path, folder)
                except Sparse as why:  # nothing written: row by row
                    raise SqlFallback(str(why)) from None
                except (duckdb.Error, RuntimeError) as why:
                    if stopped:  # Ctrl-C or SIGTERM, which DuckDB reports as its query interrupted
                        raise stopped[0] from None
                    if isinstance(why, duckdb.InterruptException):
                        raise KeyboardInterrupt from None
                    if not isinstance(why, duckdb.Error):
                        raise
                    raise SqlFallback(str(why)) from None
                finally:
                    con.close()
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _run(self, con: Any, path: str, folder: str) -> Summary:
        import duckdb

        con.execute("SET preserve_insertion_order = true")  # a table's scan, and what is copied of it, in rowid order
        con.execute(f"SET temp_directory = {literal(folder)}")
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        for macro in _MACROS:
            con.execute(macro)
        try:
            self._build(con)
        except duckdb.Error as why:
            if "parallel=false" not in str(why):
                raise
            # a cell of several lines, which DuckDB's parallel reader does not read beside short rows: read in one
            self.serial = True
            self._build(con)
        con.execute(f"SET threads = {max(1, self.jobs)}")
        counts = con.execute("SELECT count(*), count_if(h), bool_or(long) FROM ev").fetchone()
        assert counts is not None
        total, handed, long = counts
        if long:
            raise SqlFallback("a long record")
        if self.lines is not None and total + 1 != self.lines.count and _blank_lines(self.source.path):
            # fewer records than lines: cells of several lines, or an empty line, which csv.reader counts as a row
            # and DuckDB skips (the rows' numbers would differ): row by row
            raise SqlFallback("an empty line")
        if self.progress is not None:
            self.progress(total - handed)
        self.handed_back = handed
        spool = os.path.join(folder, "errors.jsonl")
        open(spool, "w", encoding="utf-8").close()
        if handed:
            self._hand_back(con, folder, spool)
        con.execute("CREATE TABLE later AS SELECT code, min(rid) AS first FROM ev WHERE st = 0 AND code IS NOT NULL "
                    "GROUP BY code HAVING count(*) > 1")
        for table, base in self.parts:
            con.execute(f"UPDATE {table} SET st = 3, dup = f.first FROM later AS f "
                        f"WHERE {table}.st = 0 AND {table}.code = f.code AND {table}.rowid + {base} > f.first")
        pools = None
        if self.policy.pools:  # shared over the rows decided, those handed back among them (engine.rounds.sql_pools)
            from engine.rounds.sql_pools import PoolStep

            types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE ev)").fetchall())
            pools = PoolStep(self.policy, self.clause_ids, self.settings.lang, self.settings.form, types)
            pools.run(con, self.parts)
        summary = self._summary(con)
        if pools is not None:
            pools.summarise(con, summary)
        form = self.settings.form
        if form == "xlsx":  # the officers' workbook, its words found by engine.rounds.sql_workbook
            from engine.rounds.sql_workbook import write_workbook

            write_workbook(self, con, path, self._problems(con, spool), summary, SqlFallback)
            return summary
        with contextlib.ExitStack() as files:
            results = files.enter_context(path_when_done(path))
            self._write(con, form, results, folder)
            suffix = Path(path).suffix if form == "jsonl" else ".csv"
            errors = files.enter_context(replace_when_done(sibling(path, "errors", suffix), "w", encoding="utf-8",
                                                           newline="" if suffix == ".csv" else None))
            self._errors(con, spool, errors, suffix == ".csv")
            if form == "jsonl":
                handle = files.enter_context(replace_when_done(sibling(path, "summary", ".json"), "w",
                                                               encoding="utf-8"))
                json.dump(summary_json(self.policy, summary), handle, ensure_ascii=False, indent=2)
                handle.write("\n")
            else:
                write_summary_csv(files.enter_context(replace_when_done(
                    sibling(path, "summary", ".csv"), "w", encoding="utf-8", newline="")), self.policy, summary)
        return summary

    def _build(self, con: Any) -> None:
        """The round's table `ev`: a view of its parts, each part's records evaluated into a table of its own
        (`ev0`, `ev1`, …, their rows in the file's order from `base` on, `rid` = rowid + base). A large CSV file
        is cut at lines into one part per job (_Lines), each part's query run on its own cursor and thread: DuckDB
        keeps a table's rows in order on one thread without holding blocks back, and two threads under the
        memory limit serialise anyway, so that parts are how the round uses the cores in flat memory. Whether
        the file could be cut there is learnt while the parts are read; where it could not (an empty line or a
        lone carriage return before a cut), the file is read again whole."""
        cuts = None
        if not isinstance(self.source, SqlSource):
            self.lines = _Lines(self.source.path, 1 if self.serial else self.jobs)
            cuts = self.lines.cuts
        self._parts(con, cuts)
        if self.lines is not None and not self.lines.held():
            self._parts(con, None)

    def _parts(self, con: Any, cuts: list[int] | None) -> None:
        """The part tables and `ev`, the file cut before the records `cuts` (None: whole)."""
        for table, _base in self.parts:
            con.execute(f"DROP VIEW IF EXISTS ev; DROP TABLE IF EXISTS {table}")
        parts: list[Part] = [(0, None)] if cuts is None else [
            (start, None if end is None else end - start) for start, end in zip([0, *cuts], [*cuts, None], strict=True)]
        self.parts = [(f"ev{i}", skip) for i, (skip, _count) in enumerate(parts)]
        con.execute(f"SET threads = {1 if len(parts) > 1 else max(1, self.jobs)}")
        _concurrently(con, [f"CREATE TABLE ev{i} AS {self.statement(part)}"
                            for i, part in enumerate(parts)])
        con.execute("CREATE VIEW ev AS " + " UNION ALL ".join(
            f"SELECT rowid + {base} AS rid, * FROM {table}" for table, base in self.parts))

    def _write(self, con: Any, form: str, results: str, folder: str) -> None:
        """The results file, by DuckDB's COPY: of each part on its own cursor and thread, one thread each, which
        writes in the table's order without holding finished blocks back in memory, into files put end to end;
        or the Parquet file, at once."""
        con.execute("SET threads = 1")
        if form == "parquet" or len(self.parts) == 1:
            con.execute(self._copy(form, results) if form == "parquet" else
                        self._copy(form, results, self.parts[0][0]))
            return
        files = [results] + [os.path.join(folder, f"part{i}") for i in range(1, len(self.parts))]
        _concurrently(con, [self._copy(form, file, table, base, header=not i)
                            for i, (file, (table, base)) in enumerate(zip(files, self.parts, strict=True))])
        with open(results, "ab") as whole:
            for file in files[1:]:
                with open(file, "rb") as part:
                    _append(part, whole)
                os.remove(file)

    def _hand_back(self, con: Any, folder: str, spool: str) -> None:
        """The rows the row engine decides: read from the round's table in blocks, evaluated by its workers
        (--jobs) while the next are read, and their results put back in the table by row, as the row engine
        writes them; their problems are spooled to `spool`, in the rows' order. A row the row engine skips
        (blank, a note) stays out of the round."""
        from engine.rounds.run import Engine

        first = self.source.header_row + 1  # the number of the table's row 0
        cursor = con.cursor()
        cursor.execute("SELECT rid, cells FROM ev WHERE h ORDER BY rid")

        types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {self.parts[0][0]})").fetchall())
        columns = ["st", "code"] + (["name", "kinds"] if self.settings.form in _NO_LINE else ["line"]) + \
            ["complete", "total"] + [f"{x}{k}" for k in range(len(self.clause_ids)) for x in "oar"
                                     if f"{x}{k}" in types]
        keys: list[str | None] | None = None
        if self.policy.pools:  # what sharing the pools reads of a row: its name, kinds, notes and place keys
            keys = [p.id if f"key{i}" in types else None for i, p in enumerate(self.policy.pools)]
            columns += [c for c in ("name", "kinds") if c not in columns] + [
                f"n{k}" for k in range(len(self.clause_ids))] + [f"key{i}" for i, key in enumerate(keys) if key]
        elif self.settings.form == "xlsx":  # the workbook's words, as the row engine made them
            columns += [f"n{k}" for k in range(len(self.clause_ids))]
        # how a worker writes each row back (_BackRow): the places of the table's amounts, which a row engine's
        # amount must have, or it would sum otherwise (Summary)
        places = {c: decimal_scale(kind) for c, kind in types.items() if kind.startswith("DECIMAL")}
        back_row = (self.settings.form, first, self.clause_ids, places, keys)

        def chunks() -> Iterator[tuple[Chunk, tuple[Any, ...]]]:
            while batch := cursor.fetchmany(FETCH):
                items: list[tuple[int, object]] = []
                for rid, cells in batch:
                    row = ["" if c is None else c for c in cells]
                    if not skipped(row):
                        items.append(handed_back(self.source, rid + first, row))
                for start in range(0, len(items), CHUNK):
                    yield Chunk(items=items[start:start + CHUNK]), back_row
                if self.progress is not None:
                    self.progress(len(batch))

        back = os.path.join(folder, "back.jsonl")
        engine = Engine(self.jobs, (self.policy, self.source.kind, self.source.layout, self.settings, self.kinds,
                                    os.path.dirname(self.source.path)))
        rows = 0
        try:
            with open(back, "w", encoding="utf-8") as out, open(spool, "w", encoding="utf-8") as problems:
                for _task, (lines, count, problem_lines) in engine.map(_handle, chunks()):
                    rows += count
                    out.write(lines)
                    problems.write(problem_lines)
        except BaseException:
            engine.close(abort=True)
            raise
        engine.close()
        cursor.close()
        if not rows:
            return
        spec = "{" + ", ".join(f"{literal(c)}: {literal(types[c])}" for c in columns) + ", 'rid': 'BIGINT'}"
        con.execute(f"CREATE TABLE back AS SELECT * FROM read_json({literal(back)}, format='newline_delimited', "
                    f"columns={spec})")
        # put back UPDATE_ROWS at a time, each batch checkpointed: DuckDB holds a batch's updates in memory until then
        bounds = [rid for (rid,) in con.execute(
            f"SELECT rid FROM (SELECT rid, row_number() OVER (ORDER BY rid) AS n FROM back) "
            f"WHERE n % {UPDATE_ROWS} = 1 ORDER BY rid").fetchall()] + [None]
        for low, high in itertools.pairwise(bounds):
            below = "" if high is None else f" AND back.rid < {high}"
            for table, base in self.parts:
                con.execute(f"UPDATE {table} SET {', '.join(f'{c} = back.{c}' for c in columns)} FROM back "
                            f"WHERE {table}.rowid = back.rid - {base} AND back.rid >= {low}{below}")
            if high is not None:
                con.execute("CHECKPOINT")

    def _summary(self, con: Any) -> Summary:
        """The round's figures, counted and summed (exact DECIMAL) by DuckDB as Summary.add counts them."""
        ids = self.clause_ids
        figures = ["count_if(st = 0)", "count_if(st IN (1, 3))", "count_if(st = 0 AND complete)",
                   "sum(total) FILTER (WHERE st = 0)"]
        for k in range(len(ids)):
            figures += [f"count_if(st = 0 AND o{k} = '{outcome}')" for outcome in _COUNTED]
            figures.append(f"sum(a{k}) FILTER (WHERE st = 0 AND o{k} = 'eligible')")
        found = con.execute(f"SELECT {', '.join(figures)} FROM ev").fetchone()
        assert found is not None
        summary = Summary(ids, {}, applicants=found[0], bad_rows=found[1], complete=found[2],
                          total=_exact(found[3]))
        for k, cid in enumerate(ids):
            eligible, ineligible, undetermined, referred, paid = found[4 + 5 * k:9 + 5 * k]
            summary.clauses[cid] = ClauseSummary(eligible, ineligible, undetermined, referred, _exact(paid),
                                                 _exact(paid))
        return summary

    def _copy(self, form: str, path: str, table: str = "ev", base: int = 0, header: bool = True) -> str:
        """DuckDB's COPY of the results, in the rows' order, to `path`: each line (its row number, then `line`)
        written as it is, or the Parquet file's typed columns; of one part of the table (its rows from `base` on)
        and without the CSV's header if not `header`."""
        first = self.source.header_row + 1
        if form == "parquet":
            # the results CSV's columns and cells, typed (engine.rounds.write.parquet_types), an empty cell NULL
            columns = [f"CAST(rid + {first} AS BIGINT) AS \"row\"", "NULLIF(code, '') AS credit_code",
                       "NULLIF(name, '') AS applicant", "NULLIF(kinds, '') AS recipient",
                       "CAST(total AS DECIMAL(18,2)) AS total", "complete"]
            for k, cid in enumerate(self.clause_ids):
                columns += [f"NULLIF(CAST(o{k} AS VARCHAR), '') AS {ident(cid + '.outcome')}",
                            f"CAST(a{k} AS DECIMAL(18,2)) AS {ident(cid + '.amount')}",
                            f"NULLIF(CAST(r{k} AS VARCHAR), '') AS {ident(cid + '.reason')}",
                            (f"NULLIF(n{k}, '')" if self.policy.pools else "CAST(NULL AS VARCHAR)")
                            + f" AS {ident(cid + '.note')}"]  # a note: a pool's only (why_not)
            columns.append("CAST(NULL AS VARCHAR) AS sheet")
            return (f"COPY (SELECT {', '.join(columns)} FROM ev WHERE st = 0 ORDER BY rid) TO {literal(path)} "
                    "(FORMAT parquet)")
        if form == "csv":
            buffer = io.StringIO()
            SafeWriter(buffer).writerow(_HEAD + [f"{cid}.{part}" for cid in self.clause_ids for part in _PARTS]
                                        + ["sheet"], frozenset())
            # the header is the single column's name, written as it is
            select = f"concat(rowid + {first + base}, line) AS {ident(buffer.getvalue()[:-2])}"
            options = f"HEADER {str(header).lower()}, NEW_LINE '\\r\\n'"
        else:
            select = f"concat('{{\"row\":', rowid + {first + base}, line) AS line"
            options = "HEADER false, NEW_LINE '\\n'"
        return (f"COPY (SELECT {select} FROM {table} WHERE st = 0) TO {literal(path)} "
                f"(FORMAT csv, {options}, QUOTE '', ESCAPE '')")

    def _problems(self, con: Any, spool: str) -> Iterator[list[Any]]:
        """The problems of the round, in the rows' order, each [row, where, column, message, suggestion]: those
        of the rows handed back (spooled as they came) and each recipient's second row, worded here as the row
        engine words it."""
        lang, first = self.settings.lang, self.source.header_row + 1
        column, hint = t("template.col.credit_code", lang), t("batch.duplicate.hint", lang)

        def repeats() -> Iterator[list[Any]]:
            cursor = con.cursor()
            cursor.execute("SELECT rid, code, dup FROM ev WHERE st = 3 ORDER BY rid")
            while batch := cursor.fetchmany(FETCH):
                for rid, code, dup in batch:
                    yield [rid + first, str(rid + first), column,
                           t("batch.duplicate", lang, code=code, first=dup + first), hint]
            cursor.close()

        with open(spool, encoding="utf-8") as spooled:
            yield from heapq.merge((json.loads(line) for line in spooled), repeats(), key=lambda e: int(e[0]))

    def _errors(self, con: Any, spool: str, handle: IO[str], as_csv: bool) -> None:
        """The problems file (CSV or JSON Lines) of the round (_problems)."""
        problems = self._problems(con, spool)
        if as_csv:
            out = SafeWriter(handle, (0,))
            out.writerow(["row", "where", "column", "message", "suggestion"], frozenset())
            for e in problems:
                out.writerow([str(e[0]), *e[1:]])
        else:
            encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
            for e in problems:
                handle.write(encode({"row": e[0], "where": e[1], "column": e[2], "message": e[3],
                                     "suggestion": e[4]}) + "\n")


class _BackRow:
    """A row the row engine decided, as a line of JSON for the round's table (read_json): its results as the row
    engine writes them (its line, from CsvLines or JsonlLines, or the Parquet file's columns), its outcomes and
    amounts for the summary; or, for a bad row, its problems, spooled."""

    def __init__(self, form: str, first: int, ids: list[str], places: Mapping[str, int],
                 keys: list[str | None] | None = None):
        self.form, self.first, self.ids, self.places = form, first, ids, places
        self.keys = keys  # with pools: each pool's id when it is shared in order (key<i>), else None
        self.jsonl = JsonlLines(ids)
        self.dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def __call__(self, record: Record, problems: IO[str]) -> str:
        rid = record.row - self.first
        if record.errors:
            dumps = self.dumps
            problems.writelines(dumps([e.row, e.where, e.column, e.message, e.suggestion]) + "\n"
                                for e in record.errors)
            return dumps({"rid": rid, "st": 1})
        row: dict[str, Any] = {"rid": rid, "st": 0, "code": record.code, "complete": record.complete,
                               "total": self.amount("total", record.total)}
        notes = self.keys is not None or self.form == "xlsx"  # a pool's sentence, or the workbook's words
        if self.form in _NO_LINE or self.keys is not None:
            row["name"], row["kinds"] = record.name, ";".join(record.kinds)
        if self.form == "csv":
            buffer = io.StringIO()
            SafeWriter(buffer, _result_numbers(self.ids)).writerow(csv_row(record, self.ids))
            row["line"] = buffer.getvalue()[len(str(record.row)):-2]
        elif self.form not in _NO_LINE:
            row["line"] = self.jsonl.line(record)[len(str(record.row)) + 7:]  # after {"row":N
        for k, (outcome, amount, reason, said) in enumerate(record.clauses):
            if said and not notes:
                raise SqlFallback("a note")  # none in a round without pools and words (why_not)
            row[f"o{k}"], row[f"a{k}"] = outcome, self.amount(f"a{k}", amount) if amount else None
            if self.form in _NO_LINE or self.keys is not None:
                row[f"r{k}"] = reason
            if notes:
                row[f"n{k}"] = said
        for i, pool in enumerate(self.keys or ()):
            if pool is not None:
                key = record.order.get(pool)
                row[f"key{i}"] = key if key is None or isinstance(key, (int, bool)) else str(key)
        return self.dumps(row)

    def amount(self, column: str, text: str) -> str:
        exponent = Decimal(text).as_tuple().exponent
        if exponent != -self.places.get(column, 2):
            raise SqlFallback("an amount of other places")
        return text


_HEAD = ["row", "credit_code", "applicant", "recipient", "total", "complete"]
_PARTS = ("outcome", "amount", "reason", "note")
_COUNTED = ("eligible", "ineligible", "undetermined", "referred")  # the outcomes Summary counts


def _exact(value: Decimal | None) -> Decimal:
    """A sum as Summary's (a Decimal 0 when nothing was summed)."""
    return Decimal(0) if value is None else value


def _concat(parts: list[str]) -> str:
    """SQL: concat of `parts` (SQL expressions), each run of string literals as one (DuckDB pays per argument)."""
    merged: list[str] = []
    for part in parts:
        if merged and _LITERAL.fullmatch(part) and _LITERAL.fullmatch(merged[-1]):
            merged[-1] = merged[-1][:-1] + part[1:]
        else:
            merged.append(part)
    return "concat(" + ", ".join(merged) + ")"


_LITERAL = re.compile(r"'(?:[^']|'')*'")


def _json_string(text: str) -> str:
    return str(json.encoder.encode_basestring(text))


def _json_escaped(x: str) -> str:
    """SQL: `x` with json.dumps' escapes (ensure_ascii off): backslash, quote and every control character."""
    code = f"replace(replace({x}, '\\', '\\\\'), '\"', '\\\"')"
    for c in range(32):
        escape = _SHORT_ESCAPES.get(c, f"\\u{c:04x}")
        code = f"replace({code}, chr({c}), '{escape}')"
    return code


_SHORT_ESCAPES = {8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}
_STARTS = "".join({"-": "\\-", "\t": "\\t", "\r": "\\r"}.get(c, c) for c in sorted(FORMULA_STARTS))
_MACROS = [
    # text as json.dumps writes it (ensure_ascii off), or null
    "CREATE MACRO json_text(x) AS CASE WHEN x IS NULL THEN 'null' WHEN regexp_matches(x, '[\\x00-\\x1f\"\\\\]') "
    f"THEN concat('\"', {_json_escaped('x')}, '\"') ELSE concat('\"', x, '\"') END",
    # a text cell as SafeWriter writes it: neutralised (FORMULA_STARTS), then quoted as csv.writer quotes
    "CREATE MACRO csv_quoted(y) AS CASE WHEN regexp_matches(y, '[,\"\\r\\n]') "
    "THEN concat('\"', replace(y, '\"', '\"\"'), '\"') ELSE y END",
    f"CREATE MACRO csv_text(x) AS CASE WHEN NOT regexp_matches(x, '^[{_STARTS}]|[,\"\\r\\n]') THEN x "
    f"WHEN regexp_matches(x, '^[{_STARTS}]') THEN csv_quoted(concat('''', x)) ELSE csv_quoted(x) END",
]
MEMORY_LIMIT = "256MB"  # DuckDB's memory for the round; what does not fit goes to its temporary folder
UPDATE_ROWS = 50_000  # rows handed back put back in the round's table at a time (their updates held in memory)


_FOLDER = "policy-round-"  # the round's DuckDB folder in the system's temporary folder: policy-round-PID-…


Part = tuple[int, "int | None"]  # a part of a CSV round: the records before it, and how many it reads (None: the rest)
SPLIT_BYTES = 8 << 20  # a CSV file cut into parts (one per job) from this size on: below, one query is as quick
# what DuckDB's reader pays to pass a part's earlier lines (`skip` reads them), as a share of reading and evaluating
# them: measured 0.18 s of 7.4 s for the second half of a million-row file (scripts/benchmark.py --sql-only)
SKIP_SHARE = 0.025


class _Lines:
    """A CSV file's lines: `cuts`, where the file is cut into `parts` parts of about equal size at the ends of
    lines — the number of records before each part but the first — or None when it is too small (SPLIT_BYTES) or
    cannot be cut at lines: before the last cut, a line with an odd number of quotes (a cell of several lines);
    and `count`, the lines as csv.reader and DuckDB end them (a line feed, a carriage return and line feed, a
    lone carriage return; the last line with or without its end).

    `cuts` is known at once, from the line feeds before each cut. The pass that counts every line, and finds
    whether an empty line or a lone carriage return comes before a cut (the cuts would not fall where the
    records do), runs on a thread of its own while DuckDB reads the parts (it holds no core DuckDB needs for
    long): `held()` and `count` wait for it; `held()` says whether the cuts held. Memory stays flat (blocks, a
    mapped file)."""

    def __init__(self, path: str, parts: int):
        import threading

        self._lines = 0
        self.cuts: list[int] | None = None
        self._held = True
        self._failed: BaseException | None = None
        self._pass: threading.Thread | None = None
        size = os.path.getsize(path)
        if not size:
            return
        handle = open(path, "rb")
        try:
            data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except BaseException:
            handle.close()
            raise
        ends = self._ends(data, size, parts) if parts > 1 and size >= SPLIT_BYTES else []
        cuts = self._feeds(data, ends)
        _let_go(data, 0, size)
        if ends and all(b - a >= 1 for a, b in itertools.pairwise([0, *cuts])):
            self.cuts = cuts

        def count() -> None:
            try:
                with handle, data:
                    self._lines, counted = self._count(data, size, ends)
                    self._lines += data[size - 1:] not in (b"\n", b"\r")
                    self._held = self.cuts is None or counted == self.cuts
            except BaseException as error:  # raised by held()
                self._failed = error

        self._pass = threading.Thread(target=count, daemon=True)
        self._pass.start()

    @property
    def count(self) -> int:
        """The file's lines, once the pass is done."""
        self.held()
        return self._lines

    def held(self) -> bool:
        """Whether the file could be cut at `cuts` (no cuts: True), once the pass is done."""
        if self._pass is not None:
            self._pass.join()
            self._pass = None
        if self._failed is not None:
            raise self._failed
        return self._held

    @staticmethod
    def _feeds(data: Any, ends: list[int], block: int = 16 << 20) -> list[int]:
        """The records before each of `ends`, counted as line feeds (the header's line is not a record)."""
        cuts, lines, position = [], 0, 0
        for end in ends:
            while position < end:
                stop = min(end, position + block)
                lines += data[position:stop].count(b"\n")
                position = stop
            cuts.append(lines - 1)
        return cuts

    @staticmethod
    def _ends(data: Any, size: int, parts: int) -> list[int]:
        """Where each part but the last ends (after a line feed), or none where the file cannot be cut there. Each
        later part is a little smaller, by what it pays to pass the lines before it (SKIP_SHARE), so that the
        parts end together: part k (from 0) starts at (1 - q^k) / (1 - q^parts) of the file, q = 1 - SKIP_SHARE."""
        q = 1 - SKIP_SHARE
        ends = [data.find(b"\n", int(size * (1 - q ** i) / (1 - q ** parts))) + 1 for i in range(1, parts)]
        if not all(ends):
            return []
        at = data.find(b'"', 0, ends[-1])
        while at != -1:  # every line with a quote holds an even number of them
            start, end = data.rfind(b"\n", 0, at) + 1, data.find(b"\n", at)
            if data[start:end].count(b'"') % 2:
                return []
            at = data.find(b'"', end, ends[-1])
        return ends

    @staticmethod
    def _count(data: Any, size: int, ends: list[int], block: int = 16 << 20) -> tuple[int, list[int] | None]:
        """The lines, and the records before each of `ends`: None if an empty line or a lone carriage return comes
        before the last (DuckDB's `skip` counts an empty line, its records do not: the parts would overlap)."""
        lines, position, cuts, cuttable = 0, 0, list[int](), True
        stops = [*ends, size]
        while position < size:  # in blocks, each ending at a line feed: a carriage return and line feed in one
            stop = min(stops[len(cuts)], data.find(b"\n", position + block) + 1 or size)
            chunk = data[position:stop]
            lines += chunk.count(b"\n")
            if _LONE_CR.search(chunk):  # a carriage return alone ends a line too
                lines += chunk.count(b"\r") - chunk.count(b"\r\n")
                cuttable = False
            if len(cuts) < len(ends) and (_empty_line(chunk) or chunk[:1] == b"\n" or chunk[:2] == b"\r\n"):
                cuttable = False
            _let_go(data, position, stop)
            position = stop
            if len(cuts) < len(ends) and stop == ends[len(cuts)]:
                cuts.append(lines - 1)  # the header's line is not a record
        return lines, cuts if cuttable else None


def _let_go(data: Any, start: int, stop: int) -> None:
    """The pages of the mapped file `data` from `start` to `stop` let go of (read again from the page cache if
    touched again), so that what the passes over a file read does not stay in the process's memory while DuckDB
    reads the parts: that was the whole file, 230 MB of a million-row round. Bytes, or a system without
    madvise: nothing."""
    advise, dontneed = getattr(data, "madvise", None), getattr(mmap, "MADV_DONTNEED", None)
    first = start - start % mmap.PAGESIZE
    if advise is not None and dontneed is not None and stop > first:
        advise(dontneed, first, stop - first)


_LONE_CR = re.compile(rb"\r(?!\n)")


def _empty_line(data: bytes) -> bool:
    """Whether `data` holds an empty line: a line feed, or a carriage return alone, right after a line's end (in
    _Lines._count, where each block ends at a line feed, one at a block's start is looked for there). Three
    searches for a fixed text, not one regular expression: an alternation is scanned byte by byte, 0.6 s of a
    million-row file where these take 0.05."""
    return b"\n\n" in data or b"\n\r\n" in data or b"\r\r" in data


def _append(part: IO[bytes], whole: IO[bytes]) -> None:
    """The file `part` written at the end of `whole`, by the kernel where it can (no copy through Python)."""
    left = os.fstat(part.fileno()).st_size
    try:
        while left > 0 and (done := os.copy_file_range(part.fileno(), whole.fileno(), left)):
            left -= done
    except (AttributeError, OSError):  # another system, or file system
        pass
    shutil.copyfileobj(part, whole, 1 << 20)  # whatever the kernel did not copy, from where it stopped


def _concurrently(con: Any, statements: list[str]) -> None:
    """Each statement on a cursor of its own and a thread of its own (DuckDB lets go of the interpreter while it
    works), the first in this thread, which takes Ctrl-C and SIGTERM: when one fails or is stopped, the others are
    interrupted and waited for, and the first error raised."""
    import threading

    cursors = [con.cursor() for _ in statements[1:]]
    failed: list[BaseException] = []

    def run(cursor: Any, statement: str) -> None:
        try:
            cursor.execute(statement)
        except BaseException as error:  # raised in the calling thread
            failed.append(error)

    pairs = zip(cursors, statements[1:], strict=True)
    threads = [threading.Thread(target=run, args=pair, daemon=True) for pair in pairs]
    try:
        for thread in threads:
            thread.start()
        con.execute(statements[0])
        for thread in threads:
            thread.join()
    except BaseException:
        for cursor in cursors:
            cursor.interrupt()
        for thread in threads:
            if thread.ident is not None:
                thread.join()
        raise
    finally:
        for cursor in cursors:
            cursor.close()
    if failed:
        raise failed[0]


def _clear_leftovers() -> None:
    """Remove the folders of rounds whose process was killed (SIGKILL, the out-of-memory killer) before it could."""
    import glob

    for folder in glob.glob(os.path.join(glob.escape(tempfile.gettempdir()), f"{_FOLDER}*-*")):
        pid = os.path.basename(folder)[len(_FOLDER):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:  # no such process: the folder is a killed round's
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:  # a process of another user's: its own
            continue


@contextlib.contextmanager
def _signals_kept() -> Iterator[list[BaseException]]:
    """What the handlers of SIGINT and SIGTERM raise (KeyboardInterrupt, the CLI's SystemExit), kept in the list
    yielded: DuckDB stops its query when a handler raises, and reports only that the query was interrupted."""
    import signal
    import threading

    stopped: list[BaseException] = []
    if threading.current_thread() is not threading.main_thread():
        yield stopped
        return
    kept: dict[int, Any] = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}

    def keep(number: int, frame: Any) -> None:
        handler = kept[number]
        try:
            if callable(handler):
                handler(number, frame)
        except BaseException as raised:
            stopped.append(raised)
            raise

    for number, handler in kept.items():
        if callable(handler):
            signal.signal(number, keep)
    try:
        yield stopped
    finally:
        for number, handler in kept.items():
            if callable(handler):
                signal.signal(number, handler)


def _handle(task: tuple[Chunk, tuple[Any, ...]]) -> tuple[str, int, str]:
    """In a worker (engine.rounds.run's, started with the round's policy): the row engine's Record of each row of
    the chunk, written back for the round's table (_BackRow made of the task's second part): the lines of JSON,
    how many, and the problems' lines."""
    from engine.rounds import run

    chunk, back_row = task
    assert run._WORKER is not None and chunk.items is not None
    worker = run._WORKER
    worker._decoded = False
    to_row = _BackRow(*back_row)
    problems = io.StringIO()
    lines = "".join(to_row(worker.handle(item), problems) + "\n" for item in chunk.items)
    return lines, len(chunk.items), problems.getvalue()


def _money(text: str) -> str:
    """What was granted: money, read as a money fact's cell is (engine.model.kinds.money)."""
    from engine.model.kinds import KINDS
    from engine.model.policy import Fact

    parse = KINDS["money"].sql_parse(Fact(name=CODE, type="money", label=CODE), text)
    assert parse is not None
    return parse


__all__ = ["SqlFallback", "SqlRound", "batch_why_not", "why_not", "Column"]
