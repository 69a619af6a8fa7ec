"""A cache of compiled policies, so that a command run many times does not parse and check the same file anew.

Safe by construction:
- an entry is found by a hash of the engine's own code, the Python version, and the policy file's path and
  bytes; it is used only if every other file it was made from still has the same bytes and every folder
  searched still lists the same files (a changed parent or referred document makes a new entry);
- it lives in the cache's own folder `policy-engine` inside POLICY_CACHE_DIR (else $XDG_CACHE_HOME, else
  ~/.cache), which must be a real directory (not a symlink) owned by the user and writable by nobody else, and
  entries must be regular files with the same owner and mode: pickles are never read from a place another
  user could write. Every read and write goes through a handle on that folder, so it cannot be swapped
  between the check and the use;
- the cache touches only what it made: its folder carries a CACHEDIR.TAG naming it (a folder of that name
  holding anything else is left alone and the cache is off), and trimming removes only files named as its
  entries (`<sha256>.pickle`) or its own unfinished writes. A user's own files, wherever
  POLICY_CACHE_DIR points, are never removed or overwritten;
- any doubt (unreadable, corrupt, another engine version, a folder that is a file, unwritable or a symlink)
  is a miss, never an error: the policy is then compiled as usual. POLICY_CACHE=0 turns the cache off.

The same folder keeps, per Python version, the code of the methods dataclasses generates for the engine's
records (`keep_generated_code`, which the command line turns on): compiled once per user, not once per run.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import functools
import gc
import hashlib
import marshal
import os
import pickle
import re
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import CodeType
from typing import IO, TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:
    from engine.model.policy import Policy
# Nothing of the model at import: keep_generated_code runs before the first record class is made.

FORMAT = b"policy-cache/1"
MAX_ENTRIES = 64
FOLDER_NAME = "policy-engine"  # the cache's own folder, inside POLICY_CACHE_DIR / $XDG_CACHE_HOME / ~/.cache
# The Cache Directory Tagging convention (https://bford.info/cachedir/): backup tools skip a folder holding
# this file; the second line says which program's cache it is, so that only this engine trims it.
TAG_NAME = "CACHEDIR.TAG"
TAG = (b"Signature: 8a477f597d28d172789f06886806bc55\n"
       b"# This file is a cache tag created by policy-engine: compiled policies, safe to delete.\n"
       b"# For information about cache directory tags, see: https://bford.info/cachedir/\n")
_TAG_OWNER = b"created by policy-engine"
_ENTRY = re.compile(r"[0-9a-f]{64}\.pickle")
_CODE = re.compile(r"code-[0-9a-f]{64}\.marshal")  # generated code, one file per Python version
CODE_FORMAT = b"policy-cache/code/1"
MAX_CODE_FILES = 4  # the newest files of generated code kept (one per Python version the user runs)
MAX_CODE = 4096  # texts kept in one file: beyond, only those the run that writes it used
_PART = re.compile(r"\.entry-[0-9a-f]{32}\.part")
_STALE_PART_SECONDS = 3600  # an unfinished write older than this was left by a killed run
_ENGINE = Path(__file__).resolve().parent
_SCHEMAS = _ENGINE.parent / "schemas"
_STAMPED = (".py", ".json", ".j2", ".css")  # the files whose change makes every entry stale


@functools.cache
def _code_stamp() -> bytes:
    """What the engine is made of: every source, message and schema file, by name, size and time (read once per
    process, with os.scandir: a run of `policy evaluate` pays for this walk before every cached load)."""
    digest = hashlib.sha256(FORMAT + sys.version.encode())
    for root in (str(_ENGINE), str(_SCHEMAS)):
        found: list[str] = []
        folders = [root]
        while folders:
            try:
                listing = os.scandir(folders.pop())
            except OSError:
                continue
            with listing:
                for item in listing:
                    if item.is_dir(follow_symlinks=False):
                        folders.append(item.path)
                    elif item.name.endswith(_STAMPED):
                        info = item.stat()
                        # the path below root (what os.path.relpath gives, without its two abspath calls per file)
                        found.append(f"{item.path[len(root) + 1:]}:{info.st_size}:{info.st_mtime_ns}\n")
        digest.update("".join(sorted(found)).encode())
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


def _ours(name: str) -> bool:
    return bool(_ENTRY.fullmatch(name) or _CODE.fullmatch(name) or _PART.fullmatch(name))


class PolicyCache:
    """The current user's folder of compiled policies."""

    def __init__(self, folder: Path):
        self.folder = folder

    @classmethod
    def open(cls) -> PolicyCache | None:
        """The cache folder, made if need be; None when off, or when the folder is not the user's alone, or
        not the cache's own (it holds files the cache did not make)."""
        if os.environ.get("POLICY_CACHE") == "0" or not hasattr(os, "getuid") or not hasattr(os, "O_DIRECTORY"):
            return None
        base = os.environ.get("POLICY_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME") \
            or os.path.join(os.path.expanduser("~"), ".cache")
        folder = Path(base) / FOLDER_NAME
        try:
            Path(base).mkdir(mode=0o700, parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                folder.mkdir(mode=0o700)
            with _opened(folder) as fd:
                if not _claimed(fd):
                    return None
        except OSError:
            return None
        return cls(folder)

    def load(self, path: str, searched: tuple[Sequence[str], Sequence[str]],
             make: Callable[[], tuple[Policy, list[tuple[str, str]]]]) -> Policy:
        """The compiled policy for `path`: from the cache when nothing it was made from changed, else `make()`.

        `searched` is (folders, files) where the workspace looks up parents and referred documents: part of the
        key, since the same file found elsewhere may link to other documents.
        """
        try:
            text = Path(path).read_bytes()
        except OSError:
            return make()[0]  # the loader reports the problem at its place
        key = hashlib.sha256(_code_stamp() + os.path.realpath(path).encode() + b"\0" + text
                             + repr((tuple(searched[0]), tuple(searched[1]))).encode())
        entry = f"{key.hexdigest()}.pickle"
        found = self._read(entry)
        if found is not None:
            signature, policy = found
            if _signature([(kind, p) for kind, p, _h in signature]) == signature:
                return policy
        policy, reads = make()
        made = (_signature(reads), policy)
        self._write(entry, lambda handle: pickle.dump(made, handle, protocol=pickle.HIGHEST_PROTOCOL))
        return policy

    def _read(self, entry: str) -> tuple[list[tuple[str, str, str | None]], Policy] | None:
        from engine.model.policy import Policy

        found = self._opened_entry(entry, _unpickled)
        if not (isinstance(found, tuple) and len(found) == 2 and isinstance(found[1], Policy)):
            return None
        return found

    def _opened_entry(self, entry: str, load: Callable[[IO[bytes]], object]) -> object:
        """What `load` reads from the entry; None when there is none, or it is not the user's alone."""
        try:
            with _opened(self.folder) as folder:
                fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=folder)
                try:
                    if not _private(os.fstat(fd), stat.S_IFREG):
                        return None
                    with os.fdopen(fd, "rb") as handle:
                        fd = -1
                        return load(handle)
                finally:
                    if fd != -1:
                        os.close(fd)
        except Exception:  # a corrupt or foreign entry is a miss, whatever it raises
            return None

    def _write(self, entry: str, dump: Callable[[IO[bytes]], None]) -> None:
        """Put an entry in place whole (`dump` writes it to a temporary file, renamed when complete), then trim;
        any failure is only a miss."""
        try:
            with _opened(self.folder) as folder:
                temp = f".entry-{os.urandom(16).hex()}.part"  # as secrets.token_hex, without its imports
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=folder)
                try:
                    with os.fdopen(fd, "wb") as handle:
                        fd = -1
                        os.fchmod(handle.fileno(), 0o600)
                        dump(handle)
                    os.replace(temp, entry, src_dir_fd=folder, dst_dir_fd=folder)
                except BaseException:
                    if fd != -1:
                        os.close(fd)
                    with contextlib.suppress(OSError):
                        os.unlink(temp, dir_fd=folder)
                    raise
                _trim(folder)
        except Exception:  # a cache that cannot be written is only a slower next run
            pass


