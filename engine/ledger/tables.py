"""The ledger's tables as the engine reads and writes them (SQLAlchemy Core), and which columns each entry's
hash covers. The schema itself is made by the migrations (engine/ledger/migrations); a test checks both agree.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, MetaData, String, Table, Text

# The schema revisions this engine knows, oldest first; the last is the one it writes. A ledger whose
# alembic_version is not here was made by a newer engine.
REVISIONS = ("0001", "0002")
HEAD = REVISIONS[-1]
FORMAT = "policy-engine ledger"  # ledger_meta's format: what tells a ledger from some other database

metadata = MetaData()

meta = Table(
    "ledger_meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

sources = Table(
    "policy_sources", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("content", LargeBinary, nullable=False),
)

revisions = Table(
    "policy_revisions", metadata,
    Column("revision", String(64), primary_key=True),
    Column("policy_id", String(64), nullable=False),
    Column("files", Text, nullable=False),  # canonical JSON [[name, sha256], …], the main file first
)

rounds = Table(
    "rounds", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False, unique=True),
    Column("policy_id", String(64), nullable=False),
    Column("revision", String(64), nullable=False),
    Column("engine_version", Text, nullable=False),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", Text, nullable=False),
    Column("decisions", Integer, nullable=False),
    Column("grants", Integer, nullable=False),
    Column("total_fen", BigInteger, nullable=False),
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("hash", String(64), nullable=False, unique=True),
)

decisions = Table(
    "decisions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("round", Text, nullable=True),  # None: an evaluation logged by the service
    Column("recipient", String(64), nullable=False),
    Column("policy_id", String(64), nullable=False),
    Column("revision", String(64), nullable=False),
    Column("engine_version", Text, nullable=False),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", Text, nullable=False),
    Column("year", Integer, nullable=True),
    Column("facts", Text, nullable=False),
    Column("facts_hash", String(64), nullable=False),
    Column("outcomes", Text, nullable=False),  # canonical JSON [[clause, outcome, amount | null], …]
    Column("total_fen", BigInteger, nullable=False),  # what was paid (the claims where no pool shared them)
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("hash", String(64), nullable=False, unique=True),
    # 0002: what the round's pools paid of each clause, canonical JSON [[clause, amount | null], …]; None: as
    # claimed (no pool, or a ledger recorded before 0002). Hashed only when set (HASHED_WHEN_SET).
    Column("paid", Text, nullable=True),
)

entries = Table(
    "entries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),  # grant | correction | reversal
    Column("round", Text, nullable=True),
    Column("decision", Integer, nullable=True),
    Column("recipient", String(64), nullable=False),
    Column("policy_id", String(64), nullable=False),
    Column("clause", String(64), nullable=False),
    Column("counts", String(16), nullable=False),  # year | once | lifetime | claim
    Column("year", Integer, nullable=True),
    Column("object", Text, nullable=True),
    Column("object_key", Text, nullable=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("corrects", Integer, nullable=True),
    Column("reason", Text, nullable=True),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("hash", String(64), nullable=False, unique=True),
)

CHAINED = (rounds, decisions, entries)
# What each chained row's hash covers: every column but the chain's own two.
# Columns added after 0001 are hashed after those, and only when set: a row written before they existed keeps
# the hash it was written with.
HASHED_WHEN_SET = {"decisions": ("paid",)}
HASHED = {table.name: tuple(c.name for c in table.columns if c.name not in ("id", "prev_hash", "hash", "facts")
                            and c.name not in HASHED_WHEN_SET.get(table.name, ()))
          for table in CHAINED}
