"""A round decided in SQL (engine.rounds.sql.SqlRound) written as the officers' workbook: the row engine's
workbook (engine.rounds.write.XlsxOutput), byte for byte, its 说明 (each clause's words, as
engine.rounds.run.Worker.outcomes words them) found without wording every row.

The SQL keeps a reason's code, not the values its sentence shows (年度跨境电商交易额 4,999,999.99元，未达到 …). What
a clause's words can depend on is known from its code, so each clause's words are found by a key: the code and
the cells (as the file holds them) the words can depend on (SheetWords.key). A row with a key not known yet is
evaluated by the row engine's own Worker, in its processes (--jobs), while the rows before it are written; its
words are kept for every later row with the same key. A key is never coarser than what the words read, so two
rows with one key have the same words:

- no words: an eligible clause (a ceiling's `up_to` note aside, the same for every row) and another kind's clause
  (`recipient`);
- a fund year the policy does not pay: the fund year's cell; the policy's period or filed late: the claim date's
  and the fund year's cells;
- outside the policy's areas: the clause and the area's cell;
- waiting for facts (`missing:<keys>`), referred to another document: the clause and the code, which names what
  is missing;
- a reason of the clause's own (LOCAL): the clause, the code, the kind's cell and the cells of what that reason
  reads — a condition not met: every fact its conditions read; its cap used: the cap's facts and what was
  granted under it; paid once: what was granted under it, and the object it is paid per; its own period: the
  claim date; its award form's stop: what the form says it reads (AwardForm.stop_reads) — each through derived
  values' formulas and the days a figure covers, and the claim date where a parameter read has more than one
  value over time.

Reasons that depend on other clauses' results (a group's choice, a required clause, a bare `missing`, a division
by zero) are not keyed: the SQL hands those rows to the row engine (handed_back_sql), which decides and words
them. Each row evaluated for its words is checked to be decided as the SQL decided it: a difference ends the SQL
round (SqlFallback), nothing written, and the round runs row by row.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any, Callable, Iterable, Iterator, Sequence

from engine.model.awards.per_unit import PeriodsUsed
from engine.model.awards.steps import EveryNotPositive, NoWholeStep
from engine.model.awards.tiers import BelowBands
from engine.model.compile import CLAIM_DATE
from engine.model.policy import Clause, Policy
from engine.rounds.columns import DATE, KIND, Column
from engine.rounds.results import Summary
from engine.rounds.sql_sources import SqlSource, handed_back
from engine.runtime.trace import (
    CapUsed,
    ConditionsFailed,
    FiledLate,
    FundYearNotPaid,
    OnceGranted,
    OtherRecipient,
    OutOfClausePeriod,
    OutOfPolicyPeriod,
    OutsideJurisdiction,
)

MISSING = "missing:"
UP_TO = "up_to"  # an eligible ceiling's code (engine.rounds.run.Worker.outcomes)
DAY = frozenset({OutOfPolicyPeriod.reason, FundYearNotPaid.reason, FiledLate.reason})
AREA = frozenset({OutsideJurisdiction.reason})
LOCAL = frozenset({ConditionsFailed.reason, OutOfClausePeriod.reason, CapUsed.reason, OnceGranted.reason,
                   PeriodsUsed.reason, BelowBands.reason, NoWholeStep.reason, EveryNotPositive.reason})
KEPT = 16384  # words kept, twice over (`found`, then `older`): a key of a figure is seldom met twice
HEAD = 7  # the columns a workbook's row is fetched with before its clauses' (write_workbook)
BLOCK = 512  # the workbook's rows read from the round's table at a time; the workers evaluate ahead of the writing
Key = tuple[object, ...]  # what a clause's words depend on (SheetWords.key)
Noted = list[list[str]] | None  # the row engine's outcome, amount, code and words of each clause; None: problems


def handed_back_sql(reason: str) -> str:
    """SQL: whether a clause's reason code (`reason`, an SQL expression) is one whose words are not keyed here."""
    known = sorted({"", OtherRecipient.reason, UP_TO} | DAY | AREA | LOCAL)
    listed = ", ".join("'" + code + "'" for code in known)
    return (f"NOT ({reason} IN ({listed}) OR ({reason} LIKE '{MISSING}%' "
            f"AND {reason} NOT LIKE '%cannot_compute%'))")


