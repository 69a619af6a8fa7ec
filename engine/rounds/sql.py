"""A round in SQL: DuckDB reads the CSV, checks each row's cells as SQL, runs the policy's query
(engine.runtime.sql) over the rows it reads, and hands every other row to the row engine (engine.rounds.run's
Worker), so each row's results and problems are exactly the row engine's.

The SQL facts check reads a cell only in a plain form its kind's `sql_parse` knows (1234.56, 35万元, 60%, true,
2024-01-31, a credit code of 18 capitals and digits with its check character right), within the fact's bounds
(min, max, at_most, choices); a row with any other cell is the row engine's, which reads it or words its
problem (row, column, reason) as always. A row the query cannot decide exactly (a fact missing, a clause it
does not translate) is the row engine's too. Then, in the rows' order, the same Records as the row engine's go
to the same writers, with the same check that no recipient comes twice and the same summary.

`why_not(...)` says when a round stays with the row engine altogether: another input than a UTF-8 CSV whose
header is its first line, --sheets, --ledger or --record, pools, the workbook (its reasons are worded per row),
or a policy the query cannot express. DuckDB is imported only here, when a round runs in SQL.
"""

from __future__ import annotations

import os
from collections import deque
from typing import Any, Callable, Iterator, Mapping

from engine.core.messages import t
from engine.model.kinds.base import sql_within
from engine.model.policy import Policy
from engine.rounds.columns import CODE, DATE, GRANTED, KIND, NAME, Column
from engine.rounds.identity import ALPHABET, WEIGHTS
from engine.rounds.read import RECORD_LIMIT, Chunk, Source, skipped
from engine.rounds.results import ClauseSummary, Output, Record, RowError, Summary
from engine.rounds.run import Settings
from engine.rounds.sql_sources import SqlSource, handed_back, note, readable, sql_source
from engine.rounds.write import CsvOutput
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
BLOCK = 2048  # rows written per block; a block's rows for the row engine go to a worker as one chunk
_AREA = "area"


def batch_why_not(policy: Policy, source: Source, settings: Settings) -> str | None:
    """why_not for `policy batch`, which reads a Parquet, XLSX or JSON Lines file in SQL too (sql_sources)."""
    return why_not(policy, source, settings, every_format=True)


def why_not(policy: Policy, source: Source, settings: Settings, every_format: bool = False) -> str | None:
    """Why this round runs row by row, or None when it can run in SQL (a CSV file, or `every_format` but a folder)."""
    is_csv = source.kind == "cells" and source.path.lower().endswith(".csv")
    if not (is_csv or every_format and readable(source)) or is_csv and (
            source.encoding not in ("utf-8", "utf-8-sig") or source.header_row != 1 or source._records is None):
        return "input"
    if settings.sheets or settings.ledger or settings.record:
        return "options"
    if settings.words:
        return "workbook"
    if policy.pools:
        return "pools"
    names = [c.name for c in source.layout if c is not None]
    if len(names) != len(set(names)):
        return "input"
    try:
        sql_query(policy)
    except SqlUnsupported:
        return "policy"
    if is_csv and _blank_lines(source.path):
        return "input"  # csv.reader counts an empty line as a row, DuckDB skips it: row numbers would differ
    return None


def _blank_lines(path: str) -> bool:
    """Whether the file holds an empty line (read in blocks: memory stays flat)."""
    last = b""
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            text = last + block
            if b"\n\n" in text or b"\n\r\n" in text or b"\r\r" in text:
                return True
            last = text[-2:]
    return False


def _text(column: str) -> str:
    """A cell's text, stripped of spaces, NULL when blank."""
    return f"NULLIF(TRIM({column}), '')"


