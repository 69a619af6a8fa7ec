"""The ledger store: opening (and refusing) a database, recording rounds and decisions, reading grants back."""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, Engine, make_url

from engine.core.errors import PolicyError, Problem
from engine.core.messages import Message, msg
from engine.core.text import identity
from engine.ledger import tables as T
from engine.ledger.lookup import SQLITE_LOOKUP, fold, yuan
from engine.ledger.records import (
    Decision,
    Entry,
    LedgerGrant,
    PolicyRecord,
    RoundSummary,
    canonical_json,
    outcomes_json,
)

_SQLITE_MAGIC = b"SQLite format 3\x00"
_PG_LOCK = 0x6C656467  # the advisory lock every writer of one PostgreSQL ledger takes ("ledg")
_GENESIS = "0" * 64  # the previous hash of each chain's first row
MIGRATIONS = Path(__file__).with_name("migrations")  # Alembic's scripts, shipped inside the package


class LedgerError(PolicyError):
    """A ledger that cannot be used as asked: not a ledger, damaged, of another schema, or a refused write."""


def _error(where: str, message: Message, suggestion: Message | None = None) -> LedgerError:
    return LedgerError(Problem(message, file=where, suggestion=suggestion))


def fen(amount: Decimal, where: str = "<ledger>") -> int:
    """An amount in whole fen, exactly; an amount with a fraction of a fen is refused (never rounded here)."""
    scaled = amount.scaleb(2)
    if scaled != scaled.to_integral_value():
        raise _error(where, msg("ledger.not_fen", amount=amount))
    return int(scaled)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def default_by() -> str:
    """Who records, when not said: the operating system's user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# --- opening ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Target:
    url: URL
    shown: str  # for messages: the path, or the URL without its password
    path: str | None  # a SQLite file


def _target(url_or_path: str) -> _Target:
    text = url_or_path.strip()
    if "://" not in text:
        path = os.path.abspath(text)
        return _Target(URL.create("sqlite", database=path), text, path)
    try:
        url = make_url(text)
    except exc.ArgumentError:
        raise _error(text, msg("ledger.bad_url"), msg("ledger.bad_url.hint")) from None
    shown = url.render_as_string(hide_password=True)  # as the user wrote it, without the password
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        url = url.set(drivername="postgresql+psycopg")
    elif url.drivername == "sqlite" and url.database:
        return _Target(url, url.database, os.path.abspath(url.database))
    else:
        raise _error(url.render_as_string(hide_password=True), msg("ledger.bad_url"), msg("ledger.bad_url.hint"))
    return _Target(url, shown, None)


def _check_sqlite_file(target: _Target) -> None:
    """A file that is not SQLite, or a SQLite file shorter than its own header says (truncated): refused
    before SQLite reads it, since SQLite reads a truncated file until it reaches the missing pages."""
    assert target.path is not None
    for _attempt in range(20):
        with open(target.path, "rb") as handle:
            header = handle.read(100)
        size = os.path.getsize(target.path)
        if size == 0:
            return  # an empty file is an empty database: a ledger with `init`, else "not a ledger"
        if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
            raise _error(target.shown, msg("ledger.not_a_ledger"), msg("ledger.not_a_ledger.hint", path=target.shown))
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(header[28:32], "big")
        counter, valid_for = header[24:28], header[92:96]
        short = counter == valid_for and pages > 0 and size < pages * page_size
        if page_size >= 512 and not short and not size % page_size:
            return
        # Another process may be writing pages out this moment (SQLite writes page 1, the header, first): a
        # file that is truly cut short is still short a moment later.
        time.sleep(0.05)
    raise _error(target.shown, msg("ledger.damaged", reason=msg("ledger.damaged.truncated",
                                                                 size=size, expected=pages * page_size)),
                 msg("ledger.damaged.hint"))


def _make_engine(target: _Target) -> Engine:
    if target.path is not None:
        engine = sa.create_engine(target.url, connect_args={"timeout": 120}, poolclass=sa.pool.QueuePool)

        @event.listens_for(engine, "connect")
        def _connect(dbapi: Any, _record: Any) -> None:
            dbapi.isolation_level = None  # transactions are begun below, so that a writer's can be IMMEDIATE
            cursor = dbapi.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA busy_timeout = 120000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # A writer takes SQLite's write lock when it begins, so that the chain's head it reads is still the
            # head when it commits: writers queue (busy_timeout) instead of failing at commit.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("ledger_write") else "BEGIN")

        return engine
    # No limit on connections beyond the pool's five: each thread of a service keeps one for its lookups.
    return sa.create_engine(target.url, pool_pre_ping=True, max_overflow=-1)


def open_ledger(url_or_path: str, *, create: bool = False, upgrade: bool = False) -> Ledger:
    """Open a ledger: a path is a SQLite file, `postgresql://…` a PostgreSQL database.

    `create` makes a new ledger where there is none (a SQLite file that does not exist yet, or an empty
    database); `upgrade` brings an older ledger's schema up to this engine's. Refused with a LedgerError:
    a file or database that is not a ledger, a damaged file, a ledger of an older schema (unless `upgrade`:
    the message gives the command) and one made by a newer engine.
    """
    target = _target(url_or_path)
    if target.path is not None:
        if os.path.isdir(target.path):
            raise _error(target.shown, msg("ledger.not_a_ledger"), msg("ledger.not_a_ledger.hint", path=target.shown))
        if not os.path.exists(target.path):
            if not create:
                raise _error(target.shown, msg("ledger.missing"), msg("ledger.missing.hint", path=target.shown))
            folder = os.path.dirname(target.path)
            if not os.path.isdir(folder):
                raise _error(target.shown, msg("ledger.no_folder", folder=folder))
        else:
            _check_sqlite_file(target)
    engine = _make_engine(target)
    try:
        _prepare(engine, target, create=create, upgrade=upgrade)
    except BaseException:
        engine.dispose()
        raise
    return Ledger(engine, target)


def _prepare(engine: Engine, target: _Target, *, create: bool, upgrade: bool) -> None:
    try:
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
            if not names and create:
                conn.rollback()
                # SQLite: the write lock first (BEGIN IMMEDIATE), so that a second process making the same ledger
                # at once waits, then finds it made (Alembic has nothing to do).
                conn.execution_options(ledger_write=True)
                try:
                    _migrate(conn)
                except exc.DBAPIError:  # PostgreSQL: another process made the ledger meanwhile
                    conn.rollback()
                    names = set(sa.inspect(conn).get_table_names())
                    if not names:
                        raise
                else:
                    if target.path is not None:
                        _write_ahead(engine)
                    return
            if "ledger_meta" not in names or "alembic_version" not in names:
                raise _error(target.shown, msg("ledger.not_a_ledger"),
                             msg("ledger.not_a_ledger.hint", path=target.shown))
            fmt = conn.execute(sa.select(T.meta.c.value).where(T.meta.c.key == "format")).scalar()
            if fmt != T.FORMAT:
                raise _error(target.shown, msg("ledger.not_a_ledger"),
                             msg("ledger.not_a_ledger.hint", path=target.shown))
            found = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
            conn.rollback()
            if len(found) != 1 or found[0] not in T.REVISIONS:
                raise _error(target.shown, msg("ledger.newer", found=", ".join(found) or "?", known=T.HEAD),
                             msg("ledger.newer.hint"))
            if found[0] != T.HEAD:
                if not upgrade:
                    raise _error(target.shown, msg("ledger.older", found=found[0], known=T.HEAD),
                                 msg("ledger.older.hint", path=target.shown))
                _migrate(conn)
    except exc.OperationalError as error:
        raise _unreachable(target, error) from None
    except (exc.DatabaseError, UnicodeDecodeError) as error:
        raise _damaged(target, error) from None


def _write_ahead(engine: Engine) -> None:
    """A new SQLite ledger keeps a write-ahead log (a setting of the file): readers (evaluations reading earlier
    grants) then read the last committed state while a round is being recorded, instead of waiting for it."""
    raw = engine.raw_connection()
    try:
        for _attempt in range(50):
            try:
                raw.driver_connection.execute("PRAGMA journal_mode = WAL")  # type: ignore[union-attr]
                return
            except sqlite3.OperationalError:  # another process is using the new ledger this moment
                time.sleep(0.1)
    finally:
        raw.close()


def _unreachable(target: _Target, error: exc.DBAPIError) -> LedgerError:
    reason = _reason(error)
    if target.path is not None:
        return _damaged(target, error)
    return _error(target.shown, msg("ledger.unreachable", reason=reason), msg("ledger.unreachable.hint"))


def _damaged(target: _Target, error: Exception) -> LedgerError:
    reason = _reason(error)
    if "not a database" in reason:
        return _error(target.shown, msg("ledger.not_a_ledger"), msg("ledger.not_a_ledger.hint", path=target.shown))
    return _error(target.shown, msg("ledger.damaged", reason=reason), msg("ledger.damaged.hint"))


def _migrate(conn: Connection, to: str = "head") -> None:
    """Bring the schema to HEAD (or the revision `to`) with Alembic, on this connection, in one transaction."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    command.upgrade(config, to)
    conn.commit()


