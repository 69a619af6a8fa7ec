"""Evaluations reading the ledger (`--ledger` on evaluate, batch and serve): earlier grants from the ledger as
the facts' list form of `granted:`, checked against what the facts themselves say, and what is recorded.

Kept apart from the store (engine.ledger.store) and its records: this is the wiring the commands share.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Sequence

from engine.core.format import format_money
from engine.core.messages import Message, msg
from engine.core.values import Unknown
from engine.ledger.records import LedgerGrant, PolicyRecord, revision_of
from engine.model.facts import Applicant, Grant
from engine.model.policy import Clause, Policy


@dataclass(frozen=True)
class Disagreement:
    """A clause where the facts' own `granted:` and the ledger count differently against this claim."""

    clause: str
    given: Decimal | None  # None: the facts leave it undetermined
    recorded: Decimal | None

    def message(self) -> Message:
        return msg("ledger.use.disagree", clause=self.clause, given=_shown(self.given),
                   recorded=_shown(self.recorded))


def _shown(amount: Decimal | None) -> str:
    return "?" if amount is None else format_money(amount)


def counted_clauses(policy: Policy) -> list[Clause]:
    """The clauses earlier grants count against (Policy.counted_clauses)."""
    return policy.counted_clauses()


def with_ledger(policy: Policy, applicant: Applicant, grants: Sequence[LedgerGrant], day: dt.date
                ) -> tuple[Applicant, list[Disagreement]]:
    """The applicant with the ledger's earlier grants in place of its own `granted:` (in the list form, each
    with its fund year and object, matched by engine.runtime.grants), and the clauses where the facts' own
    `granted:`, when they give one, counts differently: a problem for the caller to show, never resolved here.

    `day` is the claim's date (the fund year when the policy declares none)."""
    paid = _paid_clauses(policy)
    entries = tuple(Grant(g.clause, g.amount, g.year if g.year is not None else _unknown_year(policy),
                          g.object, i)
                    for i, g in enumerate(g for g in grants if g.clause in paid))
    merged = replace(applicant, granted={}, ledger=entries)
    if applicant.granted is None:  # the facts say nothing of earlier grants: nothing to disagree with
        return merged, []
    return merged, _disagreements(policy, applicant, merged, day)


_PAID: dict[int, tuple[Policy, frozenset[str]]] = {}  # id(policy) -> (the policy, kept alive; its paid clauses)


def _paid_clauses(policy: Policy) -> frozenset[str]:
    """The clauses that pay (an award, or a reference to another document's), once per policy: a round asks
    for every applicant."""
    found = _PAID.get(id(policy))
    if found is None or found[0] is not policy:
        if len(_PAID) > 64:  # a service compiles policies again as their files change: keep only a few
            _PAID.clear()
        found = _PAID[id(policy)] = (policy, frozenset(c.id for c in policy.clauses
                                                       if c.award is not None or c.refers_to is not None))
    return found[1]


def _unknown_year(policy: Policy) -> int:
    # An award recorded without a fund year (a one-time award to facts that did not state it) still counts
    # in full against a once or lifetime cap; for the fund-year comparisons it is placed in the policy's
    # first year, before any claim it could be compared with.
    return policy.start.year


def _disagreements(policy: Policy, given: Applicant, merged: Applicant, day: dt.date) -> list[Disagreement]:
    from engine.runtime.grants import Grants

    mine = Grants(policy, given, given.values, day.year)
    theirs = Grants(policy, merged, merged.values, day.year)
    out = []
    for clause in counted_clauses(policy):
        for a, b in ((mine.counted(clause), theirs.counted(clause)), (mine.in_year(clause), theirs.in_year(clause))):
            left = None if isinstance(a, Unknown) else a
            right = None if isinstance(b, Unknown) else b
            if left != right and not (left is None and right is None):
                out.append(Disagreement(clause.id, left, right))
                break
    return out


def policy_record(policy: Policy) -> PolicyRecord:
    """The policy as the ledger keeps it, from the very bytes it was compiled from (engine.workspace), so that
    what is stored is what was evaluated even if a file is saved again while a round runs."""
    if not policy.sources:
        raise ValueError("a policy recorded in the ledger must be loaded from its files (engine.workspace)")
    import os
    from pathlib import Path

    base = Path(policy.sources[0][0]).resolve().parent
    files, sources = [], {}
    for path, digest, data in policy.sources:
        real = Path(path).resolve()
        try:
            name = real.relative_to(base).as_posix()
        except ValueError:  # outside the main file's folder: kept by its hash and name (as PolicyRecord.from_files)
            name = f"_/{digest[:12]}/{os.path.basename(real)}"
        files.append((name, digest))
        sources[digest] = data
    revision = revision_of([d for _n, d in files])
    assert revision == policy.revision, "engine.workspace and engine.ledger compute the revision alike"
    return PolicyRecord(policy.id, revision, tuple(files), sources)


_NO_CODE_HINTS = {"ledger.use.no_code.hint": "ledger.use.no_code.hint",
                  "ledger.use.no_code.request": "ledger.use.no_code.request"}  # literal keys (test_core_messages_keys)


def earlier_for(ledger: object, policy: Policy, applicant: Applicant, code: str | None, day: dt.date,
                hint: str = "ledger.use.no_code.hint") -> Applicant:
    """`applicant` with its earlier grants from `ledger` (an engine.ledger.Ledger); FactsError when there is no
    credit code to look them up by, or the facts' own `granted:` disagrees with the ledger."""
    from engine.core.errors import FactsError, Problem

    where = applicant.source
    if code is None:
        raise FactsError(Problem(msg("ledger.use.no_code"), file=applicant.file or "<facts>",
                                 suggestion=msg(_NO_CODE_HINTS[hint])))
    grants = ledger.earlier_grants(code, policy.id)  # type: ignore[attr-defined]
    merged, disagree = with_ledger(policy, applicant, grants, day)
    if disagree:
        hint = msg("ledger.use.disagree.hint")
        raise FactsError([where.problem(d.message(), ("granted",), suggestion=hint) if where is not None
                          else Problem(d.message(), file=applicant.file or "<facts>", suggestion=hint)
                          for d in disagree])
    return merged
