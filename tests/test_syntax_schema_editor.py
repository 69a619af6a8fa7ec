"""What an officer's editor sees: every file the project ships or writes points at a schema that exists, and a
generic JSON Schema validator (check-jsonschema, as the YAML language server or a pre-commit hook would run
it) finds no error in a valid file and the same errors as `policy validate` in a broken one."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli
from engine import facts_schema, load_policy
from engine.core.errors import PolicyError, SchemaError
from engine.model.facts import applicant_from_text

ROOT = Path(__file__).resolve().parent.parent
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.MULTILINE)
SHIPPED = sorted([*ROOT.glob("policies/**/*.yaml"), *ROOT.glob("examples/*.yaml")])
LISHUI = ROOT / "policies" / "lishui-2021-67.yaml"


def schema_of(path: Path, text: str | None = None) -> Path:
    """The schema the file's modeline names, resolved as the YAML language server does: relative to the file."""
    text = path.read_text(encoding="utf-8") if text is None else text
    found = MODELINE.search(text)
    assert found, f"{path}: no '# yaml-language-server: $schema=' line"
    return (path.parent / found.group(1)).resolve()


def generic_errors(schema: Path, *files: Path) -> dict[str, set[str]]:
    """check-jsonschema's errors by file, each as the JSON path of the offending key or value."""
    run = subprocess.run([sys.executable, "-m", "check_jsonschema", "-o", "json", "--schemafile", str(schema),
                          *map(str, files)], capture_output=True, text=True, timeout=120)
    assert run.stdout.startswith("{"), run.stderr
    report = json.loads(run.stdout)
    assert not report.get("parse_errors"), report["parse_errors"]
    found: dict[str, set[str]] = {str(f): set() for f in files}
    for error in report["errors"]:
        path = error["path"]
        unexpected = re.match(r"Additional properties are not allowed \((.*) (?:was|were) unexpected\)",
                              error["message"])
        if unexpected:  # the engine places an unknown key at the key itself
            found[error["filename"]] |= {f"{path}.{key}" for key in re.findall(r"'([^']*)'", unexpected.group(1))}
        else:
            found[error["filename"]].add(path)
    assert (run.returncode == 0) == (not report["errors"]), run.stderr
    return found


