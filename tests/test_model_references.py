"""Cross-document references: followed when the other document's policy file is supplied, else 'referred'."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from cli import cli

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures" / "references"
CITY = ROOT / "policies" / "lishui-2021-67.yaml"
FOLLOWED = FIX / "lishui-followed.yaml"  # 2.4 → 丽政办发〔2020〕1号 clause "2"; 3 → clause "3.2"
REFERENCED = FIX / "example-ref-2020-1.yaml"  # invented numbers: 30% of postal fees, at most 5万 a year

SELLER = ("recipient: seller\narea: 莲都区\ndate: 2023-03-01\ngranted: GRANTED\n"
          "facts: {claim_year: 2023, postal_fees: POSTAL, booth_fees: 4万元}\n")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def run_en(*args, **kw):
    """The command with --lang en: for tests that assert the English messages."""
    return run(args[0], "--lang", "en", *args[1:], **kw)


def facts(tmp_path: Path, postal: str = "20万元", granted: str = "{}") -> Path:
    path = tmp_path / "seller.yaml"
    path.write_text(SELLER.replace("POSTAL", postal).replace("GRANTED", granted), encoding="utf-8")
    return path


def clause(data: dict, cid: str) -> dict:
    return next(c for c in data["clauses"] if c["id"] == cid)


def test_reference_is_followed_when_the_document_is_supplied(tmp_path):
    result = run("evaluate", FOLLOWED, facts(tmp_path), "--with", REFERENCED, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    postal = clause(data, "2.4")
    assert postal["outcome"] == "eligible"
    assert postal["amount"] == "50000.00"  # 30% of 20万 is 6万, capped at 5万 by the referenced clause
    hop = postal["followed"]
    assert hop["document"] == "丽政办发〔2020〕1号" and hop["clause"]["id"] == "2"
    assert [s["kind"] for s in hop["clause"]["steps"]] == ["base", "rate", "product", "cap"]
    assert clause(data, "3")["amount"] == "20000.00"
    assert data["total"]["referred"] == ["9"]  # 丽政发〔2019〕7号 was not supplied


def test_calculation_sheet_shows_the_hop_under_the_referring_clause(tmp_path):
    result = run("evaluate", FOLLOWED, facts(tmp_path), "--with", REFERENCED)
    assert result.exit_code == 0, result.output
    out = result.output
    head = out.index("[符合] 2.4 第二条 国际邮递费用补助 —— 50,000.00元（5万元）")
    hop = out.index("按《丽水市人民政府办公室关于促进丽水市电子商务发展的实施意见》（丽政办发〔2020〕1号）第 2 项计算", head)
    assert out.index("封顶：60,000.00元（6万元） → 50,000.00元（5万元）", hop) > hop


def test_policies_folder_finds_the_document_by_its_declared_number(tmp_path):
    result = run("evaluate", FOLLOWED, facts(tmp_path), "--policies", FIX, "--format", "json")
    assert result.exit_code == 0, result.output
    assert clause(json.loads(result.output), "2.4")["amount"] == "50000.00"


def test_not_supplied_reports_referred_with_the_title(tmp_path):
    path = tmp_path / "plain.yaml"
    path.write_text("recipient: seller\narea: 莲都区\ndate: 2023-03-01\nfacts: {claim_year: 2023}\n", encoding="utf-8")
    result = run("evaluate", FOLLOWED, path)
    assert result.exit_code == 0, result.output
    assert "[按他文件执行] 2.4 第二条 国际邮递费用补助" in result.output
    assert "补助标准按《丽水市人民政府办公室关于促进丽水市电子商务发展的实施意见》（丽政办发〔2020〕1号）执行" \
        in result.output


def test_plain_string_reference_stays_referred_even_when_supplied(tmp_path):
    path = tmp_path / "plain.yaml"
    path.write_text("recipient: seller\narea: 莲都区\ndate: 2023-03-01\nfacts: {claim_year: 2023}\n", encoding="utf-8")
    data = json.loads(run("evaluate", CITY, path, "--with", REFERENCED, "--format", "json").output)
    assert clause(data, "2.4")["outcome"] == "referred"  # the city names no clause there: nothing to follow
    assert clause(data, "2.4")["followed"] is None


def test_granted_under_the_referring_clause_counts_against_the_referenced_cap(tmp_path):
    data = json.loads(run("evaluate", FOLLOWED, facts(tmp_path, granted='{"2.4": 4万元}'), "--with", REFERENCED,
                          "--format", "json").output)
    assert clause(data, "2.4")["amount"] == "10000.00"


def test_missing_fact_of_the_referenced_clause_makes_it_undetermined(tmp_path):
    data = json.loads(run("evaluate", FOLLOWED, facts(tmp_path, postal="~"), "--with", REFERENCED,
                          "--format", "json").output)
    postal = clause(data, "2.4")
    assert postal["outcome"] == "undetermined"
    assert [m["name"] for m in postal["missing"]] == ["postal_fees"]


def test_officer_tests_can_follow_references(tmp_path):
    suite = tmp_path / "cases.yaml"
    suite.write_text(
        "cases:\n  - name: 邮递费用按引用文件计算\n    facts:\n      recipient: seller\n      area: 莲都区\n"
        "      date: 2023-03-01\n      granted: {}\n      facts: {claim_year: 2023, postal_fees: 10万元}\n"
        "    expect:\n      \"2.4\": {outcome: eligible, amount: 3万元}\n", encoding="utf-8")
    result = run("test", FOLLOWED, suite, "--with", REFERENCED)
    assert result.exit_code == 0, result.output
    assert "通过 1 个，未通过 0 个" in result.output
    unlinked = run("test", FOLLOWED, suite)
    assert unlinked.exit_code == 1  # without the other document the facts are unknown and 2.4 is only referred


def test_unknown_clause_in_the_referenced_document_is_an_error_with_a_suggestion(tmp_path):
    for name in ("lishui-followed.yaml", "example-ref-2020-1.yaml"):
        shutil.copy(FIX / name, tmp_path / name)
    broken = tmp_path / "lishui-followed.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace('clause: "3.2"', 'clause: "3.9"')
                      .replace("../../../policies/", str(ROOT / "policies") + "/"), encoding="utf-8")
    result = run_en("validate", broken, "--with", tmp_path / "example-ref-2020-1.yaml")
    assert result.exit_code == 1
    assert "lishui-followed.yaml:13:5: error: refers to clause '3.9' of 丽政办发〔2020〕1号" in result.output
    assert "did you mean '3.2'?" in result.output


def test_reference_cycle_is_an_error(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("recipient: firm\ndate: 2023-03-01\nfacts: {}\n", encoding="utf-8")
    result = run_en("evaluate", FIX / "cycle-a.yaml", path, "--policies", FIX)
    assert result.exit_code == 1
    assert "references form a cycle: 测试乙〔2000〕2号 1 → 测试甲〔2000〕1号 1 → 测试乙〔2000〕2号 1" in result.output
    assert "Traceback" not in result.output


def test_two_files_declaring_one_document_is_an_error(tmp_path):
    shutil.copy(REFERENCED, tmp_path / "a.yaml")
    shutil.copy(REFERENCED, tmp_path / "b.yaml")
    result = run_en("evaluate", FOLLOWED, facts(tmp_path), "--policies", tmp_path)
    assert result.exit_code == 1
    assert "2 files declare document '丽政办发〔2020〕1号'" in result.output
