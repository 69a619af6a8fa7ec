"""A round's pools shared in SQL, for the batch SQL engine (engine.rounds.sql.SqlRound): what the row engine's
second pass does (engine.rounds.run: Round._pooled, _share, _replay), over the round's table, byte for byte.

Once every row is in the round's table (the query's rows, the rows handed back, a recipient's later rows marked),
each pool's claims (an eligible pooled clause paying more than 0, of a row decided, st = 0) are shared by
engine.rounds.pools_sql (largest remainder to the money step, or in order of the pool's key, ties to the earlier
row). Per claim, the table gets what it is paid — its amount written as the row engine writes the Decimal the
sharing gives (engine.core.shares: the step's places when shared pro rata, the pool's or the claims' when cut in
order) — and its note, the pool's sentence (pool.in_full, pool.in_order, pool.shared) with each figure as
format_money writes it (`money_text`, a macro of this module); a claim an in_order pool cannot place (its key
missing) is undetermined, `missing:<order_by>`, with the pool.order_missing sentence. Each row changed gets its
total (the money rule over its eligible amounts), `complete` and its results line made again (CSV or JSON Lines,
as the row engine's writers make it): each part table is made again, joined to the shares by row and sorted back
into the rows' order (no UPDATE: DuckDB holds updates in memory, and a pooled round changes most rows).

The summary's `claimed` per clause is what was claimed before the pools (the amounts added up, before sharing),
`awarded` what they pay; each pool's Shares holds the claims' sum, what it pays (one figure) and whether it binds:
what the summary writers read. Every sum keeps the places the row engine's sum of Decimal texts would have.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Mapping, Sequence

from engine.core.format import format_money, format_percent
from engine.core.messages import t
from engine.core.shares import Shares
from engine.model.policy import Policy, Pool
from engine.model.pools import CLAIM_DATE as BY_CLAIM_DATE
from engine.rounds.pools_sql import decimal_scale, places, pools_sql
from engine.rounds.results import Summary
from engine.runtime.sql import CLAIM_DATE, ident, literal

MACROS = [
    # engine.core.format.format_money of a DECIMAL >= 0: thousands separated, at least two places (more when the
    # value has them), 元, and a whole number of 万 (or 亿) said again in 万元 (亿元)
    "CREATE MACRO money_plain(w, d) AS concat(CAST(w // d AS VARCHAR), CASE WHEN w % d <> 0 THEN "
    "concat('.', rtrim(lpad(CAST(w % d AS VARCHAR), CAST(length(CAST(d AS VARCHAR)) - 1 AS INTEGER), '0'), '0')) "
    "ELSE '' END)",
    "CREATE MACRO money_parts(w, f) AS concat(format('{:,}', w), '.', "
    "rpad(f, CAST(greatest(2, length(f)) AS INTEGER), '0'), '元', "
    "CASE WHEN f = '' AND w >= 100000000 AND w % 1000000 = 0 THEN concat('（', money_plain(w, 100000000), '亿元）') "
    "WHEN f = '' AND w >= 10000 AND w % 100 = 0 THEN concat('（', money_plain(w, 10000), '万元）') ELSE '' END)",
    "CREATE MACRO money_split(s) AS money_parts(CAST(split_part(s, '.', 1) AS BIGINT), "
    "rtrim(split_part(s, '.', 2), '0'))",
    "CREATE MACRO money_text(v) AS money_split(CAST(v AS VARCHAR))",
]

_SLOT = re.compile("\x01([a-z]+)\x01")


def sentence(key: str, lang: str, fixed: Mapping[str, str], varying: Mapping[str, str]) -> str:
    """SQL: the catalogue's sentence `key`, its `fixed` figures as given, each of `varying` the SQL given."""
    text = t(key, lang, **fixed, **{name: f"\x01{name}\x01" for name in varying})
    parts = _SLOT.split(text)
    codes = [literal(p) if i % 2 == 0 else varying[p] for i, p in enumerate(parts) if i % 2 or p]
    return "concat(" + ", ".join(codes) + ")" if len(codes) > 1 else (codes[0] if codes else "''")


