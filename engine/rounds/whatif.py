"""Population-scale what-ifs: `policy diff OLD NEW --cases ROUND.csv` over a whole round, in SQL.

Both versions' queries (engine.runtime.sql) run over the round in one pass of DuckDB: the batch SQL engine's reader
(engine.rounds.sql) reads the file once when both versions read its cells alike (the new version's query then
runs over the old one's typed columns), or once per version, the two readings joined by position. Per applicant,
the old total, the new total and what each clause pays under each are written, in the file's order and by every
thread, to a scratch Parquet file (memory flat: no join table, no window), which numbers the rows; DuckDB then adds
up who gains, who loses, who waits (a clause undetermined under either version: counted apart) and the change in
outlay, in total and per clause, exact DECIMAL to the fen, and lists the largest gains and losses. A row either
query does not decide exactly (a fact missing, a cell in another form, a clause the SQL does not translate) is
read and evaluated under both versions by the row engine (engine.rounds.run's Worker, in the `--jobs` processes of
engine.rounds.run.Engine), as `policy batch` does, so every applicant's figures are the row engine's.

With pools, each version's pools are shared among the claims of every row compared, as a round of those rows
shares them (engine.rounds.pools_sql in SQL, engine.core.shares row by row), and the versions are compared on
what the pools pay. A round the SQL engine does not read (XLSX, JSON Lines, a folder, a CSV not in UTF-8, a policy
the query cannot express) is compared row by row with the same Worker: `engine="rows"` does that for any round,
and is what the SQL what-if is tested against.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Iterable, Iterator, Sequence

from engine.core.format import format_money
from engine.core.messages import t
from engine.core.shares import in_order, pro_rata
from engine.model.outcome import Outcome
from engine.model.policy import Policy
from engine.rounds.columns import NAME, Headers, fixed_labels
from engine.rounds.read import RECORD_LIMIT, open_source, skipped
from engine.rounds.results import Record
from engine.rounds.run import Engine, Settings, Worker
from engine.runtime.sql import ROW, ROWS_ENGINE, SOURCE, TOTAL, ident, literal

MOST = 20  # the largest gains and losses listed
_ZERO = Decimal(0)
_FEN = Decimal("0.01")
_LARGEST = {"gains": "diff.round.largest_gains", "losses": "diff.round.largest_losses"}
_ELIGIBLE = Outcome.ELIGIBLE.value


@dataclass(frozen=True)
class Mover:
    """One applicant whose total changes: its row, name, totals, and what each clause pays more or less."""

    row: int
    name: str | None
    old_total: Decimal
    new_total: Decimal
    clauses: tuple[tuple[str, Decimal, Decimal], ...] = ()  # (clause, old paid, new paid), changed ones only

    @property
    def delta(self) -> Decimal:
        return self.new_total - self.old_total


@dataclass
class ClauseOutlay:
    """What one clause pays over the round under each version, and to how many more or less."""

    clause: str
    title: str
    old: Decimal = _ZERO
    new: Decimal = _ZERO
    gainers: int = 0
    losers: int = 0

    @property
    def delta(self) -> Decimal:
        return self.new - self.old


@dataclass(frozen=True)
class BadRow:
    """A row not compared: its facts do not fit one version (or are not readable at all)."""

    row: int
    version: str  # old | new
    column: str
    message: str


@dataclass
class Population:
    """A round under two versions: counts, outlay in total and per clause, and the largest movers."""

    where: str
    engine: str  # sql | rows: what decided the rows it could
    applicants: int = 0  # compared (both versions read the row)
    gains: int = 0
    losses: int = 0
    same: int = 0
    undetermined: int = 0  # a clause undetermined under either version: counted apart, never as a gain or loss
    old_total: Decimal = _ZERO
    new_total: Decimal = _ZERO
    clauses: list[ClauseOutlay] = field(default_factory=list)
    largest_gains: list[Mover] = field(default_factory=list)
    largest_losses: list[Mover] = field(default_factory=list)
    bad_rows: list[BadRow] = field(default_factory=list)
    bad_count: int = 0
    by_rows_engine: int = 0  # rows the row engine decided (all of them when engine == "rows")

    @property
    def delta(self) -> Decimal:
        return self.new_total - self.old_total


@dataclass(frozen=True)
class Applicant:
    """One row's figures under both versions (what the test compares engine by engine)."""

    row: int
    name: str | None
    old_total: Decimal
    new_total: Decimal
    complete: bool
    paid: tuple[tuple[Decimal, Decimal], ...]  # per clause of `clause_ids`: (old, new)
    # each version's place keys for its in_order pools (pool id -> key): what the pools are shared by
    order: tuple[dict[str, Any], dict[str, Any]] = field(default=({}, {}), compare=False, repr=False)


# --- the versions and the round --------------------------------------------------------------------------

def clause_ids(old: Policy, new: Policy) -> list[str]:
    """The clauses compared: the new version's, then those only the old one has (measures aside)."""
    ids = [c.id for c in new.clauses if c.measure is None]
    return ids + [c.id for c in old.clauses if c.measure is None and c.id not in ids]


def _titles(old: Policy, new: Policy) -> dict[str, str]:
    return {c.id: c.title for c in (*old.clauses, *new.clauses)}


