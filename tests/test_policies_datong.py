"""The Datong policy (a second city, encoded without engine changes made for it): bounds and assumptions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from cli import cli

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "datong-2021-46.yaml"
TESTS = ROOT / "policies" / "datong-2021-46.tests.yaml"

FACTS = ("recipient: cbec_enterprise\narea: 大同市\ndate: 2022-06-30\ngranted: {}\n"
         "facts: {meets_truncated_opening: true, runs_b2b_b2c_cbec: true, annual_turnover: TURNOVER}\n")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def run_en(*args, **kw):
    """The command with --lang en: for tests that assert the English messages."""
    return run(args[0], "--lang", "en", *args[1:], **kw)


def facts(tmp_path: Path, turnover: str, **replace: str) -> Path:
    text = FACTS.replace("TURNOVER", turnover)
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / "facts.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_policy_validates():
    result = run_en("validate", POLICY)
    assert result.exit_code == 0, result.output
    assert "同政办发〔2021〕46号, 5 clauses" in result.output


def test_officer_cases_at_every_bound_pass():
    result = run("test", POLICY)
    assert result.exit_code == 0, result.output
    assert f"通过 {_case_count()} 个，未通过 0 个" in result.output


def test_the_bound_cases_would_catch_the_other_reading_of_chaoguo_yishang(tmp_path):
    # Reading D2 takes "超过5000万元以上" as > 5000万. Switch to >= and the case at exactly 5000万 must fail.
    changed = tmp_path / "datong-2021-46.yaml"
    changed.write_text(POLICY.read_text(encoding="utf-8").replace("annual_turnover > 5000万元",
                                                                  "annual_turnover >= 5000万元"), encoding="utf-8")
    shutil.copy(TESTS, tmp_path / "datong-2021-46.tests.yaml")
    result = run_en("test", changed)
    assert result.exit_code == 1
    assert "FAIL 年交易额恰好5000万元" in result.output
    assert f"{_case_count() - 1} passed, 1 failed" in result.output


def test_exactly_800wan_pays_and_one_yuan_less_does_not(tmp_path):
    at = run("evaluate", POLICY, facts(tmp_path, "800万元"), "--format", "json")
    data = json.loads(at.output)
    assert data["total"]["amount"] == "500000.00"
    below = json.loads(run("evaluate", POLICY, facts(tmp_path, "7999999.99"), "--format", "json").output)
    assert below["total"]["amount"] == "0.00"


def test_assumed_period_is_visible_on_every_sheet_and_in_json(tmp_path):
    sheet = run("evaluate", POLICY, facts(tmp_path, "900万元"))
    assert sheet.exit_code == 0, sheet.output
    assert "有效期（2021-01-01 至 …）并非原文所载，系假定（见解读 D0）" in sheet.output
    data = json.loads(run("evaluate", POLICY, facts(tmp_path, "900万元"), "--format", "json").output)
    assert data["policy"]["in_force"] == {"from": "2021-01-01", "until": None, "assumed": True}


def test_truncated_opening_left_unknown_makes_article_one_undetermined(tmp_path):
    path = facts(tmp_path, "900万元", **{"meets_truncated_opening: true, ": ""})
    data = json.loads(run("evaluate", POLICY, path, "--format", "json").output)
    first = next(c for c in data["clauses"] if c["id"] == "1.1")
    assert first["outcome"] == "undetermined"
    assert [m["name"] for m in first["missing"]] == ["meets_truncated_opening"]
    assert data["total"]["complete"] is False


def test_outside_datong_is_not_applicable(tmp_path):
    data = json.loads(run("evaluate", POLICY, facts(tmp_path, "900万元", **{"大同市": "太原市"}),
                          "--format", "json").output)
    assert {c["outcome"] for c in data["clauses"]} == {"not_applicable"}
    assert data["total"]["amount"] == "0.00"


def _case_count() -> int:
    from engine.tools.testing import load_suite

    return len(load_suite(str(TESTS)).cases)