def _read_by(policy: Policy, names: frozenset[str] | set[str]) -> set[str]:
    """`names` and what they are read from: derived values through their formulas, and the days a figure covers."""
    found = set(names)
    derived = policy.derived
    stack = list(found)
    while stack:
        name = stack.pop()
        if name in derived:
            for read in derived[name].expr.names - found:
                found.add(read)
                stack.append(read)
    facts = policy.all_facts()
    found |= {day for name in list(found) if name in facts and facts[name].window is not None
              for day in facts[name].window.dates}  # type: ignore[union-attr]
    return found


def _local_reads(policy: Policy, clause: Clause) -> dict[str, set[str]]:
    """What each reason of the clause's own reads (LOCAL); a stop of its award form, what the form says."""
    conditions = frozenset().union(*(c.expr.names for c in clause.conditions))
    cap = clause.cap.names if clause.cap is not None else frozenset()
    stop = clause.award.stop_reads() if clause.award is not None else frozenset()
    per = frozenset({clause.per}) if clause.per is not None else frozenset()
    reads = {ConditionsFailed.reason: conditions, CapUsed.reason: cap, OnceGranted.reason: per,
             OutOfClausePeriod.reason: frozenset()}
    return {code: _read_by(policy, reads.get(code, stop)) for code in LOCAL}