class _Version:
    """One version as the round is read under it: its source (its columns), its Worker (the row engine)."""

    def __init__(self, policy: Policy, path: str, lang: str):
        other = "en" if lang == "zh" else "zh"
        from engine.rounds.template import sheet_columns

        headers = Headers(sheet_columns(policy, lang, None), {label: n for n, label in fixed_labels(other).items()})
        self.policy = policy
        self.source = open_source(path, headers)
        self.settings = Settings(lang, "jsonl")  # reasons as codes: a diff words none of them
        self.kinds = {r.label: k for k, r in policy.recipients.items()}
        base = path if self.source.kind == "dir" else os.path.dirname(path)
        self.worker = Worker(policy, self.source.kind, self.source.layout, self.settings, self.kinds, base)
        self.index = {cid: i for i, cid in enumerate(self.worker.ids)}

    def paid(self, record: Record, ids: Sequence[str]) -> list[Decimal]:
        out = []
        for cid in ids:
            i = self.index.get(cid)
            clause = record.clauses[i] if i is not None else None
            out.append(Decimal(clause[1]) if clause is not None and clause[0] == _ELIGIBLE and clause[1] else _ZERO)
        return out


def _compare(old: _Version, new: _Version, ids: Sequence[str], number: int, payload: object,
             into: Population) -> Applicant | None:
    """One row by the row engine under both versions; None (and the row counted as bad) when either refuses it."""
    a = old.worker.handle((number, payload))
    b = new.worker.handle((number, payload))
    for version, record in (("old", a), ("new", b)):
        if record.errors:
            into.bad_count += 1
            if len(into.bad_rows) < MOST:
                e = record.errors[0]
                into.bad_rows.append(BadRow(e.row, version, e.column, e.message))
            return None
    name = b.name if b.name is not None else a.name
    return Applicant(number, name, Decimal(a.total), Decimal(b.total), a.complete and b.complete,
                     tuple(zip(old.paid(a, ids), new.paid(b, ids), strict=True)), (a.order, b.order))


def _add(into: Population, applicants: Iterable[Applicant], ids: Sequence[str],
         outlays: dict[str, ClauseOutlay]) -> None:
    """Count applicants decided one by one into the summary."""
    for x in applicants:
        into.applicants += 1
        into.by_rows_engine += 1
        into.old_total += x.old_total
        into.new_total += x.new_total
        changed = []
        for cid, (before, after) in zip(ids, x.paid, strict=True):
            o = outlays[cid]
            o.old += before
            o.new += after
            if after != before:
                changed.append((cid, before, after))
                if x.complete:
                    o.gainers += after > before
                    o.losers += after < before
        if not x.complete:
            into.undetermined += 1
            continue
        delta = x.new_total - x.old_total
        if delta > 0:
            into.gains += 1
            into.largest_gains.append(Mover(x.row, x.name, x.old_total, x.new_total, tuple(changed)))
        elif delta < 0:
            into.losses += 1
            into.largest_losses.append(Mover(x.row, x.name, x.old_total, x.new_total, tuple(changed)))
        else:
            into.same += 1
        _trim(into)


def _trim(into: Population) -> None:
    if len(into.largest_gains) > 4 * MOST:
        into.largest_gains = sorted(into.largest_gains, key=lambda m: (-m.delta, m.row))[:MOST]
    if len(into.largest_losses) > 4 * MOST:
        into.largest_losses = sorted(into.largest_losses, key=lambda m: (m.delta, m.row))[:MOST]


def _finish(into: Population, outlays: dict[str, ClauseOutlay]) -> Population:
    into.largest_gains = sorted(into.largest_gains, key=lambda m: (-m.delta, m.row))[:MOST]
    into.largest_losses = sorted(into.largest_losses, key=lambda m: (m.delta, m.row))[:MOST]
    into.clauses = [o for o in outlays.values() if o.old or o.new or o.gainers or o.losers]
    return into


def row_by_row(old: Policy, new: Policy, path: str, lang: str = "en") -> Iterator[Applicant]:
    """Every row compared by the row engine alone, in order (rows refused by either version left out); with
    pools, what each version's pools pay once shared among the rows compared (shared)."""
    a, b = _Version(old, path, lang), _Version(new, path, lang)
    ids = clause_ids(old, new)
    scratch = Population(path, "rows")
    found = (x for number, payload in a.source.items()
             if (x := _compare(a, b, ids, number, payload, scratch)) is not None)
    if old.pools or new.pools:
        yield from shared(old, new, ids, list(found))
    else:
        yield from found