# --- the ledger --------------------------------------------------------------------------------------

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _content_hash(table: str, row: Mapping[str, object]) -> str:
    """What a row says, hashed: the columns HASHED names, in order (ids and amounts as integers). A decision's
    facts are covered by their own hash (facts_hash), which verify checks against them."""
    values = [row[c] for c in T.HASHED[table]]
    values += [row[c] for c in T.HASHED_WHEN_SET.get(table, ()) if row.get(c) is not None]
    return hashlib.sha256(_ENCODE(values).encode()).hexdigest()


def _link(prev: str, row_id: int, content: str) -> str:
    return hashlib.sha256(f"{prev}\n{row_id}\n{content}".encode()).hexdigest()


class _Chain:
    """Appending to one hash-chained table inside a writer's transaction (the write lock is held)."""

    def __init__(self, conn: Connection, table: sa.Table):
        self.table = table
        last = conn.execute(sa.select(table.c.id, table.c.hash).order_by(table.c.id.desc()).limit(1)).first()
        self.next_id = 1 if last is None else last[0] + 1
        self.head = _GENESIS if last is None else last[1]

    def add(self, row: dict[str, Any], content: str | None = None) -> dict[str, Any]:
        row["id"] = self.next_id
        row["prev_hash"] = self.head
        row["hash"] = self.head = _link(self.head, self.next_id, content or _content_hash(self.table.name, row))
        self.next_id += 1
        return row