class SheetWords:
    """Each clause's words for the rows of a round the SQL decided, by key (`keys`): a row with a key not known
    (`wanted`) is evaluated by the row engine, whose words are kept (`learn`) for every row with the same key
    (`notes`). `mismatch(rid, what)` is the exception that ends the round when the row engine decides a row
    otherwise than the SQL."""

    def __init__(self, policy: Policy, layout: Sequence[Column | None], ids: Sequence[str],
                 mismatch: Callable[[int, str], Exception]):
        self.ids, self.mismatch = list(ids), mismatch
        # a pooled clause's result is the pool's once shared: the row engine's evaluation of one row is before
        self.pooled = {k for k, cid in enumerate(ids) if any(cid in pool.clauses for pool in policy.pools)}
        at = {c.name: i for i, c in enumerate(layout) if c is not None}
        by_fact = {c.fact.name: i for i, c in enumerate(layout) if c is not None and c.fact is not None}
        self.date, self.area = at.get(DATE), at.get("area")
        self.year = by_fact.get(policy.fund_year) if policy.fund_year is not None else None
        grants = {c.clause: i for i, c in enumerate(layout) if c is not None and c.kind == "granted"}
        kind = {at[KIND]} if KIND in at else set()
        # a parameter with more than one value in force over time reads the day: the claim date's cell
        dated = {name for name, p in policy.parameters.items() if len(p.values) > 1} | {CLAIM_DATE}
        day = {self.date} if self.date is not None else set()
        # per clause, per reason of its own: the cells its words depend on
        self.local: list[dict[str, tuple[int, ...]]] = []
        for cid in self.ids:
            cells: dict[str, tuple[int, ...]] = {}
            for code, names in _local_reads(policy, policy.clause(cid)).items():
                read = {by_fact[n] for n in names if n in by_fact} | kind
                if names & dated or code == OutOfClausePeriod.reason:
                    read |= day
                if code in (CapUsed.reason, OnceGranted.reason) and cid in grants:  # what was granted under it
                    read.add(grants[cid])
                cells[code] = tuple(sorted(read))
            self.local.append(cells)
        self.found: dict[Key, str] = {}
        self.older: dict[Key, str] = {}  # what `found` held before it was last begun again
        self.asked: set[Key] = set()  # keys whose row is being evaluated

    def key(self, k: int, outcome: str, code: str, cells: Sequence[Any]) -> Key | None:
        """What clause k's words depend on; None when it has none (eligible, another kind's clause)."""
        if code == OtherRecipient.reason or outcome == "eligible" and code != UP_TO:
            return None
        if code in LOCAL:
            return (k, code, *(cells[i] for i in self.local[k][code]))
        if code == FundYearNotPaid.reason:  # the years the policy pays
            return (code, self._cell(cells, self.year))
        if code in DAY:
            return (code, self._cell(cells, self.date), self._cell(cells, self.year))
        if code in AREA:
            return (k, code, self._cell(cells, self.area))
        return (k, outcome, code)  # waiting for the keys it names, referred, up_to

    @staticmethod
    def _cell(cells: Sequence[Any], at: int | None) -> object:
        return cells[at] if at is not None else None

    def keys(self, cells: Sequence[Any], clauses: Sequence[tuple[str, Any, str]], notes: Sequence[str]
             ) -> list[Key | None]:
        """The key of each clause's words in a row decided by the SQL (`clauses`: its outcome, amount and code;
        `notes`: a pool's sentence, which is the clause's words where it is one: no key, for the same code may
        have other words without it — a claim an in_order pool cannot place waits for the fact it is ordered by,
        `missing:<order_by>`, as a clause reading that fact does)."""
        return [None if notes[k] else self.key(k, outcome, code, cells)
                for k, (outcome, _amount, code) in enumerate(clauses)]

    def wanted(self, keys: Sequence[Key | None]) -> bool:
        """Whether the row's words are to be found by evaluating it: a key neither known nor asked for already
        (its keys are then asked for)."""
        new = [key for key in keys if key is not None and key not in self.found and key not in self.older
               and key not in self.asked]
        self.asked.update(new)
        return bool(new)

    def learn(self, rid: int, keys: Sequence[Key | None], clauses: Sequence[tuple[str, Any, str]],
              noted: Noted) -> None:
        """The words of the row engine's evaluation of a row (`noted`: each clause's outcome, amount, code and
        words, as engine.rounds.results.Record holds them; None for a row with problems), kept by key, once it
        is checked to decide the row as the SQL did."""
        self.check(rid, clauses, noted)
        assert noted is not None
        found = self.found
        if len(found) > KEPT:  # the older half forgotten: what rows read ahead asked for is still in the newer
            self.older, self.found = found, {}
            found = self.found
        for key, mine in zip(keys, noted, strict=True):
            if key is not None:
                found[key] = mine[3]
                self.asked.discard(key)

    def notes(self, keys: Sequence[Key | None]) -> list[str] | None:
        """The words of each clause (empty where there are none); None when one is not known (forgotten)."""
        found, older = self.found, self.older
        words = []
        for key in keys:
            word = "" if key is None else found.get(key)
            if word is None:
                word = older.get(key)  # type: ignore[arg-type]
                if word is None:
                    return None
            words.append(word)
        return words

    def check(self, rid: int, clauses: Sequence[tuple[str, Any, str]], noted: Noted) -> None:
        """The row engine's outcomes, amounts and codes for the row are the SQL's."""
        if noted is None:
            raise self.mismatch(rid, "problems")
        for k, ((outcome, amount, code), mine) in enumerate(zip(clauses, noted, strict=True)):
            if k in self.pooled:
                continue
            if (outcome, code) != (mine[0], mine[2]) or (amount is None) != (not mine[1]) or (
                    amount is not None and amount != Decimal(mine[1])):
                raise self.mismatch(rid, self.ids[k])


