"""Every file the project writes is whole or absent.

A file is written to a temporary file in the same folder (so the rename cannot cross file systems), flushed
to disk, and renamed into place only when it is complete. A run that stops for any reason — an error found
late, Ctrl-C, SIGKILL, a full disk — leaves the earlier file, or no file, never a partial one. What a killed
run leaves behind is at most a hidden `.NAME.*.part` file beside the target, which never has the target's
name and which the next successful write of the same target removes.
"""

from __future__ import annotations

import contextlib
import glob
import io
import os
import tempfile
from collections.abc import Iterator
from typing import IO, Literal, overload

PART_SUFFIX = ".part"


def _part_prefix(path: str) -> str:
    return "." + os.path.basename(path) + "."


def _clear_leftovers(path: str) -> None:
    """Remove the `.part` files a killed earlier write of `path` left behind (never the target itself)."""
    folder = os.path.dirname(os.path.abspath(path))
    pattern = os.path.join(glob.escape(folder), glob.escape(_part_prefix(path)) + "*" + PART_SUFFIX)
    for leftover in glob.glob(pattern):
        with contextlib.suppress(OSError):
            os.unlink(leftover)


@overload
def replace_when_done(path: str | os.PathLike[str], mode: Literal["w"] = "w", *, encoding: str = "utf-8",
                      newline: str | None = None, exclusive: bool = False) -> contextlib.AbstractContextManager[
                          IO[str]]: ...


@overload
def replace_when_done(path: str | os.PathLike[str], mode: Literal["wb"], *, encoding: str = "utf-8",
                      newline: str | None = None, exclusive: bool = False) -> contextlib.AbstractContextManager[
                          IO[bytes]]: ...


def replace_when_done(path: str | os.PathLike[str], mode: str = "w", *, encoding: str = "utf-8",
                      newline: str | None = None,
                      exclusive: bool = False) -> contextlib.AbstractContextManager[IO[str]] | \
        contextlib.AbstractContextManager[IO[bytes]]:
    """Open a temporary file beside `path` for writing; on leaving the block without an exception it is
    flushed, synced and renamed to `path`; on any exception it is removed and `path` is left as it was.

    `exclusive=True` never replaces an existing file: `FileExistsError` is raised (at the end, when the
    file would be put in place) and the new content is discarded.
    """
    return _replace_when_done(os.fspath(path), mode, encoding, newline, exclusive)  # type: ignore[return-value]


@contextlib.contextmanager
def _replace_when_done(path: str, mode: str, encoding: str, newline: str | None,
                       exclusive: bool) -> Iterator[IO[str] | IO[bytes]]:
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', not {mode!r}")
    target = os.path.abspath(path)
    if exclusive and os.path.lexists(target):  # refuse early too, before any work is done
        raise FileExistsError(17, os.strerror(17), path)
    folder = os.path.dirname(target)
    fd, temp = tempfile.mkstemp(dir=folder, prefix=_part_prefix(target), suffix=PART_SUFFIX)
    try:
        raw = os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        os.unlink(temp)
        raise
    handle: IO[str] | IO[bytes]
    handle = io.TextIOWrapper(raw, encoding=encoding, newline=newline) if mode == "w" else raw
    try:
        yield handle
        handle.flush()
        os.fsync(raw.fileno())
        handle.close()
        _mode_of_new_file(temp)
        if exclusive:
            os.link(temp, target)  # fails if the target appeared meanwhile: nothing is replaced
            os.unlink(temp)
        else:
            os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(Exception):
            handle.close()
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _clear_leftovers(target)


@contextlib.contextmanager
def path_when_done(path: str | os.PathLike[str]) -> Iterator[str]:
    """The path of a temporary file beside `path`, for another writer than this process's handles (DuckDB's
    COPY … TO) to write; when the block ends without an exception the file is synced and renamed to `path`, on any
    exception it is removed and `path` is left as it was (as `replace_when_done`)."""
    target = os.path.abspath(os.fspath(path))
    fd, temp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=_part_prefix(target), suffix=PART_SUFFIX)
    os.close(fd)
    try:
        yield temp
        with open(temp, "rb+") as written:
            os.fsync(written.fileno())
        _mode_of_new_file(temp)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _clear_leftovers(target)


def _mode_of_new_file(temp: str) -> None:
    """mkstemp makes 0600 files; a file the user asked for gets the mode `open()` would give it (0666 & ~umask)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temp, 0o666 & ~umask)


def write_whole(path: str | os.PathLike[str], content: str | bytes, *, encoding: str = "utf-8",
                newline: str | None = None, exclusive: bool = False) -> None:
    """Write `content` to `path` whole or not at all (see `replace_when_done`)."""
    if isinstance(content, bytes):
        with replace_when_done(path, "wb", exclusive=exclusive) as binary:
            binary.write(content)
    else:
        with replace_when_done(path, "w", encoding=encoding, newline=newline, exclusive=exclusive) as text:
            text.write(content)
