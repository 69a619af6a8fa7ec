"""Every file the project writes is whole or absent (engine.core.files)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from engine.core.files import path_when_done, replace_when_done, write_whole


def test_a_write_that_fails_leaves_the_earlier_file_and_no_leftover(tmp_path):
    target = tmp_path / "results.csv"
    write_whole(target, "earlier\n")
    with pytest.raises(KeyboardInterrupt):
        with replace_when_done(target) as handle:
            handle.write("half of the new")
            raise KeyboardInterrupt
    assert target.read_text() == "earlier\n"
    assert os.listdir(tmp_path) == ["results.csv"]


def test_a_write_that_fails_leaves_no_file_where_there_was_none(tmp_path):
    target = tmp_path / "new.xlsx"
    with pytest.raises(ValueError):
        with replace_when_done(target, "wb") as handle:
            handle.write(b"PK\x03\x04")
            raise ValueError("found late")
    assert os.listdir(tmp_path) == []


def test_a_file_another_writer_writes_is_put_in_place_whole_or_not_at_all(tmp_path):
    """path_when_done: a temporary path beside the target for another writer (DuckDB's COPY), renamed when the block
    ends, removed when it fails; the earlier file stays until then."""
    target = tmp_path / "results.csv"
    write_whole(target, "earlier\n")
    with pytest.raises(KeyboardInterrupt):
        with path_when_done(target) as temp:
            with open(temp, "w") as other:
                other.write("half of the new")
            raise KeyboardInterrupt
    assert target.read_text() == "earlier\n" and os.listdir(tmp_path) == ["results.csv"]
    with path_when_done(target) as temp:
        assert os.path.dirname(temp) == str(tmp_path) and os.path.basename(temp).startswith(".results.csv.")
        with open(temp, "w") as other:
            other.write("new\n")
        assert target.read_text() == "earlier\n"
    assert target.read_text() == "new\n" and os.listdir(tmp_path) == ["results.csv"]
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(target).st_mode & 0o777 == 0o666 & ~umask


def test_exclusive_never_replaces_a_file_the_user_has(tmp_path):
    target = tmp_path / "county.yaml"
    target.write_text("# my notes\n")
    with pytest.raises(FileExistsError):
        write_whole(target, "new", exclusive=True)
    assert target.read_text() == "# my notes\n"
    write_whole(tmp_path / "other.yaml", "new", exclusive=True)
    assert (tmp_path / "other.yaml").read_text() == "new"


def test_the_new_file_has_the_mode_open_would_give_it(tmp_path):
    target = tmp_path / "a.txt"
    write_whole(target, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(target).st_mode & 0o777 == 0o666 & ~umask


def test_a_writer_killed_with_sigkill_leaves_the_earlier_file_and_the_next_write_clears_its_leftover(tmp_path):
    target = tmp_path / "out.csv"
    write_whole(target, "earlier\n")
    script = textwrap.dedent(f"""
        import sys, time
        from engine.core.files import replace_when_done
        with replace_when_done({str(target)!r}) as handle:
            handle.write("partial" * 1000)
            handle.flush()
            print("writing", flush=True)
            time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                             cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert child.stdout is not None and child.stdout.readline().strip() == "writing"
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert target.read_text() == "earlier\n"
    assert [name for name in os.listdir(tmp_path) if name != "out.csv"]  # the hidden part file
    write_whole(target, "next\n")
    assert os.listdir(tmp_path) == ["out.csv"] and target.read_text() == "next\n"
