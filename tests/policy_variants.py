"""Amended copies of the shipped Lishui policy for tests: the officer's own edits, applied as text."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LISHUI = ROOT / "policies" / "lishui-2021-67.yaml"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def variant(tmp_path: Path, *edits: tuple[str, str], name: str = "amended.yaml") -> Path:
    """A copy of the Lishui policy with each (old, new) text replaced; each old text must occur exactly once."""
    text = LISHUI.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, f"edit target must occur once in the policy: {old!r}"
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def lines_of(path: Path, fragment: str) -> list[int]:
    """The 1-based lines on which `fragment` occurs in the file."""
    return [i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if fragment in line]


def line_of(path: Path, fragment: str) -> int:
    """The 1-based line on which `fragment` occurs (exactly once) in the file."""
    lines = lines_of(path, fragment)
    assert len(lines) == 1, f"{fragment!r} should occur on one line, found {lines}"
    return lines[0]
