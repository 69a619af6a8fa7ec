"""The strict loader: YAML 1.1 traps disabled, exact numbers, limits, and located errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.core.errors import LoadError
from engine.syntax.loader import MAX_BYTES, load_file, load_text


def test_yaml_11_traps_are_plain_text_and_numbers_are_exact():
    data = load_text("a: yes\nb: on\nc: 010\nd: 1:30\ne: 2022-02-01\nf: 0.1\ng: true\nh: ~\n").data
    assert data == {"a": "yes", "b": "on", "c": Decimal("10"), "d": "1:30", "e": "2022-02-01",
                    "f": Decimal("0.1"), "g": True, "h": None}
    assert isinstance(data["f"], Decimal)


def test_nan_and_infinity_are_not_numbers():
    data = load_text("a: .nan\nb: .inf\nc: NaN\n").data
    assert data == {"a": ".nan", "b": ".inf", "c": "NaN"}


def test_quoted_scalars_stay_text():
    assert load_text('a: "2.1"\nb: \'true\'\n').data == {"a": "2.1", "b": "true"}


def test_duplicate_key_is_an_error_with_both_lines():
    with pytest.raises(LoadError) as caught:
        load_text("x: 1\ny: 2\nx: 3\n", "f.yaml")
    problem = caught.value.problems[0]
    assert (problem.line, problem.column) == (3, 1)
    assert "duplicate key 'x' (first given on line 1)" in problem.message


def test_json_with_tabs_loads_with_marks():
    loaded = load_text('{\n\t"a": 1,\n\t"b": [2.5]\n}', "facts.json")
    assert loaded.data == {"a": Decimal(1), "b": [Decimal("2.5")]}
    assert loaded.source.values[("b", 0)] == (3, 8)


def test_size_limit(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: " + b"x" * (MAX_BYTES + 10))
    with pytest.raises(LoadError, match="larger than"):
        load_file(str(path))


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufeffa: 丽水\n".encode("utf-8"))
    assert load_file(str(path)).data == {"a": "丽水"}


def test_missing_file_is_a_clear_error():
    with pytest.raises(LoadError, match="no such file: nowhere.yaml"):
        load_file("nowhere.yaml")


def test_deep_nesting_is_refused_not_crashing():
    text = "a: " + "[" * 200 + "]" * 200
    with pytest.raises(LoadError, match="nesting deeper than"):
        load_text(text)
