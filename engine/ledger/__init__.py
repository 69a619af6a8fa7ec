"""The bureau's record: a ledger of decisions and grants across rounds, in SQLite or PostgreSQL.

    from engine.ledger import open_ledger, decision_from_result, PolicyRecord

    with open_ledger("grants.db", create=True) as ledger:
        earlier = ledger.earlier_grants("91331100MA2A0000X1", policy.id)        # oldest first
        ledger.record_round("2024-1", policy=PolicyRecord.from_files(policy.id, files),
                            engine_version=version, decisions=[decision_from_result(r, code) for ...])

Append-only and hash-chained (`Ledger.verify`); money in whole fen; the schema made and upgraded by Alembic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.ledger.records import (
    ClauseOutcome,
    Decision,
    Entry,
    GrantRecord,
    LedgerGrant,
    PolicyRecord,
    RoundSummary,
    canonical_json,
    decision_from_result,
    facts_data,
    fund_year,
    revision_of,
)

if TYPE_CHECKING:
    from engine.ledger.store import Ledger, LedgerError, default_by, open_ledger


def __getattr__(name: str) -> Any:
    """The store's names, imported when first asked for: the store needs SQLAlchemy, and a round's worker that
    only looks earlier grants up (engine.ledger.lookup) or makes decisions (records) does without it."""
    if name in ("Ledger", "LedgerError", "default_by", "open_ledger"):
        from engine.ledger import store

        return getattr(store, name)
    raise AttributeError(f"module 'engine.ledger' has no attribute {name!r}")


__all__ = ["ClauseOutcome", "Decision", "Entry", "GrantRecord", "Ledger", "LedgerError", "LedgerGrant",
           "PolicyRecord", "RoundSummary", "canonical_json", "decision_from_result", "default_by", "facts_data",
           "fund_year", "open_ledger", "revision_of"]
