"""Pools shared in SQL (engine.rounds.pools_sql) pay every claim what the row engine's round pays it
(engine.rounds.run: Round._pooled gathers the claims, Round._share shares them), over generated claims: ties in
the remainders and in the order, pools of nothing, pools larger than the claims, one step left over, claims the
pool cannot place."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.model.policy import Pool
from engine.rounds.pools_sql import COLUMNS, pools_sql, share_rows
from engine.rounds.results import ClauseSummary, Summary
from engine.rounds.run import Round, Settings

duckdb = pytest.importorskip("duckdb")

CLAUSES = ("a", "b", "c")
OUTCOMES = ("eligible", "eligible", "eligible", "ineligible", "undetermined")


def _python(pools: list[Pool], step: Decimal, rows: list[dict[str, tuple[str, Decimal | None, Any]]]
            ) -> dict[tuple[int, str], tuple[str, Decimal | None, bool, int | None, Decimal, bool]]:
    """Each (row, clause) of a pool as the row engine's round leaves it: outcome, amount, whether it claimed, its
    rank (in order), the pool's claims, whether they bind."""
    out: dict[tuple[int, str], Any] = {}
    claims: dict[str, list[tuple[int, int, Decimal, Any]]] = {p.id: [] for p in pools}
    for n, row in enumerate(rows):
        for pool in pools:
            for cid in pool.clauses:
                if cid not in row:
                    continue
                outcome, amount, key = row[cid]
                if pool.share == "in_order" and outcome == "eligible" and amount and amount > 0 and key is None:
                    # engine.rounds.run.Worker.outcomes: the pool cannot place it, so it waits
                    outcome, amount = "undetermined", None
                out[(n, cid)] = [outcome, amount, False, None]
                if outcome == "eligible" and amount and amount > 0:
                    claims[pool.id].append((n, CLAUSES.index(cid), amount, key))
    engine = Round(SimpleNamespace(money=SimpleNamespace(round_to=step), facts={}, pools=pools),  # type: ignore[arg-type]
                   None, Settings("en", "csv"), {})  # type: ignore[arg-type]
    summary = Summary(list(CLAUSES), {cid: ClauseSummary() for cid in CLAUSES})
    figures = {}
    for pool in pools:
        awards = engine._share(pool, claims[pool.id], summary)
        shares = summary.pools[pool.id]
        for k, (n, i, _claimed, _key) in enumerate(claims[pool.id]):
            cell = out[(n, CLAUSES[i])]
            cell[1], cell[2] = awards[(n, i)][0], True
            cell[3] = shares.ranks[k] if shares.ranks else None
        figures[pool.id] = (shares.claims, shares.binds)
    result = {}
    for (n, cid), (outcome, amount, claimed, rank) in out.items():
        pool = next(p for p in pools if cid in p.clauses)
        result[(n, cid)] = (outcome, amount, claimed, rank, *figures[pool.id])
    return result


_CON: list[Any] = []  # one connection for the module's examples


def _sql(pools: list[Pool], step: Decimal, rows: list[dict[str, tuple[str, Decimal | None, Any]]]
         ) -> dict[tuple[int, str], tuple[str, Decimal | None, bool, int | None, Decimal, bool]]:
    if not _CON:
        _CON.append(duckdb.connect())
    con = _CON[0]
    con.execute('CREATE OR REPLACE TABLE claims ("row" BIGINT, clause VARCHAR, outcome VARCHAR, '
                "amount DECIMAL(18,2), key INTEGER)")
    values = [(n, cid, outcome, amount, key) for n, row in enumerate(rows) for cid, (outcome, amount, key) in row.items()]
    if values:
        con.executemany("INSERT INTO claims VALUES (?, ?, ?, ?, ?)", values)
    found = share_rows(con, pools, step)
    at = {c: i for i, c in enumerate(COLUMNS)}
    return {(r[at["row"]], r[at["clause"]]): (r[at["outcome"]], r[at["amount"]], r[at["claim"]], r[at["rank"]],
                                              r[at["claims"]], r[at["binds"]]) for r in found}


_fen = st.integers(min_value=0, max_value=5_000).map(lambda f: Decimal(f) / 100)
_cell = st.tuples(st.sampled_from(OUTCOMES), st.one_of(st.none(), _fen),
                  st.one_of(st.none(), st.integers(min_value=0, max_value=3)))  # few keys: ties in the order
_rows = st.lists(st.dictionaries(st.sampled_from(CLAUSES), _cell, max_size=3), max_size=25)


