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
