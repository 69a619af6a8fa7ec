"""--ledger on evaluate, batch and serve, run through the CLI: the README's worked example of two rounds of one
fund year recorded one after the other (examples/ledger/), on SQLite and, when POLICY_TEST_POSTGRES_URL is set,
on PostgreSQL; the policy revision and facts hash; claim_year in the templates and the form."""

from __future__ import annotations

import csv
import json
import os
import shutil
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from cli import cli
from engine.ledger import open_ledger
from engine.ledger.replay import typed_facts
from engine.workspace import load_policy

ROOT = Path(__file__).resolve().parent.parent
POLICY = str(ROOT / "policies" / "lishui-2021-67.yaml")
EXAMPLES = ROOT / "examples" / "ledger"
WAREHOUSE, SELLER = "91331100MA2A0W0H0T", "91331100MA2A0K0L0W"
PG_URL = os.environ.get("POLICY_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new ledger's address: a SQLite path that does not exist yet, or a new empty PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "grants.db")
        return
    if not PG_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must test --ledger on PostgreSQL: POLICY_TEST_POSTGRES_URL is not set")
        pytest.skip("the ledger on PostgreSQL: set POLICY_TEST_POSTGRES_URL=postgresql://user@host:port/db to run")
    import psycopg

    name = "ledger_use_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    from sqlalchemy.engine import make_url

    try:  # the same server, user and options (a socket folder given as ?host=…), another database
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


def rows(path: Path) -> dict[str, dict[str, str]]:
    """The results CSV by credit code."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return {row["credit_code"]: row for row in csv.DictReader(handle)}


def batch(ledger: str, round_csv: str, out: Path, round_id: str, *more: str) -> Any:
    return run("batch", POLICY, str(EXAMPLES / round_csv), "-o", str(out), "--ledger", ledger, "--record", round_id,
               "--by", "测试员", "--lang", "en", *more)


def test_two_rounds_of_one_fund_year(ledger_url: str, tmp_path: Path) -> None:
    # Round 1: nothing granted before; both applicants are paid in full.
    first = batch(ledger_url, "round-1.csv", tmp_path / "r1.csv", "2025-1")
    assert first.exit_code == 0, first.output
    assert "recorded round 2025-1" in first.output
    r1 = rows(tmp_path / "r1.csv")
    assert (r1[WAREHOUSE]["5.1.outcome"], r1[WAREHOUSE]["5.1.amount"]) == ("eligible", "500000.00")
    assert (r1[WAREHOUSE]["5.2.outcome"], r1[WAREHOUSE]["5.2.amount"]) == ("eligible", "100000.00")
    assert r1[SELLER]["2.2.amount"] == "200000.00" and r1[SELLER]["5.3.amount"] == "100000.00"

    # Round 2, the same fund year: the warehouse is written with half-width parentheses this time.
    assert "丽水示例海外仓(迪拜)" in (EXAMPLES / "round-2.csv").read_text(encoding="utf-8")
    assert "丽水示例海外仓（迪拜）" in (EXAMPLES / "round-1.csv").read_text(encoding="utf-8")
    second = batch(ledger_url, "round-2.csv", tmp_path / "r2.csv", "2025-2", "--sheets", str(tmp_path / "sheets"),
                   "--jobs", "2")  # worker processes read the ledger too
    assert second.exit_code == 0, second.output
    # Each applicant's sheet is made with the same earlier grants as its results.
    sheet = (tmp_path / "sheets" / f"{WAREHOUSE}.html").read_text(encoding="utf-8")
    assert "500,000.00" in sheet and "丽水示例海外仓(迪拜)" in sheet
    r2 = rows(tmp_path / "r2.csv")
    assert (r2[WAREHOUSE]["5.1.outcome"], r2[WAREHOUSE]["5.1.reason"]) == ("ineligible", "once_granted")
    assert r2[WAREHOUSE]["5.2.outcome"] != "eligible" and r2[WAREHOUSE]["total"] == "0.00"
    # Yearly caps reduced by round 1's awards: 2.2 30万 - 20万; 5.3 claims 15万 of 20万 - 10万 left.
    assert (r2[SELLER]["2.2.outcome"], r2[SELLER]["2.2.amount"]) == ("eligible", "100000.00")
    assert (r2[SELLER]["5.3.outcome"], r2[SELLER]["5.3.amount"]) == ("eligible", "100000.00")

    # Recording round 1 again is refused, before anything is evaluated, and changes nothing.
    with open_ledger(ledger_url) as ledger:
        before = ledger.counts()
        entries_before = [(e.id, e.amount) for e in ledger.entries()]
    again = batch(ledger_url, "round-1.csv", tmp_path / "r1-again.csv", "2025-1")
    assert again.exit_code == 1
    assert "2025-1" in again.output and "already recorded" in again.output
    assert not (tmp_path / "r1-again.csv").exists()
    with open_ledger(ledger_url) as ledger:
        assert ledger.counts() == before
        assert [(e.id, e.amount) for e in ledger.entries()] == entries_before
        assert {e.by for e in ledger.entries()} == {"测试员"}

    # Round 1 evaluated again from what was recorded: the same answers.
    replay = run("ledger", "replay", ledger_url, "--round", "2025-1")
    assert replay.exit_code == 0, replay.output


def test_facts_that_disagree_with_the_ledger_are_a_problem_never_resolved(ledger_url: str, tmp_path: Path) -> None:
    assert batch(ledger_url, "round-1.csv", tmp_path / "r1.csv", "2025-1").exit_code == 0
    # A round whose rows also state granted.5.1 = 0: listed with the row; the round is not recorded.
    text = (EXAMPLES / "round-2.csv").read_text(encoding="utf-8").splitlines()
    text[0] += ",granted.5.1,granted.5.2"
    text[1] += ",0,0"
    text[2] += ",,"
    stated = tmp_path / "stated.csv"
    stated.write_text("\n".join(text) + "\n", encoding="utf-8")
    out = tmp_path / "r2.csv"
    result = run("batch", POLICY, str(stated), "-o", str(out), "--ledger", ledger_url, "--record", "2025-2",
                 "--lang", "en")
    assert result.exit_code == 1
    errors = (tmp_path / "r2.errors.csv").read_text(encoding="utf-8-sig")
    assert "clause 5.1" in errors and "500,000.00" in errors
    # The round is recorded whole or not at all, and the message says how to record it.
    assert "round 2025-2 was not recorded: 1 rows had problems" in result.output
    assert "fix those rows" in result.output and "leave them out of the round file" in result.output
    assert "then run the same command again with --record 2025-2" in result.output
    with open_ledger(ledger_url) as ledger:
        assert ledger.round("2025-2") is None

    # One applicant: a facts file whose granted: says nothing was paid is refused, with the ledger's figure.
    facts = tmp_path / "warehouse.yaml"
    facts.write_text((ROOT / "examples" / "warehouse-operator.yaml").read_text(encoding="utf-8")
                     .replace("applicant:", f"credit_code: {WAREHOUSE}\napplicant:", 1), encoding="utf-8")
    refused = run("evaluate", POLICY, str(facts), "--ledger", ledger_url, "--lang", "en")
    assert refused.exit_code == 1
    assert "clause 5.1" in refused.output and "granted" in refused.output
    # Without granted: the ledger's grants count: 5.1 was paid for this warehouse in round 1.
    facts.write_text(facts.read_text(encoding="utf-8").replace("granted: {}", ""), encoding="utf-8")
    paid = run("evaluate", POLICY, str(facts), "--ledger", ledger_url, "--format", "json")
    assert paid.exit_code == 0, paid.output
    clauses = {c["id"]: c for c in json.loads(paid.output)["clauses"]}
    assert (clauses["5.1"]["outcome"], clauses["5.1"]["reason"]) == ("ineligible", "once_granted")
    # No credit code: told what to add.
    facts.write_text(facts.read_text(encoding="utf-8").replace(f"credit_code: {WAREHOUSE}\n", ""), encoding="utf-8")
    nameless = run("evaluate", POLICY, str(facts), "--ledger", ledger_url, "--lang", "en")
    assert nameless.exit_code == 1 and "credit_code" in nameless.output
    # A code with the wrong check character: placed at its line.
    facts.write_text(f"credit_code: 91331100MA2A0W0H0X\n{facts.read_text(encoding='utf-8')}", encoding="utf-8")
    wrong = run("evaluate", POLICY, str(facts), "--ledger", ledger_url, "--lang", "en")
    assert wrong.exit_code == 1 and f"{facts}:1:14:" in wrong.output and "check character" in wrong.output


def test_evaluate_json_carries_the_hashes_a_recorded_decision_has(ledger_url: str, tmp_path: Path) -> None:
    assert batch(ledger_url, "round-1.csv", tmp_path / "r1.csv", "2025-1").exit_code == 0
    with open_ledger(ledger_url) as ledger:
        recorded = ledger.decisions(round_id="2025-1")
    assert len(recorded) == 2
    for decision in recorded:
        # The ledger keeps amounts as exact strings; replay types them back by the policy (as here).
        data = typed_facts(load_policy(POLICY), json.loads(decision["facts"]))
        facts = tmp_path / f"{decision['id']}.json"
        facts.write_text(_json(data), encoding="utf-8")
        shown = run("evaluate", POLICY, str(facts), "--format", "json")
        assert shown.exit_code == 0, shown.output
        data = json.loads(shown.output)
        assert data["applicant"]["facts_hash"] == decision["facts_hash"]
        assert data["policy"]["revision"] == decision["revision"]


def _json(value: Any) -> str:
    """JSON with Decimals as exact numbers (the facts loader reads them back as Decimals)."""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def test_revision_follows_every_file_and_survives_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICY_CACHE_DIR", str(tmp_path / "cache"))
    shutil.copy(POLICY, tmp_path / "lishui-2021-67.yaml")
    county = tmp_path / "county.yaml"
    county.write_text((ROOT / "policies" / "examples" / "qingtian-example.yaml").read_text(encoding="utf-8")
                      .replace("../lishui-2021-67.yaml", "lishui-2021-67.yaml"), encoding="utf-8")
    seller = str(ROOT / "examples" / "seller.yaml")

    def revision() -> str:
        shown = run("evaluate", str(county), seller, "--format", "json", "--policies", str(tmp_path))
        assert shown.exit_code == 0, shown.output
        return str(json.loads(shown.output)["policy"]["revision"])

    first = revision()
    assert revision() == first  # from the cache: the same
    parent = tmp_path / "lishui-2021-67.yaml"
    parent.write_text(parent.read_text(encoding="utf-8") + "\n# 修订\n", encoding="utf-8")
    changed = revision()
    assert changed != first  # a parent's edit is a new revision, cached or not
    monkeypatch.setenv("POLICY_CACHE", "0")
    assert revision() == changed


def test_facts_hash_is_the_same_however_the_facts_are_ordered(tmp_path: Path) -> None:
    text = (ROOT / "examples" / "warehouse-operator.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    facts_at = lines.index("facts:")
    reordered = lines[:facts_at + 1] + list(reversed(lines[facts_at + 1:facts_at + 7])) + lines[facts_at + 7:]
    (tmp_path / "a.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "b.yaml").write_text("\n".join(reordered) + "\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text(text.replace("1360000", "1360001"), encoding="utf-8")
    hashes = [json.loads(run("evaluate", POLICY, str(tmp_path / n), "--format", "json").output)["applicant"]
              ["facts_hash"] for n in ("a.yaml", "b.yaml", "c.yaml")]
    assert hashes[0] == hashes[1] != hashes[2]


def test_templates_ask_for_the_fund_year_with_a_valid_example(tmp_path: Path) -> None:
    import datetime as dt

    from openpyxl import load_workbook

    assert "claim_year: ~" in run("facts", POLICY, "--recipient", "warehouse_operator").output
    out = tmp_path / "t.csv"
    assert run("facts", POLICY, "--template", "csv", "--recipient", "seller", "-o", str(out)).exit_code == 0
    with open(out, encoding="utf-8-sig", newline="") as handle:
        head, _notes, example = list(csv.reader(handle))
    year = example[head.index("申报所属年度（claim_year）")]
    assert year.isdigit() and 2021 <= int(year) <= 2027 and int(year) <= dt.date.today().year
    # The example row as written evaluates: the fund year is one the policy accepts.
    checked = run("batch", POLICY, str(out), "-o", str(tmp_path / "r.csv"))
    assert checked.exit_code == 0, checked.output
    book = tmp_path / "t.xlsx"
    assert run("facts", POLICY, "--template", "xlsx", "--recipient", "seller", "-o", str(book)).exit_code == 0
    sheet = load_workbook(book).active
    assert sheet is not None
    column = [c.value for c in sheet[1]].index("申报所属年度（claim_year）") + 1
    cell = sheet.cell(row=3, column=column)
    assert cell.value == int(year) and "," not in cell.number_format


def test_serve_reads_the_ledger_logs_each_answer_and_the_form_shows_grants(ledger_url: str, tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from engine.service.app import create_app

    assert batch(ledger_url, "round-1.csv", tmp_path / "r1.csv", "2025-1").exit_code == 0
    plain = TestClient(create_app(ROOT / "policies"))
    assert plain.get(f"/policies/lishui-2021-67/grants?credit_code={WAREHOUSE}").status_code == 404
    assert 'id="credit_code"' not in plain.get("/policies/lishui-2021-67/form").text

    client = TestClient(create_app(ROOT / "policies", ledger=ledger_url))
    form = client.get("/policies/lishui-2021-67/form").text
    assert 'id="credit_code"' in form and "ledger-grants" in form and "2,021" not in form
    found = client.get(f"/policies/lishui-2021-67/grants?credit_code={WAREHOUSE}").json()["grants"]
    assert [(g["clause"], g["amount"], g["year"], g["for"]) for g in found] == [
        ("5.1", "500000.00", 2025, "丽水示例海外仓（迪拜）"), ("5.2", "100000.00", 2025, "丽水示例海外仓（迪拜）")]
    with open_ledger(ledger_url) as ledger:
        before = ledger.counts()
    facts = (ROOT / "examples" / "warehouse-operator.yaml").read_text(encoding="utf-8").replace("granted: {}", "")
    facts = facts.replace("丽水示例海外仓（迪拜）", "丽水示例海外仓 (迪拜)")
    answer = client.post(f"/policies/lishui-2021-67/evaluate?credit_code={WAREHOUSE}", content=facts.encode())
    assert answer.status_code == 200, answer.text
    clauses = {c["id"]: c for c in answer.json()["clauses"]}
    assert clauses["5.1"]["reason"] == "once_granted"
    with open_ledger(ledger_url) as ledger:
        after = ledger.counts()
        logged = ledger.decisions()[-1]
    assert after["decisions"] == before["decisions"] + 1 and after["entries"] == before["entries"]
    assert logged["round"] is None and logged["facts_hash"] == answer.json()["applicant"]["facts_hash"]
    assert client.post("/policies/lishui-2021-67/evaluate", content=facts.encode()).status_code == 422

    # The form's "save as facts file" keeps the credit code typed (normalised), and `policy evaluate` reads it
    # back: with --ledger, the warehouse's earlier grants are found by it.
    saved = client.post(f"/policies/lishui-2021-67/facts-file?credit_code={WAREHOUSE.lower()}",
                        content=facts.encode())
    assert saved.status_code == 200, saved.text
    assert f"\ncredit_code: {WAREHOUSE}\n" in saved.text and saved.text.startswith("# yaml-language-server")
    path = tmp_path / "saved.facts.yaml"
    path.write_bytes(saved.content)
    again = run("evaluate", POLICY, str(path), "--ledger", ledger_url, "--format", "json")
    assert again.exit_code == 0, again.output
    assert {c["id"]: c for c in json.loads(again.output)["clauses"]}["5.1"]["reason"] == "once_granted"
    assert run("evaluate", POLICY, str(path)).exit_code == 0  # without a ledger, the code is simply carried
    # No code typed: the file has none; a code that is not one: refused at its parameter, nothing saved.
    assert "credit_code" not in client.post("/policies/lishui-2021-67/facts-file", content=facts.encode()).text
    wrong = client.post("/policies/lishui-2021-67/facts-file?credit_code=91331100MA2A0W0H0X", content=facts.encode())
    assert wrong.status_code == 422 and wrong.json()["problems"][0]["path"] == "$.credit_code"


def test_the_form_in_a_browser_shows_the_ledgers_grants_and_evaluates_with_them(tmp_path: Path) -> None:
    """The case worker types the credit code: the ledger's earlier grants appear, and the sheet counts them."""
    import importlib.util
    import socket
    import threading
    import time

    spec = importlib.util.spec_from_file_location("screenshot", ROOT / "scripts" / "screenshot.py")
    assert spec is not None and spec.loader is not None
    screenshot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(screenshot)
    chromium = screenshot.find_chromium()
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs Chromium for the browser checks; .ci/run installs it")
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    import uvicorn
    from playwright.sync_api import sync_playwright

    from engine.service.app import create_app

    ledger = str(tmp_path / "grants.db")
    assert batch(ledger, "round-1.csv", tmp_path / "r1.csv", "2025-1").exit_code == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(ROOT / "policies", ledger=ledger), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/policies/lishui-2021-67/form")
            page.select_option("#recipient", "warehouse_operator")
            assert page.locator('.fact[data-name="claim_year"]').is_visible()
            page.fill("#credit_code", WAREHOUSE)
            page.wait_for_function("document.querySelectorAll('#ledger-grants tbody tr').length === 2")
            grants = page.locator("#ledger-grants tbody").inner_text()
            assert "500000.00" in grants and "丽水示例海外仓（迪拜）" in grants and "2025-1" in grants
            page.fill("#date", "2025-11-20")
            page.fill('input[name="claim_year"]', "2025")
            page.fill('input[name="warehouse_name"]', "丽水示例海外仓(迪拜)")
            page.select_option('select[name="warehouse_recognised"]', "true")
            page.fill('input[name="warehouse_operating_years"]', "2")
            page.fill('input[name="warehouse_build_cost"]', "1200000")
            page.wait_for_function("document.querySelector('[id=\"clause-5.1\"] .outcome')?.textContent === '不符合'")
            assert "500,000.00" in page.locator("#sheet").inner_text()
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
