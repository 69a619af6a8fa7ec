"""Recorded decisions evaluated again: under the exact policy they were made under (its stored sources) and
under today's files, each compared clause by clause with what was recorded.

Unlike the store, this module evaluates, so it uses the runtime and the workspace (as the officers' tools do).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping, Sequence

from engine.core.errors import PolicyError
from engine.core.messages import msg
from engine.ledger.lookup import yuan
from engine.ledger.records import ClauseOutcome, engine_version, outcomes_from_json
from engine.ledger.store import Ledger, _error
from engine.model.facts import check_facts
from engine.model.policy import Fact, Policy
from engine.runtime.evaluate import evaluate


@dataclass(frozen=True)
class Change:
    """A clause whose outcome or amount is not what was recorded."""

    clause: str
    recorded: ClauseOutcome | None  # None: the clause did not exist then
    now: ClauseOutcome | None  # None: the clause does not exist now
    paid: bool = False  # what the round's pool paid of the clause, shared again, not the claim


@dataclass(frozen=True)
class Comparison:
    """One decision evaluated again under one policy revision by this engine."""

    revision: str
    engine_version: str
    total: Decimal | None  # None when it could not be evaluated (problem says why)
    changes: tuple[Change, ...] = ()
    problem: PolicyError | None = None  # why it could not be evaluated: the policy or the facts no longer load

    @property
    def same(self) -> bool:
        return self.problem is None and not self.changes


@dataclass(frozen=True)
class Replayed:
    decision: int
    recipient: str
    round: str | None
    revision: str
    engine_version: str  # the engine that made the decision
    recorded_total: Decimal
    stored: Comparison  # under the policy as it was (its stored sources)
    today: Comparison | None  # under today's files, when given

    @property
    def same(self) -> bool:
        return self.stored.same and (self.today is None or self.today.same)


@dataclass(frozen=True)
class ReplayReport:
    decisions: tuple[Replayed, ...]
    today_revision: str | None

    @property
    def all_same(self) -> bool:
        return all(d.same for d in self.decisions)


def replay(ledger: Ledger, *, round_id: str | None = None, decision: int | None = None, today: str | None = None,
           policies: Sequence[str] = ()) -> ReplayReport:
    """Evaluate recorded decisions again (a round's, or one by id) under their stored policy and, when `today`
    (a policy file) or `policies` (folders holding it, found by its id) is given, under today's files."""
    from engine.workspace import Library

    rows = ledger.decisions(round_id=round_id, decision=decision)
    if not rows:
        if round_id is not None:
            raise _error(ledger.where, msg("ledger.no_round", round=round_id), msg("ledger.no_round.hint"))
        raise _error(ledger.where, msg("ledger.no_decision", decision=decision))
    version = engine_version()
    stored: dict[str, Policy | PolicyError] = {}
    todays: dict[str, tuple[Policy, str] | PolicyError] = {}
    thens: list[Evaluated] = []
    nows: list[Evaluated | None] = []
    with tempfile.TemporaryDirectory(prefix="policy-replay-") as folder:
        for row in rows:
            revision, policy_id = row["revision"], row["policy_id"]
            if revision not in stored:
                stored[revision] = _stored_policy(ledger, revision, os.path.join(folder, revision[:16]))
            thens.append(_evaluate(stored[revision], revision, row["facts"]))
            now = None
            if today is not None or policies:
                if policy_id not in todays:
                    todays[policy_id] = _today_policy(policy_id, today, Library(policies))
                found = todays[policy_id]
                now = _evaluate(found, "?", row["facts"]) if isinstance(found, PolicyError) else \
                    _evaluate(found[0], found[1], row["facts"])
            nows.append(now)
    # A round's pools shared again over its recorded decisions, under each policy: what each clause is paid.
    pooled = round_id is not None
    shares_then = _shares(thens) if pooled else {}
    shares_now = _shares([n for n in nows if n is not None]) if pooled and any(nows) else {}
    out = []
    for i, row in enumerate(rows):
        recorded = outcomes_from_json(row["outcomes"])
        paid = outcomes_from_json(row["paid"]) if row.get("paid") else None
        then = _compare(thens[i], version, recorded, paid, shares_then.get(id(thens[i])))
        again = nows[i]
        under_today = None if again is None else _compare(again, version, recorded, paid,
                                                          shares_now.get(id(again)))
        total = yuan(row["total_fen"]) if pooled or paid is None else \
            sum((o.amount for o in recorded if o.amount is not None), Decimal(0))
        out.append(Replayed(row["id"], row["recipient"], row["round"], row["revision"], row["engine_version"],
                            total, then, under_today))
    today_revision = next((f[1] for f in todays.values() if not isinstance(f, PolicyError)), None)
    return ReplayReport(tuple(out), today_revision)


@dataclass(frozen=True)
class Evaluated:
    """A recorded decision's facts evaluated again under one policy (or why they could not be)."""

    policy: Policy | None
    revision: str
    applicant: Any = None
    result: Any = None
    problem: PolicyError | None = None


def _evaluate(policy: Policy | PolicyError, revision: str, facts: str) -> Evaluated:
    if isinstance(policy, PolicyError):
        return Evaluated(None, revision, problem=policy)
    try:
        applicant = check_facts(policy, typed_facts(policy, json.loads(facts)))
    except PolicyError as error:
        return Evaluated(policy, revision, problem=error)
    return Evaluated(policy, revision, applicant, evaluate(policy, applicant, trace=False))


def _shares(evaluated: Sequence[Evaluated]) -> dict[int, dict[str, Decimal | None]]:
    """Each decision's pooled clauses (by id(Evaluated)) with what the pools pay them when shared again over
    these decisions, in the order they were recorded (the round's order): as `policy batch` shares them."""
    from engine.model.pools import share_round

    done = [e for e in evaluated if e.result is not None and e.policy is not None and e.policy.pools]
    if not done:
        return {}
    policy = done[0].policy
    assert policy is not None
    paid = share_round(policy.pools, policy.facts, policy.money.round_to, [(e.applicant, e.result) for e in done])
    return {id(e): shares for e, shares in zip(done, paid, strict=True) if shares}


def _stored_policy(ledger: Ledger, revision: str, folder: str) -> Policy | PolicyError:
    """The policy exactly as recorded: its files written out under their recorded names and loaded."""
    from engine.syntax.versions import RECORDED_UNSAID
    from engine.workspace import Library, load_policy

    _policy_id, files = ledger.policy_sources(revision)
    paths = []
    for name, content in files:
        path = Path(folder, *name.split("/"))
        if not path.resolve().is_relative_to(Path(folder).resolve()):
            raise _error(ledger.where, msg("ledger.verify.source", sha=revision[:12]))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        paths.append(path)
    dirs = list(dict.fromkeys(str(p.parent) for p in paths))
    # Recorded before files said their language version: decided reading them in the version of that time.
    library = Library(dirs, unsaid_version=RECORDED_UNSAID)
    try:
        return load_policy(str(paths[0]), library=library)
    except PolicyError as error:
        return error


def _today_policy(policy_id: str, today: str | None, library: Any) -> tuple[Policy, str] | PolicyError:
    from engine.ledger.records import PolicyRecord
    from engine.workspace import LookupFailed, load_with_sources

    try:
        path = today if today is not None else library.find_id(policy_id)
        policy, files = load_with_sources(path, library)
    except LookupFailed as failed:
        return _error(policy_id, msg("ledger.replay.no_policy", id=policy_id, reason=str(failed.message)))
    except PolicyError as error:
        return error
    return policy, PolicyRecord.from_files(policy.id, files).revision


def _compare(e: Evaluated, version: str, recorded: tuple[ClauseOutcome, ...],
             paid: tuple[ClauseOutcome, ...] | None, shares: dict[str, Decimal | None] | None) -> Comparison:
    """The claims compared clause by clause; with `shares` (a round's pools shared again), what each pooled
    clause is paid compared with what was paid (`paid`, or the claims of a decision recorded before 0002)."""
    if e.problem is not None or e.result is None:
        return Comparison(e.revision, version, None, problem=e.problem)
    result = e.result
    now = {r.clause.id: ClauseOutcome(r.clause.id, r.outcome.value,
                                      r.amount if r.outcome.value == "eligible" else None) for r in result.clauses}
    then = {o.clause: o for o in recorded}
    changes = []
    for cid in list(then) + [c for c in now if c not in then]:
        a, b = then.get(cid), now.get(cid)
        if a is None or b is None or a.outcome != b.outcome or a.amount != b.amount:
            changes.append(Change(cid, a, b))
    total = result.total
    if shares is not None:
        was = {o.clause: o.amount for o in (paid if paid is not None else recorded)}
        for cid, amount in shares.items():
            before = was.get(cid)
            if (before or Decimal(0)) != (amount or Decimal(0)):
                changes.append(Change(cid, ClauseOutcome(cid, "paid", before), ClauseOutcome(cid, "paid", amount),
                                      paid=True))
        total = sum((shares.get(cid, o.amount) or Decimal(0) for cid, o in now.items() if o.amount is not None),
                    Decimal(0))
    return Comparison(e.revision, version, total, tuple(changes))


def typed_facts(policy: Policy, data: Mapping[str, Any]) -> dict[str, Any]:
    """A stored facts document with its numbers as numbers again (the ledger keeps them as exact strings),
    by the types the policy declares; anything else is left for the facts check to judge."""
    out = dict(data)
    facts = policy.all_facts()
    given = data.get("facts")
    if isinstance(given, dict):
        out["facts"] = {name: _typed(facts.get(name), value) for name, value in given.items()}
    return out


def _typed(fact: Fact | None, value: Any) -> Any:
    if fact is None:
        return value
    if fact.items and isinstance(value, list):
        return [{k: _typed(fact.items.get(k), v) for k, v in item.items()} if isinstance(item, dict) else item
                for item in value]
    return fact.kind.restored(value) if isinstance(value, str) else value
