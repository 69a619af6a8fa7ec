"""The cache of compiled policies: used when nothing changed, never when anything it was made from did,
and never from a folder someone else could write."""

from __future__ import annotations

import json
import marshal
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine import evaluate, load_applicant, render_text
from engine.cache import PolicyCache
from engine.workspace import load_policy

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("POLICY_CACHE_DIR", str(folder))
    return folder


def entries(folder: Path) -> list[Path]:
    return sorted((folder / "policy-engine").glob("*.pickle"))


def test_a_second_load_comes_from_the_cache_and_evaluates_the_same(cache_dir):
    first = load_policy(str(ROOT / "policies" / "lishui-2021-67.yaml"), cache=True)
    assert len(entries(cache_dir)) == 1
    second = load_policy(str(ROOT / "policies" / "lishui-2021-67.yaml"), cache=True)
    assert second is not first and [c.id for c in second.clauses] == [c.id for c in first.clauses]
    seller = ROOT / "examples" / "seller.yaml"
    assert render_text(evaluate(second, load_applicant(second, str(seller)))) == \
        render_text(evaluate(first, load_applicant(first, str(seller))))
    assert oct(entries(cache_dir)[0].stat().st_mode & 0o777) == "0o600"
    assert oct((cache_dir / "policy-engine").stat().st_mode & 0o777) == "0o700"


def test_an_edited_policy_is_compiled_anew(cache_dir, tmp_path):
    policy = tmp_path / "p.yaml"
    shutil.copy(ROOT / "policies" / "lishui-2021-67.yaml", policy)
    load_policy(str(policy), cache=True)
    text = policy.read_text(encoding="utf-8").replace("title: 首次开展跨境电商企业补助", "title: 首次开展跨境电商企业补助（改）", 1)
    policy.write_text(text, encoding="utf-8")
    assert any(c.title.endswith("（改）") for c in load_policy(str(policy), cache=True).clauses)


def test_a_changed_parent_reaches_its_county(cache_dir, tmp_path):
    city, county = tmp_path / "lishui-2021-67.yaml", tmp_path / "county.yaml"
    shutil.copy(ROOT / "policies" / "lishui-2021-67.yaml", city)
    shutil.copy(ROOT / "policies" / "examples" / "qingtian-example.yaml", county)
    county.write_text(county.read_text(encoding="utf-8").replace("extends: ../lishui-2021-67.yaml",
                                                                 "extends: lishui-2021-67.yaml"), encoding="utf-8")
    before = load_policy(str(county), cache=True)
    city.write_text(city.read_text(encoding="utf-8").replace("title: 首次开展跨境电商企业补助",
                                                             "title: 首次开展跨境电商企业补助（市改）", 1), encoding="utf-8")
    after = load_policy(str(county), cache=True)
    assert [c.title for c in before.clauses] != [c.title for c in after.clauses]


def test_a_folder_others_can_write_is_not_used(cache_dir):
    (cache_dir / "policy-engine").mkdir(mode=0o700, parents=True)
    os.chmod(cache_dir / "policy-engine", 0o777)
    assert PolicyCache.open() is None
    load_policy(str(ROOT / "policies" / "lishui-2021-67.yaml"), cache=True)
    assert entries(cache_dir) == []


def test_a_corrupt_or_foreign_entry_is_a_miss(cache_dir):
    path = str(ROOT / "policies" / "lishui-2021-67.yaml")
    load_policy(path, cache=True)
    (entry,) = entries(cache_dir)
    entry.write_bytes(b"not a pickle")
    assert load_policy(path, cache=True).id == "lishui-2021-67"
    os.chmod(entry, 0o666)  # rewritten by the miss above with 0600; make it writable by others
    assert load_policy(path, cache=True).id == "lishui-2021-67"


def test_off_when_asked(cache_dir, monkeypatch):
    monkeypatch.setenv("POLICY_CACHE", "0")
    load_policy(str(ROOT / "policies" / "lishui-2021-67.yaml"), cache=True)
    assert not cache_dir.exists()


def test_the_cache_keeps_only_its_newest_entries(cache_dir, tmp_path, monkeypatch):
    monkeypatch.setattr("engine.cache.MAX_ENTRIES", 3)
    source = (ROOT / "policies" / "lishui-2021-67.yaml").read_text(encoding="utf-8")
    for i in range(5):
        policy = tmp_path / f"p{i}.yaml"
        policy.write_text(source, encoding="utf-8")
        load_policy(str(policy), cache=True)
    assert len(entries(cache_dir)) == 3


# --- the code dataclasses generates, kept beside the compiled policies ----------------------------------------

