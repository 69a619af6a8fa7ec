"""Counties extending the city's policy: inheritance, overrides, errors at the right line, tools."""

from __future__ import annotations

import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from engine import applicant_from_data, evaluate, load_policy
from engine.core.errors import PolicyError

ROOT = Path(__file__).resolve().parent.parent
CITY = ROOT / "policies" / "lishui-2021-67.yaml"
COUNTY = ROOT / "policies" / "examples" / "qingtian-example.yaml"

# A claim for fund year 2022 (filed in 2022 it could also be for 2021, which the city does not pay: Q22).
SELLER = {"recipient": "seller", "area": "青田县", "date": "2022-08-01", "granted": {},
          "facts": {"claim_year": 2022, "registered_cbec": True, "first_time_cbec": True, "cbec_turnover": "100万元",
                    "platform_fees": "30万元", "digital_promotion": "10万元"}}
PARK = {"recipient": "park_operator", "area": "青田县", "date": "2022-08-01", "granted": {},
        "facts": {"claim_year": 2022, "park_distinct_profile": True, "park_area": 20000, "park_cbec_share": "80%",
                  "park_cbec_turnover": "3亿元"}}


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def run_en(*args, **kw):
    """The command with --lang en: for tests that assert the English messages."""
    return run(args[0], "--lang", "en", *args[1:], **kw)


def amount(policy_path, facts, clause, **kw) -> Decimal | None:
    policy = load_policy(str(policy_path), **kw)
    return evaluate(policy, applicant_from_data(policy, facts)).clause(clause).amount


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- the example county ---------------------------------------------------------------------------

def test_county_validates_and_inherits_every_clause():
    result = run_en("validate", COUNTY)
    assert result.exit_code == 0, result.output
    assert "17 clauses" in result.output


def test_county_cap_and_rate_override_the_city():
    # 40万 of fees at 50% is 20万: the city caps 2.1 at 10万, the county at 8万.
    assert amount(CITY, dict(SELLER, area="莲都区"), "2.1") == Decimal("100000.00")
    assert amount(COUNTY, SELLER, "2.1") == Decimal("80000.00")
    volume = dict(SELLER, facts=dict(SELLER["facts"], first_time_cbec=False, cbec_turnover="600万元"))
    assert amount(CITY, dict(volume, area="莲都区"), "2.2") == Decimal("200000.00")
    assert amount(COUNTY, volume, "2.2") == Decimal("160000.00")  # 40%


def test_county_inherits_what_it_does_not_change():
    assert amount(COUNTY, PARK, "4.1") == Decimal("1000000.00")


def test_county_jurisdiction_and_dates_are_its_own():
    policy = load_policy(str(COUNTY))
    city_area = evaluate(policy, applicant_from_data(policy, dict(SELLER, area="莲都区")))
    assert city_area.clause("2.1").outcome == "not_applicable"
    assert city_area.clause("2.1").reason == "jurisdiction"
    before = evaluate(policy, applicant_from_data(policy, dict(SELLER, date="2022-03-01")))
    assert before.clause("2.1").reason == "policy_period"  # the city was already in force then


def test_city_amendment_flows_to_the_county(tmp_path):
    city = tmp_path / "lishui-2021-67.yaml"
    text = CITY.read_text(encoding="utf-8")
    text = text.replace("value: 100万元\n    text: 给予园区主办方100万元", "value: 120万元\n    text: 给予园区主办方120万元")
    text = text.replace("value: 10万元\n    text: 每家企业最高补助不超过10万元", "value: 12万元\n    text: x")
    write(city, text)
    assert amount(COUNTY, PARK, "4.1", policies=[str(tmp_path)]) == Decimal("1200000.00")
    # The county overrides 2.1's cap, so the city's change to it does not reach the county.
    assert amount(COUNTY, SELLER, "2.1", policies=[str(tmp_path)]) == Decimal("80000.00")


def test_city_amendment_flows_through_the_cli(tmp_path):
    write(tmp_path / "lishui-2021-67.yaml", CITY.read_text(encoding="utf-8").replace(
        "value: 100万元\n    text: 给予园区主办方100万元", "value: 150万元\n    text: 给予园区主办方150万元"))
    facts = write(tmp_path / "park.yaml", "recipient: park_operator\narea: 青田县\ndate: 2022-08-01\ngranted: {}\n"
                  "facts: {park_distinct_profile: true, park_area: 20000, park_cbec_share: 80%, "
                  "park_cbec_turnover: 3亿元}\n")
    before = run("evaluate", COUNTY, facts)
    after = run("evaluate", COUNTY, facts, "--policies", tmp_path)
    assert before.exit_code == 0 and after.exit_code == 0, after.output
    assert "1,000,000.00元" in before.output
    assert "1,500,000.00元" in after.output


