"""Every file a command writes outside `batch` is whole or absent (issue 16): render -o, fork -o, facts -o
(the facts-file template), facts --schema -o and facts --template xlsx|csv -o. A write that stops mid-way — a
full disk, Ctrl-C, SIGKILL — leaves the earlier file, or none; without --force an existing file is never
replaced, even one that appears while the command works."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli

ROOT = Path(__file__).resolve().parent.parent
LISHUI = str(ROOT / "policies" / "lishui-2021-67.yaml")
EARLIER = b"the user's earlier file\n"


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def _commands(out: Path) -> dict[str, list[str]]:
    return {
        "render markdown": ["render", LISHUI, "-o", str(out)],
        "render html": ["render", LISHUI, "--format", "html", "-o", str(out)],
        "fork": ["fork", LISHUI, "--id", "county-x", "--jurisdiction", "青田县", "-o", str(out)],
        "facts template": ["facts", LISHUI, "-o", str(out)],
        "facts schema": ["facts", LISHUI, "--schema", "-o", str(out)],
        "sheet csv": ["facts", LISHUI, "--template", "csv", "-o", str(out)],
        "sheet xlsx": ["facts", LISHUI, "--template", "xlsx", "-o", str(out)],
    }


COMMANDS = list(_commands(Path("x")))


def _whole(name: str, data: bytes) -> None:
    """What a complete output of the command looks like."""
    if name == "sheet xlsx":
        with zipfile.ZipFile(__import__("io").BytesIO(data)) as book:
            assert book.testzip() is None and "xl/workbook.xml" in book.namelist()
    elif name == "render html":
        assert data.rstrip().endswith(b"</html>")
    elif name == "facts schema":
        __import__("json").loads(data)
    elif name == "fork":
        assert b"extends:" in data and b"county-x" in data
    else:
        assert len(data) > 200


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_writes_a_whole_file_and_says_so(tmp_path, name):
    out = tmp_path / "sub" / "out"
    result = run(*_commands(out)[name])
    assert result.exit_code == 0, result.output
    _whole(name, out.read_bytes())
    assert sorted(os.listdir(out.parent)) == ["out"]  # nothing left beside it


class _FailingFile:
    """An open output file that takes some bytes, then fails as a full disk (or Ctrl-C) would."""

    def __init__(self, raw, error: BaseException, after: int = 64):
        self.raw, self.error, self.left = raw, error, after

    def write(self, data) -> int:
        if self.left <= 0:
            raise self.error
        taken = bytes(data)[: self.left]
        self.raw.write(taken)
        self.raw.flush()
        self.left -= len(taken)
        if len(taken) < len(data):
            raise self.error
        return len(taken)

    def __getattr__(self, name):
        return getattr(self.raw, name)


def _fail_mid_way(monkeypatch, error: BaseException) -> None:
    real_fdopen = os.fdopen

    def fdopen(fd, *args, **kwargs):
        return _FailingFile(real_fdopen(fd, *args, **kwargs), error)

    monkeypatch.setattr("engine.core.files.os.fdopen", fdopen)


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()],
                         ids=["disk-full", "ctrl-c"])
@pytest.mark.parametrize("name", COMMANDS)
def test_a_write_failing_mid_way_leaves_the_earlier_file(tmp_path, monkeypatch, name, error):
    out = tmp_path / "out"
    out.write_bytes(EARLIER)
    _fail_mid_way(monkeypatch, error)
    result = run(*_commands(out)[name], "--force")
    assert result.exit_code == 1, result.output
    assert out.read_bytes() == EARLIER
    assert os.listdir(tmp_path) == ["out"]  # the partial temporary file is gone too
    if isinstance(error, OSError):
        assert "No space left on device" in result.output


@pytest.mark.parametrize("name", COMMANDS)
def test_a_write_failing_mid_way_leaves_no_file_where_there_was_none(tmp_path, monkeypatch, name):
    out = tmp_path / "out"
    _fail_mid_way(monkeypatch, OSError(28, "No space left on device"))
    result = run(*_commands(out)[name])
    assert result.exit_code == 1 and os.listdir(tmp_path) == [], result.output


@pytest.mark.parametrize("name", COMMANDS)
def test_without_force_an_existing_file_is_never_replaced(tmp_path, name):
    out = tmp_path / "out"
    out.write_bytes(EARLIER)
    result = run(*_commands(out)[name])
    assert result.exit_code == 1 and "--force" in result.output
    assert out.read_bytes() == EARLIER and os.listdir(tmp_path) == ["out"]


@pytest.mark.parametrize("name", COMMANDS)
def test_a_file_that_appears_while_the_command_works_is_not_replaced(tmp_path, monkeypatch, name):
    """The early check passes; someone saves the file before the output is put in place: theirs is kept."""
    out = tmp_path / "out"
    real_fdopen = os.fdopen

    def fdopen(fd, *args, **kwargs):
        out.write_bytes(EARLIER)  # the moment the temporary file is opened, the target appears
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr("engine.core.files.os.fdopen", fdopen)
    result = run(*_commands(out)[name])
    assert result.exit_code == 1 and "--force" in result.output, result.output
    assert out.read_bytes() == EARLIER and os.listdir(tmp_path) == ["out"]


@pytest.mark.parametrize("name", ["render html", "fork", "sheet xlsx", "facts schema"])
def test_a_command_killed_while_writing_leaves_the_earlier_file(tmp_path, name):
    """SIGKILL in the middle of writing the output: the earlier file is untouched; only a hidden part file
    is left, which the next successful write of the same file removes."""
    out = tmp_path / "out"
    out.write_bytes(EARLIER)
    args = _commands(out)[name] + ["--force"]
    script = textwrap.dedent(f"""
        import os, signal
        import engine.core.files as files

        real_fdopen = os.fdopen

        class Killed:
            def __init__(self, raw):
                self.raw, self.written = raw, 0
            def write(self, data):
                data = bytes(data)
                self.raw.write(data[: 100])
                self.raw.flush()
                os.fsync(self.raw.fileno())
                os.kill(os.getpid(), signal.SIGKILL)  # mid-way: some bytes are on disk
            def __getattr__(self, name):
                return getattr(self.raw, name)

        files.os.fdopen = lambda fd, *a, **k: Killed(real_fdopen(fd, *a, **k))
        from cli import cli
        cli({args!r})
    """)
    child = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, timeout=120,
                           env={**os.environ, "POLICY_CACHE": "0"})
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert out.read_bytes() == EARLIER
    leftovers = [n for n in os.listdir(tmp_path) if n != "out"]
    assert leftovers and all(n.startswith(".out.") and n.endswith(".part") for n in leftovers)
    assert run(*args).exit_code == 0
    assert os.listdir(tmp_path) == ["out"]
    _whole(name, out.read_bytes())
