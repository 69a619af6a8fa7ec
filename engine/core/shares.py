"""Sharing a budget pool among a round's claims: exact to the money step, summing exactly to the pool.

Pro rata: each claim's exact quota is claim × pool / claims; every claim gets its quota rounded down to the
step (the fen), and the steps left over go one each to the claims with the largest remainders, ties to the
earlier claim (largest remainder method). So the shares add up to the pool exactly, no share exceeds its
claim or differs from its quota by a whole step, and the same claims in the same order always share alike.
All arithmetic is on whole numbers of steps: nothing is rounded twice.

In order: claims are paid in full, smallest order key first (ties: the earlier claim), until the pool is spent;
the claim that meets the end gets what is left, later claims nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Sequence


@dataclass(frozen=True)
class Shares:
    """What a pool gives each claim, with the round's figures the explanation shows."""

    awarded: tuple[Decimal, ...]
    claims: Decimal  # the sum of the claims
    total: Decimal  # the pool
    binds: bool  # the claims exceed the pool
    ranks: tuple[int, ...] = ()  # in order: each claim's place (1 is paid first)

    @property
    def paid(self) -> Decimal:
        return sum(self.awarded, Decimal(0))


def _units(amount: Decimal, step: Decimal) -> int:
    """An amount as a whole number of steps; amounts off the grid are rounded down (never pays more)."""
    return int(amount // step)


def pro_rata(total: Decimal, claims: Sequence[Decimal], step: Decimal) -> Shares:
    """The pool shared in proportion to the claims, by largest remainder."""
    claimed = sum(claims, Decimal(0))
    if claimed <= total:
        return Shares(tuple(claims), claimed, total, False)
    units = [_units(c, step) for c in claims]
    pool, whole = _units(total, step), sum(units)
    if whole <= pool:  # claims off the grid: their whole steps fit the pool (none at all, when each is below one)
        return Shares(tuple(u * step for u in units), claimed, total, True)
    floors = [u * pool // whole for u in units]
    left = pool - sum(floors)
    # The claims with the largest remainders (u * pool mod whole) get one step more; ties go to the earlier claim.
    order = sorted(range(len(units)), key=lambda i: (-(units[i] * pool % whole), i))
    for i in order[:left]:
        floors[i] += 1
    return Shares(tuple(f * step for f in floors), claimed, total, True)


def in_order(total: Decimal, claims: Sequence[Decimal], keys: Sequence[Any]) -> Shares:
    """The pool paid out to claims in full, smallest key first (ties: the earlier claim), until it is spent."""
    claimed = sum(claims, Decimal(0))
    order = sorted(range(len(claims)), key=lambda i: (keys[i], i))
    ranks = [0] * len(claims)
    for rank, i in enumerate(order, 1):
        ranks[i] = rank
    if claimed <= total:
        return Shares(tuple(claims), claimed, total, False, tuple(ranks))
    awarded = [Decimal(0)] * len(claims)
    left = total
    for i in order:
        pay = min(claims[i], left)
        awarded[i] = pay
        left -= pay
    return Shares(tuple(awarded), claimed, total, True, tuple(ranks))