def json_path(parts: tuple[str | int, ...]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def test_every_shipped_file_names_a_schema_that_exists():
    assert len(SHIPPED) >= 10
    for path in SHIPPED:
        assert schema_of(path).is_file(), path


def test_a_generic_validator_finds_no_error_in_any_shipped_file():
    by_schema: dict[Path, list[Path]] = {}
    for path in SHIPPED:
        by_schema.setdefault(schema_of(path), []).append(path)
    # Policies, a county file that extends its city's (partial: no clauses, overrides without labels),
    # officers' test files, and applicants' facts files: each kind is checked against its own schema.
    assert {p.name for p in by_schema} >= {"policy.schema.json", "tests.schema.json",
                                           "lishui-2021-67.facts.schema.json"}
    assert ROOT / "policies" / "examples" / "qingtian-example.yaml" in by_schema[ROOT / "schemas" / "policy.schema.json"]
    for schema, files in by_schema.items():
        errors = generic_errors(schema, *files)
        assert not any(errors.values()), {f: e for f, e in errors.items() if e}


def test_facts_schemas_beside_policies_are_what_policy_facts_prints():
    """The facts schema files are made by `policy facts POLICY --schema`; one left behind by a change of the
    policy's facts would pass or fail files the engine judges otherwise."""
    made = sorted(ROOT.glob("policies/**/*.facts.schema.json"))
    assert made
    for schema_file in made:
        policy_file = schema_file.with_name(schema_file.name.replace(".facts.schema.json", ".yaml"))
        assert json.loads(schema_file.read_text(encoding="utf-8")) == facts_schema(load_policy(str(policy_file))), (
            f"{schema_file} is out of date: policy facts {policy_file.relative_to(ROOT)} --schema > "
            f"{schema_file.relative_to(ROOT)}")


def test_a_generic_validator_reports_the_schema_errors_policy_validate_reports():
    """Every broken file of tests/broken/ that the schema catches gets errors at the same JSON paths from both
    (broken YAML and expressions are beyond any JSON Schema: the engine alone reports them)."""
    by_engine: dict[str, set[str]] = {}
    for broken in sorted((ROOT / "tests" / "broken").glob("*.yaml")):
        try:
            load_policy(str(broken))
        except SchemaError as error:
            by_engine[str(broken)] = {json_path(p.path) for p in error.problems}
        except PolicyError:
            continue
        else:
            pytest.fail(f"{broken} loads")
    assert len(by_engine) >= 8
    # one run of the generic validator over all of them (it reports by file)
    generic = generic_errors(ROOT / "schemas" / "policy.schema.json", *map(Path, by_engine))
    for broken, engine in by_engine.items():
        assert generic[broken] == engine, broken


COUNTY = """\
# yaml-language-server: $schema={schema}
id: qingtian-broken
extends: lishui-2021-67
parameters:
  first_time_cap:
    valu: 8万元
money:
  round_to: 1
  rounding: half_down
"""


def test_a_broken_county_file_gets_the_same_errors_from_both(tmp_path):
    county = tmp_path / "county.yaml"
    county.write_text(COUNTY.format(schema=(ROOT / "schemas" / "policy.schema.json").as_posix()), encoding="utf-8")
    with pytest.raises(SchemaError) as caught:
        load_policy(str(county), policies=[str(ROOT / "policies")])
    engine = {json_path(p.path) for p in caught.value.problems}
    assert engine == {"$.parameters.first_time_cap.valu", "$.money.rounding"}
    assert generic_errors(schema_of(county), county)[str(county)] == engine


def test_a_forked_county_file_is_clean_in_the_editor(tmp_path):
    out = tmp_path / "county" / "qingtian.yaml"
    r = CliRunner().invoke(cli.cli, ["fork", str(LISHUI), "--id", "qingtian-2022-5", "--jurisdiction", "青田县",
                                     "-o", str(out)])
    assert r.exit_code == 0, r.output
    schema = schema_of(out)
    assert schema == ROOT / "schemas" / "policy.schema.json"
    assert generic_errors(schema, out)[str(out)] == set()


@pytest.mark.parametrize("kind", ["seller", "school", None])
def test_the_printed_facts_template_is_clean_in_the_editor_once_saved(tmp_path, monkeypatch, kind):
    monkeypatch.chdir(tmp_path)  # the template's $schema line is relative to where it is saved
    args = ["facts", str(LISHUI)] + (["--recipient", kind] if kind else [])
    r = CliRunner().invoke(cli.cli, args)
    assert r.exit_code == 0, r.output
    saved = tmp_path / "facts.yaml"
    saved.write_text(r.output, encoding="utf-8")
    assert r.output.startswith("# yaml-language-server: $schema=")
    schema = schema_of(saved)
    assert schema == ROOT / "policies" / "lishui-2021-67.facts.schema.json"
    errors = generic_errors(schema, saved)[str(saved)]
    if kind:
        assert errors == set()
    else:  # `recipient: ~` is to be chosen: the editor says so, as the engine does
        assert errors == {"$.recipient"}
        with pytest.raises(PolicyError) as caught:
            applicant_from_text(load_policy(str(LISHUI)), r.output)
        assert {json_path(p.path) for p in caught.value.problems} == errors


def test_a_broken_facts_file_gets_the_same_errors_from_both(tmp_path):
    text = (ROOT / "examples" / "seller.yaml").read_text(encoding="utf-8")
    text = text.replace("registered_cbec: true", "registered_cbec: yes").replace("site_costs:", "site_cost:")
    text = text.replace("recipient: seller", "recipient: sellers")
    (tmp_path / "examples").mkdir()
    broken = tmp_path / "examples" / "seller.yaml"
    broken.write_text(text, encoding="utf-8")
    os.symlink(ROOT / "policies", tmp_path / "policies")  # where its $schema line points
    with pytest.raises(PolicyError) as caught:
        applicant_from_text(load_policy(str(LISHUI)), text)
    engine = {json_path(p.path) for p in caught.value.problems}
    assert engine == {"$.recipient", "$.facts.registered_cbec", "$.facts.site_cost"}
    assert generic_errors(schema_of(broken), broken)[str(broken)] == engine
