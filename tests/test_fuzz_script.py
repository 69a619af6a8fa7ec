"""scripts/fuzz.py: its detector finds what it must (planted crashes, hangs, broken invariants), its inputs are
the same for the same seed, and a short run on the real command finishes with its summary."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "fuzz.py"


@pytest.fixture(scope="module")
def fuzz():
    spec = importlib.util.spec_from_file_location("fuzz_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_script"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def good_json() -> str:
    out = subprocess.run([sys.executable, str(ROOT / "cli.py"), "evaluate", "policies/lishui-2021-67.yaml",
                          "examples/seller.yaml", "--format", "json"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "POLICY_CACHE": "0"}, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


CRASH = f"""Traceback (most recent call last):
  File "{ROOT}/engine/core/amounts.py", line 74, in parse_amount
    raise AmountSyntaxError(msg("amount.out_of_range", value=value))
engine.core.amounts.AmountSyntaxError: 99999999999999999 is out of range
内部错误：AmountSyntaxError: 99999999999999999 is out of range
internal error: AmountSyntaxError: 99999999999999999 is out of range
"""


def kinds(findings) -> list[tuple[str, str]]:
    return [(f.kind, f.signature) for f in findings]


def test_the_classifier_names_each_kind_of_finding(fuzz, good_json):
    classify = fuzz.classify
    assert kinds(classify("lint", None, "", "", True, 20)) == [("hang", "lint did not finish in 20 s")]
    assert classify("lint", -9, "", "", False, 20)[0].kind == "signal"
    exit3 = classify("evaluate", 3, "", CRASH, False, 20)
    assert kinds(exit3) == [("exit3", "engine.core.amounts.AmountSyntaxError: N is out of range")]
    assert exit3[0].where.startswith("engine/core/amounts.py:74")
    assert kinds(classify("evaluate", 3, "", "内部错误：KeyError: 'x'\n", False, 20)) == [("exit3", "KeyError: 'x'")]
    assert classify("validate", 1, "", CRASH, False, 20)[0].kind == "traceback"
    assert classify("validate", 7, "", "", False, 20)[0].kind == "exit-code"
    # a located message and exit 1 or 2 is how a mistake should end: no finding
    assert classify("validate", 1, "", "x.yaml:3:1: 错误：未知的键 'rat'\n", False, 20) == []
    assert classify("evaluate", 2, "", "Usage: policy evaluate ...\n", False, 20) == []


def test_the_json_invariants_hold_on_a_right_answer_and_catch_wrong_ones(fuzz, good_json):
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(json.loads((ROOT / "schemas" / "result.schema.json").read_text("utf-8")))

    def problems(data) -> list[str]:
        return [f.signature for f in fuzz.classify("evaluate-json", 0, json.dumps(data, ensure_ascii=False), "",
                                                   False, 20, Decimal("0.01"), validator)]

    data = json.loads(good_json)
    assert problems(data) == []
    paying = next(c for c in data["clauses"] if c["outcome"] == "eligible")

    wrong_total = json.loads(good_json)
    wrong_total["total"]["amount"] = "1.00"
    assert problems(wrong_total) == ["total is not the sum of the eligible amounts"]

    negative = json.loads(good_json)
    clause = next(c for c in negative["clauses"] if c["id"] == paying["id"])
    clause["amount"] = "-" + clause["amount"]
    negative["total"]["amount"] = str(Decimal(data["total"]["amount"]) - 2 * Decimal(paying["amount"]))
    assert "a negative amount" in problems(negative)

    minus_zero = json.loads(good_json)
    clause = next(c for c in minus_zero["clauses"] if c["id"] == paying["id"])
    minus_zero["total"]["amount"] = str(Decimal(data["total"]["amount"]) - Decimal(paying["amount"]))
    clause["amount"] = "-0.00"
    assert problems(minus_zero) == ["an amount of -0"]

    fraction = json.loads(good_json)
    clause = next(c for c in fraction["clauses"] if c["id"] == paying["id"])
    clause["amount"] = paying["amount"] + "5"
    fraction["total"]["amount"] = str(Decimal(data["total"]["amount"]) + Decimal("0.005"))
    assert problems(fraction) == ["an amount that is not a whole number of fen (money.round_to)"]

    off_schema = json.loads(good_json)
    off_schema["clauses"][0]["outcome"] = "maybe"
    assert any(p.startswith("JSON does not match schemas/result.schema.json") for p in problems(off_schema))
    assert problems("not json") != [] and fuzz.classify("evaluate-json", 0, "{", "", False, 20)[0].kind == "invariant"


def test_the_same_seed_makes_the_same_inputs(fuzz):
    made = []
    for _ in range(2):
        work = Path(tempfile.mkdtemp(prefix="fuzz-determinism-"))
        maker = fuzz.Maker(11, work)
        cases = [maker.case(i) for i in range(12)]
        made.append([(c.kind, c.ops, [r.argv for r in c.runs],
                      {name: (c.folder / name).read_bytes() for name in c.files}) for c in cases])
        subprocess.run(["rm", "-rf", str(work)], check=True)
    assert made[0] == made[1]
    assert len({m[0] for m in made[0]}) > 1  # more than one kind of case among twelve


FAKE = '''
import json, sys, time
args = sys.argv[1:]
if args[0] == "validate":
    time.sleep(60)                                   # a hang
if args[0] == "lint":
    try:
        {}["planted"]
    except KeyError:
        import traceback; traceback.print_exc()
    print("内部错误：KeyError: 'planted'", file=sys.stderr)
    sys.exit(3)                                      # the engine failed
if args[0] == "evaluate" and "--format" in args:
    print(json.dumps({"clauses": [{"id": "1", "outcome": "eligible", "amount": "10.00"}],
                      "total": {"amount": "11.00"}}))    # exits 0 with a total that is not the sum
    sys.exit(0)
if args[0] == "evaluate":
    raise RuntimeError("planted crash")              # a traceback, exit 1
sys.exit(0)
'''


def test_a_run_finds_planted_crashes_hangs_and_wrong_totals(tmp_path):
    fake = tmp_path / "fake_policy.py"
    fake.write_text(FAKE, encoding="utf-8")
    out = tmp_path / "findings"
    run = subprocess.run([sys.executable, str(SCRIPT), "--seconds", "6", "--timeout", "2", "--seed", "3",
                          "--out", str(out), "--command", f"{sys.executable} {fake}"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    text = run.stdout
    assert run.returncode == 1, text + run.stderr
    assert "fuzz summary" in text and "runs per command:" in text and "findings per kind:" in text
    assert "[traceback] RuntimeError: planted crash" in text
    assert "[exit3] KeyError: 'planted'" in text
    assert "[hang] validate did not finish in 2 s" in text
    assert "[invariant] total is not the sum of the eligible amounts" in text
    saved = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert any(name.startswith("traceback-") for name in saved) and any(name.startswith("hang-") for name in saved)
    sample = next(out.glob("traceback-*/sample-1"))
    assert "evaluate" in (sample / "command.sh").read_text(encoding="utf-8")
    assert "RuntimeError: planted crash" in (sample / "stderr.txt").read_text(encoding="utf-8")
    assert (out / "summary.txt").exists() and json.loads((out / "findings.json").read_text(encoding="utf-8"))


def test_a_short_run_on_the_real_command_finishes_with_its_summary(tmp_path):
    run = subprocess.run([sys.executable, str(SCRIPT), "--seconds", "20", "--out", str(tmp_path / "findings")],
                         cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert run.returncode in (0, 1), run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    text = run.stdout
    assert "fuzz summary: seed 1" in text
    counts = dict(part.rsplit(" ", 1) for part in text.split("runs per command: ")[1].splitlines()[0].split(", "))
    assert sum(int(n) for n in counts.values()) > 0
    assert "findings per kind: exit3" in text
    assert (run.returncode == 1) == ("distinct findings: 0" not in text)
