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
from engine.runtime.plan import prepare
from engine.runtime.trace import CannotCompute, ClauseResult, Result

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
        "up_to": c.up_to,
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


def _policy_json(policy: Policy) -> dict[str, object]:
    """The result's `policy` part: which policy, in force when, which revision of its files."""
    return {"id": policy.id, "document": policy.document, "title": policy.title,
            "in_force": {"from": policy.start.isoformat(), "until": policy.end.isoformat() if policy.end else None,
                         "assumed": policy.period_assumed},
            "revision": policy.revision}


def result_to_json(result: Result, lang: str | None = None, *, clauses: bool = True) -> dict[str, object]:
    """The result as plain JSON data; amounts are strings of exact decimals ("75000.00")."""
    policy = result.policy
    a = result.applicant
    w = PolicyWords(policy, lang or policy.language) if clauses else None
    return {
        "format": RESULT_FORMAT,
        "policy": _policy_json(policy),
        "applicant": {"name": a.name, "recipient": list(a.recipients), "area": a.area, "file": a.file,
                      "facts_hash": facts_hash(a, result.date)},
        "date": result.date.isoformat(),
        "date_source": result.date_source,
        "clauses": [_clause_json(w, r) for r in result.clauses] if w is not None else [],
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

    Compact output is the same text as json.dumps(result_to_json(...)), assembled faster, without building the
    dict: what reads the same for everyone is encoded once per policy and language (the policy's part, each
    clause's id, article, title, readings and pool, the sentence each reason reads as, each missing fact's
    label, the currency), and joined with what differs between applicants, each string encoded by the standard
    library's own JSON string encoder. A clause with working to show (a traced result's conditions and steps, a
    followed reference, an expression that could not be computed) is encoded whole by json.dumps.
    """
    if indent is not None:
        return json.dumps(result_to_json(result, lang), ensure_ascii=False, indent=indent) + "\n"
    policy = result.policy
    lang = lang or policy.language
    encoded = _encoded(policy, lang)
    clause_text, same = encoded.clause, encoded.same
    clauses = ", ".join([same.get(id(r)) or clause_text(r) for r in result.clauses])
    a = result.applicant
    return (f'{{"format": "{RESULT_FORMAT}", "policy": {encoded.about()}, '
            f'"applicant": {{"name": {_text(a.name)}, "recipient": [{", ".join(map(_text, a.recipients))}], '
            f'"area": {_text(a.area)}, "file": {_text(a.file)}, "facts_hash": "{facts_hash(a, result.date)}"}}, '
            f'"date": "{result.date.isoformat()}", "date_source": {_text(result.date_source)}, '
            f'"clauses": [{clauses}], "total": {{"amount": "{result.total:f}", "currency": {encoded.currency}, '
            f'"complete": {_text(result.complete)}, "undetermined": [{", ".join(map(_text, result.undetermined))}], '
            f'"referred": [{", ".join(map(_text, result.referred))}]}}}}\n')


def _text(value: object) -> str:
    """A value as json.dumps(value, ensure_ascii=False) writes it; a string (nearly always) by the encoder alone."""
    if type(value) is str:
        return _encode(value)
    return _LITERALS[value] if value is None or type(value) is bool else _dumps(value)


_LITERALS = {None: "null", True: "true", False: "false"}


_MAX_SHARED = 4096
_MARK = Decimal("271828182845904523536028747135")  # an amount no clause pays, to cut a template at
_MARK_TEXT = f'"amount": "{_MARK:f}"'  # quotes unescaped: never inside a string the author wrote
_encode = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) does to a string, alone


_ENCODER = json.JSONEncoder(ensure_ascii=False)
# json.dumps(value, ensure_ascii=False) without making an encoder per call: the standard library's C encoder, made
# once (no check for cycles: what is encoded here is plain data built for it), or the encoder above without it.
_MAKE = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODER = _MAKE(None, None, _encode, None, ": ", ", ", False, False, True) if _MAKE is not None else None


def _dumps(value: object) -> str:
    if _C_ENCODER is not None:
        return "".join(_C_ENCODER(value, 0))
    return _ENCODER.encode(value)


class _Encoded:
    """What reads the same for everyone, for one policy in one language, encoded once (bounded memos)."""

    def __init__(self, policy: Policy, lang: str):
        self.policy, self.words = policy, PolicyWords(policy, lang)
        self._parts: dict[str, tuple[str, str, str]] = {}
        self._explanations: dict[tuple[str, object, object, object], str] = {}
        self._missing: dict[Missing, str] = {}
        self._outcomes = {o: _encode(o.value) for o in Outcome}
        self._reasons: dict[str | None, str] = {None: "null"}
        self._shared = prepare(policy).shared  # results the same object for everyone who gets them
        self.same: dict[int, str] = {}  # the text of results the plan gives as one object, by its id
        self._paid: dict[str, tuple[str, str]] = {}
        self._about: tuple[object, str] | None = None  # the result's `policy` part, and its text
        self.currency = _text(policy.money.currency)
        self._decided: dict[tuple[object, ...], str] = {}

    def about(self) -> str:
        """The result's `policy` part as text: made once (again only if the policy's revision was stamped after)."""
        policy = self.policy
        key = policy.revision
        if self._about is None or self._about[0] != key:
            self._about = (key, _dumps(_policy_json(policy)))
        return self._about[1]

    def parts(self, r: ClauseResult) -> tuple[str, str, str]:
        """A clause's text before its outcome, between its reference and what it followed, and after."""
        found = self._parts.get(r.clause.id)
        if found is None:
            c = r.clause
            empty = _dumps(_clause_json(self.words, ClauseResult(c, Outcome.NOT_APPLICABLE)))
            head = empty[:empty.index('"outcome": ') + len('"outcome": ')]
            readings = f'"readings": {_dumps(list(c.readings))}, "followed": '
            tail = f', "cannot_compute": null, "pool": {_dumps(_pool(self.words, r))}}}'
            found = (head, readings, tail)
            self._parts[c.id] = found
        return found

    def explanation(self, r: ClauseResult) -> str:
        key = (r.clause.id, r.outcome, r.why, r.reference)
        try:
            found = self._explanations.get(key)
        except TypeError:  # a reason holding something unhashable: worded each time
            found, key = None, None  # type: ignore[assignment]
        if found is None:
            sentence = reason_text(self.words, r)
            found = _encode(sentence) if sentence else "null"
            if key is not None and len(self._explanations) < _MAX_SHARED:
                self._explanations[key] = found
        return found

    def missing(self, m: Missing) -> str:
        found = self._missing.get(m)
        if found is None:
            found = f'{{"name": {_encode(m.key)}, "label": {_encode(self.words.missing(m))}}}'
            if len(self._missing) < _MAX_SHARED:
                self._missing[m] = found
        return found

    def clause(self, r: ClauseResult) -> str:
        text = self._clause(r)
        if self._shared.get(id(r)) is r and len(self.same) < _MAX_SHARED:
            # The object is the plan's, kept alive by it as long as this table (both live on the policy): no
            # other object has its id meanwhile.
            self.same[id(r)] = text
        return text

    def _clause(self, r: ClauseResult) -> str:
        if r.conditions or r.steps or r.hop is not None or isinstance(r.why, CannotCompute):
            return _dumps(_clause_json(self.words, r))
        if r.why is None and r.reference is None and not r.missing:  # plainly eligible: only the amount differs
            if r.outcome is not Outcome.ELIGIBLE or r.amount is None:
                return self._words(r)
            pre, post = self.paid(r)
            amount = str(r.amount)  # as f"{amount:f}" unless in exponent form (never for an amount on the grid)
            return f"{pre}{amount if 'E' not in amount else f'{r.amount:f}'}{post}"
        # a reason of its own, what is missing, a reference: worded once per distinct combination
        key = (r.clause.id, r.outcome, r.amount, r.why, r.missing, r.reference)
        try:
            found = self._decided.get(key)
        except TypeError:  # a reason holding something unhashable
            return self._words(r)
        if found is None:
            found = self._words(r)
            if len(self._decided) < _MAX_SHARED:
                self._decided[key] = found
        return found

    def paid(self, r: ClauseResult) -> tuple[str, str]:
        """A plainly eligible clause's text before and after its amount."""
        found = self._paid.get(r.clause.id)
        if found is None:
            text = self._words(ClauseResult(r.clause, Outcome.ELIGIBLE, amount=_MARK))
            at = text.index(_MARK_TEXT)
            cut = len('"amount": "')
            found = self._paid[r.clause.id] = (text[:at + cut], text[at + len(_MARK_TEXT) - 1:])
        return found

    def _words(self, r: ClauseResult) -> str:
        head, readings, tail = self.parts(r)
        reason = self._reasons.get(r.reason)
        if reason is None:
            reason = self._reasons[r.reason] = _encode(str(r.reason))
        amount = "null" if r.amount is None else f'"{r.amount:f}"'
        missing = ", ".join([self.missing(m) for m in r.missing])
        ref = r.reference
        refers = "null" if ref is None else _dumps({"document": ref.id, "title": ref.title})
        return (f'{head}{self._outcomes[r.outcome]}, "amount": {amount}, "reason": {reason}, '
                f'"explanation": {self.explanation(r)}, "conditions": [], "steps": [], "missing": [{missing}], '
                f'"refers_to": {refers}, {readings}null{tail}')


def _encoded(policy: Policy, lang: str) -> _Encoded:
    found: dict[str, _Encoded] | None = policy.__dict__.get("_json_encoded")
    if found is None:
        found = {}
        object.__setattr__(policy, "_json_encoded", found)  # a cache beside the frozen fields
    encoded = found.get(lang)
    if encoded is None:
        encoded = found[lang] = _Encoded(policy, lang)
    return encoded