# A run as the command line starts one: the generated code kept first, then the engine imported and used.
_RUN = ("import dataclasses, sys\n"
        "from engine import keep_generated_code\n"
        "hook = keep_generated_code()\n"
        "from engine import evaluate, load_applicant, load_policy, render_text\n"
        "policy = load_policy(sys.argv[1], cache=True)\n"
        "print(render_text(evaluate(policy, load_applicant(policy, sys.argv[2]))))\n"
        "print('COMPILED', -1 if hook is None else hook.compiled, 'exec' in vars(dataclasses))\n"
        # every method dataclasses made for the engine's records: its code (instructions, names, constants; a
        # frozenset's order, which follows the strings' hashes, left out) and its annotations
        "import gc, json, types\n"
        "def shown(x):\n"
        "    if isinstance(x, types.CodeType):\n"
        "        return [x.co_code.hex(), x.co_names, x.co_varnames, x.co_freevars, x.co_cellvars, x.co_argcount,\n"
        "                x.co_kwonlyargcount, x.co_posonlyargcount, x.co_flags, x.co_name, x.co_filename,\n"
        "                [shown(c) for c in x.co_consts]]\n"
        "    return sorted(map(repr, x)) if isinstance(x, frozenset) else repr(x)\n"
        "made = {}\n"
        "for c in (c for c in gc.get_objects() if isinstance(c, type) and dataclasses.is_dataclass(c)\n"
        "          and c.__module__.startswith('engine')):\n"
        "    for name in ('__init__', '__repr__', '__eq__', '__hash__', '__setattr__', '__delattr__'):\n"
        "        f = getattr(c.__dict__.get(name), '__wrapped__', c.__dict__.get(name))\n"
        "        if f is not None:\n"
        "            made[f'{c.__module__}.{c.__qualname__}.{name}'] = [shown(f.__code__), repr(f.__annotations__)]\n"
        "print(json.dumps(made))\n")


def _run(cache_dir: Path, **env: str) -> tuple[str, int]:
    done = subprocess.run([sys.executable, "-c", _RUN, str(ROOT / "policies" / "lishui-2021-67.yaml"),
                           str(ROOT / "examples" / "seller.yaml")], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "POLICY_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(ROOT), **env},
                          timeout=120)
    assert done.returncode == 0, done.stderr
    sheet, counted, made = done.stdout.rstrip("\n").rsplit("\n", 2)
    compiled, hooked = counted.split()[1:]
    assert hooked == ("True" if int(compiled) >= 0 else "False")
    _MADE.append(json.loads(made))
    return sheet, int(compiled)


_MADE: list[dict[str, object]] = []  # each run's record methods (module.Class.method: code), last run last


def code_files(folder: Path) -> list[Path]:
    return sorted((folder / "policy-engine").glob("code-*.marshal"))


def test_a_second_run_compiles_none_of_the_record_methods_and_prints_the_same(cache_dir):
    sheet, compiled = _run(cache_dir)
    assert compiled > 100  # every record class's __init__, __eq__, __repr__ ... of the engine
    (kept,) = code_files(cache_dir)
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    again, compiled_again = _run(cache_dir)
    assert (again, compiled_again) == (sheet, 0)
    assert "丽政办发〔2021〕67号" in again


def test_the_record_classes_made_from_kept_code_are_those_made_without_it(cache_dir):
    """Each method of every record class (its code, its annotations) is the same whether dataclasses compiled it
    in this run, in an earlier one, or with nothing kept at all."""
    plain, _ = _run(cache_dir, POLICY_CACHE="0")
    first, compiled = _run(cache_dir)
    again, compiled_again = _run(cache_dir)
    assert compiled > 100 and compiled_again == 0
    assert plain == first == again
    without, kept = _MADE[-3], _MADE[-1]  # the last run loaded the cached policy: no compiler, fewer classes
    same = without.keys() & kept.keys()
    assert len(same) > 400 and "engine.runtime.trace.ClauseResult.__init__" in same
    assert {m: without[m] for m in same} == {m: kept[m] for m in same}


def test_a_corrupt_or_foreign_code_file_is_not_run(cache_dir):
    sheet, _ = _run(cache_dir)
    (kept,) = code_files(cache_dir)
    table = marshal.loads(kept.read_bytes())
    planted = {text: marshal.dumps(compile("raise SystemExit(9)", "<string>", "exec")) for text in table}
    kept.write_bytes(marshal.dumps(planted))  # were it run: exit 9
    os.chmod(kept, 0o666)  # writable by others: never read
    again, compiled = _run(cache_dir)
    assert again == sheet and compiled > 100  # compiled anew, and kept again, the user's alone
    assert oct(code_files(cache_dir)[0].stat().st_mode & 0o777) == "0o600"
    assert _run(cache_dir) == (sheet, 0)
    code_files(cache_dir)[0].write_bytes(b"not marshal data")
    again, compiled = _run(cache_dir)
    assert again == sheet and compiled > 100  # a miss
    assert _run(cache_dir) == (sheet, 0)
    table = marshal.loads(code_files(cache_dir)[0].read_bytes())
    code_files(cache_dir)[0].write_bytes(marshal.dumps(dict.fromkeys(table, b"\xff damaged")))
    again, compiled = _run(cache_dir)
    assert again == sheet and compiled > 100  # each damaged entry compiled anew


def test_no_code_is_kept_when_the_cache_is_off(cache_dir):
    sheet, compiled = _run(cache_dir, POLICY_CACHE="0")
    assert compiled == -1 and "丽政办发〔2021〕67号" in sheet
    assert not cache_dir.exists()
