"""An applicant's facts as canonical JSON, and its hash: one text per applicant (keys sorted, no spaces, UTF-8 as
written, numbers as exact decimal strings). The ledger keeps a decision's facts in this form
(engine.ledger.records uses these functions; replay types the numbers back), so the hash `policy evaluate
--format json` shows is the one a recorded decision carries. Here in the model, below the ledger, because every
evaluation's JSON carries the hash and must not load the ledger's SQLAlchemy."""

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


def facts_document(applicant: Applicant, date: dt.date | None = None) -> dict[str, Any]:
    """The applicant as a facts document, with the earlier grants it was evaluated with, and the date it was
    evaluated on when the facts give none: what the ledger keeps of a decision."""
    data: dict[str, Any] = {"recipient": applicant.recipients[0] if len(applicant.recipients) == 1
                            else list(applicant.recipients),
                            "facts": {name: _value(value) for name, value in sorted(applicant.values.items())}}
    if applicant.area is not None:
        data["area"] = applicant.area
    if applicant.date is not None or date is not None:
        data["date"] = (applicant.date or date).isoformat()  # type: ignore[union-attr]
    if applicant.name is not None:
        data["applicant"] = applicant.name
    if applicant.ledger:
        data["granted"] = [{"clause": g.clause, "amount": str(g.amount), "year": g.year,
                            **({"for": g.key} if g.key is not None else {})} for g in applicant.ledger]
    elif applicant.granted is not None:
        data["granted"] = {c: str(a) for c, a in sorted(applicant.granted.items())}
    return data


def canonical_facts(applicant: Applicant, date: dt.date | None = None) -> str:
    return canonical_json(facts_document(applicant, date))


def facts_hash(applicant: Applicant, date: dt.date | None = None) -> str:
    """sha256 of the canonical facts evaluated on `date`, kept with the applicant (immutable) once made."""
    key = applicant.date or date
    found = applicant.__dict__.get("_facts_hash")
    if found is None or found[0] != key:
        found = (key, hashlib.sha256(canonical_facts(applicant, date).encode("utf-8")).hexdigest())
        object.__setattr__(applicant, "_facts_hash", found)
    return str(found[1])
