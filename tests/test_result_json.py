"""Compact JSON is assembled from shared pieces for speed; it must be exactly what encoding the data gives."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from engine import applicant_from_data, evaluate, load_policy, render_json, result_to_json

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from population import population


@pytest.mark.parametrize("name", ["lishui-2021-67.yaml", "datong-2021-46.yaml", "examples/qingtian-example.yaml"])
def test_compact_json_is_the_encoded_data_for_every_kind_of_applicant(name):
    policy = load_policy(str(ROOT / "policies" / name))
    for data in population(policy, 150, seed=7):
        result = evaluate(policy, applicant_from_data(policy, data))
        for lang in ("zh", "en"):
            text = render_json(result, lang)
            assert text == json.dumps(result_to_json(result, lang), ensure_ascii=False) + "\n"
            assert json.loads(render_json(result, lang, indent=2)) == json.loads(text)
