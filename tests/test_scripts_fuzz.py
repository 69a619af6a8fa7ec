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
    # four inputs of seed 3: among their runs, each planted fault (found within about 2 s, the hang's timeout)
    run = subprocess.run([sys.executable, str(SCRIPT), "--cases", "4", "--timeout", "2", "--seed", "3",
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
    # Three inputs of seed 1: a run of each command and the summary (the point); finding defects is the fuzzer's.
    run = subprocess.run([sys.executable, str(SCRIPT), "--cases", "3", "--out", str(tmp_path / "findings")],
                         cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert run.returncode in (0, 1), run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    text = run.stdout
    assert "fuzz summary: seed 1" in text
    counts = dict(part.rsplit(" ", 1) for part in text.split("runs per command: ")[1].splitlines()[0].split(", "))
    assert sum(int(n) for n in counts.values()) > 0
    assert "findings per kind: exit3" in text
    assert (run.returncode == 1) == ("distinct findings: 0" not in text)


# --- the batch and service targets (scripts/fuzz_targets.py) ---------------------------------------------------

@pytest.fixture(scope="module")
def targets():
    sys.path.insert(0, str(ROOT / "scripts"))
    import fuzz_targets

    return fuzz_targets


def run_round(targets, case, folder: Path):
    (folder / f"round.{case.form}").write_bytes(case.data)
    code, stderr, crash = targets.run_batch_in_process(case, folder)
    return targets.check_round(case, folder, code, stderr, crash)


@pytest.mark.parametrize(("form", "output"), [("csv", ".jsonl"), ("jsonl", ".csv"), ("xlsx", ".jsonl")])
def test_a_clean_round_passes_every_batch_check(targets, tmp_path, form, output):
    case = targets.clean_round("lishui-2021-67", 12, 4, form, output)
    assert run_round(targets, case, tmp_path) == []
    assert (tmp_path / f"results{output}").exists()


def test_the_batch_checks_fail_on_a_wrong_amount_a_cut_file_and_a_lost_summary(targets, tmp_path, monkeypatch):
    import engine
    import engine.rounds.run as run

    # the round is the row engine's (in SQL, which decides every format's rounds, this planted fault is never reached)
    monkeypatch.setattr(engine, "sql_round_why_not", lambda *args, **kwargs: "input", raising=False)
    case = targets.clean_round("lishui-2021-67", 12, 4, "xlsx", ".jsonl")
    real = run.amount_text
    monkeypatch.setattr(run, "amount_text", lambda amount: real(amount + Decimal("0.01")))  # a fen too much
    findings = run_round(targets, case, tmp_path)
    assert [(f.check, f.signature) for f in findings] == [("mismatch", "a batch row differs from a single evaluation")]
    assert "single evaluation of the generated facts" in findings[0].detail
    monkeypatch.setattr(run, "amount_text", real)

    results = tmp_path / "results.jsonl"
    results.write_bytes(results.read_bytes()[:-40])  # cut mid-line, as a crash would leave it
    (tmp_path / "results.summary.json").unlink()
    checks = {f.check for f in targets.check_round(case, tmp_path, 1, "", None)}
    assert checks == {"unreadable-output", "partial-output"}


def test_the_batch_checks_catch_a_crash_an_exit_3_and_a_formula_cell(targets, tmp_path):
    case = targets.clean_round("datong-2021-46", 3, 1, "csv", ".csv")
    try:
        raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
    except UnicodeEncodeError as error:
        crash = error
    found = targets.check_round(case, tmp_path, 3, "", crash)
    assert [f.check for f in found] == ["crash"] and targets.known_as("batch", found[0], ["surrogate"]) == "D01"
    exit3 = targets.check_round(case, tmp_path, 3, "内部错误：KeyError: 'x'\n", None)
    assert [(f.check, f.signature) for f in exit3] == [("crash", "KeyError: 'x'")]
    case.bad_at = (100, 120)  # bytes that are not text at 120, on a line starting at 100
    late = "错误：round.csv 按 utf-8 读取到第 {} 字节附近时出现无法识别的字符：文件混用了编码\n"
    assert [f.check for f in targets.check_round(case, tmp_path, 1, late.format(7), None)] == ["wrong-offset"]
    assert targets.check_round(case, tmp_path, 1, late.format(110), None) == []
    case.bad_at = None
    (tmp_path / "results.csv").write_text("row,name\n2,=HYPERLINK(\"x\")\n", encoding="utf-8")
    (tmp_path / "results.summary.csv").write_text("a\n", encoding="utf-8")
    assert "formula" in {f.check for f in targets.check_round(case, tmp_path, 0, "", None)}


def test_the_same_seed_makes_the_same_rounds_and_requests(targets):
    first = [targets.make_round(9, i) for i in range(15)]
    again = [targets.make_round(9, i) for i in range(15)]
    assert [(c.data, c.ops) for c in first] == [(c.data, c.ops) for c in again]
    assert {c.form for c in first} == {"csv", "jsonl", "xlsx"}
    requests = [targets.make_request(9, i, "h.example") for i in range(30)]
    assert [(r.method, r.path, r.body) for r in requests] == \
        [(r.method, r.path, r.body) for r in (targets.make_request(9, i, "h.example") for i in range(30))]


def test_a_short_batch_run_tries_inputs_in_process_and_as_subprocesses(targets, tmp_path):
    recorder = targets.batch_target(7, 60, tmp_path, timeout=60, cases=3, subprocess_every=3)
    assert recorder.inputs == 3 and recorder.runs["in-process"] > 0 and recorder.runs["subprocess"] > 0
    assert sum(recorder.codes.values()) == recorder.inputs
    for entry in recorder.distinct.values():  # whatever it found is saved, with its input and how to replay it
        sample = Path(entry.saved[0])
        assert (sample / "check.txt").exists() and (sample / "replay.sh").exists()
        assert any(p.name.startswith("round.") for p in sample.iterdir())


def test_the_service_checks_fail_on_a_500_a_plain_error_a_leak_and_a_wrong_amount(targets):
    from starlette.testclient import TestClient

    from engine.service.app import create_app

    folder = targets.service_folder()
    try:
        with TestClient(create_app(folder)) as client:
            request = targets.Request("POST", "/policies/lishui-2021-67/evaluate", "", {"host": "h.example"},
                                      (ROOT / "examples" / "seller.yaml").read_bytes(), [], "evaluate",
                                      "lishui-2021-67")
            status, headers, body, crash = targets.send(client, request)
    finally:
        subprocess.run(["rm", "-rf", str(folder)], check=True)
    assert status == 200 and crash is None

    def checks(status, headers, body, crash=None):
        return {f.check for f in targets.check_response(request, status, headers, body, crash, ["h.example", "/srv/x"])}

    assert checks(status, headers, body) == set()
    data = json.loads(body)
    paying = next(c for c in data["clauses"] if c["outcome"] == "eligible")
    paying["amount"] = str(Decimal(paying["amount"]) + Decimal("0.01"))
    assert checks(200, headers, json.dumps(data).encode()) == {"mismatch"}
    assert checks(500, {"content-type": "text/plain"}, b"Internal Server Error") == {"5xx", "not-problems"}
    assert checks(503, {"content-type": "application/json"}, b'{"problems": []}') == {"not-problems"}
    assert checks(422, {"content-type": "application/json"},
                  b'{"problems": [{"message": "m", "text": "/srv/x/p.yaml: m"}]}') == {"path-leak"}
    assert checks(200, {"content-type": "application/yaml", "link": "http://h.example/x"}, body) == {"host-echo"}
    assert checks(405, {"content-type": "application/json"}, b'{"problems": [{"message": "m", "text": "t"}]}') \
        == {"no-allow"}
    assert checks(500, {}, b"", RuntimeError("planted")) == {"5xx"}


def test_a_short_service_run_through_the_command_line_prints_its_summary(tmp_path):
    out = tmp_path / "findings"
    run = subprocess.run([sys.executable, str(SCRIPT), "--target", "service", "--cases", "25", "--seed", "5",
                          "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert run.returncode in (0, 1), run.stderr[-3000:]
    text = run.stdout
    assert "fuzz summary: seed 5" in text and "service target:" in text and "statuses:" in text
    inputs = int(text.split(" inputs")[0].rsplit(" ", 1)[1])
    assert inputs == 25
    assert (run.returncode == 1) == ("distinct findings: 0" not in text)
    assert json.loads((out / "findings.json").read_text(encoding="utf-8")) is not None
