"""The JSON Schemas themselves: valid, self-describing for editors, and strict."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = sorted((ROOT / "schemas").glob("*.json"))


@pytest.mark.parametrize("path", SCHEMAS, ids=[p.name for p in SCHEMAS])
def test_schema_is_valid_draft_2020_12(path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def _walk(node, path=""):
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}/{i}")


def test_every_policy_property_has_a_description_and_objects_are_closed():
    schema = json.loads((ROOT / "schemas" / "policy.schema.json").read_text(encoding="utf-8"))
    for path, node in _walk(schema):
        for name, prop in node.get("properties", {}).items():
            assert "description" in prop or "$ref" in prop, f"{path}/properties/{name} has no description"
        if node.get("type") == "object" and "properties" in node:
            assert node.get("additionalProperties") is False, f"{path} accepts unknown keys"
        if "pattern" in node:
            assert node["pattern"].startswith("^") and node["pattern"].endswith("$"), f"{path} pattern unanchored"


def test_policy_files_point_editors_at_the_schema():
    for policy in (ROOT / "policies").glob("*.yaml"):
        if policy.name.endswith(".tests.yaml"):
            continue
        first = policy.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schemas/policy.schema.json", policy


def _problems_of(check, *args) -> list[tuple[object, ...]]:
    from engine.core.errors import PolicyError

    try:
        check(*args)
    except PolicyError as error:
        return [(p.file, p.line, p.column, str(p.message), str(p.suggestion)) for p in error.problems]
    return []


def test_a_readings_alternatives_get_the_same_schema_problems_section_by_section():
    """reading_problems checks each alternative's changed sections only (VariantValidator): the problems, their
    places and their order are those of checking the whole document, for each change as written and for changes
    broken in the ways an officer might break them."""
    from engine.syntax.readings import alternative_document, changed_sections
    from engine.syntax.schema import VariantValidator, validate_policy
    from engine.workspace import load_resolved

    loaded = load_resolved(str(ROOT / "tests" / "fixtures" / "lishui-2021-67.yaml"))
    readings = loaded.data["readings"]
    shared = VariantValidator(loaded)
    compared = broken = 0
    for rid, reading in readings.items():
        for number, alternative in enumerate(reading.get("alternatives") or (), 1):
            if not isinstance(alternative, dict) or not alternative.get("change"):
                continue
            change = alternative["change"]
            other = alternative_document(loaded, rid, number)
            assert _problems_of(shared.validate, other, changed_sections(change)) == \
                _problems_of(validate_policy, other), (rid, number)
            compared += 1
            if broken < 4:  # a value of the wrong type, an unknown key, a misnamed fact, a section of the wrong type
                wrong = {**change, "title": 5, "facts": {"bad name": {"type": "money"}},
                         "parameters": {"no_label": {"value": True}}, "zzz": 1}
                reading["alternatives"][number - 1] = {**alternative, "change": wrong}  # the readings change too
                try:
                    other = alternative_document(loaded, rid, number)
                    whole = _problems_of(validate_policy, other)
                    by_section = _problems_of(VariantValidator(loaded).validate, other, changed_sections(wrong))
                finally:
                    reading["alternatives"][number - 1] = alternative
                assert by_section == whole and len(whole) >= 4, (rid, number, whole)
                broken += 1
    assert compared > 20 and broken == 4
