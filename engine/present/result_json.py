"""A Result as JSON (schemas/result.schema.json): plain data, amounts as exact decimal strings."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from engine.core.values import Missing, Unknown
from engine.model.canonical import facts_hash
from engine.model.outcome import Outcome
from engine.model.policy import Policy
from engine.present.sheet import reason_text
from engine.present.words import PolicyWords
from engine.runtime.trace import CannotCompute, ClauseResult, MeasureOnly, OtherRecipient, Result

RESULT_FORMAT = "policy-result/1"


def _jsonable(value: object) -> object:
    if isinstance(value, Unknown):
        return None
    if isinstance(value, Decimal):
        return f"{value:f}"  # exact, never exponent form, never a float
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Missing):
        return value.key
    if isinstance(value, (list, tuple, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _clause_json(w: PolicyWords, r: ClauseResult) -> dict[str, object]:
    c = r.clause
    out: dict[str, object] = {
        "id": c.id,
        "article": c.article,
        "title": c.title,
        "outcome": r.outcome.value,
        "amount": f"{r.amount:f}" if r.amount is not None else None,
        "reason": r.reason,
        "explanation": reason_text(w, r) or None,
        "conditions": [{
            "expression": x.text, "label": x.label, "status": x.status,
            "values": {n: _jsonable(v) for n, v in x.reads},
            "missing": [m.key for m in x.missing],
        } for x in r.conditions],
        "steps": [{"kind": s.kind, "text": "\n".join(s.lines(w)), "data": _jsonable(s.data())} for s in r.steps],
        "missing": [{"name": m.key, "label": w.missing(m)} for m in r.missing],
        "refers_to": {"document": r.reference.id, "title": r.reference.title} if r.reference else None,
        "readings": list(c.readings),
        "followed": None,  # for a reference followed into another document's policy file: see below
        "cannot_compute": _cannot_compute(r),
        "pool": _pool(w, r),
    }
    if r.hop is not None:
        hop = r.hop
        out["followed"] = {"document": hop.document, "title": hop.title, "policy": hop.policy.id,
                           "clause": _clause_json(PolicyWords(hop.policy, w.lang), hop.result)}
    return out


def _pool(w: PolicyWords, r: ClauseResult) -> dict[str, object] | None:
    """The budget pool the clause is paid from: a single evaluation gives the claim (the amount above); what the
    round shares out is decided by `policy batch`."""
    if not w.policy.pools:
        return None
    from engine.model.pools import pool_of

    pool = pool_of(w.policy.pools, r.clause.id)
    if pool is None:
        return None
    return {"id": pool.id, "total": f"{pool.total:f}", "share": pool.share, "claim_only": True}


def _cannot_compute(r: ClauseResult) -> dict[str, object] | None:
    """The expression that could not be computed, where it is written, and the values it read."""
    if not isinstance(r.why, CannotCompute):
        return None
    what = r.why.what
    return {"clause": what.clause, "expression": what.expr, "file": what.file, "line": what.line,
            "column": what.column, "values": {n: _jsonable(v) for n, v in what.reads}}


def result_to_json(result: Result, lang: str | None = None, *, clauses: bool = True) -> dict[str, object]:
    """The result as plain JSON data; amounts are strings of exact decimals ("75000.00")."""
    policy = result.policy
    w = PolicyWords(policy, lang or policy.language)
    a = result.applicant
    return {
        "format": RESULT_FORMAT,
        "policy": {"id": policy.id, "document": policy.document, "title": policy.title,
                   "in_force": {"from": policy.start.isoformat(),
                                "until": policy.end.isoformat() if policy.end else None,
                                "assumed": policy.period_assumed},
                   "revision": policy.revision},
        "applicant": {"name": a.name, "recipient": list(a.recipients), "area": a.area, "file": a.file,
                      "facts_hash": facts_hash(a, result.date)},
        "date": result.date.isoformat(),
        "date_source": result.date_source,
        "clauses": [_clause_json(w, r) for r in result.clauses] if clauses else [],
        "total": {
            "amount": f"{result.total:f}",
            "currency": policy.money.currency,
            "complete": result.complete,
            "undetermined": result.undetermined,
            "referred": result.referred,
        },
    }


def render_json(result: Result, lang: str | None = None, indent: int | None = None) -> str:
    """The result as JSON text: `indent=2` for people; compact by default, for programs and rounds.

    Compact output is the same text as json.dumps(result_to_json(...)), assembled faster: a clause decided
    without anything of the applicant's (another kind's clause, a measure) reads the same for everyone, so
    its JSON is encoded once per policy and language and reused.
    """
    if indent is not None:
        return json.dumps(result_to_json(result, lang), ensure_ascii=False, indent=indent) + "\n"
    policy = result.policy
    lang = lang or policy.language
    w = PolicyWords(policy, lang)
    shared = _shared_fragments(policy)
    clauses = []
    for r in result.clauses:
        key = _shared_key(r, lang)
        if key is None:
            clauses.append(_dumps(_clause_json(w, r)))
            continue
        text = shared.get(key)
        if text is None:
            text = _dumps(_clause_json(w, r))
            if len(shared) < _MAX_SHARED:
                shared[key] = text
        clauses.append(text)
    whole = result_to_json(result, lang, clauses=False)
    total = whole.pop("total")
    del whole["clauses"]
    head = _dumps(whole)[:-1]  # without its closing brace: the clauses and the total follow, in that order
    return f'{head}, "clauses": [{", ".join(clauses)}], "total": {_dumps(total)}}}\n'


_MAX_SHARED = 4096


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _shared_key(r: ClauseResult, lang: str) -> tuple[str, object, str] | None:
    """Clauses not applicable for a reason that names nothing of the applicant's read the same for everyone."""
    if r.outcome is Outcome.NOT_APPLICABLE and isinstance(r.why, (OtherRecipient, MeasureOnly)):
        return (r.clause.id, r.why, lang)
    return None


def _shared_fragments(policy: Policy) -> dict[tuple[str, object, str], str]:
    found = policy.__dict__.get("_json_fragments")
    if found is None:
        found = {}
        object.__setattr__(policy, "_json_fragments", found)  # a cache beside the frozen fields
    return found
