"""Earlier grants read straight from a SQLite ledger with the standard library's sqlite3: what each worker of a
round does per applicant. Imports no SQLAlchemy (a worker process that only looks grants up would spend more on
importing it than on its lookups); the ledger was opened and checked by the main process first (open_ledger).
"""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal
from typing import Any, Iterable, Sequence

from engine.core.text import identity
from engine.ledger.records import LedgerGrant

# The lookup every evaluation with a ledger makes (the index entries_by_recipient): the statement SQLAlchemy
# compiles for engine.ledger.store._LOOKUP on SQLite; tests/test_ledger_store.py checks that they are the same.
SQLITE_LOOKUP = ("SELECT entries.id, entries.kind, entries.clause, entries.amount_fen, entries.year, entries.counts, "
                 "entries.object, entries.object_key, entries.round, entries.corrects \nFROM entries \n"
                 "WHERE entries.recipient = ? AND entries.policy_id = ? ORDER BY entries.id")


def yuan(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)


def fold(rows: Iterable[Sequence[Any]]) -> list[LedgerGrant]:
    """Entries (id, kind, clause, fen, year, counts, object, key, round, corrects), oldest first, as the grants
    they leave: corrections applied, reversed grants left out."""
    grants: dict[int, LedgerGrant] = {}
    for entry, kind, clause, cents, year, counts, obj, key, rnd, corrects in rows:
        if kind == "grant":
            grants[entry] = LedgerGrant(clause, yuan(cents), year, counts, obj, key, rnd, entry)
        elif corrects in grants:
            if kind == "reversal":
                del grants[corrects]
            else:
                g = grants[corrects]
                grants[corrects] = LedgerGrant(g.clause, yuan(cents), g.year, g.counts, g.object, g.object_key,
                                               g.round, g.entry)
    return list(grants.values())


class SqliteGrants:
    """A SQLite ledger's earlier grants, one connection per thread, nothing else (engine.ledger.Ledger's
    `earlier_grants`, without SQLAlchemy)."""

    def __init__(self, path: str, where: str):
        self.path, self.where = path, where
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def earlier_grants(self, credit_code: str, policy_id: str) -> list[LedgerGrant]:
        try:
            return fold(self.rows(identity(credit_code), policy_id))
        except sqlite3.DatabaseError as error:
            from engine.core.errors import PolicyError, Problem
            from engine.core.messages import msg

            raise PolicyError(Problem(msg("ledger.damaged", reason=str(error)), file=self.where,
                                      suggestion=msg("ledger.damaged.hint"))) from None

    def rows(self, recipient: str, policy_id: str) -> list[Any]:
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            raw = sqlite3.connect(self.path, timeout=120, isolation_level=None, check_same_thread=False)
            with self._lock:
                self._opened.append(raw)
            cursor = self._local.cursor = raw.cursor()
        cursor.execute(SQLITE_LOOKUP, (recipient, policy_id))
        return cursor.fetchall()

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
        self._local = threading.local()