def test_chain_city_county_revision(tmp_path):
    shutil.copy(CITY, tmp_path / "lishui-2021-67.yaml")
    shutil.copy(COUNTY, tmp_path / "qingtian-example.yaml")
    revision = write(tmp_path / "revision.yaml", "id: qingtian-example-rev\nextends: qingtian-example\n"
                     "document: 示例修订\ntitle: 示例修订\nparameters:\n  park_award:\n    value: 90万元\n")
    assert amount(revision, PARK, "4.1") == Decimal("900000.00")
    assert amount(revision, SELLER, "2.1") == Decimal("80000.00")  # the county's cap, two levels down


# --- mistakes, each at its line -------------------------------------------------------------------

def county(tmp_path: Path, body: str) -> Path:
    shutil.copy(CITY, tmp_path / "lishui-2021-67.yaml")
    return write(tmp_path / "county.yaml", "id: county-x\nextends: lishui-2021-67\ndocument: X\ntitle: X\n" + body)


def test_overriding_a_parameter_the_parent_lacks_is_an_error_with_a_suggestion(tmp_path):
    path = county(tmp_path, "parameters:\n  first_time_cpa:\n    value: 8万元\n")
    result = run_en("validate", path)
    assert result.exit_code == 1
    assert "county.yaml:6:3: error: parameters: 'first_time_cpa' overrides a parameter the parent does not have" \
        in result.output
    assert "did you mean 'first_time_cap'?" in result.output


def test_replacing_a_missing_clause_cannot_silently_add(tmp_path):
    path = county(tmp_path, "clauses:\n  - id: \"2.l\"\n    title: 改\n    measure: 无\n")
    result = run_en("validate", path)
    assert result.exit_code == 1
    assert "county.yaml:6:9:" in result.output and "replaces a clause the parent does not have" in result.output
    assert "add: clauses:" in result.output


def test_adding_what_the_parent_has_is_an_error(tmp_path):
    path = county(tmp_path, "add:\n  parameters:\n    park_award: {label: 奖励, value: 1万元}\n")
    result = run_en("validate", path)
    assert result.exit_code == 1
    assert "county.yaml:7:5:" in result.output and "'park_award' is already in the parent policy" in result.output


def test_add_and_remove_clauses(tmp_path):
    path = county(tmp_path, 'remove_clauses: ["2.1"]\nadd:\n  clauses:\n'
                            '    - {id: "11", title: 县级新增奖励, recipient: seller, award: {fixed: 2万元}}\n')
    policy = load_policy(str(path))
    ids = [c.id for c in policy.clauses]
    assert "2.1" not in ids and ids[-1] == "11"
    assert all("2.1" not in g.members for g in policy.groups)  # 2.1 left its group, which then dissolved
    assert evaluate(policy, applicant_from_data(policy, dict(SELLER, area="市直"))).clause("11").amount == 20000


def test_removing_a_clause_others_depend_on_is_reported_at_the_removal(tmp_path):
    path = county(tmp_path, 'remove_clauses: ["5.1"]\n')
    result = run_en("validate", path)
    assert result.exit_code == 1
    assert "county.yaml:5:18: error: clause 5.2 depends on clause 5.1, which this file removes" in result.output


def test_unknown_key_in_county_file_is_reported_with_did_you_mean(tmp_path):
    path = county(tmp_path, "paramters:\n  park_award:\n    value: 1万元\n")
    result = run_en("validate", path)
    assert result.exit_code == 1
    assert "county.yaml:5:1: error: unknown key 'paramters'" in result.output
    assert "did you mean 'parameters'?" in result.output


def test_problem_in_an_inherited_line_points_at_the_parent_file(tmp_path):
    shutil.copy(CITY, tmp_path / "lishui-2021-67.yaml")
    city = tmp_path / "lishui-2021-67.yaml"
    text = city.read_text(encoding="utf-8").replace("base: warehouse_service_cost", "base: warehouse_servce_cost")
    write(city, text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "warehouse_servce_cost" in ln)
    path = write(tmp_path / "county.yaml", "id: county-x\nextends: lishui-2021-67\ndocument: X\ntitle: X\n")
    result = run_en("validate", path)
    assert result.exit_code == 1
    assert re.search(rf"lishui-2021-67\.yaml:{line}:\d+: error: .*warehouse_servce_cost", result.output)
    assert "inherited by" in result.output and "county.yaml" in result.output


def test_cycle_is_an_error_naming_the_chain(tmp_path):
    write(tmp_path / "a.yaml", "id: a\nextends: b\ndocument: A\ntitle: A\n")
    write(tmp_path / "b.yaml", "id: b\nextends: a\ndocument: B\ntitle: B\n")
    result = run_en("validate", tmp_path / "a.yaml")
    assert result.exit_code == 1
    assert "extends forms a cycle:" in result.output
    assert re.search(r"a\.yaml → .*b\.yaml → .*a\.yaml", result.output)
    assert "Traceback" not in result.output