_LOOKUP = (sa.select(T.entries.c.id, T.entries.c.kind, T.entries.c.clause, T.entries.c.amount_fen, T.entries.c.year,
                     T.entries.c.counts, T.entries.c.object, T.entries.c.object_key, T.entries.c.round,
                     T.entries.c.corrects)
           .where(T.entries.c.recipient == sa.bindparam("recipient"), T.entries.c.policy_id == sa.bindparam("policy"))
           .order_by(T.entries.c.id))


class Ledger:
    """An open ledger. Reads take no lock; each write is one transaction, all or nothing."""

    def __init__(self, engine: Engine, target: _Target):
        self.engine = engine
        self.where = target.shown
        self.dialect = engine.dialect.name
        self.path = target.path
        # The earlier-grants lookup keeps a connection per thread (a service answers from several): SQLite's
        # own driver connection and cursor, or a PostgreSQL connection outside any transaction.
        self._local = threading.local()
        self._opened: list[Any] = []
        self._lock = threading.Lock()
        compiled = _LOOKUP.compile(dialect=engine.dialect)
        self.lookup_sql = str(compiled)
        self._lookup_order = tuple(compiled.positiontup or ())

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            with contextlib.suppress(Exception):
                conn.close()
        self._local = threading.local()
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A connection for reading; a database error met while reading (a file damaged after it was opened,
        a server gone) becomes a LedgerError that says so."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except (exc.DatabaseError, UnicodeDecodeError) as error:
            raise _error(self.where, msg("ledger.damaged", reason=_reason(error)), msg("ledger.damaged.hint")) from None

    # --- writing -------------------------------------------------------------------------------------

    def _writing(self) -> Any:
        return _Writing(self)

    def record_round(self, round_id: str, *, policy: PolicyRecord, engine_version: str, by: str | None = None,
                     decisions: Iterable[Decision]) -> RoundSummary:
        """Record a round's decisions and their grants in one transaction. A round id already recorded is
        refused (LedgerError) and nothing is written."""
        by = by or default_by()
        at = _now()
        prepared = [self._decision_row(d, round_id, policy, engine_version, by, at) for d in decisions]
        grants = sum(len(g) for _r, g in prepared)
        total = sum(r["total_fen"] for r, _g in prepared)
        with self._writing() as conn:
            if conn.execute(sa.select(T.rounds.c.id).where(T.rounds.c.name == round_id)).first() is not None:
                raise self._round_exists(conn, round_id)
            self._store_policy(conn, policy)
            round_row = _Chain(conn, T.rounds).add({
                "name": round_id, "policy_id": policy.policy_id, "revision": policy.revision,
                "engine_version": engine_version, "recorded_by": by, "recorded_at": at,
                "decisions": len(prepared), "grants": grants, "total_fen": total})
            try:
                conn.execute(T.rounds.insert(), [round_row])
            except exc.IntegrityError:
                raise self._round_exists(conn, round_id) from None
            first_decision, first_entry = self._append(conn, prepared)
        return RoundSummary(round_id, len(prepared), grants, yuan(total), first_decision, first_entry)

    def record_decision(self, decision: Decision, *, policy: PolicyRecord, engine_version: str,
                        by: str | None = None, round_id: str | None = None) -> int:
        """Log one decision without grants (what the service told an applicant); its id."""
        by = by or default_by()
        row, _grants = self._decision_row(decision, round_id, policy, engine_version, by, _now(), grants=False)
        with self._writing() as conn:
            self._store_policy(conn, policy)
            first, _ = self._append(conn, [(row, [])])
        assert first is not None
        return first

    def _decision_row(self, d: Decision, round_id: str | None, policy: PolicyRecord, engine_version: str, by: str,
                      at: str, grants: bool = True) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        recipient = identity(d.recipient)
        row = {"round": round_id, "recipient": recipient, "policy_id": policy.policy_id,
               "revision": policy.revision, "engine_version": engine_version, "recorded_by": by, "recorded_at": at,
               "year": d.year, "facts": d.facts, "facts_hash": d.facts_hash, "outcomes": outcomes_json(d.outcomes),
               "total_fen": fen(d.total, self.where),
               "paid": None if d.paid is None else outcomes_json(d.paid)}
        rows = []
        for g in d.grants if grants else ():
            rows.append({"kind": "grant", "round": round_id, "recipient": recipient, "policy_id": policy.policy_id,
                         "clause": g.clause, "counts": g.counts, "year": g.year, "object": g.object,
                         "object_key": g.object_key, "amount_fen": fen(g.amount, self.where), "corrects": None,
                         "reason": None, "recorded_by": by, "recorded_at": at})
        return row, rows

    def _append(self, conn: Connection, prepared: list[tuple[dict[str, Any], list[dict[str, Any]]]]
                ) -> tuple[int | None, int | None]:
        decisions, entries = _Chain(conn, T.decisions), _Chain(conn, T.entries)
        first_decision, first_entry = decisions.next_id, entries.next_id
        # The content hashes are what costs: the decision's id goes into each grant row before it is hashed.
        drows, erows = [], []
        for row, grants in prepared:
            drows.append(decisions.add(row))
            for grant in grants:
                grant["decision"] = row["id"]
                erows.append(entries.add(grant))
        for table, rows in ((T.decisions, drows), (T.entries, erows)):
            _insert_many(conn, table, rows)
        return (first_decision if drows else None), (first_entry if erows else None)

    def _store_policy(self, conn: Connection, policy: PolicyRecord) -> None:
        have = set(conn.execute(sa.select(T.sources.c.sha256).where(
            T.sources.c.sha256.in_([d for _n, d in policy.files]))).scalars())
        new = []
        for digest in dict.fromkeys(d for _n, d in policy.files):
            if digest not in have:
                content = policy.sources[digest]
                if hashlib.sha256(content).hexdigest() != digest:
                    raise ValueError(f"policy source {digest} does not match its content")
                new.append({"sha256": digest, "content": content})
        if new:
            conn.execute(T.sources.insert(), new)
        if conn.execute(sa.select(T.revisions.c.revision).where(
                T.revisions.c.revision == policy.revision)).first() is None:
            conn.execute(T.revisions.insert(), [{"revision": policy.revision, "policy_id": policy.policy_id,
                                                 "files": canonical_json([list(f) for f in policy.files])}])

    def _round_exists(self, conn: Connection, round_id: str) -> LedgerError:
        row = conn.execute(sa.select(T.rounds.c.recorded_at, T.rounds.c.recorded_by, T.rounds.c.decisions)
                           .where(T.rounds.c.name == round_id)).first()
        when, by, count = row if row is not None else ("?", "?", 0)
        return _error(self.where, msg("ledger.round_exists", round=round_id, when=when, by=by, count=count),
                      msg("ledger.round_exists.hint"))

    def correct(self, entry: int, amount: Decimal, *, reason: str, by: str | None = None) -> int:
        """A new entry setting a grant's amount; the grant itself is kept as it was. Its id."""
        return self._amend(entry, "correction", amount, reason, by)

    def reverse(self, entry: int, *, reason: str, by: str | None = None) -> int:
        """A new entry cancelling a grant (it no longer counts); the grant itself is kept. Its id."""
        return self._amend(entry, "reversal", Decimal(0), reason, by)

    def _amend(self, entry: int, kind: str, amount: Decimal, reason: str, by: str | None) -> int:
        if amount < 0:
            raise _error(self.where, msg("ledger.negative", amount=amount))
        cents = fen(amount, self.where)
        with self._writing() as conn:
            e = T.entries.c
            row = conn.execute(sa.select(T.entries).where(e.id == entry)).mappings().first()
            if row is None:
                raise _error(self.where, msg("ledger.no_entry", entry=entry), msg("ledger.no_entry.hint"))
            original = row if row["kind"] == "grant" else conn.execute(
                sa.select(T.entries).where(e.id == row["corrects"])).mappings().one()
            reversed_by = conn.execute(sa.select(e.id).where(e.corrects == original["id"], e.kind == "reversal")
                                       ).scalar()
            if reversed_by is not None:
                raise _error(self.where, msg("ledger.reversed", entry=original["id"], by=reversed_by))
            new = {k: original[k] for k in ("round", "decision", "recipient", "policy_id", "clause", "counts",
                                           "year", "object", "object_key")}
            new.update(kind=kind, amount_fen=cents, corrects=original["id"], reason=reason,
                       recorded_by=by or default_by(), recorded_at=_now())
            added = _Chain(conn, T.entries).add(new)
            conn.execute(T.entries.insert(), [added])
        return int(added["id"])

    # --- reading ----------------------------------------------------------------------------------------

    def earlier_grants(self, credit_code: str, policy_id: str) -> list[LedgerGrant]:
        """What was granted to a recipient under a policy, oldest first: corrections applied, reversed grants
        left out. The one lookup each evaluation with a ledger makes (an index on recipient and policy)."""
        params = {"recipient": identity(credit_code), "policy": policy_id}
        if self.path is not None:
            try:
                rows = self._sqlite_lookup(params)
            except sqlite3.DatabaseError as error:
                raise _error(self.where, msg("ledger.damaged", reason=str(error)), msg("ledger.damaged.hint")) from None
            return _fold(rows)
        held: Connection | None = getattr(self._local, "conn", None)
        try:
            if held is None:
                held = self._local.conn = self._keep(
                    self.engine.connect().execution_options(isolation_level="AUTOCOMMIT"))
            rows = list(held.execute(_LOOKUP, params).all())
        except exc.DBAPIError as error:  # the server went away: the next lookup connects again
            self._local.conn = None
            raise _error(self.where, msg("ledger.unreachable", reason=_reason(error)),
                         msg("ledger.unreachable.hint")) from None
        return _fold(rows)

    def _keep(self, conn: Any) -> Any:
        with self._lock:
            self._opened.append(conn)
        return conn

    def _sqlite_lookup(self, params: dict[str, str]) -> list[Any]:
        # The driver's own cursor with the statement SQLAlchemy compiled once: a few µs, where a Core
        # execution costs tens (this is per applicant of a round).
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            assert self.path is not None
            raw = self._keep(sqlite3.connect(self.path, timeout=120, isolation_level=None, check_same_thread=False))
            cursor = self._local.cursor = raw.cursor()
        cursor.execute(SQLITE_LOOKUP, [params[name] for name in self._lookup_order])
        return list(cursor.fetchall())

    def entries(self, *, recipient: str | None = None, round_id: str | None = None, year: int | None = None,
                clause: str | None = None, newest_first: bool = False) -> list[Entry]:
        e = T.entries.c
        query = sa.select(T.entries)
        if recipient is not None:
            query = query.where(e.recipient == identity(recipient))
        if round_id is not None:
            query = query.where(e.round == round_id)
        if year is not None:
            query = query.where(e.year == year)
        if clause is not None:
            query = query.where(e.clause == clause)
        query = query.order_by(e.id.desc() if newest_first else e.id)
        with self._reading() as conn:
            return [_entry(dict(row)) for row in conn.execute(query).mappings()]

    def rounds(self) -> list[dict[str, Any]]:
        with self._reading() as conn:
            return [dict(r) for r in conn.execute(sa.select(T.rounds).order_by(T.rounds.c.id)).mappings()]

    def round(self, round_id: str) -> dict[str, Any] | None:
        with self._reading() as conn:
            row = conn.execute(sa.select(T.rounds).where(T.rounds.c.name == round_id)).mappings().first()
        return None if row is None else dict(row)

    def decisions(self, *, round_id: str | None = None, decision: int | None = None) -> list[dict[str, Any]]:
        d = T.decisions.c
        query = sa.select(T.decisions).order_by(d.id)
        if round_id is not None:
            query = query.where(d.round == round_id)
        if decision is not None:
            query = query.where(d.id == decision)
        with self._reading() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def policy_sources(self, revision: str) -> tuple[str, list[tuple[str, bytes]]]:
        """A stored policy revision: its id and its files (name, bytes), the main file first."""
        with self._reading() as conn:
            row = conn.execute(sa.select(T.revisions).where(T.revisions.c.revision == revision)).mappings().one()
            files = [tuple(f) for f in json.loads(row["files"])]
            blobs = dict(conn.execute(sa.select(T.sources.c.sha256, T.sources.c.content).where(
                T.sources.c.sha256.in_([d for _n, d in files]))).all())
        return row["policy_id"], [(name, bytes(blobs[digest])) for name, digest in files]

    def counts(self) -> dict[str, int]:
        """Rows per table: what `verify` and the tests compare before and after."""
        with self._reading() as conn:
            return {t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                    for t in (T.sources, T.revisions, *T.CHAINED)}

    # --- verifying ----------------------------------------------------------------------------------------

    def verify(self) -> list[Message]:
        """Every problem found: a row whose content or place in its chain is not what was written by the
        engine (an edit, insertion or deletion made outside it), a policy source whose bytes changed."""
        problems: list[Message] = []
        with self._reading() as conn:
            if self.dialect == "sqlite":
                for (line,) in conn.exec_driver_sql("PRAGMA quick_check"):
                    if line != "ok":
                        problems.append(msg("ledger.verify.damaged", reason=line))
            for table in T.CHAINED:
                prev = _GENESIS
                rows = conn.execution_options(stream_results=True, yield_per=2000).execute(
                    sa.select(table).order_by(table.c.id))
                for row in rows.mappings():
                    content = _content_hash(table.name, dict(row))
                    if row["prev_hash"] != prev:
                        problems.append(msg("ledger.verify.chain", table=table.name, entry=row["id"]))
                    if _link(row["prev_hash"], row["id"], content) != row["hash"] or (
                            table is T.decisions and _sha(row["facts"]) != row["facts_hash"]):
                        problems.append(msg("ledger.verify.changed", table=table.name, entry=row["id"]))
                    prev = row["hash"]
            # Rows deleted at the end of a chain leave no broken link: each round says how many it wrote.
            d, e = T.decisions.c, T.entries.c
            by_round = sa.select(d.round, sa.func.count()).where(d.round.is_not(None)).group_by(d.round)
            written: dict[str, int] = dict(conn.execute(by_round).all())
            by_round = (sa.select(e.round, sa.func.count()).where(e.kind == "grant", e.round.is_not(None))
                        .group_by(e.round))
            granted: dict[str, int] = dict(conn.execute(by_round).all())
            for name, decisions, grants in conn.execute(sa.select(T.rounds.c.name, T.rounds.c.decisions,
                                                                  T.rounds.c.grants).order_by(T.rounds.c.id)):
                if written.get(name, 0) != decisions or granted.get(name, 0) != grants:
                    problems.append(msg("ledger.verify.missing", round=name, decisions=decisions, grants=grants,
                                        found_decisions=written.get(name, 0), found_grants=granted.get(name, 0)))
            for digest, content in conn.execute(sa.select(T.sources.c.sha256, T.sources.c.content)):
                if hashlib.sha256(bytes(content)).hexdigest() != digest:
                    problems.append(msg("ledger.verify.source", sha=digest[:12]))
        return problems


