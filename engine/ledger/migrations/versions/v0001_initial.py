"""The first ledger: policy sources by hash, rounds, decisions and grant entries, append-only and hash-chained.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_APPEND_ONLY = ("ledger_meta", "policy_sources", "policy_revisions", "rounds", "decisions", "entries")


def _chain() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),
            sa.Column("hash", sa.String(64), nullable=False, unique=True)]


def upgrade() -> None:
    op.create_table("ledger_meta",
                    sa.Column("key", sa.String(64), primary_key=True),
                    sa.Column("value", sa.Text, nullable=False))
    op.create_table("policy_sources",
                    sa.Column("sha256", sa.String(64), primary_key=True),
                    sa.Column("content", sa.LargeBinary, nullable=False))
    op.create_table("policy_revisions",
                    sa.Column("revision", sa.String(64), primary_key=True),
                    sa.Column("policy_id", sa.String(64), nullable=False),
                    sa.Column("files", sa.Text, nullable=False))
    op.create_table("rounds",
                    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                    sa.Column("name", sa.Text, nullable=False, unique=True),
                    sa.Column("policy_id", sa.String(64), nullable=False),
                    sa.Column("revision", sa.String(64), sa.ForeignKey("policy_revisions.revision"), nullable=False),
                    sa.Column("engine_version", sa.Text, nullable=False),
                    sa.Column("recorded_by", sa.Text, nullable=False),
                    sa.Column("recorded_at", sa.Text, nullable=False),
                    sa.Column("decisions", sa.Integer, nullable=False),
                    sa.Column("grants", sa.Integer, nullable=False),
                    sa.Column("total_fen", sa.BigInteger, nullable=False),
                    *_chain())
    op.create_table("decisions",
                    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                    sa.Column("round", sa.Text, sa.ForeignKey("rounds.name"), nullable=True),
                    sa.Column("recipient", sa.String(64), nullable=False),
                    sa.Column("policy_id", sa.String(64), nullable=False),
                    sa.Column("revision", sa.String(64), sa.ForeignKey("policy_revisions.revision"),
                              nullable=False),
                    sa.Column("engine_version", sa.Text, nullable=False),
                    sa.Column("recorded_by", sa.Text, nullable=False),
                    sa.Column("recorded_at", sa.Text, nullable=False),
                    sa.Column("year", sa.Integer, nullable=True),
                    sa.Column("facts", sa.Text, nullable=False),
                    sa.Column("facts_hash", sa.String(64), nullable=False),
                    sa.Column("outcomes", sa.Text, nullable=False),
                    sa.Column("total_fen", sa.BigInteger, nullable=False),
                    *_chain())
    op.create_index("decisions_by_round", "decisions", ["round"])
    op.create_index("decisions_by_recipient", "decisions", ["recipient"])
    op.create_table("entries",
                    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                    sa.Column("kind", sa.String(16), nullable=False),
                    sa.Column("round", sa.Text, sa.ForeignKey("rounds.name"), nullable=True),
                    sa.Column("decision", sa.Integer, sa.ForeignKey("decisions.id"), nullable=True),
                    sa.Column("recipient", sa.String(64), nullable=False),
                    sa.Column("policy_id", sa.String(64), nullable=False),
                    sa.Column("clause", sa.String(64), nullable=False),
                    sa.Column("counts", sa.String(16), nullable=False),
                    sa.Column("year", sa.Integer, nullable=True),
                    sa.Column("object", sa.Text, nullable=True),
                    sa.Column("object_key", sa.Text, nullable=True),
                    sa.Column("amount_fen", sa.BigInteger, nullable=False),
                    sa.Column("corrects", sa.Integer, sa.ForeignKey("entries.id"), nullable=True),
                    sa.Column("reason", sa.Text, nullable=True),
                    sa.Column("recorded_by", sa.Text, nullable=False),
                    sa.Column("recorded_at", sa.Text, nullable=False),
                    *_chain(),
                    sa.CheckConstraint("kind IN ('grant', 'correction', 'reversal')", name="entries_kind"),
                    sa.CheckConstraint("counts IN ('year', 'once', 'lifetime', 'claim')", name="entries_counts"))
    # The earlier-grants lookup of every evaluation: one recipient under one policy.
    op.create_index("entries_by_recipient", "entries", ["recipient", "policy_id", "id"])
    op.create_index("entries_by_round", "entries", ["round"])
    _append_only()
    op.bulk_insert(sa.table("ledger_meta", sa.column("key", sa.String), sa.column("value", sa.Text)),
                   [{"key": "format", "value": "policy-engine ledger"}])


def _append_only() -> None:
    """UPDATE and DELETE refused on every table: a correction is a new entry pointing at the one it corrects."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME; END $$")
        for table in _APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()")
        return
    for table in _APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} BEGIN "
                       f"SELECT RAISE(ABORT, 'the ledger is append-only: {action} on {table} refused'); END")
