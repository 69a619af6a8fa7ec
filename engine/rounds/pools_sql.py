"""A round's pools shared in SQL (DuckDB), exactly as the row engine shares them (engine.rounds.run:
Round._pooled and Round._share, over engine.core.shares), to the money step, by largest remainder.

`pools_sql(pools, step, claims)` is a SELECT over a relation `claims` with one row per applicant row and pooled
clause (rows for other clauses are left out):

- `"row"` (BIGINT): the applicant's place in the round (its row number); claims are ordered by it, then by the
  clause's place in its pool's `clauses` (as Round._pooled gathers them): the earlier claim wins a tie;
- `clause` (VARCHAR): the clause's id;
- `outcome` (VARCHAR): the clause's outcome for that row (eligible, ineligible, undetermined, …);
- `amount` (DECIMAL): what the clause pays the row before the pool (its cap, its rounding applied), NULL when
  it pays nothing;
- `key`: the row's place in an in_order pool (the `order_by` fact's value, or the claim date), of any type that
  orders as its Python value does (DATE, a number, DECIMAL); NULL when not known. Unused for pro_rata pools.

A claim is an eligible clause paying more than 0. An in_order pool cannot place a claim without a key: that
clause is undetermined (`missing:<order_by>`), pays nothing and claims nothing, as the row engine says
(engine.rounds.run.Worker.outcomes). Undetermined, ineligible and not-applicable clauses claim nothing and are
returned as they came.

It returns, per input row of a pooled clause: `"row"`, `clause`, `pool` (the pool's id), `outcome`, `amount` (what
the pool pays the claim, or the input's amount when it is not a claim), `reason` (`missing:<order_by>` for a
claim an in_order pool cannot place, else NULL: the input's reason stands), `claim` (BOOLEAN: a claim on the
pool), `claimed` (the claim before sharing, NULL when not a claim), `rank` (in_order: the claim's place in the
order, 1 paid first; NULL otherwise), `claims` (the pool's claims added up), `binds` (BOOLEAN: the claims exceed
the pool, so the pool shares it out).

Pro rata, as engine.core.shares.pro_rata: each claim in whole steps u = floor(claim / step), the pool in whole
steps P = floor(total / step), W = sum of u; when W ≤ P (claims off the grid) each gets its u steps, else
each gets floor(u × P / W) steps, and the P − sum of those steps
left over go one each to the claims with the largest remainders u × P mod W, ties to the earlier claim. In
integers (HUGEINT) throughout: nothing is rounded twice, and the shares add up to the pool exactly. When the
claims do not exceed the pool, each claim is paid as claimed. In order, as engine.core.shares.in_order: claims
paid in full by key, then the earlier claim, until the pool is spent; the claim that meets the end gets what is
left.

`share_rows(con, pools, step, claims)` runs it on a DuckDB connection and returns the rows as Python values.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Sequence

from engine.model.policy import Pool
from engine.runtime.sql import ident, literal

COLUMNS = ("row", "clause", "pool", "outcome", "amount", "reason", "claim", "claimed", "rank", "claims", "binds")
_ROW = ident("row")


def places(value: Decimal) -> int:
    """The decimal places `value` is written with (0 for a whole number)."""
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def decimal_scale(kind: str) -> int:
    """The scale of a DuckDB column type (`DECIMAL(18,2)`: 2); 0 for another type."""
    return int(kind.rstrip(")").rsplit(",", 1)[1]) if kind.startswith("DECIMAL") else 0


def _one(pool: Pool, step: Decimal, claims: str, n: int, scale: int) -> tuple[list[str], str]:
    """The CTEs sharing one pool, and the name of the last."""
    p = f"pool{n}"
    digits = places(step)
    money = f"DECIMAL(38,{max(scale, digits)})"  # every amount out, claimed or shared, of one type
    scale = 10 ** digits
    step_units = int(step * scale)  # the step in units of 10^-digits: a whole number
    at = " ".join(f"WHEN {literal(cid)} THEN {i}" for i, cid in enumerate(pool.clauses))
    ids = ", ".join(literal(cid) for cid in pool.clauses)
    ordered = pool.share == "in_order"
    total = literal(pool.total)
    eligible = "(outcome = 'eligible' AND COALESCE(amount > 0, FALSE))"
    placed = f"{eligible} AND key IS NOT NULL" if ordered else eligible
    ctes = [
        f"{p}_in AS (SELECT {_ROW}, clause, outcome, amount, key, CASE clause {at} END AS seat, "
        f"{eligible} AS eligible, ({placed}) AS claim FROM {claims} WHERE clause IN ({ids}))",
    ]
    if ordered:
        order = f"key, {_ROW}, seat"
        ctes.append(
            f"{p}_c AS (SELECT {_ROW}, clause, amount, "
            f"row_number() OVER (ORDER BY {order}) AS rank, "
            f"COALESCE(SUM(amount) OVER (ORDER BY {order} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) "
            f"AS before, SUM(amount) OVER () AS claims FROM {p}_in WHERE claim)")
        share = (f"CAST(CASE WHEN c.claims <= {total} THEN c.amount "
                 f"ELSE LEAST(c.amount, GREATEST({total} - c.before, 0)) END AS {money})")
        rank = "c.rank"
    else:
        pool_units = int(pool.total // step)  # engine.core.shares: the pool in whole steps, rounded down
        units = f"CAST(FLOOR(amount * {scale}) AS HUGEINT) // {step_units}"
        ctes += [
            f"{p}_u AS (SELECT {_ROW}, clause, seat, amount, {units} AS u FROM {p}_in WHERE claim)",
            f"{p}_w AS (SELECT *, SUM(amount) OVER () AS claims, SUM(u) OVER () AS whole FROM {p}_u)",
            # claims off the grid whose whole steps fit the pool (W <= P) get those steps, nothing more
            f"{p}_f AS (SELECT *, CASE WHEN whole > {pool_units} THEN u * {pool_units} // whole ELSE u END AS f, "
            f"CASE WHEN whole > {pool_units} THEN u * {pool_units} % whole ELSE 0 END AS r FROM {p}_w)",
            # the steps left over, one each to the largest remainders, ties to the earlier claim
            f"{p}_c AS (SELECT *, CASE WHEN whole > {pool_units} THEN {pool_units} - SUM(f) OVER () ELSE 0 END "
            "AS left_over, "
            f"row_number() OVER (ORDER BY r DESC, {_ROW}, seat) AS place FROM {p}_f)",
        ]
        steps = "(c.f + CASE WHEN c.place <= c.left_over THEN 1 ELSE 0 END)"
        share = (f"CASE WHEN c.claims <= {total} THEN CAST(c.amount AS {money}) "
                 f"ELSE CAST(CAST({steps} AS DECIMAL(38,0)) * {literal(step)} AS {money}) END")
        rank = "CAST(NULL AS BIGINT)"
    missing = literal(f"missing:{pool.order_by}")
    unplaced = "(i.eligible AND NOT i.claim)"  # in_order, no key: undetermined, as the row engine says
    ctes.append(
        f"{p} AS (SELECT i.{_ROW}, i.clause, {literal(pool.id)} AS pool, "
        f"CASE WHEN {unplaced} THEN 'undetermined' ELSE i.outcome END AS outcome, "
        f"CAST(CASE WHEN {unplaced} THEN NULL WHEN i.claim THEN {share} ELSE i.amount END AS {money}) AS amount, "
        f"CASE WHEN {unplaced} THEN {missing} END AS reason, i.claim, "
        f"CAST(CASE WHEN i.claim THEN i.amount END AS {money}) AS claimed, "
        f"CASE WHEN i.claim THEN {rank} END AS rank, "
        f"COALESCE(MAX(c.claims) OVER (), 0) AS claims, COALESCE(MAX(c.claims) OVER (), 0) > {total} AS binds "
        f"FROM {p}_in i LEFT JOIN {p}_c c ON i.{_ROW} = c.{_ROW} AND i.clause = c.clause)")
    return ctes, p


def pools_sql(pools: Sequence[Pool], step: Decimal, claims: str = "claims", scale: int = 2, ordered: bool = True
              ) -> str:
    """The SELECT sharing every pool among the claims in relation `claims` (see the module's docstring for the
    columns it reads and returns), in the order of the rows, then of the pools, then of each pool's clauses.
    `step`: the money step (the policy's money.round_to); `scale`: the most decimals an amount has (amounts out
    are DECIMAL(38, the larger of it and the step's)); `ordered`: False leaves the rows in any order (no sort)."""
    if not pools:
        return ("SELECT " + ", ".join(f"CAST(NULL AS VARCHAR) AS {ident(c)}" for c in COLUMNS) + " WHERE FALSE")
    ctes: list[str] = []
    names = []
    for n, pool in enumerate(pools):
        more, name = _one(pool, step, claims, n, scale)
        ctes += more
        names.append(name)
    cols = ", ".join(ident(c) for c in COLUMNS)
    union = " UNION ALL ".join(f"SELECT {cols}, {n} AS pool_at FROM {name}" for n, name in enumerate(names))
    order = " ".join(f"WHEN {literal(cid)} THEN {i}" for pool in pools for i, cid in enumerate(pool.clauses))
    text = f"WITH {', '.join(ctes)} SELECT {cols} FROM ({union})"
    return text + (f" ORDER BY {_ROW}, pool_at, CASE clause {order} END" if ordered else "")


def share_rows(con: Any, pools: Sequence[Pool], step: Decimal, claims: str = "claims", scale: int = 2
               ) -> list[tuple[Any, ...]]:
    """pools_sql run on the DuckDB connection `con`: its rows, as tuples of COLUMNS."""
    return [tuple(r) for r in con.execute(pools_sql(pools, step, claims, scale)).fetchall()]


__all__ = ["COLUMNS", "decimal_scale", "places", "pools_sql", "share_rows"]
