"""Budget pools: a total a round of applicants shares for a clause or group of clauses (the `pools:` section).

"本项奖励资金总额不超过X万元，申报总额超出的按比例核减": the claims of a whole round on the pooled clauses are
added up, and when they exceed the pool, the pool is shared out (engine.core.shares does the sharing). One
applicant's evaluation cannot know the round, so it pays the claim and says that a pool applies.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from engine.core.amounts import AmountSyntaxError, parse_amount
from engine.core.errors import ProblemList
from engine.core.messages import msg
from engine.core.shares import in_order, pro_rata
from engine.core.suggest import did_you_mean, one_of
from engine.model.policy import Clause, Fact
from engine.model.policy import Pool as Pool  # re-exported: the compiled pool is part of the compiled policy
from engine.model.policy import pool_of as pool_of  # re-exported

if TYPE_CHECKING:
    from engine.syntax.loader import SourceMap

CLAIM_DATE = "claim_date"  # order_by: the claim's date (a facts file's date:), unless a fact is so named
def _ordered() -> list[str]:
    """The kinds of fact a pool may be ordered by (engine.model.kinds: those whose values are ordered)."""
    from engine.model.kinds import KINDS

    return [k for k, kind in KINDS.items() if kind.ordered]


def compile_pools(specs: object, source: SourceMap, problems: ProblemList, clauses: Sequence[Clause],
                  facts: Mapping[str, Fact], step: Decimal, readings: Sequence[str] = ()) -> tuple[Pool, ...]:
    """The pools of a schema-valid `pools:` list; what the schema cannot see is added to `problems`."""
    if not isinstance(specs, list):
        return ()
    by_id = {c.id: c for c in clauses}
    seen: dict[str, str] = {}  # clause id -> the pool it is in
    ids: set[str] = set()
    out: list[Pool] = []

    def error(index: int, message: str, where: tuple[str | int, ...], suggestion: str | None = None) -> None:
        problems.add(source.problem(message, ("pools", index) + where, suggestion=suggestion))

    for index, spec in enumerate(specs):
        pool_id = spec["id"]
        if pool_id in ids:
            error(index, msg("pool.duplicate", id=pool_id), ("id",))
        ids.add(pool_id)
        for i, cid in enumerate(spec["clauses"]):
            clause = by_id.get(cid)
            if clause is None:
                error(index, msg("pool.unknown_clause", pool=pool_id, id=cid), ("clauses", i),
                      did_you_mean(cid, list(by_id)))
            elif clause.award is None:
                error(index, msg("pool.no_award", pool=pool_id, id=cid), ("clauses", i))
            elif cid in seen:
                error(index, msg("pool.two_pools", id=cid, first=seen[cid], second=pool_id), ("clauses", i))
            seen.setdefault(cid, pool_id)
        try:
            total = parse_amount(spec["total"])
        except AmountSyntaxError as exc:
            error(index, exc.message, ("total",))
            total = Decimal(0)
        if total <= 0:
            error(index, msg("pool.total_positive", pool=pool_id), ("total",))
        elif total % step:
            error(index, msg("pool.total_grid", pool=pool_id, step=step), ("total",))
        order_by = spec.get("order_by")
        if spec["share"] == "in_order":
            if order_by is None:
                error(index, msg("pool.order_by_needed", pool=pool_id), ("share",))
            elif order_by != CLAIM_DATE or order_by in facts:
                fact = facts.get(order_by)
                if fact is None:
                    error(index, msg("pool.order_by_unknown", pool=pool_id, name=order_by), ("order_by",),
                          did_you_mean(order_by, [*facts, CLAIM_DATE]))
                elif not fact.kind.ordered:
                    error(index, msg("pool.order_by_type", pool=pool_id, name=order_by, type=fact.type,
                              types=one_of(_ordered())), ("order_by",))
        elif order_by is not None:
            error(index, msg("pool.order_by_unused", pool=pool_id), ("order_by",))
        reading = spec.get("reading")
        if reading is not None and reading not in readings:
            error(index, msg("compile.unknown_reading", id=reading), ("reading",),
                  did_you_mean(reading, list(readings)) or msg("compile.unknown_reading.hint"))
        out.append(Pool(pool_id, tuple(spec["clauses"]), total, spec["share"], order_by, spec.get("label"),
                        spec.get("text"), source.locate(("pools", index))[1], reading))
    return tuple(out)


def order_key(pool: Pool, facts: Mapping[str, Fact], applicant: Any) -> Any:
    """A claim's place in an in_order pool: its claim date or the fact named by order_by; None if not known."""
    name = pool.order_by
    if name == CLAIM_DATE and name not in facts:
        return applicant.date
    return applicant.values.get(name) if name is not None else None


def share_round(pools: Sequence[Pool], facts: Mapping[str, Fact], step: Decimal,
                round_: Sequence[tuple[Any, Any]]) -> list[dict[str, Decimal | None]]:
    """A round's pools shared out, as `policy batch` shares them: for each (applicant, result) of the round, in
    the round's order, each pooled clause's id with what its pool pays it. None: the clause claims nothing from
    the pool (not eligible, or an in_order pool that cannot place it: its order fact is missing)."""
    paid: list[dict[str, Decimal | None]] = [{} for _ in round_]
    for pool in pools:
        claims: list[tuple[int, str, Decimal, Any]] = []
        for n, (applicant, result) in enumerate(round_):
            by_id = {r.clause.id: r for r in result.clauses}
            for r in (by_id[cid] for cid in pool.clauses if cid in by_id):  # the pool's order, as a round's
                paid[n][r.clause.id] = None
                if r.outcome.value != "eligible" or not r.amount or r.amount <= 0:
                    continue
                key = order_key(pool, facts, applicant) if pool.share == "in_order" else None
                if pool.share == "in_order" and key is None:
                    continue  # no place in the order: undetermined, paid nothing
                claims.append((n, r.clause.id, r.amount, key))
        amounts = [c[2] for c in claims]
        shares = (in_order(pool.total, amounts, [c[3] for c in claims]) if pool.share == "in_order"
                  else pro_rata(pool.total, amounts, step))
        for (n, cid, _claim, _key), awarded in zip(claims, shares.awarded, strict=True):
            paid[n][cid] = awarded
    return paid