def order_key(pool: Pool, policy: Policy) -> str | None:
    """SQL over the round's typed columns: an in_order pool's place key (engine.rounds.run.Worker.order_key)."""
    if pool.share != "in_order" or pool.order_by is None:
        return None
    if pool.order_by == BY_CLAIM_DATE and pool.order_by not in policy.facts:  # the round's date column
        return ident(CLAIM_DATE)
    return ident(pool.order_by)


def _exactly(value: Decimal | None, digits: int) -> Decimal:
    """`value` written with `digits` decimals (as a sum of Decimal texts of at most that many is)."""
    return Decimal(0) if value is None else value.quantize(Decimal(1).scaleb(-digits))


class PoolStep:
    """The pools of `policy` shared over the round's table `ev` (its columns as SqlRound.statement makes them:
    o<k>, a<k>, r<k>, n<k> per clause, key<n> per in_order pool), the rows changed put back (`put_back`)."""

    def __init__(self, policy: Policy, clause_ids: Sequence[str], lang: str, form: str, types: Mapping[str, str]):
        self.policy, self.ids, self.lang, self.form = policy, list(clause_ids), lang, form
        self.at = {cid: k for k, cid in enumerate(self.ids)}
        self.pools = list(policy.pools)
        self.pooled = [cid for p in self.pools for cid in p.clauses if cid in self.at]
        self.scales = {cid: decimal_scale(types[f"a{self.at[cid]}"]) for cid in self.pooled}
        self.step = policy.money.round_to
        # every amount shared, claimed or left of a pool, as one DECIMAL holding each exactly
        self.scale = max([*self.scales.values(), places(self.step), *(places(p.total) for p in self.pools)])
        self.money = f"DECIMAL(38,{self.scale})"
        self.places = places(self.step)  # a row's total, by the money rule
        self.found: dict[str, tuple[int, Decimal, bool]] = {}

    def run(self, con: Any, parts: Sequence[tuple[str, int]]) -> None:
        """The pools shared; each row with a claim (or a claim that cannot be placed) changed in the round's part
        tables `parts` (each its name and the rid of its first row)."""
        for macro in MACROS:
            con.execute(macro)
        self.share(con)
        self.said(con)
        self.rebuild(con, parts)

    def share(self, con: Any) -> None:
        """Table `shared`: every claim on a pool and every claim an in_order pool cannot place, shared
        (engine.rounds.pools_sql, pool by pool: each pool's keys are of its own type); `p`: the pool's place."""
        selects = []
        for n, pool in enumerate(self.pools):
            key = f"key{n}" if order_key(pool, self.policy) is not None else "CAST(NULL AS INTEGER)"
            claims = " UNION ALL ".join(
                f"SELECT rid AS \"row\", {literal(cid)} AS clause, o{self.at[cid]} AS outcome, "
                f"CAST(a{self.at[cid]} AS {self.money}) AS amount, {key} AS key FROM ev "
                f"WHERE st = 0 AND o{self.at[cid]} = 'eligible' AND a{self.at[cid]} > 0"
                for cid in pool.clauses if cid in self.at)
            if not claims:
                continue
            con.execute(f"CREATE TEMP TABLE claims{n} AS {claims}")
            shared = pools_sql([pool], self.step, f"claims{n}", self.scale, False)
            selects.append(f"SELECT *, {n} AS p FROM ({shared})")
        if not selects:
            selects.append("SELECT CAST(NULL AS BIGINT) AS \"row\", '' AS clause, '' AS pool, '' AS outcome, "
                           f"CAST(NULL AS {self.money}) AS amount, '' AS reason, FALSE AS claim, "
                           f"CAST(NULL AS {self.money}) AS claimed, CAST(NULL AS BIGINT) AS rank, "
                           f"CAST(0 AS {self.money}) AS claims, FALSE AS binds, 0 AS p WHERE FALSE")
        con.execute("CREATE TEMP TABLE shared AS " + " UNION ALL ".join(selects))
        for n in range(len(self.pools)):
            con.execute(f"DROP TABLE IF EXISTS claims{n}")
        for n, pool in enumerate(self.pools):
            row = con.execute("SELECT count(*) FILTER (claim), sum(claimed) FILTER (claim), bool_or(binds) "
                              f"FROM shared WHERE p = {n}").fetchone()
            assert row is not None
            count, claims, binds = row
            self.found[pool.id] = (count, claims if count else Decimal(0), bool(binds))

    def said(self, con: Any) -> None:
        """Table `said`: per row of `shared`, its amount as the row engine writes it (`text`: `places` decimals)
        and its note; pool by pool (each its own sentence and figures)."""
        selects = []
        for n, pool in enumerate(self.pools):
            if pool.id not in self.found:
                continue
            digits, note, missing = self.texts(pool)
            # the claims and those not placed apart: a sentence in a CASE's branch costs DuckDB three times as much
            selects.append(
                "SELECT \"row\", clause, p, outcome, amount, reason, claim, claimed, places, "
                "CASE WHEN places = 0 THEN split_part(CAST(amount AS VARCHAR), '.', 1) "
                "ELSE left(CAST(amount AS VARCHAR), strpos(CAST(amount AS VARCHAR), '.') + places) END AS text, "
                f"{note} AS note FROM (SELECT *, {digits} AS places FROM shared WHERE p = {n} AND claim)")
            if pool.share == "in_order":
                selects.append("SELECT \"row\", clause, p, outcome, amount, reason, claim, claimed, "
                               f"CAST(NULL AS INTEGER) AS places, CAST(NULL AS VARCHAR) AS text, {missing} AS note "
                               f"FROM shared WHERE p = {n} AND NOT claim")
        con.execute("CREATE TEMP TABLE said AS " + " UNION ALL ".join(selects))

    def texts(self, pool: Pool) -> tuple[str, str, str]:
        """SQL over a row of `shared`: how many places the row engine's Decimal of its amount has, its note, and
        the note of a claim the pool cannot place."""
        count, claims, binds = self.found[pool.id]
        scale_of = " ".join(f"WHEN {literal(cid)} THEN {self.scales[cid]}" for cid in pool.clauses if cid in self.at)
        own = f"(CASE clause {scale_of} END)"
        if not binds:  # paid as claimed: the claim's own text
            digits = own
        elif pool.share == "pro_rata":  # whole steps: step × n
            digits = str(places(self.step))
        else:  # in order: the claim as claimed, or what was left (the pool less the claims paid before it)
            earlier = (f"max(CASE WHEN amount = claimed THEN {own} END) OVER (PARTITION BY p ORDER BY rank "
                       "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)")
            digits = (f"CASE WHEN amount = claimed THEN {own} "
                      f"ELSE greatest({places(pool.total)}, COALESCE({earlier}, 0)) END")
        figures = {"total": format_money(pool.total), "claims": format_money(claims)}
        varying = {"claimed": "money_text(claimed)", "awarded": "money_text(amount)"}
        from engine.rounds.run import order_words

        order = order_words(pool, self.policy, self.lang)
        if not binds:
            note = sentence("pool.in_full", self.lang, figures, varying)
        elif pool.share == "in_order":
            note = sentence("pool.in_order", self.lang, {**figures, "order": order},
                            {**varying, "rank": "CAST(rank AS VARCHAR)"})
        else:
            ratio = format_percent((pool.total / claims).quantize(Decimal("0.0001"))) if claims else "100%"
            note = sentence("pool.shared", self.lang, {**figures, "ratio": ratio}, varying)
        return digits, note, literal(t("pool.order_missing", self.lang, pool=pool.title, order=order))

    def rebuild(self, con: Any, parts: Sequence[tuple[str, int]]) -> None:
        """Each part table made again with its rows' pooled clauses as shared, and each changed row's total,
        complete and (CSV, JSON Lines) line: joined to the shares by row and put back in the rows' order (ORDER BY
        rowid, which DuckDB sorts beyond its memory limit on disk), then in the part's place (the view `ev` reads
        the tables by name). No UPDATE: updates are held in memory until a checkpoint, and a pooled round changes
        most rows."""
        pooled = sorted({self.at[cid] for cid in self.pooled})
        # one row per row of the round with a claim, each pooled clause's claim side by side, joined by row: a
        # GROUP BY of the rows ran out of DuckDB's memory at a million rows, where a join spills to disk
        claim_rows = [f"s{k}.rw" for k in pooled]
        joined = " FULL JOIN ".join(
            f"(SELECT \"row\" AS rw, outcome, amount, text, reason, note FROM said WHERE clause = "
            f"{literal(self.ids[k])}) AS s{k}" + (f" ON s{k}.rw = COALESCE({', '.join(claim_rows[:i])})" if i else "")
            for i, k in enumerate(pooled))
        pivot = [f"COALESCE({', '.join(claim_rows)}) AS rid",
                 f"({' OR '.join(f's{k}.reason IS NOT NULL' for k in pooled)}) AS unplaced"]
        for k in pooled:
            pivot += [f"s{k}.rw IS NOT NULL AS h{k}", f"s{k}.outcome AS o{k}", f"s{k}.amount AS a{k}",
                      f"s{k}.text AS t{k}", f"s{k}.reason AS r{k}", f"s{k}.note AS n{k}"]
        con.execute(f"CREATE TEMP TABLE pv AS SELECT {', '.join(pivot)} FROM {joined}")
        con.execute("DROP TABLE shared")
        for column in ("note", "text"):  # what the summary reads of the shares is kept (summarise)
            con.execute(f"ALTER TABLE said DROP COLUMN {column}")
        replaced = {c for k in pooled for c in (f"o{k}", f"a{k}", f"r{k}", f"n{k}")} | {"total", "complete", "line"}
        paid = " + ".join(f"CASE WHEN o{k} = 'eligible' THEN COALESCE(a{k}, 0) ELSE 0 END"
                          for k in range(len(self.ids))) or "0"
        for table, base in parts:
            kinds = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())
            columns = list(kinds)
            inner = [f"{table}.rowid AS _at", "pv.rid IS NOT NULL AS _changed",
                     "COALESCE(pv.unplaced, FALSE) AS _unplaced"]
            for c in columns:
                if c not in replaced:
                    inner.append(f"{table}.{c}")
            for k in range(len(self.ids)):
                if k in pooled:
                    inner += [f"CASE WHEN pv.h{k} THEN pv.o{k} ELSE {table}.o{k} END AS o{k}",
                              f"CAST(CASE WHEN pv.h{k} THEN pv.a{k} ELSE {table}.a{k} END AS {kinds[f'a{k}']}) AS a{k}",
                              f"CASE WHEN pv.h{k} THEN pv.t{k} ELSE CAST({table}.a{k} AS VARCHAR) END AS t{k}",
                              f"CASE WHEN pv.h{k} AND pv.r{k} IS NOT NULL THEN pv.r{k} ELSE {table}.r{k} END AS r{k}",
                              f"CASE WHEN pv.h{k} THEN pv.n{k} ELSE {table}.n{k} END AS n{k}"]
                elif self.form != "parquet":
                    inner.append(f"CAST({table}.a{k} AS VARCHAR) AS t{k}")
            inner += [f"{table}.total AS total0", f"{table}.complete AS complete0"]
            if "line" in columns:
                inner.append(f"{table}.line AS line0")
            totals = (f"CASE WHEN _changed THEN CAST(ROUND({paid}, {self.places}) AS {kinds['total']}) ELSE total0 END "
                      "AS total, CASE WHEN _changed THEN complete0 AND NOT _unplaced ELSE complete0 END AS complete")
            rows = (f"SELECT *, {totals} FROM (SELECT {', '.join(inner)} FROM {table} LEFT JOIN pv "
                    f"ON {table}.rowid + {base} = pv.rid)")
            if "line" in columns:
                rows = f"SELECT *, CASE WHEN _changed THEN {self.line()} ELSE line0 END AS line FROM ({rows})"
            con.execute(f"CREATE TABLE {table}_shared AS SELECT {', '.join(columns)} FROM ({rows}) ORDER BY _at")
            con.execute(f"DROP TABLE {table}")
            con.execute(f"ALTER TABLE {table}_shared RENAME TO {table}")
        con.execute("DROP TABLE pv")

    def line(self) -> str:
        """SQL: a changed row's results line from the comma after its row number on, as the row engine's writers
        make it (engine.rounds.write: csv_row through SafeWriter, JsonlLines), its note and amount texts with it."""
        n = len(self.ids)
        if self.form == "csv":
            parts = ["COALESCE(code, '')", "csv_text(COALESCE(name, ''))", "csv_text(COALESCE(kinds, ''))",
                     "CAST(total AS VARCHAR)", "CASE WHEN complete THEN 'true' ELSE 'false' END"]
            for k in range(n):
                parts += [f"o{k}", f"COALESCE(t{k}, '')", f"csv_text(COALESCE(r{k}, ''))",
                          f"csv_text(COALESCE(n{k}, ''))"]
            return "concat(',', " + ", ',', ".join(parts) + ", ',')"
        kinds = ("CASE WHEN COALESCE(kinds, '') = '' THEN '[]' WHEN NOT contains(kinds, ';') THEN "
                 "concat('[', json_text(kinds), ']') ELSE concat('[', array_to_string(list_transform("
                 "string_split(kinds, ';'), lambda x: json_text(x)), ','), ']') END")
        parts = ["',\"credit_code\":'", "json_text(code)", "',\"applicant\":'", "json_text(name)",
                 "',\"recipient\":'", kinds, "',\"total\":\"'", "CAST(total AS VARCHAR)",
                 "'\",\"complete\":'", "CASE WHEN complete THEN 'true' ELSE 'false' END", "',\"clauses\":{'"]
        for k, cid in enumerate(self.ids):
            # `||` is NULL when a part is (concat skips it): an empty part is left out without a CASE, which costs more
            parts += [literal(("," if k else "") + json_string(cid) + ":{\"outcome\":\""), f"o{k}", "'\"'",
                      f"(',\"amount\":\"' || NULLIF(t{k}, '') || '\"')",
                      f"(',\"reason\":\"' || NULLIF(r{k}, '') || '\"')",  # a code, as SqlRound._line writes it
                      f"NULLIF(',\"note\":' || json_text(NULLIF(n{k}, '')), ',\"note\":null')", "'}'"]
        return "concat(" + ", ".join(parts) + ", '}}')"

    # -- the summary ------------------------------------------------------------------------------------
    def summarise(self, con: Any, summary: Summary) -> None:
        """The summary made from the round's table after sharing (SqlRound._summary) made the row engine's: each
        pooled clause's claims (before sharing) and awards, with the places the row engine's sums have, and
        each pool's Shares."""
        for n, pool in enumerate(self.pools):
            count, claims, binds = self.found.get(pool.id, (0, Decimal(0), False))
            row = con.execute("SELECT sum(amount), max(places), max(CASE clause "
                              + " ".join(f"WHEN {literal(c)} THEN {self.scales[c]}" for c in self.pooled)
                              + f" END) FROM said WHERE claim AND p = {n}").fetchone()
            assert row is not None
            paid, most, own = row
            if not count:
                summary.pools[pool.id] = Shares((), Decimal(0), pool.total, False)
                continue
            summary.pools[pool.id] = Shares((_exactly(paid, most),), _exactly(claims, own), pool.total, binds)
        for cid in self.pooled:
            k = self.at[cid]
            row = con.execute(
                "SELECT (SELECT sum(claimed - amount) FROM said WHERE claim AND clause = ?), "
                "(SELECT max(places) FROM said WHERE claim AND clause = ?), "
                "(SELECT count(*) FROM said WHERE claim AND clause = ?), "
                f"(SELECT count(*) FROM ev WHERE st = 0 AND o{k} = 'eligible' AND a{k} IS NOT NULL)",
                [cid, cid, cid]).fetchone()
            assert row is not None
            less, most, claims_count, paid_count = row
            s = summary.clauses[cid]
            if not claims_count:
                continue
            own = self.scales[cid]
            s.claimed = _exactly(s.awarded + less, own)
            awarded_places = max(most, own) if paid_count > claims_count else most
            s.awarded = _exactly(s.awarded, awarded_places)
        con.execute("DROP TABLE said")


def json_string(text: str) -> str:
    import json

    return str(json.encoder.encode_basestring(text))