def shared(old: Policy, new: Policy, ids: Sequence[str], applicants: list[Applicant]) -> list[Applicant]:
    """The applicants with what each version's pools pay them, shared among them as a round of those rows would
    share them (engine.rounds.run.Round._pooled and _share, engine.core.shares): a claim is a clause that pays
    more than 0, the claims in the rows' order, then in the pool's order of its clauses; each total the sum of what
    is paid, rounded by the version's money rule. A claim an in_order pool cannot place already waits (the row
    engine's Worker)."""
    paid = [[list(pair) for pair in x.paid] for x in applicants]
    index = {cid: i for i, cid in enumerate(ids)}
    for side, policy in enumerate((old, new)):
        for pool in policy.pools:
            claims = [(n, index[cid], x.paid[index[cid]][side], x.order[side].get(pool.id))
                      for n, x in enumerate(applicants) for cid in pool.clauses
                      if cid in index and x.paid[index[cid]][side] > 0]
            amounts = [c[2] for c in claims]
            shares = (in_order(pool.total, amounts, [c[3] for c in claims]) if pool.share == "in_order"
                      else pro_rata(pool.total, amounts, policy.money.round_to))
            for (n, i, _claim, _key), awarded in zip(claims, shares.awarded, strict=True):
                paid[n][i][side] = awarded
    out = []
    for x, figures in zip(applicants, paid, strict=True):
        totals = [policy.money.round(sum((f[side] for f in figures), _ZERO))
                  for side, policy in enumerate((old, new))]
        out.append(replace(x, old_total=totals[0] if old.pools else x.old_total,
                           new_total=totals[1] if new.pools else x.new_total,
                           paid=tuple((f[0], f[1]) for f in figures)))
    return out


def population_diff(old: Policy, new: Policy, path: str, lang: str = "en", engine: str = "sql", jobs: int = 1
                    ) -> Population:
    """Who gains and who loses between two versions over the round in `path`, and the change in outlay; the rows
    handed back to the row engine are compared by `jobs` processes."""
    a, b = _Version(old, path, lang), _Version(new, path, lang)
    ids = clause_ids(old, new)
    titles = _titles(old, new)
    outlays = {cid: ClauseOutlay(cid, titles[cid]) for cid in ids}
    if engine == "sql" and _sql_can(a) and _sql_can(b):
        try:
            return _finish(_in_sql(a, b, ids, outlays, path, jobs), outlays)
        except _NotInSql:
            outlays = {cid: ClauseOutlay(cid, titles[cid]) for cid in ids}
            a, b = _Version(old, path, lang), _Version(new, path, lang)
    into = Population(path, "rows")
    found: Iterable[Applicant] = (x for number, payload in a.source.items()
                                  if (x := _compare(a, b, ids, number, payload, into)) is not None)
    if old.pools or new.pools:
        found = shared(old, new, ids, list(found))
    _add(into, found, ids, outlays)
    return _finish(into, outlays)


# --- in SQL --------------------------------------------------------------------------------------------

class _NotInSql(Exception):
    """DuckDB could not read the round as the row engine does: it is compared row by row."""


def _sql_can(v: _Version) -> bool:
    from engine.rounds.sql import why_not

    why = why_not(v.policy, v.source, v.settings)
    if why == "pools":  # the what-if shares the pools itself (_shared_sql): whether the rest can be in SQL
        why = why_not(replace(v.policy, pools=()), v.source, v.settings)
    return why is None


def _typed(v: _Version) -> str:
    """The CTEs reading the round's file as the typed relation `typed` ("$row", "$refused", the raw cells c0, c1, …,
    their stripped text t0, t1, …, and the query's typed columns): the batch SQL engine's reader, the one place this
    module depends on how it is written."""
    from engine.rounds.sql import SqlRound

    return SqlRound(v.policy, v.source, v.settings, v.kinds).typed()


@dataclass(frozen=True)
class _Query:
    """One version's query cut where the what-if joins it: its CTEs over `source`, its final columns, its last CTE."""

    ctes: str
    columns: str
    last: str
    clause_ids: tuple[str, ...]

    @classmethod
    def of(cls, v: _Version, source: str) -> _Query:
        from engine.runtime.sql import sql_query

        query = sql_query(v.policy)
        text = query.text.removeprefix("WITH ").replace(f" FROM {SOURCE})", f" FROM {source})", 1)
        ctes, final = text.rsplit("\nSELECT ", 1)
        columns, last = final.rsplit(" FROM ", 1)
        return cls(ctes, columns, last, query.clause_ids)

    def paid(self, ids: Sequence[str], prefix: str) -> str:
        """What each clause of `ids` pays the row (0 when not eligible, or not a clause of this version)."""
        own = set(self.clause_ids)
        return ", ".join(f"CASE WHEN {ident(cid + ':outcome')} = {literal(_ELIGIBLE)} THEN "
                         f"COALESCE({ident(cid + ':amount')}, 0) ELSE 0 END AS {ident(prefix + cid)}"
                         if cid in own else f"CAST(0 AS DECIMAL(18,2)) AS {ident(prefix + cid)}" for cid in ids)

    def waits(self) -> str:
        """Whether a clause waits (undetermined): the applicant is counted apart, as row by row counts it."""
        return " OR ".join(f"COALESCE({ident(cid + ':outcome')} = 'undetermined', FALSE)"
                           for cid in self.clause_ids) or "FALSE"


def _long(width: int) -> str:
    """A record near the row engine's bound on a record's length (engine.rounds.read.RECORD_LIMIT, which it reports
    as the row's problem): the row engine's."""
    every = ", ".join(f"c{i}" for i in range(width))
    return f"strlen(concat({every}, '')) + {2 * width} >= {RECORD_LIMIT // 2}"


