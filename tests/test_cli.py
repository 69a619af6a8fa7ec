"""The `policy` command as a user meets it: exit codes, messages with locations, and output formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from cli import cli

ROOT = Path(__file__).resolve().parent.parent
LISHUI = str(ROOT / "policies" / "lishui-2021-67.yaml")
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
RESULT_SCHEMA = json.loads((ROOT / "schemas" / "result.schema.json").read_text(encoding="utf-8"))


def run(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def run_en(*args, **kw):
    """The command with --lang en: for tests that assert the English messages."""
    return run(args[0], "--lang", "en", *args[1:], **kw)


def test_validate_the_lishui_policy():
    r = run_en("validate", LISHUI)
    assert r.exit_code == 0
    assert "ok:" in r.output and "丽政办发〔2021〕67号, 17 clauses" in r.output


def test_validate_reports_location_and_exits_1():
    broken = str(ROOT / "tests" / "broken" / "misspelt-key.yaml")
    r = run_en("validate", LISHUI, broken)
    assert r.exit_code == 1
    assert f"{broken}:50:7: error: unknown key 'rat'" in r.output
    assert "1 of 2 files invalid." in r.output
    assert "Traceback" not in r.output


def test_validate_json_lists_problems_with_paths():
    r = run_en("validate", "--format", "json", str(ROOT / "tests" / "broken" / "undeclared-name.yaml"))
    assert r.exit_code == 1
    [report] = json.loads(r.output)
    [problem] = report["problems"]
    assert problem["line"] == 47 and problem["path"] == "$.clauses[0].when[1].if"
    assert problem["suggestion"] == "did you mean 'turnover'?"


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_each_example_evaluates_as_text_and_valid_json(example):
    text = run("evaluate", LISHUI, str(example))
    assert text.exit_code == 0, text.output
    assert "丽政办发〔2021〕67号" in text.output and "合计" in text.output
    js = run("evaluate", LISHUI, str(example), "--format", "json")
    assert js.exit_code == 0
    data = json.loads(js.output)
    jsonschema.Draft202012Validator(RESULT_SCHEMA, format_checker=jsonschema.FormatChecker()).validate(data)
    assert any(c["outcome"] in ("eligible", "undetermined") for c in data["clauses"])


def test_seller_example_total_and_undetermined_flag():
    data = json.loads(run("evaluate", LISHUI, str(ROOT / "examples" / "seller.yaml"), "--format", "json").output)
    assert data["total"] == {"amount": "865357.83", "currency": "CNY", "complete": True, "undetermined": [],
                             "referred": ["2.4", "3", "9"]}
    service = json.loads(run("evaluate", LISHUI, str(ROOT / "examples" / "service-provider.yaml"),
                             "--format", "json").output)
    assert service["total"]["complete"] is False and service["total"]["undetermined"] == ["8"]
    [clause] = [c for c in service["clauses"] if c["id"] == "8"]
    assert clause["missing"] == [{"name": "served_turnover", "label": "所服务企业跨境电商交易额 (served_turnover)"}]


def test_on_overrides_the_date_and_facts_from_stdin():
    facts = (ROOT / "examples" / "school.yaml").read_text(encoding="utf-8")
    r = run("evaluate", LISHUI, "-", "--on", "2027-02-01", "--format", "json", input=facts)
    data = json.loads(r.output)
    assert data["date"] == "2027-02-01" and data["date_source"] == "option"
    assert data["total"]["amount"] == "0.00"


def test_bad_facts_exit_1_with_location():
    r = run_en("evaluate", LISHUI, "-", input="recipient: seller\nfacts:\n  cbec_turnover: 五百万五\n")
    assert r.exit_code == 1
    assert ("<stdin>:3:18: error: 'cbec_turnover' (年度跨境电商交易额): '五百万五' is not an amount that can be read "
            "exactly") in r.output


def test_usage_errors_exit_2():
    assert run_en("evaluate", LISHUI).exit_code == 2
    assert run_en("evaluate", LISHUI, str(EXAMPLES[0]), "--on", "2024-13-01").exit_code == 2
    r = run_en("facts", LISHUI, "--recipient", "sellr")
    assert r.exit_code == 2 and "did you mean 'seller'?" in r.output


def test_missing_files_are_user_errors_not_tracebacks():
    r = run_en("evaluate", "nope.yaml", "nope-facts.yaml")
    assert r.exit_code == 1 and "no such file: nope.yaml" in r.output


def test_facts_template_lists_what_a_seller_supplies():
    r = run("facts", LISHUI, "--recipient", "seller")
    assert r.exit_code == 0
    assert "recipient: seller" in r.output
    assert "  cbec_turnover: ~   # money — 年度跨境电商交易额" in r.output
    assert "park_area" not in r.output  # a park operator's fact, not a seller's


@pytest.mark.parametrize("kind", ["seller", "incubator", "platform", None])
def test_facts_template_is_a_valid_facts_file_as_printed(kind):
    args = ["facts", LISHUI] + (["--recipient", kind] if kind else [])
    template = run(*args).output
    if kind is None:  # the applicant must still choose what they are
        template = template.replace("recipient: ~", "recipient: seller")
    r = run("evaluate", LISHUI, "-", "--format", "json", "--on", "2024-01-01", input=template)
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["total"]["complete"] is False  # nothing filled in: undetermined, never assumed
    assert {"name": "area", "label": "申请人所在区域 (area)"} in [m for c in data["clauses"] for m in c["missing"]]


def test_facts_schema_is_json_schema():
    schema = json.loads(run("facts", LISHUI, "--schema").output)
    jsonschema.Draft202012Validator.check_schema(schema)


def test_test_command_runs_the_shipped_cases():
    r = run("test", LISHUI)
    assert r.exit_code == 0
    assert "个，未通过 0 个" in r.output and "passed" not in r.output  # one language: no English summary line


def test_cli_py_runs_as_a_script_and_hides_internal_tracebacks():
    r = subprocess.run([sys.executable, str(ROOT / "cli.py"), "validate", "--lang", "en", LISHUI],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and "ok:" in r.stdout