def write_workbook(the_round: Any, con: Any, path: str, problems: Iterable[list[Any]], summary: Summary,
                   fallback: Callable[[str], Exception]) -> None:
    """The workbook of `the_round` (an engine.rounds.sql.SqlRound whose table is made) at `path`: each decided row
    read from the round's table in the rows' order, its words found by key (SheetWords; the rows handed back
    carry the row engine's own); then the `problems` ([row, where, column, message, suggestion]) and the
    summary. `fallback(why)` is raised when the row engine decides a row otherwise than the SQL."""
    from engine.rounds.run import Engine, Worker
    from engine.rounds.write import SheetRows, XlsxOutput

    policy, settings, source, ids = the_round.policy, the_round.settings, the_round.source, the_round.clause_ids
    first, n = source.header_row + 1, len(ids)
    # the items of the rows whose words are found, read in order: ahead for the workers, and here for a row whose
    # words were forgotten by the time it is written
    ahead, late = (source.again(), source.again()) if isinstance(source, SqlSource) else (source, source)

    def item(at: Any, rid: int, cells: list[Any]) -> tuple[int, object]:
        return handed_back(at, rid + first, ["" if c is None else c for c in cells])

    words = SheetWords(policy, source.layout, ids,
                       lambda rid, what: fallback(f"row {rid + first}: {what} decided otherwise by the row engine"))
    sheet = SheetRows(policy, lang := settings.lang, None)
    said, labels, yes, no = sheet.words, sheet.labels, sheet.yes, sheet.no
    kinds: dict[str, str] = {}
    columns = "".join(f"o{k}, a{k}, r{k}, n{k}, " for k in range(n))
    cursor = con.cursor()

    # a row as fetched: rowid, h, code, name, kinds, total, complete (HEAD columns), then o, a, r, n of each clause,
    # then its cells
    def decided(row: Sequence[Any]) -> list[tuple[str, Any, str]]:
        """A fetched row's clauses as the SQL decided them: outcome, amount, code."""
        return [tuple(row[HEAD + 4 * k:HEAD + 4 * k + 3]) for k in range(n)]

    def sql_notes(row: Sequence[Any]) -> list[str]:
        """A fetched row's notes: a pool's sentence, or (a row handed back) the row engine's words."""
        return list(row[HEAD + 3:HEAD + 4 * n:4])

    def blocks() -> Iterator[tuple[list[Any], list[list[Key | None] | None], list[int], list[tuple[int, object]]]]:
        """Each block of rows, each row's keys (None: handed back, its words the row engine's), the rows to
        evaluate for their words and their items."""
        for table, base in the_round.parts:
            cursor.execute(f"SELECT rowid + {base}, h, code, name, kinds, total, complete, {columns}cells "
                           f"FROM {table} WHERE st = 0")
            while batch := cursor.fetchmany(BLOCK):
                keys: list[list[Key | None] | None] = []
                asked, items = [], []
                for i, row in enumerate(batch):
                    found = None if row[1] else words.keys(row[-1], decided(row), sql_notes(row))
                    keys.append(found)
                    if found is not None and words.wanted(found):
                        asked.append(i)
                        items.append(item(ahead, row[0], row[-1]))
                yield batch, keys, asked, items

    out = XlsxOutput(path, policy, lang, None, source.path)
    init = (policy, source.kind, source.layout, settings, the_round.kinds, os.path.dirname(source.path))
    engine = Engine(the_round.jobs, init)
    here: Worker | None = None  # the row engine in this process, for a row whose words were forgotten
    try:
        for (batch, keys, asked, _items), noted in engine.map(_noted, blocks()):
            for i, row_noted in zip(asked, noted, strict=True):
                row_keys = keys[i]
                assert row_keys is not None
                words.learn(batch[i][0], row_keys, decided(batch[i]), row_noted)
            for row, found in zip(batch, keys, strict=True):
                rid, _handed, code, name, kind, total, complete = row[:HEAD]
                clauses, notes = decided(row), sql_notes(row)
                if found is not None:  # decided by the SQL: a pool's sentence, else the words found by key
                    known = words.notes(found)
                    if known is None:  # forgotten since it was asked for: evaluated here
                        here = here or Worker(*init)
                        record = here.handle(item(late, rid, row[-1]))
                        words.learn(rid, found, clauses, None if record.errors else record.clauses)
                        known = words.notes(found)
                        assert known is not None
                    notes = [note or word for note, word in zip(notes, known, strict=True)]
                label = kinds.get(kind)
                if label is None:
                    label = kinds[kind] = "、".join(labels.get(k, k) for k in kind.split(";"))
                written: list[Any] = [rid + first, code, name, label, total, yes if complete else no]
                for (outcome, amount, _code), note in zip(clauses, notes, strict=True):
                    written += (said[outcome], amount, note or None)
                out._result(written)
        cursor.close()
        for e in problems:
            out.problem(*e)
        out.finish(summary)
    except BaseException:
        engine.close(abort=True)
        out.abort()
        raise
    engine.close()


def _noted(task: tuple[Any, Any, Any, list[tuple[int, object]]]) -> list[Noted]:
    """In a worker (engine.rounds.run's, started with the round's policy): the row engine's outcome, amount, code
    and words of each clause of each item (None for a row with problems)."""
    from engine.rounds import run

    assert run._WORKER is not None
    worker = run._WORKER
    worker._decoded = False
    noted: list[Noted] = []
    for item in task[3]:
        record = worker.handle(item)
        noted.append(None if record.errors else record.clauses)
    return noted