def test_unknown_parent_id_suggests_the_closest(tmp_path):
    path = county(tmp_path, "").read_text(encoding="utf-8").replace("lishui-2021-67", "lishui-2021-76")
    result = run_en("validate", write(tmp_path / "county.yaml", path))
    assert result.exit_code == 1
    assert "county.yaml:2:10: error: no policy file declares id 'lishui-2021-76'" in result.output
    assert "did you mean 'lishui-2021-67'?" in result.output


def test_county_must_give_its_own_document(tmp_path):
    shutil.copy(CITY, tmp_path / "lishui-2021-67.yaml")
    path = write(tmp_path / "c.yaml", "id: c\nextends: lishui-2021-67\ntitle: X\n")
    result = run_en("validate", path)
    assert result.exit_code == 1
    assert "must give its own document:" in result.output


def test_remove_without_extends_is_reported(tmp_path):
    path = write(tmp_path / "p.yaml", CITY.read_text(encoding="utf-8") + "remove_clauses: [\"1\"]\n")
    result = run_en("validate", path)
    assert result.exit_code == 1
    assert "'remove_clauses' only makes sense in a file that extends another" in result.output


# --- tools ----------------------------------------------------------------------------------------

def test_fork_writes_a_valid_county_file_and_never_overwrites(tmp_path):
    shutil.copy(CITY, tmp_path / "lishui-2021-67.yaml")
    out = tmp_path / "longquan.yaml"
    result = run_en("fork", tmp_path / "lishui-2021-67.yaml", "--id", "longquan-draft", "--jurisdiction", "龙泉市",
                 "-o", out)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "extends: lishui-2021-67" in text  # found by id from where the file is written
    assert "#   first_time_cap:   # 首次开展跨境电商企业补助上限: 10万元" in text
    assert "#         value: 50%" in text
    assert run_en("validate", out).exit_code == 0
    policy = load_policy(str(out))
    assert policy.areas == ("龙泉市",)
    again = run_en("fork", tmp_path / "lishui-2021-67.yaml", "--id", "x", "--jurisdiction", "龙泉市", "-o", out)
    assert again.exit_code == 1 and "already exists" in again.output
    assert out.read_text(encoding="utf-8") == text
    forced = run_en("fork", tmp_path / "lishui-2021-67.yaml", "--id", "x2", "--jurisdiction", "龙泉市", "-o", out,
                 "--force")
    assert forced.exit_code == 0 and "id: x2" in out.read_text(encoding="utf-8")


def test_fork_elsewhere_uses_a_relative_path(tmp_path):
    out = tmp_path / "deep" / "down" / "c.yaml"
    result = run("fork", CITY, "--id", "c-draft", "--jurisdiction", "缙云县", "-o", out)
    assert result.exit_code == 0, result.output
    assert "extends: " in out.read_text(encoding="utf-8") and "lishui-2021-67.yaml" in out.read_text(encoding="utf-8")
    assert run("validate", out).exit_code == 0


def test_show_resolved_marks_where_each_entry_comes_from():
    result = run("show", COUNTY, "--resolved")
    assert result.exit_code == 0, result.output
    out = result.output
    assert re.search(r"first_time_cap:  # from .*qingtian-example\.yaml \(parts from .*lishui-2021-67\.yaml\)", out)
    assert re.search(r"park_award:  # from .*lishui-2021-67\.yaml", out)
    assert re.search(r"- id: '2\.1'  # from .*lishui-2021-67\.yaml", out)
    assert re.search(r"jurisdiction:  # from .*qingtian-example\.yaml", out)
    assert "value: 8万元" in out


def test_show_resolved_output_is_itself_a_valid_policy(tmp_path):
    out = write(tmp_path / "flat.yaml", run("show", COUNTY, "--resolved").output)
    policy = load_policy(str(out))
    assert policy.parameters["first_time_cap"].values[0].value == 80000


def test_load_policy_raises_policy_error_not_traceback(tmp_path):
    write(tmp_path / "a.yaml", "id: a\nextends: missing.yaml\ndocument: A\ntitle: A\n")
    with pytest.raises(PolicyError) as info:
        load_policy(str(tmp_path / "a.yaml"))
    assert "is not a file" in str(info.value)


def test_officer_cases_for_the_example_county_pass():
    result = run("test", COUNTY)
    assert result.exit_code == 0, result.output
    assert "通过 5 个，未通过 0 个" in result.output


def test_extending_itself_by_id_or_a_non_policy_file_is_said_plainly(tmp_path):
    from click.testing import CliRunner

    from cli import cli

    (tmp_path / "self.yaml").write_text("id: t\ndocument: X\ntitle: X\nextends: t\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("just some notes\n" * 40, encoding="utf-8")
    (tmp_path / "other.yaml").write_text("id: u\ndocument: X\ntitle: X\nextends: ./notes.txt\n", encoding="utf-8")
    out = CliRunner().invoke(cli, ["validate", str(tmp_path / "self.yaml"), str(tmp_path / "other.yaml"),
                                   "--lang", "en"]).output
    assert "self.yaml:4:10: error: extends forms a cycle" in out
    assert "other.yaml:4:10: error: extends names" in out and "which is not a policy file" in out
