"""A round, start to end: read applicants, evaluate each (in worker processes with --jobs), share the pools,
write the results. Memory stays flat as the round grows: items are read, evaluated and written in a bounded
window of chunks; only a pool's claims (and, when a policy has pools, a spool file of results on disk) are
kept until the round is complete.

Each worker loads nothing from disk: it receives the compiled policy (a Policy pickles, engine/cache.py) once,
when it starts, and evaluates with trace=False, the fast path. A bad row is a record with its problems; it
never stops the round.

The main process does as little per applicant as it can, so that it is never what the round waits for: it
cuts a CSV file into chunks of raw records (engine.rounds.read.CsvRecords), and each worker parses its chunk,
evaluates it, and sends back a Part — its results already formatted (CSV or JSON Lines text, or the workbook's
rows), the chunk's summary, the (row, credit code) of each applicant, and its bad rows. The main process then
only checks that no recipient comes twice and writes. A round with pools keeps every applicant's Record
until the pools are shared (Round._pooled).
"""

from __future__ import annotations

import heapq
import json
import os
import pickle
import re
import tempfile
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from engine.core.errors import PolicyError
from engine.core.files import write_whole
from engine.core.format import format_money, format_percent
from engine.core.messages import localize, t
from engine.core.shares import in_order, pro_rata
from engine.model.facts import _fast_check, check_facts
from engine.model.outcome import Outcome
from engine.model.policy import Policy
from engine.model.pools import CLAIM_DATE, Pool, pool_of
from engine.rounds.columns import CODE, Column, RowReader, path_column
from engine.rounds.read import (
    RECORD_LIMIT,
    Chunk,
    RowRefused,
    Source,
    Unreadable,
    _batches,
    json_row,
    parse_records,
    problem_text,
    skipped,
)
from engine.rounds.results import (
    ClauseSummary,
    Output,
    Part,
    Record,
    RowError,
    Summary,
    amount_text,
)
from engine.runtime.evaluate import evaluate
from engine.runtime.interpret import FailedConditions
from engine.runtime.trace import ConditionsFailed
from engine.syntax.loader import SourceMap

CHUNK = 256  # applicants sent to a worker at a time
_ZERO = Decimal(0)
_ELIGIBLE, _UNDETERMINED = Outcome.ELIGIBLE, Outcome.UNDETERMINED
_OUTCOME_TEXT = {o: o.value for o in Outcome}  # without the enum's .value property, each time


@dataclass(frozen=True)
class Settings:
    lang: str
    form: str  # csv | jsonl | xlsx: what the results are written as
    sheets: str | None = None  # folder for each applicant's calculation sheet
    ledger: str | None = None  # earlier grants from this ledger (--ledger), not the rows' own
    record: bool = False  # keep each applicant's decision to record the round (--record)

    @property
    def words(self) -> bool:
        """Reasons in words as well as codes (the officers' workbook's 说明), or as codes alone (CSV, JSON Lines:
        what programs read, and what a round run in SQL writes the same, engine.rounds.sql)."""
        return self.form == "xlsx"


