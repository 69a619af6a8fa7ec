"""The explained path on simpleeval (the language's reference evaluator) says exactly what the closures say."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from engine import applicant_from_data, evaluate, load_policy, render_text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from population import population


@pytest.mark.parametrize("name", ["lishui-2021-67.yaml", "datong-2021-46.yaml"])
def test_the_reference_evaluator_gives_the_same_sheet(name):
    policy = load_policy(str(ROOT / "policies" / name))
    for data in population(policy, 120, seed=11):
        applicant = applicant_from_data(policy, data)
        assert render_text(evaluate(policy, applicant, reference=True)) == render_text(evaluate(policy, applicant))


def test_policy_evaluate_reference_flag():
    args = ["evaluate", str(ROOT / "policies" / "lishui-2021-67.yaml"), str(ROOT / "examples" / "seller.yaml")]
    plain, checked = CliRunner().invoke(cli, args), CliRunner().invoke(cli, args + ["--reference"])
    assert checked.exit_code == 0 and checked.output == plain.output and "865,357.83" in checked.output
