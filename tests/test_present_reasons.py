"""A round's 说明 names the condition a clause did not meet, in the policy's words with the values read (or the
facts that are missing), in the workbook (a CSV keeps the codes); evaluated without a trace (as a round is), the result
still says which condition failed first, the same on the generated path, the interpreter's and a traced one."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from cli import cli
from engine import applicant_from_data, evaluate, load_policy
from engine.rounds.identity import make_code
from engine.runtime.trace import ConditionsFailed

ROOT = Path(__file__).resolve().parent.parent
LISHUI = str(ROOT / "policies" / "lishui-2021-67.yaml")

SELLER = {"claim_year": 2024, "registered_cbec": True, "first_time_cbec": True, "cbec_turnover": "620万元",
          "platform_fees": "368000.50", "digital_promotion": "212000", "has_independent_site": True,
          "site_domain_holding": "60%", "site_costs": "1200000", "site_costs_in_promotion": "0",
          "in_recognised_park": False, "uses_public_warehouse": False}
GRANTED = {"2.1": "0", "2.2": "0", "2.3": "0", "4.2": "0", "5.3": "0"}


def applicant(name: str, **facts: object) -> dict:
    data = dict(SELLER)
    for key, value in facts.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    return {"applicant": name, "recipient": "seller", "area": "莲都区", "date": "2024-12-20", "facts": data,
            "granted": GRANTED}


ROUND = [
    applicant("交易额不足", cbec_turnover="400万元"),
    applicant("非首次", first_time_cbec=False, has_independent_site=False),
    applicant("未报交易额", cbec_turnover=None),
]


def run_round(folder: Path, suffix: str) -> Path:
    source = folder / "round.jsonl"
    with open(source, "w", encoding="utf-8") as handle:
        for i, row in enumerate(ROUND):
            handle.write(json.dumps({"credit_code": make_code(f"9133110{i:010d}"), **row}, ensure_ascii=False) + "\n")
    out = folder / f"results{suffix}"
    done = CliRunner().invoke(cli, ["batch", LISHUI, str(source), "-o", str(out)])
    assert done.exit_code == 0, done.output
    return out


def test_the_workbook_says_which_condition_failed_with_the_values_read(tmp_path):
    book = load_workbook(run_round(tmp_path, ".xlsx"))
    rows = list(book["评审结果"].iter_rows(values_only=True))
    head = rows[0]
    by_name = {row[2]: dict(zip(head, row, strict=True)) for row in rows[1:]}
    short = by_name["交易额不足"]
    assert short["2.2 结果"] == "不符合"
    assert short["2.2 说明"] == ("条件未满足：年度跨境电商交易额达500万元以上（年度跨境电商交易额 4,000,000.00元（400万元），"
                               "未达到 5,000,000.00元（500万元））")
    # 2.3's first condition is the turnover too; its later ones are met
    assert "年度跨境电商交易额 4,000,000.00元（400万元），未达到" in short["2.3 说明"]
    # the first condition not met is named, not a later one: 2.1 needs registration (met), then first time (not)
    first = by_name["非首次"]
    assert first["2.1 说明"] == "条件未满足：首次开展跨境电商（首次开展跨境电商 = 否）"
    assert first["2.3 说明"] == "条件未满足：建设独立站（建设独立站 = 否）"
    assert first["2.2 结果"] == "符合" and first["2.2 说明"] is None
    # a fact not given: undetermined, and the 说明 names what is missing, never a condition "not met"
    missing = by_name["未报交易额"]
    assert missing["2.2 结果"] == "待定" and missing["2.2 说明"] == "缺少：年度跨境电商交易额 (cbec_turnover)"


def test_the_csv_keeps_the_reason_codes_programs_read(tmp_path):
    # words are the workbook's; a CSV (like JSON Lines) is what programs read, and what the SQL engine writes alike
    with open(run_round(tmp_path, ".csv"), encoding="utf-8-sig", newline="") as handle:
        rows = {row["applicant"]: row for row in csv.DictReader(handle)}
    short = rows["交易额不足"]
    assert short["2.2.reason"] == "conditions" and short["2.2.note"] == ""
    assert rows["未报交易额"]["2.2.reason"].startswith("missing:")


def test_json_lines_keep_codes_only(tmp_path):
    lines = [json.loads(line) for line in run_round(tmp_path, ".jsonl").read_text(encoding="utf-8").splitlines()]
    assert lines[0]["clauses"]["2.2"] == {"outcome": "ineligible", "reason": "conditions"}


@pytest.mark.parametrize("changed,clause,at", [
    ({"cbec_turnover": "400万元"}, "2.2", 0),
    ({"registered_cbec": False}, "2.1", 0),
    ({"registered_cbec": False, "first_time_cbec": False}, "2.1", 0),
    ({"first_time_cbec": False}, "2.1", 1),
    ({"site_domain_holding": "40%"}, "2.3", 2),
    ({"has_independent_site": False, "site_domain_holding": "40%"}, "2.3", 1),
    ({"cbec_turnover": "400万元", "site_domain_holding": "40%"}, "2.3", 0),
    # a later condition missing, an earlier one not met: not met (the interpreter's path), and which one said
    ({"has_independent_site": False, "site_domain_holding": None}, "2.3", 1),
])
def test_an_untraced_result_names_the_first_condition_not_met_on_every_path(changed, clause, at):
    policy = load_policy(LISHUI)
    data = applicant("甲", **changed)
    conditions = next(c for c in policy.clauses if c.id == clause).conditions
    found = set()
    for options in ({"trace": True}, {"trace": False}, {"trace": False, "generated": False}):
        r = evaluate(policy, applicant_from_data(policy, data), **options).clause(clause)
        assert isinstance(r.why, ConditionsFailed)
        found.add(r.why.at)
        if options["trace"]:
            assert r.conditions[r.why.at].status == "failed"
            assert all(c.status == "met" for c in r.conditions[:r.why.at])
    assert found == {at}, (found, [c.label for c in conditions])


def test_the_problems_sheet_names_the_file_of_a_folder_round(tmp_path):
    folder = tmp_path / "facts"
    folder.mkdir()
    (folder / "good.yaml").write_text((ROOT / "examples" / "seller.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    bad = (ROOT / "examples" / "seller.yaml").read_text(encoding="utf-8").replace("registered_cbec: true",
                                                                                   "registered_cbec: maybe")
    (folder / "bad.yaml").write_text(bad, encoding="utf-8")
    out = tmp_path / "results.xlsx"
    done = CliRunner().invoke(cli, ["batch", LISHUI, str(folder), "-o", str(out)])
    assert done.exit_code == 1, done.output
    problems = list(load_workbook(out)["问题"].iter_rows(values_only=True))
    assert problems[0][:2] == ("行号", "文件")
    assert [row[1] for row in problems[1:]] == ["bad.yaml"] and "registered_cbec" in problems[1][2]
