"""Language versions: what a policy file written in an earlier version of the language means today.

A policy file says which version of the language it is written in (`language_version:`). Each change of
meaning between versions is one `Change` here: where it shows in a document, and what today's language writes
for the old meaning. The workspace refuses a file whose words would read differently today (naming each change
and `policy migrate`); `policy migrate` (engine.tools.migrate) writes today's words into the file. A file that
does not say its version is read as today's only where every version reads it the same.

Pure functions over documents (plain or ruamel's round-trip mappings alike), so the workspace and the migration
tool find the same places.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterator, Mapping

from engine.core.errors import Problem, SchemaError
from engine.core.messages import Message, msg
from engine.syntax.loader import Loaded, Path_

KEY = "language_version"
CURRENT = 3
FIRST = 1
# The version of a policy recorded in a grant ledger without saying one: the ledger came after version 2 and before
# language_version: existed, so every such decision was made reading the file in version 2.
RECORDED_UNSAID = 2


@dataclass(frozen=True)
class Change:
    """A change of meaning: the first version with today's meaning, and its catalogue key (versions.change.*)."""

    since: int
    name: str


ONCE_WITH_CAP = Change(2, "once_with_cap")
GROUP_EARLIER = Change(2, "group_earlier")
# Every change of meaning, oldest first. Versions 2 → 3 added words and changed none.
CHANGES = (ONCE_WITH_CAP, GROUP_EARLIER)


@dataclass(frozen=True)
class Finding:
    """One place of a document that reads differently today: the entry at `path` gets `key: value`."""

    change: Change
    path: Path_
    key: str
    value: str
    exact: bool = True  # False: today's words are the nearest, not the same (the migration says how they differ)
    values: Mapping[str, object] = field(default_factory=dict)  # for the catalogue's sentences (id, members)
    written: bool = False  # whether the entry writes `key` itself (then it is where the finding is shown)

    @property
    def at(self) -> Path_:
        """Where to show it: the key that changed meaning when the entry writes it, else the entry."""
        return self.path + (self.key,) if self.written else self.path


def declared(data: Mapping[str, Any]) -> int | None:
    """The version a document says it is written in; None when it does not say."""
    value = data.get(KEY)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)  # the strict loader reads every number as a Decimal
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def findings(data: Mapping[str, Any], version: int, resolved: Mapping[str, Any] | None = None) -> list[Finding]:
    """The places of `data`, written in `version`, whose words mean something else today.

    `resolved` is the whole policy `data` belongs to (a county file merged with its parent); a file without
    `extends:` is its own. An entry is read with what it names there: a county's group of the city's clauses
    meant what those clauses' periods made it mean.
    """
    whole = resolved if resolved is not None else data
    clauses = {str(c.get("id")): c for c in _list(whole.get("clauses")) if isinstance(c, Mapping)}
    found: list[Finding] = []
    if version < ONCE_WITH_CAP.since:
        for path, entry in _entries(data, "clauses"):
            if "period" not in entry and "cap" not in entry:
                continue
            clause = clauses.get(str(entry.get("id")), entry)
            if clause.get("period", entry.get("period")) == "once" and clause.get("cap", entry.get("cap")) is not None:
                found.append(Finding(ONCE_WITH_CAP, path, "period", "lifetime", values={"id": entry.get("id")},
                                     written="period" in entry))
    if version < GROUP_EARLIER.since:
        groups = {str(g.get("id")): g for g in _list(whole.get("groups")) if isinstance(g, Mapping)}
        for path, entry in _entries(data, "groups"):
            group = groups.get(str(entry.get("id")), entry)
            pick = group.get("pick", entry.get("pick"))
            if "earlier" in entry or "earlier" in group or pick not in ("best", "first"):
                continue
            members = [str(m) for m in _list(group.get("members", entry.get("members")))]
            yearly = [m for m in members if clauses.get(m, {}).get("period") == "year"]
            if not yearly:
                found.append(Finding(GROUP_EARLIER, path, "earlier", "separate",
                                     values={"id": entry.get("id")}))
            else:
                found.append(Finding(GROUP_EARLIER, path, "earlier", "hold", exact=len(yearly) == len(members),
                                     values={"id": entry.get("id"), "yearly": ", ".join(yearly),
                                             "others": ", ".join(m for m in members if m not in yearly)}))
    return found


def unsaid(data: Mapping[str, Any], resolved: Mapping[str, Any] | None = None) -> list[Finding]:
    """For a document that does not say its version: the places that read differently in some version (read as
    written before the first change, every change is found)."""
    return findings(data, min(c.since for c in CHANGES) - 1, resolved)


def change_message(finding: Finding) -> Message:
    """What the place meant in its version and what it means today (a literal key per change)."""
    if finding.change is ONCE_WITH_CAP:
        return msg("versions.change.once_with_cap", **finding.values)
    if not finding.exact:
        return msg("versions.change.group_earlier.mixed", **finding.values)
    if finding.value == "hold":
        return msg("versions.change.group_earlier.hold", **finding.values)
    return msg("versions.change.group_earlier", **finding.values)


def check(loaded: Loaded, path: str, resolved: object = None, unsaid_version: int | None = None) -> None:
    """Refuse a policy file whose words read differently today than in the version it is written in (or, when
    it does not say its version, in some version), naming each place and the command that migrates it.
    `unsaid_version`: the version a file that does not say is known to be in (a policy recorded in a ledger)."""
    data = loaded.data
    if not isinstance(data, Mapping):
        return
    source = loaded.source
    version = declared(data)
    if version is None:
        version = unsaid_version
    if version is not None and version > CURRENT:
        raise SchemaError(source.problem(msg("versions.newer", version=version, current=CURRENT), (KEY,),
                                         suggestion=msg("versions.newer.hint")))
    whole = resolved if isinstance(resolved, Mapping) else None
    found = findings(data, version, whole) if version is not None else unsaid(data, whole)
    if not found:
        return
    problems: list[Problem] = []
    for finding in found:
        if version is None:
            text = msg("versions.unsaid", change=change_message(finding))
            hint = msg("versions.unsaid.hint", current=CURRENT, path=path)
        else:
            text = msg("versions.changed", version=version, change=change_message(finding))
            hint = msg("versions.changed.hint", path=path)
        problems.append(source.problem(text, finding.at, prefer_key=True, suggestion=hint))
    raise SchemaError(problems)


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _entries(data: Mapping[str, Any], section: str) -> Iterator[tuple[Path_, Mapping[str, Any]]]:
    """The entries of a list section a document writes: its own and those under `add:`."""
    for i, entry in enumerate(_list(data.get(section))):
        if isinstance(entry, Mapping):
            yield (section, i), entry
    add = data.get("add")
    if isinstance(add, Mapping):
        for i, entry in enumerate(_list(add.get(section))):
            if isinstance(entry, Mapping):
                yield ("add", section, i), entry