class Worker:
    """What a worker process keeps: the compiled policy and how rows are read. Made once per process."""

    def __init__(self, policy: Policy, source_kind: str, layout: Sequence[Column | None], settings: Settings,
                 kinds_by_label: Mapping[str, str], base: str):
        self.policy, self.kind, self.layout, self.settings = policy, source_kind, list(layout), settings
        self.reader = RowReader(policy, kinds_by_label)
        if source_kind == "cells":
            self.by_name = {c.name: c for c in layout if c is not None}
        else:  # facts files and JSON Lines have no header: problems are placed by the template's headers
            from engine.rounds.template import sheet_columns
            self.by_name = {c.name: c for c in sheet_columns(policy, settings.lang, None)}
        self.ids = [c.id for c in policy.clauses if c.measure is None]
        self.base = base
        self.pooled = {c: p for p in policy.pools for c in p.clauses}
        from engine.present.words import PolicyWords
        self.w = PolicyWords(policy, settings.lang)
        self._reasons: dict[object, str] = {}
        self._conditions: dict[object, str] = {}  # a condition not met, by what its words depend on
        self._not_met: Any = None  # engine.present.reasons.NotMet, made when first needed
        self._picks: list[int] | None = None  # where each of self.ids is in a result's clauses
        self._results = 0  # how many clauses those results had
        self._decoded = False  # the chunk's cells were decoded from bytes here (no surrogate can be in them)
        # How a Part's results are formatted (no pools): CSV or JSON Lines text, or the workbook's rows.
        from engine.rounds.write import formatter
        self.format = None if policy.pools else formatter(policy, settings.form, settings.lang, settings.sheets)
        self._ledger: Any = None
        self._ceiling_note = t("ceiling.note", settings.lang) if settings.words else ""

    # -- one chunk --------------------------------------------------------------------------------
    def items(self, chunk: Chunk) -> list[tuple[int, object]] | None:
        """The chunk's items; a CSV chunk's raw records parsed here (None: not cut where csv.reader ends them)."""
        if chunk.items is not None:
            return chunk.items
        assert chunk.records is not None
        rows = parse_records(chunk.records, chunk.encoding, chunk.path, chunk.offset)
        if rows is None:
            return None
        return [(number, cells) for number, cells in enumerate(rows, chunk.first)
                if isinstance(cells, Unreadable) or not skipped(cells)]

    def part(self, chunk: Chunk) -> Part:
        # A CSV chunk's cells were decoded here, strictly: they hold no lone surrogate, and are not looked at.
        self._decoded = chunk.records is not None
        items = self.items(chunk)
        if items is None:
            return Part(reread=True)
        records = [self.handle(item) for item in items]
        if self.format is None:  # pools: the main process needs every Record
            return Part(records=records)
        ids = self.ids
        summary = Summary(ids, {cid: ClauseSummary() for cid in ids})
        part = Part(summary=summary)
        done = []
        for record in records:
            summary.add(record, claimed=True)  # no pools: what is claimed is awarded
            if record.errors:
                part.records.append(record)
            else:
                part.evaluated.append((record.row, record.code,
                                       record.where if record.where != str(record.row) else None))
                if self.settings.record:
                    part.decisions.append(record.decision)
                done.append(record)
        self.format.part(done, part)
        return part

    # -- one item ---------------------------------------------------------------------------------
    def handle(self, item: tuple[int, object]) -> Record:
        number, payload = item
        lang = self.settings.lang
        if isinstance(payload, Unreadable):
            return self.unreadable(number, payload)
        if self.kind == "cells":
            assert isinstance(payload, list)
            record = Record(number, str(number))
            data: dict[str, Any] | None
            at = None if self._decoded else _surrogate_cell(payload)
            if at is not None:
                column = self.layout[at] if at < len(self.layout) else None
                record.errors.append(RowError(number, str(number), column.header if column else str(at + 1),
                                              t("batch.surrogate", lang), t("batch.surrogate.hint", lang)))
                return record
            code, data, problems = self.reader.read(payload, self.layout)
            record.errors = [RowError(number, str(number), p.column, str(localize(p.message, lang)),
                                      str(localize(p.suggestion, lang) or "")) for p in problems]
            name = f"row {number}"
        elif self.kind == "jsonl":
            assert isinstance(payload, str)
            record = Record(number, str(number))
            code, data, name = self.jsonl(payload, record)
        else:
            assert isinstance(payload, str)
            record = Record(number, os.path.relpath(payload, self.base))
            code, data, name = self.facts_file(payload, record)
        record.code = code
        if record.errors or data is None:
            return record
        try:
            # The policy's compiled facts checker first, directly: plainly valid facts (nearly every row) are
            # read without check_facts's copy of the row; anything else takes check_facts's full path, which
            # words each problem. The same Applicant either way (engine.model.facts).
            applicant = _fast_check(self.policy, data, SourceMap(name)) or check_facts(self.policy, data, name)
            if self.settings.ledger is not None:
                applicant = self.earlier(applicant, record.code)
            result = evaluate(self.policy, applicant, trace=False)
        except PolicyError as error:
            for p in error.problems:
                text, hint = problem_text(p, lang)
                record.errors.append(RowError(number, record.where, path_column(p.path, self.by_name), text, hint))
            return record
        record.name, record.kinds = applicant.name, applicant.recipients
        self.outcomes(record, result, applicant)
        if self.settings.record and record.code is not None:
            from engine.ledger import decision_from_result

            record.decision = decision_from_result(result, record.code)
        if self.settings.sheets and record.code is not None:
            if self.policy.pools:
                record.data = data  # written once the pools are shared
            else:
                record.sheet = self.sheet(data, record.code, {}, None)
        return record

    def unreadable(self, number: int, what: Unreadable) -> Record:
        lang = self.settings.lang
        record = Record(number, str(number))
        path = os.path.relpath(what.path, self.base) if what.path else ""
        if what.reason == "long":
            text = t("batch.read.too_long", lang, path=path, row=number, offset=what.offset, limit=RECORD_LIMIT)
            hint = t("batch.read.too_long.hint", lang)
        else:
            text = t("batch.read.bad_bytes", lang, path=path, row=number, offset=what.offset,
                     encoding=what.encoding)
            hint = t("batch.read.encoding.hint", lang)
        record.errors.append(RowError(number, str(number), "", text, hint))
        return record

    def surrogate(self, data: object, record: Record) -> bool:
        """A lone surrogate (a JSON "\\ud800" or an XLSX "_xD800_" escape) in any string of `data` is the row's
        error: it is no character, cannot be written as UTF-8, and would end the round at its first write."""
        where = _surrogate_in(data, ())
        if where is None:
            return False
        lang = self.settings.lang
        column = ".".join(str(p) for p in where)
        record.errors.append(RowError(record.row, record.where, column, t("batch.surrogate", lang),
                                      t("batch.surrogate.hint", lang)))
        return True

    def earlier(self, applicant: Any, code: str | None) -> Any:
        """The applicant with its earlier grants from the ledger (--ledger), opened once per worker; a FactsError
        (the row's problem) when the row's own granted columns disagree with the ledger."""
        from engine.ledger.use import earlier_for

        if self._ledger is None:
            self._ledger = worker_ledger(self.settings.ledger)
        import datetime as dt

        return earlier_for(self._ledger, self.policy, applicant, code, applicant.date or dt.date.today())

    def jsonl(self, line: str, record: Record) -> tuple[str | None, dict[str, Any] | None, str]:
        from engine.rounds.columns import _Bad, code_cell

        lang = self.settings.lang
        try:
            data = json_row(line, record.row)
        except json.JSONDecodeError as error:
            record.errors.append(RowError(record.row, record.where, "", t("batch.jsonl.bad", lang, reason=error.msg,
                                                                            column=error.colno)))
            return None, None, ""
        except RowRefused as refused:  # as a facts file with the same text would be
            text, hint = str(localize(refused.message, lang)), str(localize(refused.suggestion, lang) or "")
            record.errors.append(RowError(record.row, record.where, refused.column, text, hint))
            return None, None, ""
        if not isinstance(data, dict):
            record.errors.append(RowError(record.row, record.where, "", t("batch.jsonl.not_object", lang)))
            return None, None, ""
        if _MAY_ESCAPE_SURROGATE.search(line) and self.surrogate(data, record):
            return None, None, ""
        return self._code(data, record, _Bad, code_cell) + (f"line {record.row}",)

    def facts_file(self, path: str, record: Record) -> tuple[str | None, dict[str, Any] | None, str]:
        from engine.rounds.columns import _Bad, code_cell
        from engine.workspace import load_document

        try:
            loaded = load_document(path)
        except PolicyError as error:
            for p in error.problems:
                text, hint = problem_text(p, self.settings.lang)
                record.errors.append(RowError(record.row, p.location(), "", text, hint))
            return None, None, path
        if not isinstance(loaded.data, dict):
            record.errors.append(RowError(record.row, record.where, "", t("batch.jsonl.not_object",
                                                                          self.settings.lang)))
            return None, None, path
        if self.surrogate(loaded.data, record):
            return None, None, path
        return self._code(loaded.data, record, _Bad, code_cell) + (path,)

    def _code(self, data: dict[str, Any], record: Record, bad: Any, code_cell: Callable[..., str]
              ) -> tuple[str | None, dict[str, Any] | None]:
        raw = data.pop(CODE, None)
        if raw is None:
            return None, data
        column = Column(CODE, t("template.col.credit_code", self.settings.lang), "code")
        try:
            return code_cell(raw, column), data
        except bad as error:
            lang = self.settings.lang
            record.errors.append(RowError(record.row, record.where, CODE, str(localize(error.message, lang)),
                                          str(localize(error.suggestion, lang) or "")))
            return None, None

    # -- results ------------------------------------------------------------------------------------
    def outcomes(self, record: Record, result: Any, applicant: Any) -> None:
        words = self.settings.words
        clauses = result.clauses
        picks = self._picks
        if picks is None or len(clauses) != self._results:
            picks = self.picks(clauses)
        total, complete = _ZERO, True
        rows: list[list[str]] = []
        failed = None  # the conditions not met, explained: set up for this applicant when one is worded
        for cid, i in zip(self.ids, picks, strict=True):
            r = clauses[i]
            if r.clause.id != cid:  # results in another order than the first one's: found by id
                self.picks(clauses)
                return self.outcomes(record, result, applicant)
            outcome = _OUTCOME_TEXT[r.outcome]
            amount = r.amount if r.outcome is _ELIGIBLE else None
            reason = r.reason or ""
            # Another kind's clause needs no words: the kind of applicant is in its own column.
            if not words or r.outcome is _ELIGIBLE or reason == "recipient":
                text = ""
            elif r.why.__class__ is ConditionsFailed:
                # which condition, with the values read
                if failed is None:
                    failed = FailedConditions(result)
                text = self.condition_words(r, failed)
            else:
                text = self.reason_words(r)
            if r.outcome is _UNDETERMINED:
                reason = "missing:" + ";".join(r.missing_keys) if r.missing else "missing"
            pool = self.pooled.get(cid) if self.pooled else None
            if pool is not None and amount is not None and amount > 0 and pool.share == "in_order":
                key = self.order_key(pool, applicant)
                if key is None:
                    outcome, amount, reason = "undetermined", None, f"missing:{pool.order_by}"
                    text = t("pool.order_missing", self.settings.lang, pool=pool.title,
                             order=order_words(pool, self.policy, self.settings.lang))
                else:
                    record.order[pool.id] = key
            if amount is not None and r.clause.up_to:  # a ceiling: the approved amount is the officer's
                reason, text = "up_to", self._ceiling_note
            if amount is None:
                rows.append([outcome, "", reason, text])
            else:
                total += amount
                rows.append([outcome, amount_text(amount), reason, text])
            if outcome == "undetermined":
                complete = False
        record.clauses = rows
        record.total = amount_text(self.policy.money.round(total))
        record.complete = complete

    def picks(self, clauses: Sequence[Any]) -> list[int]:
        """Where each of self.ids is in a result's clauses (every result has them in the same order)."""
        where = {r.clause.id: i for i, r in enumerate(clauses)}
        self._picks, self._results = [where[cid] for cid in self.ids], len(clauses)
        return self._picks

    def order_key(self, pool: Pool, applicant: Any) -> Any:
        name = pool.order_by
        if name == CLAIM_DATE and name not in self.policy.facts:
            return applicant.date
        return applicant.values.get(name)

    def condition_words(self, r: Any, failed: FailedConditions) -> str:
        """Which condition an ineligible clause did not meet, with the values read (条件未满足 alone when the
        result does not say which); the same failure with the same values is worded once."""
        try:
            key = failed.key(r)
            found = self._conditions.get(key) if key is not None else None
        except TypeError:  # a value that cannot be a key (a list's items): worded each time
            key = found = None
        if found is not None:
            return found
        at = r.why.at
        explained = r.conditions[at] if at is not None and at < len(r.conditions) else failed.explain(r)
        if self._not_met is None:
            from engine.present.reasons import NotMet

            self._not_met = NotMet(self.w)
        text = self._not_met(explained) if explained is not None else self.reason_words(r)
        if key is not None and len(self._conditions) < 4096:
            self._conditions[key] = text
        return text

    def reason_words(self, r: Any) -> str:
        """A clause's short reason in words; the same reason for many applicants is worded once."""
        from engine.present.sheet import reason_text

        if r.outcome is Outcome.UNDETERMINED and r.missing:
            key: object = ("missing", r.missing)
            found = self._reasons.get(key)
            if found is None:
                found = t("batch.reason.missing", self.settings.lang,
                          items="；".join(self.w.missing(m) for m in r.missing))
                self._reasons[key] = found
            return found
        try:
            key = (r.why, r.reference, r.outcome)
            found = self._reasons.get(key)
        except TypeError:  # a reason that cannot be a key: worded each time
            return reason_text(self.w, r)
        if found is None:
            found = reason_text(self.w, r)
            if len(self._reasons) < 4096:
                self._reasons[key] = found
        return found

    # -- each applicant's calculation sheet --------------------------------------------------------
    def sheet(self, data: dict[str, Any], code: str, notes: Mapping[str, str], total: str | None) -> str:
        from engine.rounds.sheets import render_sheet

        assert self.settings.sheets is not None
        applicant = check_facts(self.policy, data, code)
        if self.settings.ledger is not None:  # the same earlier grants as its results
            applicant = self.earlier(applicant, code)
        result = evaluate(self.policy, applicant)
        name = f"{code}.html"
        html = render_sheet(result, self.settings.lang, code, notes, total)
        write_whole(os.path.join(self.settings.sheets, name), html)
        return name


