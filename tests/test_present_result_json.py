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


@pytest.mark.parametrize("name", ["lishui-2021-67.yaml", "datong-2021-46.yaml", "hangzhou-2019-99.yaml",
                                  "hangzhou-2022-draft.yaml"])
def test_compact_json_of_untraced_results_is_the_encoded_data(name):
    """Untraced results (a round's, the service's) take the quick assembly: the same text all the same."""
    policy = load_policy(str(ROOT / "policies" / name))
    for data in population(policy, 300, seed=11):
        try:
            applicant = applicant_from_data(policy, data)
        except Exception:
            continue
        result = evaluate(policy, applicant, trace=False)
        for lang in ("zh", "en"):
            assert render_json(result, lang) == json.dumps(result_to_json(result, lang), ensure_ascii=False) + "\n"


@pytest.mark.parametrize("who", ["\x00clauses\x00", "\x00policy\x00", '"clauses": ', "271828182845904523536028747135"])
def test_an_applicant_named_like_a_placeholder_gets_the_same_text(who):
    policy = load_policy(str(ROOT / "policies" / "lishui-2021-67.yaml"))
    import dataclasses

    # The facts check refuses control characters; an Applicant made in Python is not checked.
    applicant = dataclasses.replace(applicant_from_data(policy, population(policy, 1, seed=1)[0]), name=who)
    result = evaluate(policy, applicant, trace=False)
    assert render_json(result) == json.dumps(result_to_json(result), ensure_ascii=False) + "\n"
    assert json.loads(render_json(result))["applicant"]["name"] == who


def test_one_dumps_per_result(monkeypatch):
    """What reads the same for everyone is encoded once per policy: a result costs at most one encoding of its own
    (none now: its own strings go through the JSON string encoder alone)."""
    from engine.present import result_json

    policy = load_policy(str(ROOT / "policies" / "lishui-2021-67.yaml"))
    results = [evaluate(policy, applicant_from_data(policy, d), trace=False) for d in population(policy, 60, seed=5)]
    for r in results:
        render_json(r)  # the policy's shared text, made once
    calls = []
    real = result_json._dumps
    monkeypatch.setattr(result_json, "_dumps", lambda value: calls.append(1) or real(value))
    monkeypatch.setattr(json, "dumps", lambda *a, **k: pytest.fail("json.dumps called per result"))
    for r in results:
        render_json(r)
    assert len(calls) <= len(results)
