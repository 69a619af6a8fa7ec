"""`policy serve` as an integrator's program sees it: the policies held, facts schemas, evaluation with and without
the trace, the OpenAPI document, refusals worded as the CLI words them, limits, and reloading edited files."""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from pathlib import Path

import jsonschema
import pytest
import yaml

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx2: the test client works the same
    from starlette.testclient import TestClient

from engine import evaluate, load_applicant, load_policy, render_json
from engine.service.app import Limits, create_app
from engine.service.registry import CHECK_EVERY

ROOT = Path(__file__).resolve().parent.parent
LISHUI = "/policies/lishui-2021-67"
SELLER = (ROOT / "examples" / "seller.yaml").read_text(encoding="utf-8")
RESULT_SCHEMA = json.loads((ROOT / "schemas" / "result.schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(ROOT / "policies"))


def seller_json() -> dict:
    data = yaml.safe_load(SELLER)
    data["date"] = data["date"].isoformat()
    return data


def test_lists_the_policies_it_holds_with_their_links(client):
    body = client.get("/policies").json()
    ids = {p["id"] for p in body["policies"]}
    assert ids == {"lishui-2021-67", "datong-2021-46", "hangzhou-2019-99", "hangzhou-2022-draft", "qingtian-example"}
    lishui = next(p for p in body["policies"] if p["id"] == "lishui-2021-67")
    assert lishui["recipients"]["seller"] == "跨境电商企业"
    assert lishui["links"]["evaluate"] == f"{LISHUI}/evaluate"
    assert body["invalid"] == []


def test_facts_schema_is_what_policy_facts_prints(client):
    shipped = json.loads((ROOT / "policies" / "lishui-2021-67.facts.schema.json").read_text(encoding="utf-8"))
    assert client.get(f"{LISHUI}/facts-schema").json() == shipped


def test_evaluate_gives_the_same_json_as_the_cli(client):
    policy = load_policy(str(ROOT / "policies" / "lishui-2021-67.yaml"))
    expected = json.loads(render_json(evaluate(policy, load_applicant(policy, str(ROOT / "examples" / "seller.yaml")))))
    r = client.post(f"{LISHUI}/evaluate", content=SELLER.encode())  # the facts file as it is
    assert r.status_code == 200, r.text
    got = r.json()
    jsonschema.validate(got, RESULT_SCHEMA)
    assert got["applicant"]["file"] == "request"
    got["applicant"]["file"] = expected["applicant"]["file"]
    assert got == expected
    as_json = client.post(f"{LISHUI}/evaluate", json=seller_json()).json()  # JSON (368000.50 becomes 368000.5)
    assert as_json["total"] == expected["total"] and as_json["total"]["amount"] == "865357.83"


def test_without_the_trace_the_amounts_are_the_same(client):
    traced = client.post(f"{LISHUI}/evaluate", json=seller_json()).json()
    fast = client.post(f"{LISHUI}/evaluate?trace=false", json=seller_json()).json()
    jsonschema.validate(fast, RESULT_SCHEMA)
    assert fast["total"] == traced["total"]
    assert [(c["id"], c["outcome"], c.get("amount")) for c in fast["clauses"]] == \
           [(c["id"], c["outcome"], c.get("amount")) for c in traced["clauses"]]
    assert len(json.dumps(fast)) < len(json.dumps(traced))


def test_the_sheet_as_text_in_either_language(client):
    zh = client.post(f"{LISHUI}/evaluate?format=text", json=seller_json())
    assert zh.status_code == 200 and "[符合] 2.2 第二条 年交易额500万元以上企业补助" in zh.text
    en = client.post(f"{LISHUI}/evaluate?format=text&lang=en", json=seller_json())
    assert "[eligible] 2.2" in en.text


def test_bad_facts_get_422_with_the_clis_located_messages(client):
    body = '{"recipient": "seller",\n "facts": {"cbec_turnovr": "620万元", "registered_cbec": "yes"}}'
    r = client.post(f"{LISHUI}/evaluate?lang=en", content=body.encode())
    assert r.status_code == 422
    problems = r.json()["problems"]
    assert [(p["line"], p["column"], p["path"]) for p in problems] == [
        (2, 12, "$.facts.cbec_turnovr"), (2, 56, "$.facts.registered_cbec")]
    assert problems[0]["suggestion"] == "did you mean 'cbec_turnover'?"
    assert problems[0]["text"].startswith("request:2:12: error: unknown key 'cbec_turnovr'")
    assert "write true or false" in problems[1]["suggestion"]


def test_malformed_requests_are_refused_with_a_located_problem(client):
    r = client.post(f"{LISHUI}/evaluate", content=b'{"recipient": "seller",\n  "facts": {')
    assert r.status_code == 422 and r.json()["problems"][0]["line"] == 2
    r = client.post(f"{LISHUI}/evaluate", content="\xff".encode("latin-1"))
    assert r.status_code == 400 and "UTF-8" in r.json()["problems"][0]["text"] or "UTF-8" in r.text
    r = client.post(f"{LISHUI}/evaluate?trace=maybe", json=seller_json())
    assert r.status_code == 400 and "trace" in r.json()["problems"][0]["message"]
    r = client.post(f"{LISHUI}/evaluate?on=2024-13-01", json=seller_json())
    assert r.status_code == 400 and "YYYY-MM-DD" in r.json()["problems"][0]["suggestion"]


def test_an_unknown_policy_or_address_is_404_with_a_suggestion(client):
    r = client.post("/policies/lishui-2021-76/evaluate", json=seller_json())
    assert r.status_code == 404
    assert "lishui-2021-67" in r.json()["problems"][0]["suggestion"]
    r = client.get("/policies/lishui-2021-67/nothing")
    assert r.status_code == 404 and "/openapi.json" in r.json()["problems"][0]["suggestion"]
    assert client.get(f"{LISHUI}/evaluate").status_code == 405


def test_request_files_are_never_read(client, tmp_path):
    """A path in the request is data: no key of a facts document names a file, and a string is not opened."""
    secret = tmp_path / "secret.yaml"
    secret.write_text("recipient: seller\n", encoding="utf-8")
    r = client.post(f"{LISHUI}/evaluate", json={"recipient": str(secret), "facts": {"cbec_turnover": str(secret)}})
    assert r.status_code == 422 and "secret" not in json.dumps(r.json()["problems"][0].get("line"))
    r = client.post(f"/policies/{secret}/evaluate", json=seller_json())
    assert r.status_code == 404


def test_requests_are_bounded():
    small = TestClient(create_app(ROOT / "policies", Limits(max_body=2048, max_items=50, max_depth=8)))
    big = {"recipient": "seller", "facts": {"cbec_turnover": "1" * 3000}}
    r = small.post(f"{LISHUI}/evaluate", json=big)
    assert r.status_code == 413 and "2 KiB" in r.json()["problems"][0]["message"]
    many = {"recipient": "seller", "granted": {str(i): 1 for i in range(60)}}
    r = small.post(f"{LISHUI}/evaluate?lang=en", json=many)
    assert r.status_code == 413 and r.json()["problems"][0]["path"] == "$.granted"
    deep = {"recipient": "seller", "facts": {"x": [[[[[[[[[[1]]]]]]]]]]}}
    r = small.post(f"{LISHUI}/evaluate", json=deep)
    assert r.status_code == 413
    nested = b"[" * 1500 + b"]" * 1500  # deeper than Python's own parser goes: the loader refuses it
    r = small.post(f"{LISHUI}/evaluate", content=nested)
    assert r.status_code in (413, 422)


def test_the_openapi_document_is_valid_and_describes_every_route(client):
    from openapi_spec_validator import validate

    doc = client.get("/openapi.json").json()
    validate(doc)
    routes = {(route.path, method.lower()) for route in client.app.routes for method in route.methods
              if method != "HEAD"}
    described = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    held = {p["id"] for p in client.get("/policies").json()["policies"]}
    per_policy = {(f"/policies/{i}/{r}", "post") for i in held for r in ("evaluate", "facts-file")}
    assert routes | per_policy == described  # each policy's POST paths carry its own facts schema
    lishui_body = doc["paths"][f"{LISHUI}/evaluate"]["post"]["requestBody"]["content"]["application/json"]
    assert doc["components"]["schemas"][lishui_body["schema"]["$ref"].rsplit("/", 1)[1]]["properties"].keys() == \
        client.get(f"{LISHUI}/facts-schema").json()["properties"].keys()
    result = doc["components"]["schemas"]["Result"]
    assert result["required"] == RESULT_SCHEMA["required"]
    evaluate_op = doc["paths"]["/policies/{policy_id}/evaluate"]["post"]
    assert {p["name"] for p in evaluate_op["parameters"]} == {"policy_id", "trace", "format", "lang", "on"}
    assert {"404", "413", "422"} <= set(evaluate_op["responses"])


def test_policies_are_reloaded_when_their_files_change(tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    shutil.copy(ROOT / "policies" / "lishui-2021-67.yaml", folder)
    shutil.copy(ROOT / "policies" / "examples" / "qingtian-example.yaml", folder)
    client = TestClient(create_app(folder))
    before = client.post(f"{LISHUI}/evaluate", json=seller_json()).json()["total"]["amount"]
    city = folder / "lishui-2021-67.yaml"
    text = city.read_text(encoding="utf-8")
    assert "value: 50%\n        source: 丽政办发〔2021〕67号 第二条" in text
    city.write_text(text.replace("value: 50%\n        source: 丽政办发〔2021〕67号 第二条",
                                 "value: 40%\n        source: 丽政办发〔2021〕67号 第二条", 1), encoding="utf-8")
    os.utime(city, ns=(time.time_ns(), time.time_ns() + 10**9))  # a later mtime even on a coarse clock
    time.sleep(CHECK_EVERY + 0.05)
    after = client.post(f"{LISHUI}/evaluate", json=seller_json()).json()["total"]["amount"]
    assert after != before
    # A file being edited that no longer loads: its problems, as validate gives them; fixed, it is back.
    city.write_text(text.replace("clauses:", "clausez:", 1), encoding="utf-8")
    os.utime(city, ns=(time.time_ns(), time.time_ns() + 2 * 10**9))
    time.sleep(CHECK_EVERY + 0.05)
    listing = client.get("/policies").json()
    assert {i["file"] for i in listing["invalid"]} >= {"lishui-2021-67.yaml"}
    r = client.post(f"{LISHUI}/evaluate", json=seller_json())
    assert r.status_code == 503 and "clausez" in r.text
    city.write_text(text, encoding="utf-8")
    os.utime(city, ns=(time.time_ns(), time.time_ns() + 3 * 10**9))
    time.sleep(CHECK_EVERY + 0.05)
    assert client.post(f"{LISHUI}/evaluate", json=seller_json()).json()["total"]["amount"] == before
    # The county file, which extends the city's, follows its parent too.
    assert {p["id"] for p in client.get("/policies").json()["policies"]} == {"lishui-2021-67", "qingtian-example"}


def test_saved_facts_file_loads_in_the_cli_as_the_same_applicant(client, tmp_path):
    r = client.post(f"{LISHUI}/facts-file", json=seller_json())
    assert r.status_code == 200
    # The link is relative (no --base-url): never built from the request's Host header.
    assert r.text.startswith("# yaml-language-server: $schema=/policies/lishui-2021-67/facts-schema\n")
    saved = tmp_path / "seller.yaml"
    saved.write_text(r.text, encoding="utf-8")
    policy = load_policy(str(ROOT / "policies" / "lishui-2021-67.yaml"))
    again = evaluate(policy, load_applicant(policy, str(saved)))
    assert str(again.total) == "865357.83"
    bad = client.post(f"{LISHUI}/facts-file", json={"recipient": "seller", "facts": {"cbec_turnover": "很多"}})
    assert bad.status_code == 422 and bad.json()["problems"][0]["path"] == "$.facts.cbec_turnover"


def test_serve_command_starts_and_answers(tmp_path):
    """The command itself: a real uvicorn on a free loopback port."""
    import socket
    import subprocess
    import sys
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "cli", "serve", str(ROOT / "policies"), "--port", str(port),
                             "--lang", "en"], stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        assert f"at http://127.0.0.1:{port}/" in line and "5 policies" in line
        for _ in range(50):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/policies", timeout=2) as response:
                    assert len(json.load(response)["policies"]) == 5
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the service did not answer")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_service_benchmark_runs_with_no_errors():
    """scripts/bench_service.py, small: a real server process, concurrent clients, and not one failed request."""
    import importlib.util
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    spec = importlib.util.spec_from_file_location("bench_service", ROOT / "scripts" / "bench_service.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    lines, _missed = bench.run(count=40, levels=(1, 4))
    figures = [line for line in lines if "concurrency" in line]
    assert len(figures) == 4 and all("errors 0" in line and "p99" in line for line in figures), lines
