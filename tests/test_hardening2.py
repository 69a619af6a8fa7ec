"""Regression tests for the second adversarial run (issue 16; inputs in tests/fixtures/repro-2/, by id)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from engine.cache import FOLDER_NAME, PolicyCache

ROOT = Path(__file__).resolve().parent.parent
REPRO = ROOT / "tests" / "fixtures" / "repro-2"
LISHUI = str(ROOT / "policies" / "lishui-2021-67.yaml")
SELLER = str(ROOT / "examples" / "seller.yaml")


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# --- D10: the cache deletes only what it made, whatever folder POLICY_CACHE_DIR names ----------------

def _user_files(folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for i in range(70):
        made[f"model-{i}.pickle"] = f"precious {i}\n".encode()
    made["ab" * 32 + ".pickle"] = b"named like a cache entry, but the user's own\n"
    made[".entry-" + "0" * 32 + ".part"] = b"named like an unfinished write, but the user's own\n"
    for name, content in made.items():
        (folder / name).write_bytes(content)
        os.utime(folder / name, (1_000_000_000, 1_000_000_000))  # old: the first to go if they were trimmed
    return made


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_d10_the_cache_never_removes_or_overwrites_a_users_files(tmp_path, monkeypatch):
    monkeypatch.setenv("POLICY_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr("engine.cache.MAX_ENTRIES", 1)  # trim on every write
    made = _user_files(tmp_path)
    source = Path(LISHUI).read_text(encoding="utf-8")
    for i in range(3):
        policy = tmp_path / f"p{i}.yaml"
        policy.write_text(source, encoding="utf-8")
        made[policy.name] = source.encode()
        assert run("evaluate", str(policy), SELLER).exit_code == 0
    assert _contents(tmp_path) == made
    own = tmp_path / FOLDER_NAME
    assert len(list(own.glob("*.pickle"))) == 1  # the cache's own entries are trimmed, in its own folder
    assert (own / "CACHEDIR.TAG").read_bytes().startswith(b"Signature: 8a477f597d28d172789f06886806bc55\n")


def test_d10_a_folder_of_the_caches_name_holding_other_files_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("POLICY_CACHE_DIR", str(tmp_path))
    made = _user_files(tmp_path / FOLDER_NAME)
    os.chmod(tmp_path / FOLDER_NAME, 0o700)
    assert PolicyCache.open() is None
    assert run("evaluate", LISHUI, SELLER).exit_code == 0
    assert _contents(tmp_path / FOLDER_NAME) == made


def test_d10_trimming_spares_links_and_unknown_names_in_its_own_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("POLICY_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr("engine.cache.MAX_ENTRIES", 0)
    assert PolicyCache.open() is not None
    own = tmp_path / FOLDER_NAME
    outside = tmp_path / "elsewhere.pickle"
    outside.write_bytes(b"mine")
    (own / ("cd" * 32 + ".pickle")).symlink_to(outside)
    (own / "notes.txt").write_bytes(b"mine too")
    stale = own / (".entry-" + "1" * 32 + ".part")
    stale.write_bytes(b"left by a killed run")
    os.chmod(stale, 0o600)
    os.utime(stale, (1_000_000_000, 1_000_000_000))
    assert run("evaluate", LISHUI, SELLER).exit_code == 0
    assert outside.read_bytes() == b"mine" and (own / ("cd" * 32 + ".pickle")).is_symlink()
    assert (own / "notes.txt").read_bytes() == b"mine too"
    assert not stale.exists() and list(own.glob("*.pickle")) == [own / ("cd" * 32 + ".pickle")]


def _a_file(tmp_path: Path) -> Path:
    path = tmp_path / "cache"
    path.write_text("a file, not a folder", encoding="utf-8")
    return path


def _under_a_file(tmp_path: Path) -> Path:
    return _a_file(tmp_path) / "below"


def _own_folder_is_a_file(tmp_path: Path) -> Path:
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / FOLDER_NAME).write_text("a file", encoding="utf-8")
    return tmp_path / "cache"


def _unwritable(tmp_path: Path) -> Path:
    path = tmp_path / "cache"
    path.mkdir(mode=0o500)
    return path


def _own_folder_unwritable(tmp_path: Path) -> Path:
    path = tmp_path / "cache"
    (path / FOLDER_NAME).mkdir(parents=True, mode=0o700)
    os.chmod(path / FOLDER_NAME, 0o500)
    return path


def _own_folder_a_symlink(tmp_path: Path) -> Path:
    (tmp_path / "real").mkdir(mode=0o700)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / FOLDER_NAME).symlink_to(tmp_path / "real")
    return tmp_path / "cache"


def _a_symlink_to_a_folder(tmp_path: Path) -> Path:
    (tmp_path / "real").mkdir(mode=0o700)
    (tmp_path / "cache").symlink_to(tmp_path / "real")
    return tmp_path / "cache"


ROOT_WRITES_ANYWHERE = pytest.mark.skipif(os.geteuid() == 0, reason="root writes to a folder whatever its mode")


@pytest.mark.parametrize("make", [_a_file, _under_a_file, _own_folder_is_a_file,
                                  pytest.param(_unwritable, marks=ROOT_WRITES_ANYWHERE),
                                  pytest.param(_own_folder_unwritable, marks=ROOT_WRITES_ANYWHERE),
                                  _own_folder_a_symlink, _a_symlink_to_a_folder])
def test_d10_a_cache_folder_that_cannot_be_used_does_not_break_a_command(tmp_path, monkeypatch, make):
    monkeypatch.setenv("POLICY_CACHE", "0")
    expected = run("evaluate", LISHUI, SELLER, "--lang", "en")
    assert expected.exit_code == 0
    monkeypatch.delenv("POLICY_CACHE")
    monkeypatch.setenv("POLICY_CACHE_DIR", str(make(tmp_path)))
    for _twice in range(2):
        again = run("evaluate", LISHUI, SELLER, "--lang", "en")
        assert again.exit_code == 0 and again.output == expected.output
    if (tmp_path / "real").exists():  # a symlinked own folder is not used; a symlinked POLICY_CACHE_DIR is
        used = list((tmp_path / "real").rglob("*.pickle"))
        assert len(used) == (1 if make is _a_symlink_to_a_folder else 0)


def test_d10_a_cache_that_cannot_be_written_is_only_a_miss(tmp_path, monkeypatch):
    """The same as an unwritable folder for any user, root included: every file the cache creates is refused."""
    monkeypatch.setenv("POLICY_CACHE_DIR", str(tmp_path))
    assert PolicyCache.open() is not None  # the folder and its tag exist; from now on nothing can be created
    real_open = os.open

    def refuse_to_create(path, flags, *args, **kwargs):
        if flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr("engine.cache.os.open", refuse_to_create)
    for _twice in range(2):
        assert run("evaluate", LISHUI, SELLER).exit_code == 0
    assert list((tmp_path / FOLDER_NAME).iterdir()) == [tmp_path / FOLDER_NAME / "CACHEDIR.TAG"]
