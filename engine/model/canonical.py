"""An applicant's facts as canonical JSON, and its hash: the same facts give the same text however they were
written (10万元 or 100000.00, keys in any order), and the text is a facts file the engine reads back as the
same applicant, so a recorded decision can be evaluated again."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any, Mapping

from engine.model.facts import Applicant


def _number(value: Decimal) -> str:
    """A Decimal as the shortest exact JSON number: no exponent, no trailing zeros after the point."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _plain(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def facts_document(applicant: Applicant) -> dict[str, Any]:
    """The applicant as a facts file's data (`policy evaluate` reads it back as the same applicant)."""
    out: dict[str, Any] = {"recipient": list(applicant.recipients)}
    if applicant.name is not None:
        out["applicant"] = applicant.name
    if applicant.area is not None:
        out["area"] = applicant.area
    if applicant.date is not None:
        out["date"] = applicant.date.isoformat()
    out["facts"] = {name: _plain(value) for name, value in applicant.values.items()}
    if applicant.ledger:
        out["granted"] = [{"clause": g.clause, "amount": g.amount, "year": g.year,
                           **({"for": g.key} if g.key is not None else {})} for g in applicant.ledger]
    elif applicant.granted is not None:
        out["granted"] = dict(applicant.granted)
    return out


def canonical_json(data: object) -> str:
    """Keys sorted, no spaces, UTF-8 text as itself, Decimals as exact numbers (never floats)."""
    if isinstance(data, Mapping):
        items = sorted((str(k), v) for k, v in data.items())
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{canonical_json(v)}" for k, v in items) + "}"
    if isinstance(data, (list, tuple)):
        return "[" + ",".join(canonical_json(v) for v in data) + "]"
    if isinstance(data, Decimal):
        return _number(data)
    if isinstance(data, bool) or data is None or isinstance(data, (int, str)):
        return json.dumps(data, ensure_ascii=False)
    if isinstance(data, dt.date):
        return json.dumps(data.isoformat())
    raise TypeError(f"not canonical JSON data: {type(data).__name__}")


def canonical_facts(applicant: Applicant) -> str:
    return canonical_json(facts_document(applicant))


def facts_hash(applicant: Applicant) -> str:
    """sha256 of the canonical facts, kept with the applicant (immutable) once made."""
    found = applicant.__dict__.get("_facts_hash")
    if found is None:
        found = hashlib.sha256(canonical_facts(applicant).encode("utf-8")).hexdigest()
        object.__setattr__(applicant, "_facts_hash", found)
    return str(found)
