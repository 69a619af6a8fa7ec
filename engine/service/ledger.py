"""`policy serve --ledger L`: evaluations take earlier grants from the ledger by the applicant's credit code, and
every evaluation answered is logged in the ledger's decisions (no grants: a service decides nothing, it says
what the rules give); the form asks it for an applicant's earlier grants."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from engine import Applicant, FactsError, Policy, Problem, msg


def credit_code(raw: str | None) -> str | None:
    """A credit code given with a request, normalised; FactsError when it is not one."""
    from engine import credit_code_problem, normalise_credit_code

    if raw is None or not raw.strip():
        return None
    code = normalise_credit_code(raw)
    if credit_code_problem(code) is not None:
        raise FactsError(Problem(msg("ledger.use.bad_code", code=raw), file="request", path=("credit_code",)))
    return code


class ServiceLedger:
    """The ledger the service reads and logs to. One lock: SQLite has one writer, and the ledger's lookup keeps
    one connection; a request's ledger work is a few milliseconds."""

    def __init__(self, url: str):
        from engine import open_ledger

        self.url = url
        self.ledger = open_ledger(url)
        self.lock = threading.Lock()
        self.records: dict[str, Any] = {}  # policy revision -> PolicyRecord

    def earlier(self, policy: Policy, applicant: Applicant, code: str | None, day: dt.date) -> Applicant:
        from engine import earlier_for

        with self.lock:
            return earlier_for(self.ledger, policy, applicant, code, day, hint="ledger.use.no_code.request")

    def grants(self, policy: Policy, code: str) -> list[dict[str, object]]:
        """An applicant's earlier grants under a policy, oldest first, as the form shows them."""
        with self.lock:
            found = self.ledger.earlier_grants(code, policy.id)
        return [{"clause": g.clause, "amount": f"{g.amount:f}", "year": g.year, "counts": g.counts,
                 "for": g.object, "round": g.round, "entry": g.entry} for g in found]

    def log(self, result: Any, code: str) -> int:
        """Log one evaluation answered (its facts, outcomes and amounts; no grants); the decision's id."""
        from engine import decision_from_result, engine_version, policy_record

        policy = result.policy
        record = self.records.get(policy.revision)
        if record is None:
            record = self.records[policy.revision] = policy_record(policy)
        decision = decision_from_result(result, code, grants=False)
        with self.lock:
            return int(self.ledger.record_decision(decision, policy=record, engine_version=engine_version()))

    def close(self) -> None:
        self.ledger.close()