class _Writing:
    """A writer's transaction: SQLite's write lock (BEGIN IMMEDIATE), or PostgreSQL's advisory lock, taken
    first, so that writers follow one another and each appends to the chains' true heads."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self.conn: Connection | None = None

    def __enter__(self) -> Connection:
        conn = self.ledger.engine.connect().execution_options(ledger_write=True)
        try:
            conn.begin()
            if self.ledger.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
        except exc.DBAPIError as error:
            conn.close()
            raise _error(self.ledger.where, msg("ledger.write_failed", reason=_reason(error))) from None
        self.conn = conn
        return conn

    def __exit__(self, kind: object, value: object, _tb: object) -> None:
        assert self.conn is not None
        conn, self.conn = self.conn, None
        try:
            if kind is None:
                try:
                    conn.commit()
                except exc.DBAPIError as error:
                    raise _error(self.ledger.where, msg("ledger.write_failed", reason=_reason(error))) from None
            else:
                conn.rollback()
                if isinstance(value, exc.DBAPIError):
                    raise _error(self.ledger.where, msg("ledger.write_failed", reason=_reason(value))) from value
        finally:
            conn.close()


def _insert_many(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Rows inserted by the driver's own executemany, with the statement SQLAlchemy compiled for the table, in
    the connection's transaction: a round's rows skip Core's per-row parameter processing (a third of the time
    of recording), and none of them needs any (integers and text)."""
    if not rows:
        return
    compiled = table.insert().compile(dialect=conn.dialect)
    names = compiled.positiontup
    params: list[Any] = ([tuple(row[n] for n in names) for row in rows] if names is not None
                         else [{n: row.get(n) for n in compiled.params} for row in rows])
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(str(compiled), params)
    finally:
        cursor.close()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _reason(error: Exception) -> str:
    orig = getattr(error, "orig", None)
    text = str(orig if orig is not None else error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _entry(row: Mapping[str, Any]) -> Entry:
    return Entry(row["id"], row["kind"], row["round"], row["decision"], row["recipient"], row["policy_id"],
                 row["clause"], row["counts"], row["year"], row["object"], yuan(row["amount_fen"]), row["corrects"],
                 row["reason"], row["recorded_by"], row["recorded_at"])


_fold = fold


def summed_by_clause_and_year(entries: Sequence[Entry]) -> dict[tuple[str, int | None], Decimal]:
    """A recipient's amounts as they stand, by clause and fund year (for `show`)."""
    folded = _fold((e.id, e.kind, e.clause, int(e.amount.scaleb(2)), e.year, e.counts, e.object, None, e.round,
                    e.corrects) for e in sorted(entries, key=lambda e: e.id))
    out: dict[tuple[str, int | None], Decimal] = defaultdict(Decimal)
    for g in folded:
        out[(g.clause, g.year)] += g.amount
    return dict(out)

