"""Budget pools: declared in the policy, shared exact to the fen, summing to the pool, the same every time."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import CompileError, evaluate, load_policy, render_json, render_text
from engine.core.shares import in_order, pro_rata
from engine.model.facts import check_facts

POOLED = ROOT / "tests" / "fixtures" / "rounds" / "pooled.yaml"
FEN = Decimal("0.01")
D = Decimal


def test_pro_rata_by_largest_remainder():
    shares = pro_rata(D("100.00"), [D("50.00")] * 3, FEN)
    assert shares.awarded == (D("33.34"), D("33.33"), D("33.33"))  # the extra fen goes to the earlier claim
    assert shares.paid == D("100.00") and shares.binds


def test_the_issues_example():
    # claimed 120,000 of 6,000,000 claims for a pool of 5,000,000: 83.33…% → 100,000.00
    claims = [D("120000.00"), D("5880000.00")]
    shares = pro_rata(D("5000000.00"), claims, FEN)
    assert shares.awarded == (D("100000.00"), D("4900000.00"))


def test_a_pool_that_does_not_bind_pays_every_claim():
    shares = pro_rata(D("1000.00"), [D("200.00"), D("300.00")], FEN)
    assert shares.awarded == (D("200.00"), D("300.00")) and not shares.binds


@pytest.mark.parametrize("pool, claims, paid", [
    ("2.50", ["1.90", "0.90"], ["1", "0"]),  # claims off a 1元 grid: their whole steps fit the pool, nothing more
    ("1.50", ["0.90", "0.90"], ["0", "0"]),  # every claim below one step: none can be paid a whole step
    ("1.00", ["1.00", "1.00"], ["1", "0"]),  # on the grid: the one step to the earlier claim
])
def test_claims_off_the_grid_are_never_paid_more_than_claimed(pool, claims, paid):
    shares = pro_rata(D(pool), [D(c) for c in claims], D("1"))
    assert shares.awarded == tuple(D(p) for p in paid)
    assert all(s <= D(c) for s, c in zip(shares.awarded, claims, strict=True))


def test_in_order_pays_in_full_until_spent():
    shares = in_order(D("250000"), [D("100000")] * 3, ["2024-03-02", "2024-03-01", "2024-03-03"])
    assert shares.awarded == (D("100000"), D("100000"), D("50000")) and shares.ranks == (2, 1, 3)


claims_strategy = st.lists(st.integers(min_value=0, max_value=10**10).map(lambda n: D(n) / 100), min_size=1,
                           max_size=60)


@settings(max_examples=300, deadline=None)
@given(claims=claims_strategy, pool=st.integers(min_value=1, max_value=10**11).map(lambda n: D(n) / 100))
def test_pro_rata_property(claims, pool):
    shares = pro_rata(pool, claims, FEN)
    total = sum(claims, D(0))
    assert all(s == s.quantize(FEN) for s in shares.awarded)  # whole fen
    assert all(D(0) <= s <= c for s, c in zip(shares.awarded, claims, strict=True))  # never more than claimed
    if total > pool:
        assert shares.paid == pool  # exactly the pool, to the fen
        for s, c in zip(shares.awarded, claims, strict=True):
            assert abs(s - c * pool / total) < FEN  # within a fen of the exact quota
    else:
        assert shares.awarded == tuple(claims)
    assert pro_rata(pool, claims, FEN) == shares  # deterministic
    # Equal claims differ by at most one fen.
    by_claim: dict[Decimal, set[Decimal]] = {}
    for s, c in zip(shares.awarded, claims, strict=True):
        by_claim.setdefault(c, set()).add(s)
    assert all(max(v) - min(v) <= FEN for v in by_claim.values())


@settings(max_examples=200, deadline=None)
@given(claims=claims_strategy, pool=st.integers(min_value=1, max_value=10**11).map(lambda n: D(n) / 100),
       data=st.data())
def test_in_order_property(claims, pool, data):
    keys = data.draw(st.lists(st.integers(0, 5), min_size=len(claims), max_size=len(claims)))
    shares = in_order(pool, claims, keys)
    assert shares.paid == min(pool, sum(claims, D(0)))
    assert all(D(0) <= s <= c for s, c in zip(shares.awarded, claims, strict=True))
    # No claim is cut while one after it is paid anything.
    order = sorted(range(len(claims)), key=lambda i: (keys[i], i))
    cut = [i for i in order if shares.awarded[i] < claims[i]]
    if cut:
        assert all(shares.awarded[i] == 0 for i in order[order.index(cut[0]) + 1:])


def test_the_pool_compiles_and_a_single_evaluation_says_it_applies():
    policy = load_policy(str(POOLED))
    assert [p.id for p in policy.pools] == ["promotion-fund", "school-fund"]
    assert policy.pools[0].total == D("300000") and policy.pools[1].order_by == "filed_on"
    applicant = check_facts(policy, {"recipient": "seller", "area": "莲都区", "date": "2024-05-01", "granted": {},
                                     "facts": {"exporter": True, "promotion": "30万元", "exhibition": 0}})
    result = evaluate(policy, applicant)
    assert result.clause("1").amount == D("150000.00")  # the claim, uncapped by the pool
    text = render_text(result)
    assert "推广补助资金" in text and "此处为申报额" in text
    assert "paid from pool" in render_text(result, "en")
    data = json.loads(render_json(result))
    clauses = {c["id"]: c for c in data["clauses"]}
    assert clauses["1"]["amount"] == "150000.00"
    assert clauses["1"]["pool"] == {"id": "promotion-fund", "total": "300000", "share": "pro_rata", "claim_only": True}


@pytest.mark.parametrize("change, message", [
    ('clauses: ["1", "9"]', "'9'"),
    ('clauses: ["1", "2"]\n    order_by: filed_on', "order_by"),
    ('clauses: ["1", "2"]\n    total: 0.001', "0.01"),
])
def test_pool_mistakes_are_located(tmp_path, change, message):
    text = POOLED.read_text(encoding="utf-8").replace('clauses: ["1", "2"]', change, 1)
    if "total: 0.001" in change:
        text = text.replace("    total: 30万元\n", "", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(CompileError) as caught:
        load_policy(str(bad))
    assert message in str(caught.value) and "bad.yaml:" in str(caught.value)


def test_a_clause_in_two_pools(tmp_path):
    text = POOLED.read_text(encoding="utf-8").replace('clauses: ["3"]', 'clauses: ["3", "1"]')
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(CompileError, match="promotion-fund"):
        load_policy(str(bad))


def test_the_ledgers_replay_shares_a_tie_as_the_round_does():
    # one applicant claims a fen from each of two clauses of a one-fen pool: the round gives it to the claim first
    # in the pool's own order (b), whatever order the result lists its clauses in; the replay must agree
    from types import SimpleNamespace

    from engine.model.pools import Pool, share_round

    pool = Pool("p", ("b", "a"), D("0.01"), "pro_rata", None)
    clauses = [SimpleNamespace(clause=SimpleNamespace(id=cid), outcome=SimpleNamespace(value="eligible"),
                               amount=D("0.01")) for cid in ("a", "b")]
    paid = share_round([pool], {}, FEN, [(None, SimpleNamespace(clauses=clauses))])
    assert paid == [{"a": D("0.00"), "b": D("0.01")}]
