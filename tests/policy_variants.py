"""Amended copies of the Lishui policy for tests (the engine tests' copy, tests/fixtures/lishui-2021-67.yaml, so
an edit's target stays when the shipped policy changes): the officer's own edits, applied as text."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LISHUI = ROOT / "tests" / "fixtures" / "lishui-2021-67.yaml"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _readings_span(text: str) -> tuple[int, int]:
    """Where the readings: section is: its alternatives restate clauses, which edits and lookups skip."""
    start = text.find("\nreadings:\n")
    if start < 0:
        return (len(text), len(text))
    end = text.find("\nclauses:\n", start)
    return (start, end if end >= 0 else len(text))


def variant(tmp_path: Path, *edits: tuple[str, str], name: str = "amended.yaml") -> Path:
    """A copy of the Lishui policy with each (old, new) text replaced; each old text must occur exactly once
    outside the readings: section (whose alternatives restate clauses, and are left as they are)."""
    text = LISHUI.read_text(encoding="utf-8")
    for old, new in edits:
        start, end = _readings_span(text)
        head, readings, tail = text[:start], text[start:end], text[end:]
        assert (head + "\0" + tail).count(old) == 1, f"edit target must occur once in the policy: {old!r}"
        text = head.replace(old, new) + readings + tail.replace(old, new) if old in head or old in tail else text
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def lines_of(path: Path, fragment: str) -> list[int]:
    """The 1-based lines on which `fragment` occurs in the file: outside the readings: section if it occurs
    there, else anywhere."""
    text = path.read_text(encoding="utf-8")
    start, end = _readings_span(text)
    first, last = text.count("\n", 0, start) + 1, text.count("\n", 0, end) + 1
    found = [i for i, line in enumerate(text.splitlines(), start=1) if fragment in line]
    return [i for i in found if not first < i <= last] or found


def line_of(path: Path, fragment: str) -> int:
    """The 1-based line on which `fragment` occurs (exactly once) in the file."""
    lines = lines_of(path, fragment)
    assert len(lines) == 1, f"{fragment!r} should occur on one line, found {lines}"
    return lines[0]
