"""An applicant's facts as canonical JSON, and its hash: one text per applicant (keys sorted, no spaces, UTF-8 as
written, amounts as exact decimal strings), which the engine reads back as a facts file. The ledger keeps a
decision's facts in this form (engine.ledger.records.facts_data and canonical_json give the same text), so the
hash `policy evaluate --format json` shows is the one a recorded decision carries."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any, Mapping

from engine.model.facts import Applicant


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (tuple, frozenset, set)):
        return list(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def canonical_json(data: object) -> str:
    """The one text of a value: keys sorted, no spaces, UTF-8 as written, Decimals and dates as strings."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_plain)


def _value(value: object) -> object:
    if isinstance(value, tuple):
        return [{k: _value(v) for k, v in sorted(item.items())} if isinstance(item, Mapping) else _value(item)
                for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def facts_document(applicant: Applicant) -> dict[str, Any]:
    """The applicant as a facts document, with the earlier grants it was evaluated with."""
    data: dict[str, Any] = {"recipient": applicant.recipients[0] if len(applicant.recipients) == 1
                            else list(applicant.recipients),
                            "facts": {name: _value(value) for name, value in sorted(applicant.values.items())}}
    if applicant.area is not None:
        data["area"] = applicant.area
    if applicant.date is not None:
        data["date"] = applicant.date.isoformat()
    if applicant.name is not None:
        data["applicant"] = applicant.name
    if applicant.ledger:
        data["granted"] = [{"clause": g.clause, "amount": str(g.amount), "year": g.year,
                            **({"for": g.key} if g.key is not None else {})} for g in applicant.ledger]
    elif applicant.granted is not None:
        data["granted"] = {c: str(a) for c, a in sorted(applicant.granted.items())}
    return data


def canonical_facts(applicant: Applicant) -> str:
    return canonical_json(facts_document(applicant))


def facts_hash(applicant: Applicant) -> str:
    """sha256 of the canonical facts, kept with the applicant (immutable) once made."""
    found = applicant.__dict__.get("_facts_hash")
    if found is None:
        found = hashlib.sha256(canonical_facts(applicant).encode("utf-8")).hexdigest()
        object.__setattr__(applicant, "_facts_hash", found)
    return str(found)
