"""Another reading of a policy: the document with one alternative of one reading applied.

A reading's alternative may carry `change:`, the entries that differ under it, written as in the policy itself:
mappings are merged key by key (`null` removes a key), `clauses`, `groups` and `pools` entries are matched by id
and merged the same way, and any other list (the shared `conditions`) is replaced. `add:` appends new entries;
`remove_clauses:` and `remove_groups:` take entries away, and a removed clause leaves the groups, pools and shared
conditions that name it. `policy diff POLICY --reading Q3` compares the file with
the file read that other way, so who gains and who loses under each reading can be seen before one is chosen.
"""

from __future__ import annotations

import copy

from engine.core.errors import SchemaError
from engine.core.messages import msg
from engine.core.suggest import did_you_mean
from engine.syntax.loader import Loaded, Path_, SourceMap

_BY_ID = ("clauses", "groups", "pools")


def parse_choice(text: str) -> tuple[str, int]:
    """`Q3` is the first alternative of Q3; `Q3:2` the second."""
    rid, _, number = text.partition(":")
    return rid, int(number) if number.isdigit() and int(number) > 0 else 1


def alternative_document(loaded: Loaded, reading: str, number: int = 1) -> Loaded:
    """`loaded` (a whole, merged policy document) with alternative `number` of `reading` applied."""
    data = loaded.data
    assert isinstance(data, dict)
    readings = data.get("readings") or {}
    source = loaded.source
    if reading not in readings:
        raise SchemaError(source.problem(msg("reading.unknown", id=reading), ("readings",), prefer_key=True,
                                         suggestion=did_you_mean(reading, readings)
                                         or msg("reading.unknown.hint", ids=", ".join(readings) or "—")))
    alternatives = readings[reading].get("alternatives") or []
    if not 1 <= number <= len(alternatives):
        raise SchemaError(source.problem(msg("reading.no_alternative", id=reading, number=number,
                                             count=len(alternatives)), ("readings", reading), prefer_key=True))
    alternative = alternatives[number - 1]
    at: Path_ = ("readings", reading, "alternatives", number - 1)
    if not isinstance(alternative, dict) or not alternative.get("change"):
        raise SchemaError(source.problem(msg("reading.no_change", id=reading, number=number), at,
                                         suggestion=msg("reading.no_change.hint")))
    marks = SourceMap(source.file, dict(source.values), dict(source.keys), dict(source.files), source.texts)
    out = copy.deepcopy(data)
    _patch(out, alternative["change"], (), at + ("change",), marks, source)
    return Loaded(out, marks, loaded.text)


def changed_sections(change: object) -> set[str]:
    """The top-level sections of the document that a `change:` may alter (the others it leaves as they are)."""
    out: set[str] = set()
    for key, value in (change.items() if isinstance(change, dict) else ()):
        if key == "add" and isinstance(value, dict):
            out |= set(value)
        elif key == "remove_clauses":  # a removed clause leaves the groups, pools and conditions naming it
            out |= {"clauses", "groups", "pools", "conditions"}
        elif key == "remove_groups":
            out.add("groups")
        else:
            out.add(key)
    return out


def _patch(target: dict[str, object], change: dict[str, object], path: Path_, change_path: Path_,
           marks: SourceMap, source: SourceMap) -> None:
    for key, value in change.items():
        here, there = path + (key,), change_path + (key,)
        if key == "add" and not path and isinstance(value, dict):
            _add(target, value, there, marks, source)
        elif key in ("remove_clauses", "remove_groups") and not path and isinstance(value, list):
            _remove(target, "clauses" if key == "remove_clauses" else "groups", value, there, source)
        elif value is None:
            target.pop(key, None)
        elif key in _BY_ID and not path and isinstance(value, list) and isinstance(target.get(key), list):
            entries = target[key]
            assert isinstance(entries, list)
            by_id = {e.get("id"): i for i, e in enumerate(entries) if isinstance(e, dict)}
            for j, entry in enumerate(value):
                if not isinstance(entry, dict) or entry.get("id") not in by_id:
                    raise SchemaError(source.problem(
                        msg("reading.change_unknown_id", key=key, id=entry.get("id") if isinstance(entry, dict)
                            else entry), there + (j,), suggestion=did_you_mean(
                                str(entry.get("id") if isinstance(entry, dict) else entry), map(str, by_id))))
                i = by_id[entry["id"]]
                _patch(entries[i], entry, here + (i,), there + (j,), marks, source)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            inner = target[key]
            assert isinstance(inner, dict)
            _patch(inner, value, here, there, marks, source)
        else:
            target[key] = copy.deepcopy(value)
            _move(marks, source, here, there)


def _add(target: dict[str, object], additions: dict[str, object], change_path: Path_, marks: SourceMap,
         source: SourceMap) -> None:
    """New entries: named ones (facts, parameters…) that must not exist yet, clauses and groups appended."""
    for section, entries in additions.items():
        there = change_path + (section,)
        current = target.setdefault(section, [] if isinstance(entries, list) else {})
        if isinstance(entries, list) and isinstance(current, list):
            for j, entry in enumerate(entries):
                current.append(copy.deepcopy(entry))
                _move(marks, source, (section, len(current) - 1), there + (j,))
        elif isinstance(entries, dict) and isinstance(current, dict):
            for name, entry in entries.items():
                if name in current:
                    raise SchemaError(source.problem(msg("reading.add_existing", key=section, name=name),
                                                     there + (name,), prefer_key=True))
                current[name] = copy.deepcopy(entry)
                _move(marks, source, (section, name), there + (name,))


def _remove(target: dict[str, object], section: str, ids: list[object], change_path: Path_,
            source: SourceMap) -> None:
    """Entries that do not exist under the reading. A removed clause leaves the groups, pools and shared
    conditions naming it; a group left with one member, a pool or a named set left with none, goes too."""
    entries = target.get(section)
    present = [e.get("id") for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    for j, rid in enumerate(ids):
        if rid not in present:
            raise SchemaError(source.problem(msg("reading.change_unknown_id", key=section, id=rid),
                                             change_path + (j,),
                                             suggestion=did_you_mean(str(rid), map(str, present))))
    gone = set(map(str, ids))
    assert isinstance(entries, list)
    target[section] = [e for e in entries if not (isinstance(e, dict) and str(e.get("id")) in gone)]
    if section != "clauses":
        return
    for key, field, least in (("groups", "members", 2), ("pools", "clauses", 1), ("conditions", "clauses", 1)):
        kept: list[object] = []
        listed = target.get(key)
        for entry in listed if isinstance(listed, list) else []:
            named = entry.get(field) if isinstance(entry, dict) else None
            if isinstance(named, list) and gone & set(map(str, named)):
                entry = {**entry, field: [m for m in named if str(m) not in gone]}
                if len(entry[field]) < least:
                    continue
            kept.append(entry)
        if key in target:
            target[key] = kept


def _move(marks: SourceMap, source: SourceMap, here: Path_, there: Path_) -> None:
    """The marks of the value now at `here` are those of the change it came from, at `there`."""
    n, m = len(here), len(there)
    for table, origin in ((marks.values, source.values), (marks.keys, source.keys)):
        for p in [p for p in table if p[:n] == here]:
            del table[p]
        for p, mark in origin.items():
            if p[:m] == there:
                table[here + p[m:]] = mark
