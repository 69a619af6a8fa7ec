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
from engine.ledger.records import ClauseOutcome, engine_version, outcomes_from_json
from engine.ledger.store import Ledger, _error, yuan
from engine.model.facts import check_facts
from engine.model.policy import Fact, Policy
from engine.runtime.evaluate import evaluate


@dataclass(frozen=True)
class Change:
    """A clause whose outcome or amount is not what was recorded."""

    clause: str
    recorded: ClauseOutcome | None  # None: the clause did not exist then
    now: ClauseOutcome | None  # None: the clause does not exist now


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
    out = []
    with tempfile.TemporaryDirectory(prefix="policy-replay-") as folder:
        for row in rows:
            revision, policy_id = row["revision"], row["policy_id"]
            if revision not in stored:
                stored[revision] = _stored_policy(ledger, revision, os.path.join(folder, revision[:16]))
            recorded = outcomes_from_json(row["outcomes"])
            then = _compare(stored[revision], revision, version, row["facts"], recorded)
            now = None
            if today is not None or policies:
                if policy_id not in todays:
                    todays[policy_id] = _today_policy(policy_id, today, Library(policies))
                found = todays[policy_id]
                if isinstance(found, PolicyError):
                    now = _compare(found, "?", version, row["facts"], recorded)
                else:
                    now = _compare(found[0], found[1], version, row["facts"], recorded)
            out.append(Replayed(row["id"], row["recipient"], row["round"], revision, row["engine_version"],
                                yuan(row["total_fen"]), then, now))
    today_revision = next((f[1] for f in todays.values() if not isinstance(f, PolicyError)), None)
    return ReplayReport(tuple(out), today_revision)


def _stored_policy(ledger: Ledger, revision: str, folder: str) -> Policy | PolicyError:
    """The policy exactly as recorded: its files written out under their recorded names and loaded."""
    from engine.workspace import load_policy

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
    try:
        return load_policy(str(paths[0]), policies=dirs)
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


def _compare(policy: Policy | PolicyError, revision: str, version: str, facts: str,
             recorded: tuple[ClauseOutcome, ...]) -> Comparison:
    if isinstance(policy, PolicyError):
        return Comparison(revision, version, None, problem=policy)
    try:
        applicant = check_facts(policy, typed_facts(policy, json.loads(facts)))
    except PolicyError as error:
        return Comparison(revision, version, None, problem=error)
    result = evaluate(policy, applicant, trace=False)
    now = {r.clause.id: ClauseOutcome(r.clause.id, r.outcome.value,
                                      r.amount if r.outcome.value == "eligible" else None) for r in result.clauses}
    then = {o.clause: o for o in recorded}
    changes = []
    for cid in list(then) + [c for c in now if c not in then]:
        a, b = then.get(cid), now.get(cid)
        if a is None or b is None or a.outcome != b.outcome or a.amount != b.amount:
            changes.append(Change(cid, a, b))
    return Comparison(revision, version, result.total, tuple(changes))


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
    if fact.type == "list" and isinstance(value, list):
        return [{k: _typed(fact.items.get(k), v) for k, v in item.items()} if isinstance(item, dict) else item
                for item in value]
    if fact.type in ("money", "number", "percent", "integer") and isinstance(value, str):
        try:
            number = Decimal(value)
        except ArithmeticError:
            return value
        return int(number) if fact.type == "integer" and number == number.to_integral_value() else number
    return value