def _keys(v: _Version, prefix: str) -> str:
    """The row's place key for each in_order pool of the version, as "<prefix>key:<pool>" (engine.rounds.run:
    Worker.order_key: the claim date, or the order_by fact's value), from the typed relation's columns."""
    from engine.model.pools import CLAIM_DATE as ORDER_BY_CLAIM_DATE
    from engine.runtime.sql import CLAIM_DATE

    keys = []
    for pool in v.policy.pools:
        if pool.share == "in_order" and pool.order_by is not None:
            by_date = pool.order_by == ORDER_BY_CLAIM_DATE and pool.order_by not in v.policy.facts
            keys.append(f", {ident(CLAIM_DATE if by_date else pool.order_by)} AS {ident(prefix + 'key:' + pool.id)}")
    return "".join(keys)


def _key_names(v: _Version, prefix: str) -> str:
    return "".join(f", {ident(prefix + 'key:' + pool.id)}" for pool in v.policy.pools
                   if pool.share == "in_order" and pool.order_by is not None)


def _name_cell(v: _Version) -> str:
    at = next((i for i, c in enumerate(v.source.layout) if c is not None and c.name == NAME), None)
    return f"t{at}" if at is not None else "CAST(NULL AS VARCHAR)"


def _rows_sql(con: Any, a: _Version, b: _Version, ids: Sequence[str]) -> str:
    """Per row of the round, in the file's order, both versions' figures (a SELECT, streamed, run by every thread:
    no window, no sort, no hash table): hand (the row engine must decide it under either version), complete (no
    clause waits under either), name, old_total, new_total, "o:<clause>" and "n:<clause>" (what each pays), the
    cells c0, c1, … of a row handed back (what the row engine reads; NULL for the others), and unpaired (the two
    readings of the file do not pair this row). Rows are numbered where this is written (_numbered).

    When both versions read the file alike (the same typed relation, as for a reading or an amendment of rules and
    amounts), the file is read once, and the new version's query runs over the old one's typed columns and figures;
    otherwise each version reads it, and the two readings are joined by position."""
    width = len(a.source.layout)
    typed_a, typed_b = _typed(a), _typed(b)
    olds = ", ".join(ident("o:" + cid) for cid in ids)
    news = ", ".join(ident("n:" + cid) for cid in ids)
    long = _long(width)

    def handed(hand: str) -> str:  # the cells of a row handed back
        return ", ".join(f"CASE WHEN {hand} THEN c{i} END AS c{i}" for i in range(width))

    every = ", ".join(f"c{i}" for i in range(width))
    if typed_a == typed_b:
        typed = [d[0] for d in con.execute(f"WITH {typed_a} SELECT * FROM typed LIMIT 0").description
                 if d[0] != ROW]
        carried = ", ".join(ident(c) for c in typed)
        qa, qb = _Query.of(a, "typed"), _Query.of(b, "sa")
        sa = (f"sa AS (WITH {typed_a}, {qa.ctes}, fa AS (SELECT {qa.columns}, {carried} FROM {qa.last}) "
              f"SELECT {carried}, CAST(NULL AS BIGINT) AS {ident(ROW)}, {qa.paid(ids, 'o:')}, "
              f"{ident(TOTAL)} AS \"o:$total\", COALESCE({ident(ROWS_ENGINE)}, TRUE) AS \"o:$hand\", "
              f"({qa.waits()}) AS \"o:$waits\" FROM fa)")
        hand = f'"$refused" OR "o:$hand" OR COALESCE({ident(ROWS_ENGINE)}, TRUE) OR {long}'
        sb = (f"sb AS (WITH {qb.ctes}, fb AS (SELECT {qb.columns}, \"$refused\", {olds}, \"o:$total\", "
              f"\"o:$hand\", \"o:$waits\", {_name_cell(a)} AS \"$name\"{_keys(a, 'o:')}{_keys(b, 'n:')}, "
              f"{every} FROM {qb.last}), "
              f"hb AS (SELECT *, {hand} AS \"$hand\" FROM fb) "
              f"SELECT \"$hand\" AS hand, NOT (\"o:$waits\" OR {qb.waits()}) AS complete, \"$name\" AS name, "
              f"\"o:$total\" AS old_total, {ident(TOTAL)} AS new_total, {olds}, {qb.paid(ids, 'n:')}, "
              f"{handed(ident('$hand'))}, "
              f"FALSE AS unpaired{_key_names(a, 'o:')}{_key_names(b, 'n:')} FROM hb)")
        return f"WITH {sa}, {sb} SELECT * FROM sb"

    def side(v: _Version, typed: str, prefix: str, keep: str) -> str:
        q = _Query.of(v, "typed")
        hand = f'"$refused" OR COALESCE({ident(ROWS_ENGINE)}, TRUE) OR {long}'
        return (f"(WITH {typed}, {q.ctes}, f AS (SELECT {q.columns}, \"$refused\", {_name_cell(v)} AS \"$name\""
                f"{_keys(v, prefix)}, {every} FROM {q.last}) "
                f"SELECT ({hand}) AS \"{prefix}hand\", ({q.waits()}) AS \"{prefix}waits\", "
                f"\"$name\" AS \"{prefix}name\", c0 AS \"{prefix}first\", {ident(TOTAL)} AS \"{prefix}total\", "
                f"{q.paid(ids, prefix)}{_key_names(v, prefix)}{keep} FROM f)")

    hand = '"o:hand" OR "n:hand"'
    return (f"SELECT {hand} AS hand, NOT (\"o:waits\" OR \"n:waits\") AS complete, \"o:name\" AS name, "
            f"\"o:total\" AS old_total, \"n:total\" AS new_total, {olds}, {news}, "
            f"{handed(hand)}, "
            "(\"o:first\" IS DISTINCT FROM \"n:first\" OR \"o:name\" IS DISTINCT FROM \"n:name\" "
            f"OR \"o:hand\" IS NULL OR \"n:hand\" IS NULL) AS unpaired{_key_names(a, 'o:')}{_key_names(b, 'n:')} "
            f"FROM {side(a, typed_a, 'o:', ', ' + every)} POSITIONAL JOIN {side(b, typed_b, 'n:', '')}")


