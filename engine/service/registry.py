"""The policies a service holds: compiled once at start, recompiled when a file they were made from changes."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.core.errors import PolicyError, Problem
from engine.model.policy import Policy
from engine.workspace import Library, load_with_sources

# How often the files are looked at again (per request, at most this often): an officer's save is picked up
# within this time, and a busy service does not stat its files thousands of times a second.
CHECK_EVERY = 0.25


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


@dataclass(frozen=True)
class Entry:
    """One policy file of the folder: its compiled policy, or the problems that keep it from compiling."""

    file: str
    policy: Policy | None
    problems: tuple[Problem, ...] = ()
    stamps: tuple[tuple[str, tuple[int, int] | None], ...] = ()  # every file it was made from, as it was

    def changed(self) -> bool:
        return any(_stamp(path) != stamp for path, stamp in self.stamps)


@dataclass
class PolicySet:
    """The policy files under `folder` (NAME.yaml, not NAME.tests.yaml), by declared id."""

    folder: Path
    entries: dict[str, Entry] = field(default_factory=dict)  # by file
    by_id: dict[str, Entry] = field(default_factory=dict)
    _checked: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def files(self) -> list[str]:
        return sorted(str(p) for p in self.folder.rglob("*.y*ml")
                      if p.suffix in (".yaml", ".yml") and not p.name.endswith((".tests.yaml", ".tests.yml"))
                      and not any(part.startswith(".") for part in p.relative_to(self.folder).parts))

    def load(self) -> PolicySet:
        """Compile every policy file now (at start)."""
        with self._lock:
            self._refresh(force=True)
        return self

    def current(self) -> PolicySet:
        """The set as the files are now: changed, added and removed files are taken into account."""
        now = time.monotonic()
        if now - self._checked >= CHECK_EVERY:
            with self._lock:
                if now - self._checked >= CHECK_EVERY:
                    self._refresh()
        return self

    def _refresh(self, force: bool = False) -> None:
        files = self.files()
        library = Library((str(self.folder),))
        entries = {}
        for file in files:
            old = self.entries.get(file)
            entries[file] = (old if old is not None and not force and not old.changed()
                             else _compile(file, library, files))
        self.entries = entries
        by_id: dict[str, Entry] = {}
        for entry in entries.values():
            if entry.policy is not None:
                by_id.setdefault(entry.policy.id, entry)  # two files declaring one id: the first by name
        self.by_id = by_id
        self._checked = time.monotonic()

    def get(self, policy_id: str) -> Policy | None:
        entry = self.by_id.get(policy_id)
        return entry.policy if entry else None

    def broken(self) -> list[Entry]:
        return [e for e in self.entries.values() if e.policy is None]


def _compile(file: str, library: Library, folder: list[str]) -> Entry:
    try:
        policy, sources = load_with_sources(file, library)
    except PolicyError as error:
        # Retried when any file of the folder changes: what is wrong may be in a parent it names.
        return Entry(file, None, tuple(error.problems), tuple((path, _stamp(path)) for path in folder))
    return Entry(file, policy, (), tuple((path, _stamp(path)) for path in dict.fromkeys([file, *sources])))
