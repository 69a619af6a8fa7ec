"""The cache of compiled policies: used when nothing changed, never when anything it was made from did,
and never from a folder someone else could write."""

from __future__ import annotations

import os
import shutil
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