@st.composite
def _pools(draw: Any) -> list[Pool]:
    split = draw(st.integers(min_value=1, max_value=3))  # the first `split` clauses share a pool, the rest another
    first, second = CLAUSES[:split], CLAUSES[split:]
    out = []
    for n, clauses in enumerate((first, second)):
        if not clauses:
            continue
        order = list(clauses)
        if draw(st.booleans()):
            order.reverse()  # a pool's clauses listed in another order than the policy's
        total = Decimal(draw(st.integers(min_value=0, max_value=20_000))) / 100  # 0: a pool of nothing
        share = draw(st.sampled_from(("pro_rata", "in_order")))
        out.append(Pool(f"p{n}", tuple(order), total, share, "rank" if share == "in_order" else None))
    return out


def _check(pools: list[Pool], step: Decimal, rows: list[dict[str, tuple[str, Decimal | None, Any]]]) -> None:
    assert _sql(pools, step, rows) == _python(pools, step, rows)


@settings(max_examples=60, deadline=None)
@given(_pools(), st.sampled_from((Decimal("0.01"), Decimal("1"))), _rows)
@example([Pool("p", ("a", "b"), Decimal("0.05"), "pro_rata")], Decimal("0.01"),
         [{"a": ("eligible", Decimal("0.01"), None)}] * 6)  # six equal claims, five fen: ties, the earlier wins
@example([Pool("p", ("b", "a"), Decimal("1.00"), "pro_rata")], Decimal("0.01"),
         [{"a": ("eligible", Decimal("1.00"), None), "b": ("eligible", Decimal("2.00"), None)}])  # one fen left
@example([Pool("p", ("a",), Decimal("500"), "pro_rata")], Decimal("0.01"),
         [{"a": ("eligible", Decimal("3.10"), None)}, {"a": ("ineligible", None, None)}])  # the pool is larger
@example([Pool("p", ("a",), Decimal("0"), "in_order", "rank")], Decimal("0.01"),
         [{"a": ("eligible", Decimal("3.10"), 1)}, {"a": ("eligible", Decimal("1"), None)}])  # nothing to share
@example([Pool("p", ("a",), Decimal("10"), "in_order", "rank")], Decimal("0.01"),
         [{"a": ("eligible", Decimal("8"), 1)}, {"a": ("eligible", Decimal("8"), 1)}])  # one key: the earlier first
@example([Pool("p", ("b", "a"), Decimal("0.01"), "pro_rata")], Decimal("0.01"),
         [{"a": ("eligible", Decimal("0.01"), None), "b": ("eligible", Decimal("0.01"), None)}])  # the pool's order
@example([Pool("p", ("a",), Decimal("2.50"), "pro_rata")], Decimal("1"),
         [{"a": ("eligible", Decimal("1.90"), None)}, {"a": ("eligible", Decimal("0.90"), None)}])  # off the grid
@example([Pool("p", ("a",), Decimal("1.50"), "pro_rata")], Decimal("1"),
         [{"a": ("eligible", Decimal("0.90"), None)}] * 2)  # every claim below one step, together above the pool
def test_shares_as_the_round_shares_them(pools: list[Pool], step: Decimal,
                                         rows: list[dict[str, tuple[str, Decimal | None, Any]]]) -> None:
    _check(pools, step, rows)


def test_a_pool_shared_by_largest_remainder_adds_up_to_the_pool() -> None:
    pool = Pool("p", ("a",), Decimal("100.00"), "pro_rata")
    rows = [{"a": ("eligible", Decimal(x), None)} for x in ("33.33", "33.33", "33.34", "0.01", "200")]
    shared = _sql([pool], Decimal("0.01"), rows)
    paid = [shared[(n, "a")][1] for n in range(len(rows))]
    assert sum(paid) == Decimal("100.00") and all(p is not None and p.as_tuple().exponent == -2 for p in paid)
    assert shared == _python([pool], Decimal("0.01"), rows)


def test_an_in_order_claim_without_its_key_waits() -> None:
    pool = Pool("p", ("a",), Decimal("10"), "in_order", "rank")
    rows = [{"a": ("eligible", Decimal("8"), 2)}, {"a": ("eligible", Decimal("8"), None)},
            {"a": ("eligible", Decimal("8"), 1)}]
    shared = _sql([pool], Decimal("0.01"), rows)
    assert shared[(1, "a")][:3] == ("undetermined", None, False)
    assert [shared[(n, "a")][1] for n in (2, 0)] == [Decimal("8"), Decimal("2")]  # key 1 first, then what is left
    assert shared == _python([pool], Decimal("0.01"), rows)


def test_no_pools_no_rows() -> None:
    con = duckdb.connect()
    assert con.execute(pools_sql([], Decimal("0.01"))).fetchall() == []
