"""The policies a service holds: compiled once at start, recompiled off the event loop when a file changes.

Each changed file is recompiled in a worker thread; meanwhile requests for other policies are answered from
what is held, and a request for the policy being recompiled waits for it (within its deadline), so the last
saved content is what is served. A file's stamps are taken *before* it is read: a save made while it compiles
changes them again, and the next look recompiles it.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import threading
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from engine import Library, Policy, PolicyError, Problem, load_with_sources, msg, policy_files

# How often the files are looked at again (per request, at most this often): an officer's save is picked up
# within this time, and a busy service does not stat its files thousands of times a second.
CHECK_EVERY = 0.25

Stamp = tuple[int, int, int, int] | None


def _stamp(path: str) -> Stamp:
    """What changes when a file is saved: its modification and change times, size and inode (a save by rename)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino


def _compile_process() -> Executor:
    """One worker process, started on the first recompile (spawned: the service's threads are not forked)."""
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_follow_parent, initargs=(os.getpid(),))


def _follow_parent(parent: int) -> None:
    """In the worker: end when the service ends, however it ends (uvicorn re-raises SIGTERM after its shutdown,
    and a killed process runs no exit handlers): a worker is never left behind."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="follow-parent").start()


@dataclass(frozen=True)
class Entry:
    """One policy file of the folder: its compiled policy, or the problems that keep it from compiling."""

    file: str
    policy: Policy | None
    problems: tuple[Problem, ...] = ()
    stamps: tuple[tuple[str, Stamp], ...] = ()  # every file it was made from, as it was before it was read

    def changed(self) -> bool:
        return any(_stamp(path) != stamp for path, stamp in self.stamps)


@dataclass
class PolicySet:
    """The policy files under `folder` (NAME.yaml, not NAME.tests.yaml), by declared id."""

    folder: Path
    entries: dict[str, Entry] = field(default_factory=dict)  # by file
    by_id: dict[str, Entry] = field(default_factory=dict)
    pending: dict[str, Future[Entry]] = field(default_factory=dict)  # files being recompiled now
    _checked: float = 0.0
    # Re-entrant: a compile that is over before its callback is added runs the callback in the looking thread.
    _lock: threading.RLock = field(default_factory=threading.RLock)
    # Recompiles run in a worker process of their own: a compile is pure Python and, in a thread, would hold
    # the interpreter's lock against the event loop for its whole length. One worker: compiles queue behind
    # each other (engine.workspace records the files a load reads in a module-level list, so two loads must
    # not share a process); requests for unchanged policies never wait for them.
    _compiler: Executor = field(default_factory=_compile_process)

    def files(self) -> list[str]:
        return policy_files(self.folder)

    def load(self) -> PolicySet:
        """Compile every policy file now (at start)."""
        files = self.files()
        stamps = {file: _stamp(file) for file in files}
        with self._lock:
            self.entries = {file: _compile(file, str(self.folder), files, stamps) for file in files}
            self._index()
            self._checked = time.monotonic()
        return self

    def poll(self) -> dict[str, Future[Entry]]:
        """Look at the files (at most every CHECK_EVERY): start a recompile of each changed or new file, drop
        removed ones. Returns the recompiles under way; it never waits for one."""
        now = time.monotonic()
        if now - self._checked < CHECK_EVERY:
            return dict(self.pending)
        with self._lock:
            if now - self._checked >= CHECK_EVERY:
                self._checked = now
                self._look()
            return dict(self.pending)

    def _look(self) -> None:
        files = self.files()
        stamps = {file: _stamp(file) for file in files}  # before anything is read
        removed = [file for file in self.entries if file not in stamps]
        for file in removed:
            del self.entries[file]
        for file in files:
            old = self.entries.get(file)
            if file in self.pending or (old is not None and not old.changed()):
                continue
            future = self._submit(file, files, stamps)
            self.pending[file] = future
            future.add_done_callback(functools.partial(self._install, file))
        if removed:
            self._index()

    def _submit(self, file: str, files: list[str], stamps: dict[str, Stamp]) -> Future[Entry]:
        try:
            return self._compiler.submit(_compile, file, str(self.folder), files, stamps)
        except (BrokenProcessPool, RuntimeError, OSError):  # no process can be started here: a thread, then
            self._compiler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="policy-compile")
            return self._compiler.submit(_compile, file, str(self.folder), files, stamps)

    def _install(self, file: str, done: Future[Entry]) -> None:
        with self._lock:
            self.pending.pop(file, None)
            if not done.cancelled() and isinstance(done.exception(), BrokenProcessPool):
                self._compiler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="policy-compile")
                self._look()  # the file is still changed: compiled again, in a thread
                return
            if done.cancelled() or done.exception() is not None or not os.path.exists(file):
                return  # a file removed while it compiled; a crash of the compiler is seen on the next look
            entry = self.entries[file] = done.result()
            self._index()
            if entry.changed():  # saved again while it compiled: compile the last save now, not at the next look
                self._look()

    def _index(self) -> None:
        by_id: dict[str, Entry] = {}
        for file in sorted(self.entries):
            entry = self.entries[file]
            if entry.policy is not None:
                by_id.setdefault(entry.policy.id, entry)  # two files declaring one id: the first by name
        self.by_id = by_id

    def waits_for(self, policy_id: str | None, look: bool = True) -> list[Future[Entry]]:
        """The recompiles a request for `policy_id` (None: every policy) must wait for: that policy's file, a
        file named after it, and files whose id is not known yet (new or broken ones). `look`: look at the
        files first (a stat of each); else only the recompiles already under way."""
        pending = self.poll() if look else dict(self.pending)
        if policy_id is None:
            return list(pending.values())
        out = []
        for file, future in pending.items():
            old = self.entries.get(file)
            if old is None or old.policy is None or old.policy.id == policy_id or Path(file).stem == policy_id:
                out.append(future)
        return out

    def get(self, policy_id: str) -> Policy | None:
        entry = self.by_id.get(policy_id)
        return entry.policy if entry else None

    def broken(self) -> list[Entry]:
        return [e for e in self.entries.values() if e.policy is None]

    def close(self) -> None:
        self._compiler.shutdown(wait=False, cancel_futures=True)


def _compile(file: str, root: str, folder: list[str], stamps: dict[str, Stamp]) -> Entry:
    """One file compiled (at start, or in the compile process), with a library of its own."""
    library = Library((root,))

    def before(path: str) -> Stamp:
        return stamps[path] if path in stamps else _stamp(path)

    try:
        policy, sources = load_with_sources(file, library)
    except PolicyError as error:
        # Retried when any file of the folder changes: what is wrong may be in a parent it names.
        return Entry(file, None, tuple(error.problems), tuple((path, before(path)) for path in folder))
    except Exception as error:  # a bug of the compiler: this file is not served, the others are
        problem = Problem(msg("serve.compile_bug", detail=f"{type(error).__name__}: {error}"), file=file,
                          suggestion=msg("serve.compile_bug.hint"))
        return Entry(file, None, (problem,), tuple((path, before(path)) for path in folder))
    return Entry(file, policy, (), tuple((path, before(path)) for path in dict.fromkeys([file, *sources])))