def _plain(code: str) -> str:
    """SQL: the text has no control, format or separator character but the space (the row engine words those)."""
    return f"NOT regexp_matches(replace({code}, ' ', ''), '[\\p{{C}}\\p{{Z}}]')"


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

    @property
    def clause_ids(self) -> list[str]:
        return list(self.query.clause_ids)

    # -- the SQL ----------------------------------------------------------------------------------------
    def typed(self) -> str:
        """The CTEs reading the CSV's cells (`cells`: c0, c1, … as read; t0, t1, … stripped, NULL when blank) as the
        query's typed columns, each cell parsed once (`typed0`), then what makes a row the row engine's (`typed`)."""
        layout = self.source.layout
        facts = self.policy.all_facts()
        cols: dict[str, str] = {}
        refused: list[str] = []
        granted: list[str] = []
        for i, column in enumerate(layout):
            if column is None:
                continue
            text = f"t{i}"
            if column.kind == "code":
                cols["$code"] = f"UPPER({text})"
                refused.append(f"({text} IS NOT NULL AND NOT COALESCE({_code_valid(ident('$code'))}, FALSE))")
            elif column.fact is not None:
                fact = column.fact
                parse = fact.kind.sql_parse(fact, text)
                if parse is None:
                    refused.append(f"({text} IS NOT NULL)")
                    continue
                cols[fact.name] = f"CAST({parse} AS {fact.kind.column(fact)})"
                within = sql_within(fact, ident(fact.name))
                refused.append(f"({text} IS NOT NULL AND " + (f"NOT COALESCE({within}, FALSE))" if within else
                                                              f"{ident(fact.name)} IS NULL)"))
            elif column.kind == "granted":
                assert column.clause is not None
                cols[GRANTED + column.clause] = f"CAST({_money(text)} AS DECIMAL(18,2))"
                granted.append(text)
                refused.append(f"({text} IS NOT NULL AND {ident(GRANTED + column.clause)} IS NULL)")
            elif column.name == KIND:
                cases = " ".join(f"WHEN {literal(word)} THEN {literal(kind)}" for word, kind in self.kinds.items())
                cols[RECIPIENT] = f"CASE {text} {cases} END"
            elif column.name == _AREA:
                cols[AREA_COLUMN] = text
                refused.append(f"({text} IS NOT NULL AND NOT {_plain(text)})")
            elif column.name == DATE:
                cols[CLAIM_DATE] = (f"CASE WHEN regexp_full_match({text}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') "
                                      f"THEN TRY_CAST({text} AS DATE) END")
                refused.append(f"({text} IS NOT NULL AND {ident(CLAIM_DATE)} IS NULL)")
            elif column.name == NAME:
                refused.append(f"({text} IS NOT NULL AND NOT {_plain(text)})")
            else:  # a column the query does not read: the row engine reads any text in it
                refused.append(f"({text} IS NOT NULL)")
        cols.setdefault("$code", "CAST(NULL AS VARCHAR)")
        cols.setdefault(RECIPIENT, "CAST(NULL AS VARCHAR)")
        cols.setdefault(AREA_COLUMN, "CAST(NULL AS VARCHAR)")
        cols.setdefault(CLAIM_DATE, "CAST(NULL AS DATE)")
        refused.append(f"{ident(RECIPIENT)} IS NULL")  # no kind, or one the sheet does not know, or several
        refused.append(note("c0"))  # a note, whatever its first column: the row engine skips it
        for name, fact in facts.items():
            if name not in cols:
                cols[name] = f"CAST(NULL AS {fact.kind.column(fact)})"
            if fact.at_most is not None and fact.at_most in facts:
                refused.append(f"COALESCE({ident(name)} > {ident(fact.at_most)}, FALSE)")
        for cid in self.query.granted:
            cols.setdefault(GRANTED + cid, "CAST(NULL AS DECIMAL(18,2))")
        cols[GRANTED_KNOWN] = "(" + (" OR ".join(f"{g} IS NOT NULL" for g in granted) or "FALSE") + ")"
        select = ", ".join(f"{code} AS {ident(name)}" for name, code in cols.items())
        raw = ", ".join(f"c{i}" for i in range(len(layout)))
        trimmed = ", ".join(f"NULLIF(TRIM(c{i}), '') AS t{i}" for i in range(len(layout)))
        return (f"cells AS (SELECT CAST(NULL AS BIGINT) AS {ident(ROW)}, {raw}, {trimmed} FROM {self.csv()}), "
                f"typed0 AS (SELECT {ident(ROW)}, {raw}, {', '.join(f't{i}' for i in range(len(layout)))}, {select} "
                "FROM cells), "
                f"typed AS (SELECT *, ({' OR '.join(refused)}) AS \"$refused\" FROM typed0)")

    def csv(self) -> str:
        """The CSV file as DuckDB reads it: every cell as text, columns c0, c1, … in the header's order."""
        if isinstance(self.source, SqlSource):  # another format than CSV: engine.rounds.sql_sources
            return self.source.relation()
        layout = self.source.layout
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(layout))) + "}"
        path = self.source.path.replace("'", "''")
        return (f"read_csv('{path}', header=true, columns={columns}, all_varchar=true, null_padding=true, "
                "quote='\"', escape='\"', delim=',', auto_detect=false)")

    def repeated(self) -> set[str] | None:
        """The credit codes more than one row gives, read in a first pass (so that the check that no recipient
        comes twice keeps only those, not every code of the round: memory stays flat); None when a code cell
        holds anything but letters and digits around spaces, which the row engine may read as another's code
        (then every code is kept, as the row engine keeps them)."""
        import duckdb

        at = next((i for i, c in enumerate(self.source.layout) if c is not None and c.kind == "code"), None)
        if at is None:
            return set()
        con = duckdb.connect()
        con.execute(f"SET threads = {max(1, self.jobs)}")
        found = con.execute(f"SELECT UPPER(t), count(*) > 1, bool_or(NOT regexp_full_match(t, '[0-9A-Za-z]*')) "
                            f"FROM (SELECT NULLIF(TRIM(c{at}), '') AS t FROM {self.csv()}) WHERE t IS NOT NULL "
                            "GROUP BY 1 HAVING count(*) > 1 OR bool_or(NOT regexp_full_match(t, '[0-9A-Za-z]*'))"
                            ).fetchall()
        con.close()
        if any(odd for _code, _many, odd in found):
            return None
        return {code for code, many, _odd in found if many}

    def statement(self) -> str:
        """Per row, in the file's order (streamed: no sort, no window, no join): whether the row engine decides it,
        its code, kind and name, whether it is near the row engine's length bound, its cells as read when the row
        engine decides it, and the query's results as text."""
        width = len(self.source.layout)
        query = self.query.text.removeprefix("WITH ")
        # the policy's query runs over every row (those the SQL does not read have NULLs, and are handed back)
        query = query.replace(" FROM applicants)", " FROM typed)", 1)
        ctes, final = query.rsplit("\nSELECT ", 1)
        columns, last = final.rsplit(" FROM ", 1)
        results = ", ".join(f"CAST({ident(c)} AS VARCHAR)" for c in self._result_columns())
        at = next((i for i, c in enumerate(self.source.layout) if c is not None and c.name == NAME), None)
        name = f"t{at}" if at is not None else "CAST(NULL AS VARCHAR)"
        # a record near the row engine's bound on a record's length (engine.rounds.read.RECORD_LIMIT, which it
        # reports as the row's problem): the round is the row engine's
        every = ", ".join(f"c{i}" for i in range(width))
        long = f"strlen(concat({every}, '')) + {2 * width} >= {RECORD_LIMIT // 2}"
        cells = ", ".join(f"CASE WHEN h THEN c{i} END" for i in range(width))
        return (f"WITH {self.typed()}, {ctes}, "
                f"q AS (SELECT {columns}, \"$refused\" AS refused, \"$code\" AS code, {ident(RECIPIENT)} AS kind, "
                f"{name} AS name, {long} AS long, {every} FROM {last}), "
                f"r AS (SELECT (refused OR COALESCE({ident(ROWS_ENGINE)}, TRUE)) AS h, * FROM q) "
                f"SELECT h OR long, code, kind, name, long, {cells}, {results}, {self._complete()}, {self._tail()} "
                "FROM r")

    def _complete(self) -> str:
        """Whether a decided row is complete: no clause waits (undetermined)."""
        waiting = " OR ".join(f"COALESCE({ident(cid + ':outcome')} = 'undetermined', FALSE)"
                              for cid in self.query.clause_ids)
        return f"NOT ({waiting or 'FALSE'})"

    def _tail(self) -> str:
        """The end of a decided row's line in the results CSV, from its total on, as engine.rounds.write.csv_row and
        csv.writer write it: its total, complete, each clause's outcome, amount, reason and (empty) note, and the
        (empty) sheet. Every cell is text the query writes (decimals, outcome and reason codes): none is quoted
        or neutralised (CsvOutput.add_decided)."""
        parts = [f"CAST({ident(TOTAL)} AS VARCHAR)", f"CASE WHEN {self._complete()} THEN ',true' ELSE ',false' END"]
        for cid in self.query.clause_ids:
            reason = ident(f"{cid}:reason")
            if self.policy.clause(cid).up_to:  # an eligible ceiling's reason is up_to, as the row engine writes it
                reason = f"CASE WHEN {ident(cid + ':outcome')} = 'eligible' THEN 'up_to' ELSE {reason} END"
            parts += ["','", ident(f"{cid}:outcome"), "','", f"CAST({ident(cid + ':amount')} AS VARCHAR)", "','",
                      reason, "','"]
        return f"concat({', '.join(parts + [chr(39) + ',' + chr(39)])})"

    def _result_columns(self) -> list[str]:
        out = []
        for cid in self.query.clause_ids:
            out += [f"{cid}:outcome", f"{cid}:amount", f"{cid}:reason"]
        return out + [TOTAL]

    # -- the round ------------------------------------------------------------------------------------
    def rows(self) -> Iterator[tuple[Any, ...]]:
        import duckdb

        con = duckdb.connect()
        con.execute(f"SET threads = {max(1, self.jobs)}")
        con.execute("SET preserve_insertion_order = true")
        cursor = con.execute(self.statement())
        while batch := cursor.fetchmany(FETCH):
            yield from batch
        con.close()

    def _rows_or_fallback(self, error: type[Exception]) -> Iterator[tuple[Any, ...]]:
        try:
            yield from self.rows()
        except error as why:
            raise SqlFallback(str(why)) from None

    def _blocks(self, error: type[Exception]) -> Iterator[tuple[Chunk, list[Any]]]:
        """The rows in blocks, in order, numbered as the row engine numbers them (the header's row, then one a
        record: the file holds no empty line, why_not): each block's rows for the row engine as a Chunk of
        (row, cells) items, and the block itself (a row handed back is its number; the others, their results)."""
        width = len(self.source.layout)
        block: list[Any] = []
        items: list[tuple[int, object]] = []
        number = self.source.header_row
        for row in self._rows_or_fallback(error):
            number += 1
            if row[4]:
                raise SqlFallback("a long record")
            if row[0]:
                cells = ["" if c is None else c for c in row[5:5 + width]]
                if skipped(cells):
                    continue
                items.append(handed_back(self.source, number, cells))
                block.append(number)
            else:
                block.append((number, *row))
            if len(block) >= BLOCK:
                yield Chunk(items=items), block
                block, items = [], []
        if block:
            yield Chunk(items=items), block

    def run(self, output: Output) -> Summary:
        """The round, written to `output`; SqlFallback (and `output` aborted) when DuckDB cannot run it. Rows
        handed back are evaluated by the row engine's workers (--jobs), in blocks, while DuckDB goes on."""
        import duckdb

        from engine.rounds.run import Engine

        ids = self.clause_ids
        summary = Summary(ids, {cid: ClauseSummary() for cid in ids})
        source = self.source
        base = os.path.dirname(source.path)
        width = len(source.layout)
        n = len(ids)
        ceilings = [self.policy.clause(cid).up_to for cid in ids]  # an eligible ceiling's reason is up_to, as rows'
        seen: dict[str, int] = {}
        lang = self.settings.lang
        blocks: deque[list[Any]] = deque()
        # a decided row's CSV line is mostly the query's text (_tail), written as it comes
        decided = output.add_decided if isinstance(output, CsvOutput) else None

        def chunks() -> Iterator[Chunk]:
            for chunk, block in self._blocks(duckdb.Error):
                blocks.append(block)
                yield chunk

        try:
            repeated = self.repeated()
        except duckdb.Error as why:
            output.abort()
            raise SqlFallback(str(why)) from None
        except BaseException:  # the input found damaged as it was read (engine.rounds.sql_sources)
            output.abort()
            raise
        engine = Engine(self.jobs, (self.policy, source.kind, source.layout, self.settings, self.kinds, base))
        try:
            try:
                for _chunk, handled in engine.map(_handle, chunks()):
                    block = blocks.popleft()
                    records = iter(handled)
                    for row in block:
                        if type(row) is int:
                            record, tail = next(records), None
                        else:
                            record = Record(row[0], str(row[0]), row[2], row[4], (row[3],))
                            results = row[6 + width:]  # (number, hand, code, kind, name, long, cells…, results…)
                            # an eligible ceiling's reason is up_to, as the row engine writes it
                            record.clauses = [[results[k], results[k + 1] or "",
                                               "up_to" if ceilings[k // 3] and results[k + 1] is not None
                                               and results[k] == "eligible" else results[k + 2], ""]
                                              for k in range(0, 3 * n, 3)]
                            record.total = results[3 * n]
                            record.complete, tail = row[-2], row[-1]
                        if record.code is not None and not record.errors and (repeated is None
                                                                              or record.code in repeated):
                            first = seen.get(record.code)
                            if first is not None:
                                record.errors.append(RowError(
                                    record.row, record.where, t("template.col.credit_code", lang),
                                    t("batch.duplicate", lang, code=record.code, first=first),
                                    t("batch.duplicate.hint", lang)))
                                record.clauses = []
                            else:
                                seen[record.code] = record.row
                        summary.add(record, claimed=True)
                        if decided is not None and tail is not None and not record.errors:
                            decided(record, tail)
                        else:
                            output.add(record)
                    if self.progress is not None:
                        self.progress(len(block))
            except BaseException:
                engine.close(abort=True)
                raise
            engine.close()
            output.finish(summary)
        except BaseException:
            output.abort()
            raise
        return summary


def _handle(chunk: Chunk) -> list[Record]:
    """In a worker (engine.rounds.run's, started with the round's policy): the row engine's Record of each row."""
    from engine.rounds import run

    assert run._WORKER is not None and chunk.items is not None
    worker = run._WORKER
    worker._decoded = False
    return [worker.handle(item) for item in chunk.items]


def _money(text: str) -> str:
    """What was granted: money, read as a money fact's cell is (engine.model.kinds.money)."""
    from engine.model.kinds import KINDS
    from engine.model.policy import Fact

    parse = KINDS["money"].sql_parse(Fact(name=CODE, type="money", label=CODE), text)
    assert parse is not None
    return parse


__all__ = ["SqlFallback", "SqlRound", "batch_why_not", "why_not", "Column"]