def _numbered(con: Any, a: _Version, b: _Version, ids: Sequence[str], folder: str) -> str:
    """_rows_sql's rows written to a Parquet file in `folder` (by every thread, in the file's order, memory flat),
    and the relation reading them back numbered as the row engine numbers them (n: the header's row, then one a
    record; the file holds no empty line, engine.rounds.sql.why_not)."""
    path = os.path.join(folder, "rows.parquet")
    con.execute(f"COPY ({_rows_sql(con, a, b, ids)}) TO {literal(path)} (FORMAT parquet, ROW_GROUP_SIZE 16384)")
    return (f"(SELECT CAST(file_row_number + {a.source.header_row + 1} AS BIGINT) AS n, * EXCLUDE (file_row_number) "
            f"FROM read_parquet({literal(path)}, file_row_number = true))")


MEMORY = "256MB"  # DuckDB's memory: a block's rows written in order wait here, and beyond it, on disk


def _connect(jobs: int, folder: str) -> Any:
    """DuckDB with `jobs` threads, rows kept in the file's order, and memory bounded (spilling to `folder`)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {max(1, jobs)}")
    con.execute("SET preserve_insertion_order = true")
    con.execute(f"SET temp_directory = {literal(os.path.join(folder, 'spill'))}")
    con.execute(f"SET memory_limit = {literal(MEMORY)}")
    return con


def _in_sql(a: _Version, b: _Version, ids: Sequence[str], outlays: dict[str, ClauseOutlay],
            path: str, jobs: int) -> Population:
    """The round in one pass of DuckDB over the file (each row's figures written to a scratch Parquet file), then
    the counts, the outlay in total and per clause and the largest movers as aggregates over those rows; the rows
    handed back are streamed from that file to the row engine, in `jobs` processes, and added in. With pools, the
    row engine's figures join the others in DuckDB, each version's pools are shared among them all
    (engine.rounds.pools_sql), and the summary is made of what the pools pay."""
    import duckdb

    width = len(a.source.layout)
    into = Population(path, "sql")
    pooled = bool(a.policy.pools or b.policy.pools)
    # the pool is made before DuckDB starts its threads (engine.rounds.run.Engine)
    engine = Engine(jobs, (a.policy, b.policy, path, a.settings.lang), _sides)
    aborted = True
    folder = tempfile.mkdtemp(prefix="policy-whatif-")
    con = _connect(jobs, folder)
    try:
        try:
            rows = _numbered(con, a, b, ids, folder)
            if not pooled:
                _summary(con, rows, ids, into, outlays)
            else:
                con.execute(f"CREATE TEMP TABLE handed AS SELECT {_figures(a, b, ids)} FROM {rows} LIMIT 0")
            # the rows handed back, in order (the file's rows are read in order: no sort), a block at a time
            handed = con.execute(f"SELECT n, {', '.join(f'c{i}' for i in range(width))} FROM {rows} WHERE hand")
        except duckdb.Error as why:
            raise _NotInSql(str(why)) from None

        def blocks() -> Iterator[list[Any]]:
            try:
                while block := handed.fetchmany(BLOCK):
                    yield block
            except duckdb.Error as why:
                raise _NotInSql(str(why)) from None

        compared = []
        for _block, (done, part) in engine.map(_compare_block, blocks()):
            into.bad_count += part.bad_count
            into.bad_rows = (into.bad_rows + part.bad_rows)[:MOST]
            if pooled:
                compared += done
            else:
                _add(into, done, ids, outlays)
        if pooled:
            try:
                _keep_handed(con, a, b, ids, compared)
                _summary(con, _shared_sql(a, b, ids, rows), ids, into, outlays)
            except duckdb.Error as why:
                raise _NotInSql(str(why)) from None
            into.by_rows_engine = len(compared)
        aborted = False
    finally:
        con.close()
        shutil.rmtree(folder, ignore_errors=True)
        engine.close(abort=aborted)
    return into


def _summary(con: Any, rows: str, ids: Sequence[str], into: Population, outlays: dict[str, ClauseOutlay]) -> None:
    """The counts, the outlay in total and per clause and the largest movers of the rows SQL decided in `rows`
    (those not handed back), into `into` and `outlays`; _NotInSql when the two readings of the file do not pair."""
    o = [ident("o:" + cid) for cid in ids]
    n = [ident("n:" + cid) for cid in ids]
    decided = "NOT hand AND complete"
    per_clause = ", ".join(f"SUM({x}) FILTER (NOT hand), SUM({y}) FILTER (NOT hand), "
                           f"COUNT(*) FILTER ({decided} AND {y} > {x}), COUNT(*) FILTER ({decided} AND {y} < {x})"
                           for x, y in zip(o, n, strict=True))
    mover = f"struct_pack(n := n, name := name, old := old_total, new := new_total, paid := [{', '.join(o + n)}])"
    row = con.execute(
        "SELECT COUNT(*) FILTER (NOT hand), "
        f"COUNT(*) FILTER ({decided} AND new_total > old_total), "
        f"COUNT(*) FILTER ({decided} AND new_total < old_total), "
        "COUNT(*) FILTER (NOT hand AND NOT complete), "
        "SUM(old_total) FILTER (NOT hand), SUM(new_total) FILTER (NOT hand), "
        f"arg_max({mover}, struct_pack(d := new_total - old_total, r := -n), {MOST}) "
        f"FILTER ({decided} AND new_total > old_total), "
        f"arg_min({mover}, struct_pack(d := new_total - old_total, r := n), {MOST}) "
        f"FILTER ({decided} AND new_total < old_total), "
        f"COUNT(*) FILTER (unpaired), {per_clause} FROM {rows}").fetchone()
    assert row is not None
    count, gains, losses, undetermined, old_sum, new_sum, up, down, unpaired = row[:9]
    if unpaired:
        raise _NotInSql("the rows of the two readings of the file do not pair")
    into.applicants += count
    into.gains += gains
    into.losses += losses
    into.undetermined += undetermined
    into.same += count - gains - losses - undetermined
    into.old_total += old_sum or _ZERO
    into.new_total += new_sum or _ZERO
    for k, cid in enumerate(ids):
        before, after, more, fewer = row[9 + 4 * k:13 + 4 * k]
        c = outlays[cid]
        c.old += before or _ZERO
        c.new += after or _ZERO
        c.gainers += more
        c.losers += fewer
    k = len(ids)
    for found, movers in ((up, into.largest_gains), (down, into.largest_losses)):
        for m in found or ():
            paid = m["paid"]
            movers.append(Mover(m["n"], m["name"], m["old"], m["new"], tuple(
                (cid, x, y) for cid, x, y in zip(ids, paid[:k], paid[k:], strict=True) if x != y)))


# --- pools ----------------------------------------------------------------------------------------------

def _figures(a: _Version, b: _Version, ids: Sequence[str]) -> str:
    """The columns of a row's figures the pools are shared from, in order."""
    paid = ", ".join(ident(p + cid) for p in ("o:", "n:") for cid in ids)
    return f"n, complete, name, old_total, new_total, {paid}{_key_names(a, 'o:')}{_key_names(b, 'n:')}"


def _ordered_pools(v: _Version) -> list[str]:
    return [p.id for p in v.policy.pools if p.share == "in_order" and p.order_by is not None]


def _keep_handed(con: Any, a: _Version, b: _Version, ids: Sequence[str], applicants: Sequence[Applicant]) -> None:
    """The row engine's figures of the rows handed back, into the table `handed` beside the SQL's."""
    keys = (_ordered_pools(a), _ordered_pools(b))
    marks = ", ".join("?" for _ in range(5 + 2 * len(ids) + len(keys[0]) + len(keys[1])))
    values = [(x.row, x.complete, x.name, x.old_total, x.new_total, *(p[0] for p in x.paid), *(p[1] for p in x.paid),
               *(x.order[0].get(k) for k in keys[0]), *(x.order[1].get(k) for k in keys[1])) for x in applicants]
    for at in range(0, len(values), 2048):
        con.executemany(f"INSERT INTO handed VALUES ({marks})", values[at:at + 2048])


def _shared_sql(a: _Version, b: _Version, ids: Sequence[str], rows: str) -> str:
    """Every compared row's figures (the SQL's, and the row engine's in `handed`) with what each version's pools
    pay once shared among them all (engine.rounds.pools_sql), as rows for _summary: a claim an in_order pool cannot
    place waits, and each total is what is paid, rounded by the version's money rule."""
    from engine.rounds.pools_sql import pools_sql

    ctes = [f"base AS (SELECT {_figures(a, b, ids)} FROM {rows} WHERE NOT hand UNION ALL SELECT * FROM handed)"]
    paid = {}
    totals = {}
    waits = []
    for prefix, v in (("o:", a), ("n:", b)):
        money = v.policy.money
        places = max(0, -int(money.round_to.as_tuple().exponent))
        side = prefix[0]
        shares = []
        for k, pool in enumerate(v.policy.pools):
            key = (ident(prefix + "key:" + pool.id) if pool.share == "in_order" and pool.order_by is not None
                   else "CAST(NULL AS INTEGER)")
            claims = " UNION ALL ".join(
                f"SELECT n AS \"row\", {literal(cid)} AS clause, CASE WHEN {ident(prefix + cid)} > 0 "
                f"THEN 'eligible' ELSE 'none' END AS outcome, {ident(prefix + cid)} AS amount, {key} AS key FROM base"
                for cid in pool.clauses if cid in ids)
            ctes.append(f"{side}claims{k} AS ({claims})")
            ctes.append(f"{side}shares{k} AS ({pools_sql([pool], money.round_to, f'{side}claims{k}', places, False)})")
            shares.append(f"SELECT \"row\", clause, amount, reason FROM {side}shares{k}")
        pooled = [cid for pool in v.policy.pools for cid in pool.clauses if cid in ids]
        if shares:
            pivot = ", ".join(f"MAX(CASE WHEN clause = {literal(cid)} THEN COALESCE(amount, 0) END) "
                              f"AS {ident(prefix + cid)}" for cid in pooled)
            ctes.append(f"{side}paid AS (SELECT \"row\", {pivot}, bool_or(reason IS NOT NULL) AS waits "
                        f"FROM ({' UNION ALL '.join(shares)}) GROUP BY \"row\")")
            waits.append(f"COALESCE({side}paid.waits, FALSE)")
        for cid in ids:
            paid[prefix + cid] = (f"COALESCE({side}paid.{ident(prefix + cid)}, base.{ident(prefix + cid)})"
                                  if cid in pooled else f"base.{ident(prefix + cid)}")
        if shares:
            total = " + ".join(paid[prefix + cid] for cid in ids) or "0"
            totals[prefix] = f"CAST(ROUND({total}, {places}) AS DECIMAL(38,{places}))"
        else:
            totals[prefix] = f"base.{'old_total' if prefix == 'o:' else 'new_total'}"
    joins = " ".join(f"LEFT JOIN {side}paid ON {side}paid.\"row\" = base.n"
                     for side, v in (("o", a), ("n", b)) if v.policy.pools)
    figures = ", ".join(f"{code} AS {ident(name)}" for name, code in paid.items())
    complete = " AND ".join(["base.complete"] + [f"NOT {w}" for w in waits])
    return (f"(WITH {', '.join(ctes)} SELECT base.n, FALSE AS hand, FALSE AS unpaired, {complete} AS complete, "
            f"base.name, {totals['o:']} AS old_total, {totals['n:']} AS new_total, {figures} FROM base {joins})")


BLOCK = 512  # rows handed back, compared by one worker at a time
_SIDES: tuple[_Version, _Version, Sequence[str]] | None = None  # what a worker compares rows under


def _sides(old: Policy, new: Policy, path: str, lang: str) -> None:
    """In each worker (engine.rounds.run.Engine's `start`), or here with one job: both versions as the round is
    read under each."""
    global _SIDES
    _SIDES = (_Version(old, path, lang), _Version(new, path, lang), clause_ids(old, new))


def _compare_block(batch: list[Any]) -> tuple[list[Applicant], Population]:
    """In a worker (or here): a block of rows handed back (number, cells…), compared by the row engine under both
    versions."""
    assert _SIDES is not None
    a, b, ids = _SIDES
    part = Population("", "rows")
    return list(_by_rows(a, b, ids, batch, part)), part


def in_sql(old: Policy, new: Policy, path: str, lang: str = "en") -> Iterator[Applicant]:
    """Every row compared as population_diff compares it in SQL, in order (rows refused by either version left
    out): the query's figures, and the row engine's for the rows it hands back; with pools, what they pay once
    shared (_shared_sql)."""
    import duckdb

    a, b = _Version(old, path, lang), _Version(new, path, lang)
    if not (_sql_can(a) and _sql_can(b)):
        raise _NotInSql("not a round the SQL engine reads")
    ids = clause_ids(old, new)
    k = len(ids)
    scratch = Population(path, "sql")
    folder = tempfile.mkdtemp(prefix="policy-whatif-")
    con = _connect(1, folder)
    try:
        try:
            rows = _numbered(con, a, b, ids, folder)
            if old.pools or new.pools:
                con.execute(f"CREATE TEMP TABLE handed AS SELECT {_figures(a, b, ids)} FROM {rows} LIMIT 0")
                width = len(a.source.layout)
                handed = con.execute(f"SELECT n, {', '.join(f'c{i}' for i in range(width))} FROM {rows} "
                                     "WHERE hand").fetchall()
                _keep_handed(con, a, b, ids, list(_by_rows(a, b, ids, handed, scratch)))
                rows = _shared_sql(a, b, ids, rows)
            cursor = con.execute(f"SELECT * FROM {rows} ORDER BY n")
            names = [d[0] for d in cursor.description]
        except duckdb.Error as why:
            raise _NotInSql(str(why)) from None
        at = {name: i for i, name in enumerate(names)}
        o, n = at["o:" + ids[0]] if ids else 0, at["n:" + ids[0]] if ids else 0
        cells = [at[f"c{i}"] for i in range(len(a.source.layout))] if "c0" in at else []
        while batch := cursor.fetchmany(4096):
            for r in batch:
                if r[at["unpaired"]]:
                    raise _NotInSql("the rows of the two readings of the file do not pair")
                if r[at["hand"]]:
                    yield from _by_rows(a, b, ids, [(r[at["n"]], *(r[i] for i in cells))], scratch)
                else:
                    yield Applicant(r[at["n"]], r[at["name"]], r[at["old_total"]], r[at["new_total"]],
                                    r[at["complete"]], tuple(zip(r[o:o + k], r[n:n + k], strict=True)))
    finally:
        con.close()
        shutil.rmtree(folder, ignore_errors=True)


def _by_rows(a: _Version, b: _Version, ids: Sequence[str], batch: list[Any], into: Population
             ) -> Iterator[Applicant]:
    for r in batch:
        cells = ["" if c is None else c for c in r[1:]]
        if skipped(cells):
            continue
        x = _compare(a, b, ids, int(r[0]), cells, into)
        if x is not None:
            yield x


# --- what is shown -------------------------------------------------------------------------------------

def _signed(value: Decimal) -> str:
    return ("+" if value > 0 else "") + format_money(value)


def render_text(p: Population, lang: str) -> list[str]:
    """The round's what-if as lines in `lang`."""
    def text(key: str, /, **values: object) -> str:
        return t(key, lang, **values)

    lines = [text("diff.round.head", count=p.applicants, where=p.where),
             "  " + text("diff.round.counts", gains=p.gains, losses=p.losses, same=p.same,
                         undetermined=p.undetermined),
             "  " + text("diff.outlay", old=format_money(p.old_total), new=format_money(p.new_total),
                         delta=_signed(p.delta))]
    changed = [c for c in p.clauses if c.delta or c.gainers or c.losers]
    if changed:
        lines.append("  " + text("diff.round.clauses"))
        for c in changed:
            lines.append("    " + text("diff.round.clause", clause=c.clause, title=c.title, old=format_money(c.old),
                                       new=format_money(c.new), delta=_signed(c.delta), gainers=c.gainers,
                                       losers=c.losers))
    for side, movers in (("gains", p.largest_gains), ("losses", p.largest_losses)):
        if not movers:
            continue
        lines.append("  " + text(_LARGEST[side], count=len(movers)))
        for m in movers:
            lines.append("    " + text("diff.round.mover", row=m.row, name=m.name or "", old=format_money(m.old_total),
                                       new=format_money(m.new_total), delta=_signed(m.delta)))
            for cid, before, after in m.clauses:
                lines.append("      " + text("diff.round.mover_clause", clause=cid, old=format_money(before),
                                             new=format_money(after), delta=_signed(after - before)))
    if p.bad_count:
        lines.append("  " + text("diff.round.bad_rows", count=p.bad_count))
        for bad in p.bad_rows:
            lines.append("    " + text("diff.round.bad_row", row=bad.row, version=text(
                "diff.version.old" if bad.version == "old" else "diff.version.new"), column=bad.column,
                message=bad.message))
    lines.append("  " + text("diff.round.engine", engine=p.engine, rows=p.by_rows_engine))
    return lines


def render_html(p: Population, lang: str, page: str) -> str:
    """The diff's HTML page (engine.tools.diff_page) with the round's what-if as a section of its own, every text
    escaped."""
    from html import escape

    lines = render_text(p, lang)
    parts = [f'<section class="group round"><h2>{escape(lines[0])}</h2>']
    depth = 0
    for line in lines[1:]:
        level = (len(line) - len(line.lstrip(" "))) // 2
        if level > depth:  # a list inside the item above
            parts.append("<ul>" * (level - depth))
        else:
            parts.append("</li></ul>" * (depth - level) + "</li>")
        depth = level
        parts.append(f"<li>{escape(line.strip())}")
    parts += ["</li></ul>" * depth, "</section>\n"]
    section = "".join(parts)
    at = page.rfind("</main>")
    return page[:at] + section + page[at:] if at >= 0 else page + section


def _money(value: Decimal) -> str:
    """An amount as exact text, to the fen at least (0 and 0.00 are one amount, written one way)."""
    return str(value) if value.as_tuple().exponent <= -2 else str(value.quantize(_FEN))  # type: ignore[operator]


def to_json(p: Population) -> dict[str, object]:
    """Plain data for --format json; amounts as strings, exact."""
    def mover(m: Mover) -> dict[str, object]:
        return {"row": m.row, "name": m.name, "old_total": _money(m.old_total), "new_total": _money(m.new_total),
                "delta": _money(m.delta), "clauses": [{"clause": c, "old_amount": _money(x), "new_amount": _money(y),
                                                    "delta": _money(y - x)} for c, x, y in m.clauses]}

    return {"cases": p.where, "engine": p.engine, "applicants": p.applicants, "gains": p.gains,
            "losses": p.losses, "unchanged": p.same, "undetermined": p.undetermined, "not_compared": p.bad_count,
            "decided_by_row_engine": p.by_rows_engine,
            "old_total": _money(p.old_total), "new_total": _money(p.new_total), "delta": _money(p.delta),
            "clauses": [{"clause": c.clause, "title": c.title, "old_total": _money(c.old), "new_total": _money(c.new),
                         "delta": _money(c.delta), "gainers": c.gainers, "losers": c.losers} for c in p.clauses],
            "largest_gains": [mover(m) for m in p.largest_gains],
            "largest_losses": [mover(m) for m in p.largest_losses],
            "rows_not_compared": [{"row": r.row, "version": r.version, "column": r.column, "message": r.message}
                                  for r in p.bad_rows]}


def is_round_file(path: str) -> bool:
    """Whether `--cases` names an application round (a sheet or JSON Lines) rather than facts or tests files."""
    from engine.rounds.read import FORMATS

    return os.path.isfile(path) and os.path.splitext(path)[1].lower() in FORMATS and not path.lower().endswith(
        (".yaml", ".yml", ".json"))


__all__ = ["Applicant", "Population", "clause_ids", "is_round_file", "population_diff", "render_html", "render_text",
           "row_by_row", "in_sql", "shared", "to_json"]
