"""What a round produces, as the workers, the pools' second pass and the writers share it: an applicant's Record
(or a bad row's RowErrors), a worker's Part, the round's Summary, and the Output every writer is. Below both
engine.rounds.run (which makes them) and engine.rounds.write (which writes them), so neither imports the other's
module to know them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.core.shares import Shares

_ZERO = Decimal(0)


def amount_text(amount: Decimal) -> str:
    """An amount as exact decimal text, never in exponent form: f"{amount:f}", which str() is when it has no E."""
    text = str(amount)
    return text if "E" not in text else f"{amount:f}"


@dataclass(slots=True)
class RowError:
    """One problem of one row: where (row number, or a file for a folder), which column, why, what to do."""

    row: int
    where: str
    column: str
    message: str
    suggestion: str = ""


@dataclass(slots=True)
class Record:
    """One applicant's results, as every writer needs them. `clauses` follows Round.clause_ids:
    (outcome, amount text, reason code, reason words); `errors` non-empty means the row was not evaluated."""

    row: int
    where: str
    code: str | None = None
    name: str | None = None
    kinds: tuple[str, ...] = ()
    clauses: list[list[str]] = field(default_factory=list)
    total: str = "0"
    complete: bool = True
    errors: list[RowError] = field(default_factory=list)
    order: dict[str, Any] = field(default_factory=dict)  # pool id -> this applicant's place key (in_order)
    sheet: str | None = None  # the file name of its calculation sheet, when --sheets
    data: dict[str, Any] | None = None  # its facts, kept only to write its sheet once pools are shared
    decision: Any = None  # with --record: what the ledger records of it (engine.ledger.Decision)


@dataclass
class Part:
    """What a worker makes of one chunk. With pools, `records`: every applicant's Record. Without, the results
    ready to write — `text` (CSV or JSON Lines, each applicant's line ending at `ends[i]`) or `rows` (the
    workbook's) — with `evaluated`, each one's (row, credit code, where if not the row number), and the
    chunk's `summary`; `records` then holds only the bad rows. `reread`: the chunk's CSV records were not cut
    where csv.reader ends them, and nothing was evaluated (Source.reread)."""

    records: list[Record] = field(default_factory=list)
    evaluated: list[tuple[int, str | None, str | None]] = field(default_factory=list)
    text: str = ""
    ends: list[int] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    summary: Summary | None = None
    reread: bool = False
    decisions: list[Any] = field(default_factory=list)  # with --record: evaluated[i]'s decision (or None)


@dataclass
class ClauseSummary:
    eligible: int = 0
    ineligible: int = 0
    undetermined: int = 0
    referred: int = 0
    claimed: Decimal = _ZERO
    awarded: Decimal = _ZERO


@dataclass
class Summary:
    """The round's figures: per clause, and for the round."""

    clause_ids: list[str]
    clauses: dict[str, ClauseSummary]
    applicants: int = 0
    bad_rows: int = 0
    complete: int = 0
    total: Decimal = _ZERO
    pools: dict[str, Shares] = field(default_factory=dict)

    def merge(self, other: Summary) -> None:
        self.applicants += other.applicants
        self.bad_rows += other.bad_rows
        self.complete += other.complete
        self.total += other.total
        for cid, s in other.clauses.items():
            mine = self.clauses[cid]
            mine.eligible += s.eligible
            mine.ineligible += s.ineligible
            mine.undetermined += s.undetermined
            mine.referred += s.referred
            mine.claimed += s.claimed
            mine.awarded += s.awarded

    def take_back(self, tally: Tally) -> None:
        """Take back what an applicant added (a row found to repeat a recipient after its worker counted it)."""
        self.applicants -= 1
        self.bad_rows += 1
        self.complete -= tally.complete
        self.total -= tally.total
        for cid, (outcome, amount) in zip(self.clause_ids, tally.clauses, strict=True):
            s = self.clauses[cid]
            if outcome == "eligible":
                s.eligible -= 1
                if amount is not None:
                    s.awarded -= amount
                    s.claimed -= amount
            elif outcome == "ineligible":
                s.ineligible -= 1
            elif outcome == "undetermined":
                s.undetermined -= 1
            elif outcome == "referred":
                s.referred -= 1

    def add(self, record: Record, claimed: bool = False) -> None:
        """Count an applicant (`claimed`: its amounts are its claims too, as in a round without pools)."""
        if record.errors:
            self.bad_rows += 1
            return
        self.applicants += 1
        self.complete += record.complete
        self.total += Decimal(record.total)
        clauses = self.clauses
        for cid, (outcome, amount, _reason, _text) in zip(self.clause_ids, record.clauses, strict=True):
            if outcome == "eligible":
                s = clauses[cid]
                s.eligible += 1
                if amount:
                    value = Decimal(amount)
                    s.awarded += value
                    if claimed:
                        s.claimed += value
            elif outcome == "ineligible":
                clauses[cid].ineligible += 1
            elif outcome == "undetermined":
                clauses[cid].undetermined += 1
            elif outcome == "referred":
                clauses[cid].referred += 1


@dataclass
class Tally:
    """What one applicant added to the summary, as read back from its written results (Output.tally)."""

    total: Decimal
    complete: bool
    clauses: list[tuple[str, Decimal | None]]  # each clause's outcome, and its amount if it has one


class Output:
    """What a writer does with a round: its records in order (or a worker's Part of them), then the summary."""

    def add(self, record: Record) -> None:
        """An applicant's results, or a bad row's problems."""
        raise NotImplementedError

    def add_part(self, part: Part, skip: set[int]) -> None:
        """The results a worker wrote in `part`, but for those of part.evaluated[i] for i in `skip`."""
        raise NotImplementedError

    def tally(self, part: Part, index: int) -> Tally:
        """What part.evaluated[index] added to the summary, read from its results in `part`."""
        raise NotImplementedError

    def finish(self, summary: Summary) -> None:
        """Write the summary and put every file in place (until then none of them is)."""
        raise NotImplementedError

    def abort(self) -> None:
        """The round stopped before its end (a file found unreadable late, an error, Ctrl-C): discard what was
        written, so that the earlier files, or none, are left."""
