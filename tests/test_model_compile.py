"""Every broken policy in tests/broken/ is rejected with its expected message at its expected line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine import PolicyError, load_policy

BROKEN = sorted((Path(__file__).parent / "broken").glob("*.yaml"))


def _header(path: Path) -> tuple[str, int | None]:
    head = path.read_bytes().decode("utf-8", errors="replace").splitlines()[:3]
    expect = head[1].removeprefix("# expect: ")
    line = head[2].removeprefix("# line: ")
    return expect, None if line == "none" else int(line)


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_policy_is_reported_at_its_line(path: Path):
    expect, line = _header(path)
    with pytest.raises(PolicyError) as caught:
        load_policy(str(path))
    problems = caught.value.problems
    matching = [p for p in problems if expect in p.message or expect in (p.suggestion or "")]
    assert matching, f"no problem mentions {expect!r}: {caught.value.format()}"
    assert all(p.file == str(path) for p in problems)
    if line is not None:
        assert matching[0].line == line, caught.value.format()
        assert matching[0].column is not None


def test_there_are_broken_files_for_each_named_pitfall():
    names = {p.stem for p in BROKEN}
    assert {"duplicate-key", "misspelt-key", "yes-for-boolean", "bad-expression", "undeclared-name", "alias-bomb",
            "attribute-access", "power"} <= names


def test_all_problems_of_a_stage_are_reported_together(tmp_path):
    text = (Path(__file__).parent / "broken" / "misspelt-key.yaml").read_text(encoding="utf-8")
    text = text.replace("    period: once\n", "    period: sometimes\n").replace("title: 邮递补助", "titel: 邮递补助")
    path = tmp_path / "many.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(path))
    messages = caught.value.format()
    assert "unknown key 'rat'" in messages
    assert "'period' must be one of" in messages and "sometimes" in messages
    assert "unknown key 'titel'" in messages and "did you mean 'title'?" in messages
    lines = [p.line for p in caught.value.problems]
    assert lines == sorted(lines)


def test_alias_bomb_is_refused_quickly():
    import time

    start = time.process_time()  # CPU time, not the wall clock: the same on a machine others load
    with pytest.raises(PolicyError, match=re.escape("anchors (&a) are not allowed")):
        load_policy(str(Path(__file__).parent / "broken" / "alias-bomb.yaml"))
    assert time.process_time() - start < 5  # generous: the point is it does not expand the bomb
