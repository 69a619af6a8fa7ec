"""Population-scale what-ifs: `policy diff OLD NEW --cases ROUND.csv` over a whole round, in SQL.

Both versions' queries (engine.runtime.sql) run over the same round, read once per version by the batch SQL
engine's reader (engine.rounds.sql), and are joined by row: per applicant the old total, the new total and what
each clause pays under each. DuckDB adds up who gains, who loses and the change in outlay, in total and per
clause, exact DECIMAL to the fen, and lists the largest gains and losses. A row either query does not decide
exactly (a fact missing, a cell in another form, a clause the SQL does not translate) is read and evaluated under
both versions by the row engine (engine.rounds.run's Worker), as `policy batch` does, so every applicant's figures
are the row engine's. A round the SQL engine does not read (XLSX, JSON Lines, a folder, a CSV not in UTF-8, a
policy the query cannot express, pools) is compared row by row with the same Worker: `engine="rows"` does that
for any round, and is what the SQL what-if is tested against.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Iterator, Sequence

from engine.core.format import format_money
from engine.core.messages import t
from engine.model.outcome import Outcome
from engine.model.policy import Policy
from engine.rounds.columns import NAME, Headers, fixed_labels
from engine.rounds.read import RECORD_LIMIT, open_source, skipped
from engine.rounds.results import Record
from engine.rounds.run import Settings, Worker
from engine.runtime.sql import ROW, ROWS_ENGINE, TOTAL, ident, literal

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
                     tuple(zip(old.paid(a, ids), new.paid(b, ids), strict=True)))


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
    """Every row compared by the row engine alone, in order (rows refused by either version left out)."""
    a, b = _Version(old, path, lang), _Version(new, path, lang)
    ids = clause_ids(old, new)
    scratch = Population(path, "rows")
    for number, payload in a.source.items():
        x = _compare(a, b, ids, number, payload, scratch)
        if x is not None:
            yield x


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
    _add(into, (x for number, payload in a.source.items()
                if (x := _compare(a, b, ids, number, payload, into)) is not None), ids, outlays)
    return _finish(into, outlays)


# --- in SQL --------------------------------------------------------------------------------------------

class _NotInSql(Exception):
    """DuckDB could not read the round as the row engine does: it is compared row by row."""


def _sql_can(v: _Version) -> bool:
    from engine.rounds.sql import why_not

    return why_not(v.policy, v.source, v.settings) is None


def _typed(v: _Version) -> str:
    """The CTEs reading the round's file as the typed relation `typed` ("$row", "$refused", the raw cells c0, c1, …,
    their stripped text t0, t1, …, and the query's typed columns): the batch SQL engine's reader, the one place this
    module depends on how it is written."""
    from engine.rounds.sql import SqlRound

    text = SqlRound(v.policy, v.source, v.settings, v.kinds).typed()
    # numbered here, in the file's order, as the row engine numbers records (the reader may leave "$row" to its
    # caller): each version's reading of the file is paired with the other's by this number
    head, found, tail = text.rpartition("typed AS (")
    assert found, "the reader's last relation is `typed`"
    return (f"{head}typed1 AS ({tail}, typed AS (SELECT * REPLACE (row_number() OVER () + {v.source.header_row} "
            f"AS {ident(ROW)}) FROM typed1)")


def _side(v: _Version, ids: Sequence[str], prefix: str) -> str:
    """One version's results per row, in one pass over the round (the policy's query carries every column of the
    typed relation through, so no row is matched to itself by number): number, whether the row engine must decide
    it, its first cell and name (to check the two versions' rows are the same), total, paid per clause, cells."""
    from engine.runtime.sql import sql_query

    query = sql_query(v.policy)
    text = query.text.removeprefix("WITH ").replace(" FROM applicants)", " FROM typed)", 1)
    ctes, final = text.rsplit("\nSELECT ", 1)
    columns, last = final.rsplit(" FROM ", 1)
    own = set(query.clause_ids)
    paid = []
    for cid in ids:
        if cid in own:
            paid.append(f"CASE WHEN {ident(cid + ':outcome')} = {literal(_ELIGIBLE)} "
                        f"THEN COALESCE({ident(cid + ':amount')}, 0) ELSE 0 END AS {ident(prefix + cid)}")
        else:
            paid.append(f"0 AS {ident(prefix + cid)}")
    layout = v.source.layout
    width = len(layout)
    at = next((i for i, c in enumerate(layout) if c is not None and c.name == NAME), None)
    name = f"t{at}" if at is not None else "CAST(NULL AS VARCHAR)"
    every = ", ".join(f"c{i}" for i in range(width))
    long = f"strlen(concat({every}, '')) + {2 * width} >= {RECORD_LIMIT // 2}"
    # a row some clause of which waits (undetermined) is the row engine's too: it says what each waits for, and
    # the comparison counts the applicant apart (Population.undetermined), as row by row does
    waits = " OR ".join(f"COALESCE({ident(cid + ':outcome')} = 'undetermined', FALSE)" for cid in query.clause_ids)
    hand = f'("$refused" OR COALESCE({ident(ROWS_ENGINE)}, TRUE))'
    return (f"WITH {_typed(v)}, {ctes}, q AS (SELECT {columns}, {ident(ROW)} AS n, {hand} OR {long} AS hand, "
            f"{name} AS name, c0 AS first, {every} FROM {last}) "
            f"SELECT n, hand OR {waits or 'FALSE'} AS hand, name, first, {ident(TOTAL)} AS total, {', '.join(paid)}, "
            f"{every} FROM q")


def _table(con: Any, a: _Version, b: _Version, ids: Sequence[str]) -> None:
    """Both versions' results joined by row, as the temporary table `whatif` (cells kept for rows handed back);
    _NotInSql when DuckDB cannot, or when the two readings of the file do not pair every row with itself."""
    import duckdb

    width = len(a.source.layout)
    cells = ", ".join(f"CASE WHEN o.hand OR nw.hand THEN o.c{i} END AS c{i}" for i in range(width))
    o = ", ".join(f"o.{ident('o:' + cid)}" for cid in ids)
    n = ", ".join(f"nw.{ident('n:' + cid)}" for cid in ids)
    con.execute("SET preserve_insertion_order = true")
    try:
        con.execute(f"CREATE TEMP TABLE whatif AS SELECT o.n, o.hand OR nw.hand AS hand, o.name, "
                    f"o.total AS old_total, nw.total AS new_total, {o}, {n}, {cells}, "
                    "(o.n IS NULL OR nw.n IS NULL) AS unpaired "
                    f"FROM ({_side(a, ids, 'o:')}) o FULL JOIN ({_side(b, ids, 'n:')}) nw ON o.n = nw.n "
                    "AND o.first IS NOT DISTINCT FROM nw.first AND o.name IS NOT DISTINCT FROM nw.name")
        unpaired = con.execute("SELECT COUNT(*) FROM whatif WHERE unpaired").fetchone()
    except duckdb.Error as why:
        raise _NotInSql(str(why)) from None
    if unpaired is None or unpaired[0]:
        raise _NotInSql("the rows of the two readings of the file do not pair")


def _in_sql(a: _Version, b: _Version, ids: Sequence[str], outlays: dict[str, ClauseOutlay],
            path: str, jobs: int) -> Population:
    import duckdb

    width = len(a.source.layout)
    o = [ident("o:" + cid) for cid in ids]
    n = [ident("n:" + cid) for cid in ids]
    into = Population(path, "sql")
    workers = _Workers(a, b, ids, jobs)
    con = duckdb.connect()
    aborted = True
    try:
        _table(con, a, b, ids)
        sums = ", ".join(f"SUM({x}), SUM({y}), COUNT(*) FILTER ({y} > {x}), COUNT(*) FILTER ({y} < {x})"
                         for x, y in zip(o, n, strict=True))
        row = con.execute("SELECT COUNT(*), COUNT(*) FILTER (new_total > old_total), "
                          "COUNT(*) FILTER (new_total < old_total), SUM(old_total), SUM(new_total), "
                          f"{sums} FROM whatif WHERE NOT hand").fetchone()
        assert row is not None
        count, gains, losses, old_sum, new_sum = row[:5]
        into.applicants, into.gains, into.losses = count, gains, losses
        into.same = count - gains - losses
        into.old_total, into.new_total = old_sum or _ZERO, new_sum or _ZERO
        for k, cid in enumerate(ids):
            before, after, up, down = row[5 + 4 * k:9 + 4 * k]
            c = outlays[cid]
            c.old, c.new, c.gainers, c.losers = before or _ZERO, after or _ZERO, up, down
        for order, movers in (("DESC", into.largest_gains), ("ASC", into.largest_losses)):
            sign = ">" if order == "DESC" else "<"
            for r in con.execute(f"SELECT n, name, old_total, new_total, {', '.join(o)}, {', '.join(n)} FROM whatif "
                                 f"WHERE NOT hand AND new_total {sign} old_total "
                                 f"ORDER BY new_total - old_total {order}, n LIMIT {MOST}").fetchall():
                befores, afters = r[4:4 + len(ids)], r[4 + len(ids):]
                movers.append(Mover(r[0], r[1], r[2], r[3], tuple(
                    (cid, x, y) for cid, x, y in zip(ids, befores, afters, strict=True) if x != y)))
        handed = con.execute(f"SELECT n, {', '.join(f'c{i}' for i in range(width))} FROM whatif WHERE hand "
                             "ORDER BY n")

        def batches() -> Iterator[list[Any]]:
            while batch := handed.fetchmany(BLOCK):
                yield batch

        for done, part in workers.map(batches()):
            into.bad_count += part.bad_count
            into.bad_rows = (into.bad_rows + part.bad_rows)[:MOST]
            _add(into, done, ids, outlays)
        aborted = False
    finally:
        con.close()
        workers.close(aborted)
    return into


BLOCK = 2048  # rows handed back, compared by one worker at a time
_SIDES: tuple[_Version, _Version, Sequence[str]] | None = None  # what a forked worker compares rows under


def _block(batch: list[Any]) -> tuple[list[Applicant], Population]:
    """In a worker (or here): a block of rows handed back, compared by the row engine under both versions."""
    assert _SIDES is not None
    a, b, ids = _SIDES
    part = Population("", "rows")
    return list(_by_rows(a, b, ids, batch, part)), part


class _Workers:
    """The processes comparing rows handed back, forked before DuckDB starts its threads (a fork copies no thread,
    and a lock one held would stay held in the child); one job: compared here."""

    def __init__(self, a: _Version, b: _Version, ids: Sequence[str], jobs: int):
        global _SIDES
        _SIDES = (a, b, ids)
        self.pool: Any = None
        if jobs > 1 and hasattr(os, "fork"):
            import multiprocessing

            self.pool = multiprocessing.get_context("fork").Pool(jobs, initializer=_worker_start)

    def map(self, batches: Iterator[list[Any]]) -> Iterator[tuple[list[Applicant], Population]]:
        """Each block's applicants and bad rows, in order."""
        if self.pool is None:
            return map(_block, batches)
        done: Iterator[tuple[list[Applicant], Population]] = self.pool.imap(_block, batches)
        return done

    def close(self, abort: bool) -> None:
        """Let the workers end (their queue closed), or, when the comparison was given up, stop them."""
        global _SIDES
        _SIDES = None
        if self.pool is not None:
            if abort:
                self.pool.terminate()
            else:
                self.pool.close()
            self.pool.join()


def _worker_start() -> None:
    """In a worker: a terminate ends it at once (the command's own SIGTERM handler, inherited through the fork,
    would unwind it mid-read of the task queue, holding its lock), and Ctrl-C is the main process's to handle."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def in_sql(old: Policy, new: Policy, path: str, lang: str = "en") -> Iterator[Applicant]:
    """Every row compared as population_diff compares it in SQL, in order (rows refused by either version left
    out): the query's figures, and the row engine's for the rows it hands back."""
    import duckdb

    a, b = _Version(old, path, lang), _Version(new, path, lang)
    if not (_sql_can(a) and _sql_can(b)):
        raise _NotInSql("not a round the SQL engine reads")
    ids = clause_ids(old, new)
    width = len(a.source.layout)
    scratch = Population(path, "sql")
    con = duckdb.connect()
    try:
        _table(con, a, b, ids)
        paid = ", ".join([ident("o:" + cid) for cid in ids] + [ident("n:" + cid) for cid in ids])
        cursor = con.execute(f"SELECT n, hand, name, old_total, new_total, {paid}, "
                             f"{', '.join(f'c{i}' for i in range(width))} FROM whatif ORDER BY n")
        k = len(ids)
        while batch := cursor.fetchmany(4096):
            for r in batch:
                if r[1]:
                    yield from _by_rows(a, b, ids, [(r[0], *r[5 + 2 * k:])], scratch)
                else:
                    yield Applicant(r[0], r[2], r[3], r[4], True, tuple(zip(r[5:5 + k], r[5 + k:5 + 2 * k],
                                                                            strict=True)))
    finally:
        con.close()


def _by_rows(a: _Version, b: _Version, ids: Sequence[str], batch: list[Any], into: Population
             ) -> Iterator[Applicant]:
    for r in batch:
        cells = ["" if c is None else c for c in r[1:]]
        if skipped(cells):
            continue
        x = _compare(a, b, ids, r[0], cells, into)
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
           "row_by_row", "in_sql", "to_json"]