def _unpickled(handle: IO[bytes]) -> object:
    """The entry's objects, made with the cyclic garbage collector paused: unpickling a policy makes thousands of
    objects, all kept, and imports the modules of their classes (see engine.__getattr__)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return pickle.load(handle)
    finally:
        if collecting:
            gc.enable()


@contextlib.contextmanager
def _opened(folder: Path) -> Iterator[int]:
    """A handle on the cache's own folder, which must be a real directory that is the user's alone."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        if not _private(os.fstat(fd), stat.S_IFDIR):
            raise PermissionError(f"{folder} is not a folder of the current user's alone")
        yield fd
    finally:
        os.close(fd)


def _claimed(folder: int) -> bool:
    """Whether the folder is the cache's own: it carries the cache's tag, or holds nothing but what the cache
    makes (a new folder, or one an earlier version filled); then it is tagged. Anything else is left alone."""
    tagged = _tagged(folder)
    if tagged is not None:
        return tagged
    if not all(_ours(name) or name == TAG_NAME for name in os.listdir(folder)):
        return False
    temp = f".entry-{os.urandom(16).hex()}.part"  # the tag appears whole: written aside, then linked in place
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(TAG)
        os.link(temp, TAG_NAME, src_dir_fd=folder, dst_dir_fd=folder)
    except FileExistsError:  # another run tagged it meanwhile
        return _tagged(folder) is True
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=folder)
    return True


def _tagged(folder: int) -> bool | None:
    """Whether the folder's tag is this cache's; None when it has none."""
    try:
        tag = os.open(TAG_NAME, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=folder)
    except FileNotFoundError:
        return None
    with os.fdopen(tag, "rb") as handle:
        found = handle.read(4096)
    return found.startswith(TAG.split(b"\n")[0] + b"\n") and _TAG_OWNER in found