_MAY_ESCAPE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")  # a JSON line without it holds no surrogate


def _has_surrogate(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _surrogate_cell(cells: Sequence[object]) -> int | None:
    """The position of the first cell holding a lone surrogate, if any."""
    for i, cell in enumerate(cells):
        if type(cell) is str and _has_surrogate(cell):
            return i
    return None


def _surrogate_in(data: object, path: tuple[object, ...]) -> tuple[object, ...] | None:
    """Where in `data` (keys and list positions) a string holds a lone surrogate, if anywhere."""
    if isinstance(data, str):
        return path if _has_surrogate(data) else None
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and _has_surrogate(key):
                return (*path, "?")
            found = _surrogate_in(value, (*path, key))
            if found is not None:
                return found
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found = _surrogate_in(value, (*path, i))
            if found is not None:
                return found
    return None


def order_words(pool: Pool, policy: Policy, lang: str) -> str:
    name = pool.order_by or ""
    if name == CLAIM_DATE and name not in policy.facts:
        return t("pool.claim_date", lang)
    fact = policy.facts.get(name)
    return fact.label if fact is not None else name


def worker_ledger(location: str | None) -> Any:
    """The ledger a worker reads earlier grants from: a SQLite file straight through sqlite3 (no SQLAlchemy to
    import in each worker; the main process opened and checked it before the round began), else opened."""
    assert location is not None
    if "://" not in location:
        import os

        from engine.ledger.lookup import SqliteGrants

        return SqliteGrants(os.path.abspath(location.strip()), location)
    from engine.ledger import open_ledger

    return open_ledger(location)


def settled(decision: Any, clause_ids: Sequence[str], rows: Sequence[Sequence[str]]) -> Any:
    """A recorded decision with what its pools paid (`rows`: the Record's clauses, shares written in) beside
    its claims: `paid` per clause, and grants of the amounts paid (none where a pool paid nothing)."""
    from dataclasses import replace

    written = {cid: (row[0], Decimal(row[1]) if row[0] == "eligible" and row[1] else None)
               for cid, row in zip(clause_ids, rows, strict=True)}
    paid = tuple(type(o)(o.clause, *written.get(o.clause, (o.outcome, o.amount))) for o in decision.outcomes)
    amounts = {o.clause: o.amount for o in paid}
    grants = tuple(replace(g, amount=amounts.get(g.clause) or Decimal(0)) for g in decision.grants)
    return replace(decision, paid=paid, grants=tuple(g for g in grants if g.amount))


# --- worker processes -----------------------------------------------------------------------------------

_WORKER: Worker | None = None


def _start(policy: Policy, source_kind: str, layout: Sequence[Column | None], settings: Settings,
           kinds_by_label: Mapping[str, str], base: str) -> None:
    """What a round's worker keeps (Engine's default `start`): the row engine's Worker for the round's policy."""
    global _WORKER
    _WORKER = Worker(policy, source_kind, layout, settings, kinds_by_label, base)


def _begin(start: Callable[..., None], init: tuple[Any, ...], parent: int) -> None:
    """In a worker process, first: follow the round's process (_follow), take SIGTERM's default back, then what
    `start` keeps. The command's own SIGTERM handler (cli.py: a SystemExit), inherited through the fork, would
    unwind a worker mid-read of the task queue, holding its lock, and a terminate would then wait for ever (a
    1,000,000-row what-if hung there): with the default, a terminate ends the worker at once."""
    import signal

    _follow(parent)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _keep(start, init)


def _keep(start: Callable[..., None], init: tuple[Any, ...]) -> None:
    start(*init)
    import gc

    gc.freeze()  # the policy and the engine's objects live as long as the worker: never scan them again


def _follow(parent: int) -> None:
    """In a worker process: end quietly with the round's process, however that ends. Killed (SIGKILL, an
    out-of-memory kill), it leaves its workers behind, which would print a BrokenPipeError traceback each at
    their next result; so on Linux the kernel kills a worker the moment its parent ends (PR_SET_PDEATHSIG),
    and elsewhere a thread looks every half second. Ctrl-C, which the terminal sends to every process of the
    command, is the main process's to handle (it stops the workers): a worker ignores it rather than print a
    KeyboardInterrupt traceback of its own."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if _parent_death_signal(signal.SIGKILL):
        if os.getppid() != parent:  # ended before the signal was asked for
            os._exit(0)
        return
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="follow-parent").start()


def _parent_death_signal(number: int) -> bool:
    """Ask the kernel for signal `number` when this process's parent ends (Linux's prctl); False elsewhere."""
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(1, number, 0, 0, 0) == 0)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return False


def _part(chunk: Chunk) -> Part:
    assert _WORKER is not None
    return _WORKER.part(chunk)


def _sheets(items: list[tuple[dict[str, Any], str, dict[str, str], str | None]]) -> list[str]:
    assert _WORKER is not None
    return [_WORKER.sheet(data, code, notes, total) for data, code, notes, total in items]


class Engine:
    """Runs chunks here (one job) or in a pool of processes, in order, with a bounded number in flight. Each
    process runs `start(*init)` once, first (a round's: the row engine's Worker for its policy; a what-if's, its
    two versions'); the pool is made before DuckDB starts its threads, by whoever uses both (a fork copies no
    thread, and a lock one held would stay held in the child)."""

    def __init__(self, jobs: int, init: tuple[Any, ...], start: Callable[..., None] = _start):
        self.jobs = jobs
        self.pool: Any = None
        if jobs > 1:
            import multiprocessing

            context = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
            self.pool = context.Pool(jobs, initializer=_begin, initargs=(start, init, os.getpid()))
        else:
            _keep(start, init)

    def map(self, function: Callable[[Any], Any], chunks: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        """(chunk, function(chunk)) for each chunk, in order."""
        if self.pool is None:
            for chunk in chunks:
                yield chunk, function(chunk)
            return
        window: deque[tuple[Any, Any]] = deque()
        limit = self.jobs * 3
        for chunk in chunks:
            window.append((chunk, self.pool.apply_async(function, (chunk,))))
            if len(window) >= limit:
                done, result = window.popleft()
                yield done, result.get()
        while window:
            done, result = window.popleft()
            yield done, result.get()

    def close(self, abort: bool = False) -> None:
        """Let the workers end, their queue closed, and wait for them; `abort`: stop them now (the round is given
        up; each ends at the terminate, SIGTERM being its default again, _begin)."""
        if self.pool is not None:
            if abort:
                self.pool.terminate()
            else:
                self.pool.close()
            self.pool.join()


# --- the round ------------------------------------------------------------------------------------------

@dataclass
class Round:
    policy: Policy
    source: Source
    settings: Settings
    kinds_by_label: Mapping[str, str]
    jobs: int = 1
    progress: Callable[[int], None] | None = None
    decisions: list[Any] = field(default_factory=list)  # with Settings.record: each applicant's, pools shared

    @property
    def clause_ids(self) -> list[str]:
        return [c.id for c in self.policy.clauses if c.measure is None]

    def run(self, output: Output) -> Summary:
        ids = self.clause_ids
        summary = Summary(ids, {cid: ClauseSummary() for cid in ids})
        base = self.source.path if self.source.kind == "dir" else os.path.dirname(self.source.path)
        engine = Engine(self.jobs, (self.policy, self.source.kind, self.source.layout, self.settings,
                                    self.kinds_by_label, base))
        try:
            try:
                if self.policy.pools:
                    self._pooled(engine, output, summary)
                else:
                    seen: dict[str, int] = {}
                    for part in self._parts(engine):
                        self._write(part, output, summary, seen)
            except BaseException:
                engine.close(abort=True)
                raise
            engine.close()
            output.finish(summary)
        except BaseException:
            output.abort()  # whatever stopped the round, no output is left half written
            raise
        return summary

    def _parts(self, engine: Engine) -> Iterator[Part]:
        """Each chunk's Part, in order; a chunk of CSV records not cut where csv.reader ends them is read again."""
        chunks: Iterator[Chunk] | None = self.source.chunks(CHUNK)
        while chunks is not None:
            parts, chunks = engine.map(_part, chunks), None
            for chunk, part in parts:
                if part.reread:  # the chunks in flight are forgotten, and the file read again from this one
                    chunks = self.source.reread(chunk, CHUNK)
                    break
                yield part
                if self.progress is not None:
                    self.progress(len(chunk))

    def _write(self, part: Part, output: Output, summary: Summary, seen: dict[str, int]) -> None:
        """Write a Part made without pools; a recipient's second row is refused, naming the first."""
        assert part.summary is not None
        summary.merge(part.summary)
        repeats: list[Record] = []
        skip: set[int] = set()
        for i, (row, code, where) in enumerate(part.evaluated):
            if code is None:
                continue
            first = seen.get(code)
            if first is None:
                seen[code] = row
                continue
            summary.take_back(output.tally(part, i))
            repeats.append(self._repeat(Record(row, where or str(row), code), first))
            skip.add(i)
        output.add_part(part, skip)
        if part.decisions:  # with --record: those of the applicants written, not of a recipient's second row
            self.decisions.extend(d for i, d in enumerate(part.decisions) if i not in skip and d is not None)
        for record in heapq.merge(part.records, repeats, key=lambda r: r.row):  # the problems, in row order
            output.add(record)

    def _repeat(self, record: Record, first: int) -> Record:
        lang = self.settings.lang
        record.errors.append(RowError(record.row, record.where, t("template.col.credit_code", lang),
                                      t("batch.duplicate", lang, code=record.code, first=first),
                                      t("batch.duplicate.hint", lang)))
        return record

    def _records(self, engine: Engine, summary: Summary) -> Iterator[Record]:
        """Every applicant's Record, in the order of the rows; a recipient's second row is refused, naming the first."""
        seen: dict[str, int] = {}
        for part in self._parts(engine):
            for record in part.records:
                if record.code is not None and not record.errors:
                    first = seen.get(record.code)
                    if first is not None:
                        self._repeat(record, first)
                        record.clauses, record.sheet = [], None
                    else:
                        seen[record.code] = record.row
                yield record

    @staticmethod
    def _claimed(record: Record, summary: Summary) -> None:
        if record.errors:
            return
        for cid, row in zip(summary.clause_ids, record.clauses, strict=True):
            if row[0] == "eligible" and row[1]:
                summary.clauses[cid].claimed += Decimal(row[1])

    def _pooled(self, engine: Engine, output: Output, summary: Summary) -> None:
        """Two passes: records spooled to disk while the pools' claims are gathered; shares; then written."""
        policy, ids = self.policy, self.clause_ids
        index = {cid: i for i, cid in enumerate(ids)}
        claims: dict[str, list[tuple[int, int, Decimal, Any]]] = {p.id: [] for p in policy.pools}
        with tempfile.TemporaryFile() as spool:
            count = 0
            for record in self._records(engine, summary):
                pickle.dump(record, spool, protocol=pickle.HIGHEST_PROTOCOL)
                if not record.errors:
                    for pool in policy.pools:
                        for cid in pool.clauses:
                            row = record.clauses[index[cid]]
                            if row[0] == "eligible" and row[1] and Decimal(row[1]) > 0:
                                claims[pool.id].append((count, index[cid], Decimal(row[1]),
                                                        record.order.get(pool.id)))
                count += 1
            awards: dict[tuple[int, int], tuple[Decimal, str]] = {}
            for pool in policy.pools:
                awards.update(self._share(pool, claims[pool.id], summary))
            del claims
            spool.seek(0)
            for records in _batches(self._replay(spool, count, awards, summary), CHUNK):
                if self.settings.sheets:
                    self._sheets(engine, records)
                for record in records:
                    summary.add(record)
                    output.add(record)
                    if record.decision is not None and not record.errors:
                        self.decisions.append(record.decision)

    def _replay(self, spool: Any, count: int, awards: Mapping[tuple[int, int], tuple[Decimal, str]],
                summary: Summary) -> Iterator[Record]:
        money = self.policy.money
        for seq in range(count):
            record: Record = pickle.load(spool)
            if not record.errors:
                self._claimed(record, summary)
                changed = False
                for i, row in enumerate(record.clauses):
                    award = awards.get((seq, i))
                    if award is not None:
                        row[1], row[3] = f"{award[0]:f}", award[1]
                        changed = True
                if changed:
                    total = sum((Decimal(r[1]) for r in record.clauses if r[0] == "eligible" and r[1]), _ZERO)
                    record.total = f"{money.round(total):f}"
                if record.decision is not None:  # every decision of a pooled round keeps what was paid
                    record.decision = settled(record.decision, self.clause_ids, record.clauses)
            yield record

    def _sheets(self, engine: Engine, records: list[Record]) -> None:
        ids = self.clause_ids
        wanted = [r for r in records if r.data is not None and r.code is not None and not r.errors]
        jobs = []
        for r in wanted:
            notes = {cid: row[3] for cid, row in zip(ids, r.clauses, strict=True)
                     if row[3] and pool_of(self.policy.pools, cid)}
            jobs.append((r.data, r.code, notes, r.total if notes else None))
        for _jobs, names in engine.map(_sheets, [jobs]):
            for record, name in zip(wanted, names, strict=True):
                record.sheet, record.data = name, None

    def _share(self, pool: Pool, claims: list[tuple[int, int, Decimal, Any]], summary: Summary
               ) -> dict[tuple[int, int], tuple[Decimal, str]]:
        """Each claim's award from `pool` and the sentence that explains it."""
        lang, policy = self.settings.lang, self.policy
        amounts = [c[2] for c in claims]
        if pool.share == "in_order":
            shares = in_order(pool.total, amounts, [c[3] for c in claims])
        else:
            shares = pro_rata(pool.total, amounts, policy.money.round_to)
        summary.pools[pool.id] = shares
        out = {}
        ratio = (format_percent((pool.total / shares.claims).quantize(Decimal("0.0001")))
                 if shares.claims else "100%")
        for n, (seq, i, claimed, _key) in enumerate(claims):
            awarded = shares.awarded[n]
            figures = {"claimed": format_money(claimed), "total": format_money(pool.total),
                           "claims": format_money(shares.claims), "awarded": format_money(awarded)}
            if not shares.binds:
                text = t("pool.in_full", lang, **figures)
            elif pool.share == "in_order":
                text = t("pool.in_order", lang, order=order_words(pool, policy, lang), rank=shares.ranks[n],
                         **figures)
            else:
                text = t("pool.shared", lang, ratio=ratio, **figures)
            out[(seq, i)] = (awarded, text)
        return out
