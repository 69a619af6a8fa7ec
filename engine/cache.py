"""A cache of compiled policies, so that a command run many times does not parse and check the same file anew.

Safe by construction:
- an entry is found by a hash of the engine's own code, the Python version, and the policy file's path and
  bytes; it is used only if every other file it was made from still has the same bytes and every folder
  searched still lists the same files (a changed parent or referred document makes a new entry);
- it lives in a folder of the current user's (POLICY_CACHE_DIR, else $XDG_CACHE_HOME/policy-engine, else
  ~/.cache/policy-engine), which must be a real directory owned by the user and writable by nobody else,
  and entries must be regular files with the same owner and mode: pickles are never read from a place
  another user could write;
- any doubt (unreadable, corrupt, another engine version) is a miss, never an error: the policy is then
  compiled as usual. POLICY_CACHE=0 turns the cache off.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from engine.model.policy import Policy

if TYPE_CHECKING:
    from engine.workspace import Library  # engine.workspace imports this module when it loads a policy

FORMAT = b"policy-cache/1"
MAX_ENTRIES = 64
_ENGINE = Path(__file__).resolve().parent
_SCHEMAS = _ENGINE.parent / "schemas"


def _code_stamp() -> bytes:
    """What the engine is made of: every source, message and schema file, by name, size and time."""
    digest = hashlib.sha256(FORMAT + sys.version.encode())
    for root in (_ENGINE, _SCHEMAS):
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".json", ".j2", ".css"):
                info = path.stat()
                digest.update(f"{path.relative_to(root)}:{info.st_size}:{info.st_mtime_ns}\n".encode())
    return digest.digest()


def _private(info: os.stat_result, kind: int) -> bool:
    return (stat.S_IFMT(info.st_mode) == kind and info.st_uid == os.getuid()
            and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def _file_hash(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _listing(folder: str) -> str | None:
    try:
        names = sorted(f"{e.name}:{e.stat().st_size}:{e.stat().st_mtime_ns}" for e in os.scandir(folder))
    except OSError:
        return None
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def _signature(reads: list[tuple[str, str]]) -> list[tuple[str, str, str | None]]:
    return [(kind, path, _file_hash(path) if kind == "file" else _listing(path)) for kind, path in reads]


class PolicyCache:
    """The current user's folder of compiled policies."""

    def __init__(self, folder: Path):
        self.folder = folder

    @classmethod
    def open(cls) -> PolicyCache | None:
        """The cache folder, made if need be; None when off, or when the folder is not the user's alone."""
        if os.environ.get("POLICY_CACHE") == "0" or not hasattr(os, "getuid"):
            return None
        chosen = os.environ.get("POLICY_CACHE_DIR")
        if chosen:
            folder = Path(chosen)
        else:
            base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
            folder = Path(base) / "policy-engine"
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not _private(os.lstat(folder), stat.S_IFDIR):
                return None
        except OSError:
            return None
        return cls(folder)

    def load(self, path: str, library: Library, make: Callable[[], tuple[Policy, list[tuple[str, str]]]]) -> Policy:
        """The compiled policy for `path`: from the cache when nothing it was made from changed, else `make()`."""
        try:
            text = Path(path).read_bytes()
        except OSError:
            return make()[0]  # the loader reports the problem at its place
        key = hashlib.sha256(_code_stamp() + os.path.realpath(path).encode() + b"\0" + text
                             + repr((library.dirs, library.files)).encode())
        entry = self.folder / f"{key.hexdigest()}.pickle"
        found = self._read(entry)
        if found is not None:
            signature, policy = found
            if _signature([(kind, p) for kind, p, _h in signature]) == signature:
                return policy
        policy, reads = make()
        self._write(entry, (_signature(reads), policy))
        return policy

    def _read(self, entry: Path) -> tuple[list[tuple[str, str, str | None]], Policy] | None:
        try:
            fd = os.open(entry, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        try:
            if not _private(os.fstat(fd), stat.S_IFREG):
                return None
            with os.fdopen(fd, "rb") as handle:
                fd = -1
                found = pickle.load(handle)
        except Exception:  # noqa: BLE001 - a corrupt or foreign entry is a miss, whatever it raises
            return None
        finally:
            if fd != -1:
                os.close(fd)
        if not (isinstance(found, tuple) and len(found) == 2 and isinstance(found[1], Policy)):
            return None
        return found

    def _trim(self) -> None:
        """Keep the newest MAX_ENTRIES: entries of an older engine or a changed file are never read again."""
        entries = sorted(self.folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in entries[MAX_ENTRIES:]:
            old.unlink(missing_ok=True)

    def _write(self, entry: Path, value: object) -> None:
        try:
            fd, temp = tempfile.mkstemp(dir=self.folder, prefix=".entry-")
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.chmod(temp, 0o600)
            os.replace(temp, entry)
            self._trim()
        except Exception:  # noqa: BLE001 - a cache that cannot be written is only a slower next run
            try:
                os.unlink(temp)
            except (OSError, UnboundLocalError):
                pass