def _trim(folder: int) -> None:
    """Keep the newest MAX_ENTRIES entries (those of an older engine or a changed file are never read again)
    and remove unfinished writes a killed run left; nothing else in the folder is touched."""
    entries: list[tuple[int, str]] = []
    code: list[tuple[int, str]] = []
    stale = time.time() - _STALE_PART_SECONDS
    with os.scandir(folder) as listing:
        for item in listing:
            if not _ours(item.name):
                continue
            try:
                info = item.stat(follow_symlinks=False)
            except OSError:
                continue  # removed meanwhile by another run
            if not _private(info, stat.S_IFREG):
                continue
            if _ENTRY.fullmatch(item.name):
                entries.append((info.st_mtime_ns, item.name))
            elif _CODE.fullmatch(item.name):
                code.append((info.st_mtime_ns, item.name))
            elif info.st_mtime < stale:
                with contextlib.suppress(OSError):
                    os.unlink(item.name, dir_fd=folder)
    entries.sort(reverse=True)
    code.sort(reverse=True)
    for _mtime, name in entries[MAX_ENTRIES:] + code[MAX_CODE_FILES:]:
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=folder)


# --- the code dataclasses generates -----------------------------------------------------------------------------

class GeneratedCode:
    """`exec` for the dataclasses module: the text it generates for a record's methods, compiled once per user.

    dataclasses writes each class's __init__, __repr__, __eq__, __hash__, __setattr__ and __delattr__ as Python
    text and has it compiled (Python 3.11 and 3.12: one compile per method). A `policy evaluate` run makes about
    a hundred record classes, and compiling their few hundred texts, the same in every run, was a fifth of the
    whole run. A text compiled in an earlier run is run from the code compiled then: the key is the whole text,
    and it is compiled as dataclasses' own exec compiles it (file "<string>", no __future__ flags of ours), so
    the functions made are the same.

    The file keeps each text's code marshalled on its own, unmarshalled when the text is asked for: a run makes
    only some of the classes another run made."""

    def __init__(self, known: dict[str, CodeType | bytes]):
        self.known = known
        self.used: set[str] = set()
        self.compiled = 0  # texts this run compiled (the file is written again only when there are some)

    def __call__(self, source: object, globals: dict[str, Any] | None = None,
                 locals: dict[str, Any] | None = None, /) -> None:
        if type(source) is str:
            self.used.add(source)
            exec(self._code(source), globals, locals)
        else:
            exec(source, globals, locals)  # type: ignore[arg-type]

    def _code(self, source: str) -> CodeType:
        found = self.known.get(source)
        if type(found) is bytes:
            try:
                found = marshal.loads(found)
            except (EOFError, ValueError, TypeError):  # a damaged entry: compiled anew
                found = None
        if type(found) is CodeType:
            self.known[source] = found
            return found
        code = self.known[source] = compile(source, "<string>", "exec", dont_inherit=True)
        self.compiled += 1
        return code

    def kept(self) -> dict[str, bytes]:
        """What to write, each code marshalled: every text known, or when they have grown past MAX_CODE (records
        of engine versions long gone), only those this run used."""
        texts = self.known if len(self.known) <= MAX_CODE else self.used
        return {text: _marshalled(self.known[text]) for text in texts}


def _marshalled(code: CodeType | bytes) -> bytes:
    return code if type(code) is bytes else marshal.dumps(code)


def _code_entry() -> str:
    """The file of generated code for this Python (another version's bytecode is of no use to it)."""
    version = CODE_FORMAT + sys.version.encode() + str((sys.implementation.cache_tag, marshal.version)).encode()
    return f"code-{hashlib.sha256(version).hexdigest()}.marshal"


def _code_table(found: object) -> dict[str, CodeType | bytes]:
    """The table read from a file of generated code (text: its code, marshalled), or an empty one when the file
    holds anything else."""
    if isinstance(found, dict) and all(type(k) is str and type(v) is bytes for k, v in found.items()):
        return found
    return {}


def keep_generated_code() -> GeneratedCode | None:
    """From now on in this process, dataclasses runs the code it generated in earlier runs, kept in the cache
    folder (under the same rules as compiled policies: the user's own folder and files, written whole), and
    the code compiled by this run is added there when the process exits. Nothing when the cache is off, or when
    dataclasses' exec is already someone else's. Call it before importing what makes the records."""
    if "exec" in vars(dataclasses):
        return None
    store = PolicyCache.open()
    if store is None:
        return None
    entry = _code_entry()
    # read whole, then unmarshalled: marshal.load on the file reads it in pieces, ten times slower
    hook = GeneratedCode(_code_table(store._opened_entry(entry, lambda handle: marshal.loads(handle.read()))))
    dataclasses.exec = hook  # type: ignore[attr-defined]  # found before the builtin by dataclasses' own code

    def write() -> None:
        if hook.compiled:
            table = hook.kept()
            store._write(entry, lambda handle: marshal.dump(table, handle))

    atexit.register(write)
    return hook
