"""The service for integrators: a query parameter a route does not read is refused by name with a did-you-mean,
a body that is neither JSON nor YAML is a 415, malformed JSON is named as JSON at its line and column, each
request is one JSON line on the log (on by default in `policy serve`), and the editors' schemas are served at
/schemas/… so a county's `$schema` line can point at the bureau's copy."""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner

from cli import cli
from engine import load_policy
from engine.service.app import QUERY, SCHEMAS, Limits, create_app

ROOT = Path(__file__).resolve().parent.parent
LISHUI = "/policies/lishui-2021-67"
SELLER_YAML = (ROOT / "examples" / "seller.yaml").read_text(encoding="utf-8")
SELLER = yaml.safe_load(SELLER_YAML)
SELLER_JSON = json.dumps(SELLER, default=str, ensure_ascii=False)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's own deprecation of its test client's transport
    from starlette.testclient import TestClient


def make(log: io.StringIO | None = None, **options: object) -> TestClient:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TestClient(create_app(ROOT / "policies", Limits(timeout=30), log=log, **options))


@pytest.fixture(scope="module")
def client() -> TestClient:
    return make()


def problems(response: httpx.Response) -> list[dict]:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return response.json()["problems"]


# -- query parameters -------------------------------------------------------------------------------------

def test_an_unknown_query_parameter_is_refused_by_name_with_a_suggestion(client):
    r = client.post(f"{LISHUI}/evaluate?trace=false&formt=text&lang=en", content=SELLER_JSON.encode())
    assert r.status_code == 400
    [problem] = problems(r)
    assert problem["message"] == "unknown query parameter formt" and problem["suggestion"] == "did you mean 'format'?"
    # nothing close: what the route takes instead; every unknown one named at once
    r = client.get("/policies?lang=en&verbose=1&page=2")
    assert r.status_code == 400
    assert [(p["message"], p["suggestion"]) for p in problems(r)] == [
        ("unknown query parameter verbose", "this address takes: lang"),
        ("unknown query parameter page", "this address takes: lang")]


def test_a_parameter_given_twice_or_a_language_not_known_is_refused(client):
    r = client.post(f"{LISHUI}/evaluate?trace=false&trace=true&lang=en", content=SELLER_JSON.encode())
    assert r.status_code == 400 and problems(r)[0]["message"] == "query parameter trace is given 2 times"
    r = client.get("/schemas?lang=fr")
    assert r.status_code == 400 and "lang" in problems(r)[0]["message"]


def test_the_credit_code_is_a_parameter_of_evaluate_only_with_a_ledger(client, tmp_path):
    r = client.post(f"{LISHUI}/evaluate?credit_code=91331100MA2A0B1C2N&lang=en", content=SELLER_JSON.encode())
    assert r.status_code == 400 and problems(r)[0]["message"] == "unknown query parameter credit_code"


def test_the_parameters_each_route_reads_are_those_the_document_lists(client, tmp_path):
    """What the service refuses as unknown and what /openapi.json offers cannot drift apart."""
    from starlette.routing import Match

    from engine.ledger import open_ledger

    where = str(tmp_path / "grants.db")
    open_ledger(where, create=True).close()
    for app, ledger in ((client, False), (make(ledger=where), True)):
        doc = app.get("/openapi.json").json()
        for path, operations in doc["paths"].items():
            for method, operation in operations.items():
                scope = {"type": "http", "path": path, "method": method.upper()}
                [name] = [r.name for r in app.app.routes if r.matches(scope)[0] is Match.FULL]
                listed = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
                reads = set(QUERY[name]) | ({"credit_code"} if ledger and name == "evaluate" else set())
                assert listed == reads, (path, listed, reads)
        assert "/schemas/{name}" in doc["paths"] and "/schemas" in doc["paths"]
        assert "415" in doc["paths"]["/policies/lishui-2021-67/evaluate"]["post"]["responses"]


# -- bodies ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("media", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                   "application/xml"])
def test_a_body_that_is_neither_json_nor_yaml_is_a_415_saying_what_is_taken(client, media):
    for route in ("evaluate", "facts-file"):
        r = client.post(f"{LISHUI}/{route}?lang=en", content=SELLER_YAML.encode(), headers={"Content-Type": media})
        assert r.status_code == 415 and r.headers["accept-post"] == "application/json, application/yaml"
        [problem] = problems(r)
        assert problem["message"] == f"this service does not take a body of type {media}"
        assert "application/yaml" in problem["suggestion"]


def test_json_and_yaml_are_taken_by_their_types_and_a_body_without_one_too(client):
    total = client.post(f"{LISHUI}/evaluate", content=SELLER_JSON.encode()).json()["total"]["amount"]
    for media, body in (("application/json", SELLER_JSON), ("application/json; charset=utf-8", SELLER_JSON),
                        ("application/vnd.bureau+json", SELLER_JSON), ("application/yaml", SELLER_YAML),
                        ("application/x-yaml", SELLER_YAML), ("text/yaml; charset=UTF-8", SELLER_YAML),
                        (None, SELLER_YAML)):
        headers = {"Content-Type": media} if media else {}
        r = client.post(f"{LISHUI}/evaluate", content=body.encode(), headers=headers)
        assert r.status_code == 200 and r.json()["total"]["amount"] == total, (media, r.text)


def test_a_charset_other_than_utf8_is_a_415(client):
    r = client.post(f"{LISHUI}/evaluate?lang=en", content=SELLER_JSON.encode("gbk"),
                    headers={"Content-Type": "application/json; charset=GBK"})
    assert r.status_code == 415 and problems(r)[0]["message"] == "the body's charset is gbk; this service reads UTF-8 only"


def test_malformed_json_is_named_as_json_at_its_line_and_column(client):
    body = '{"recipient": "seller",\n  "facts": {"cbec_turnover": 620万元}}'.encode()
    r = client.post(f"{LISHUI}/evaluate?lang=en", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    [problem] = problems(r)
    assert problem["message"] == "the body is not valid JSON: Expecting ',' delimiter"
    assert (problem["line"], problem["column"]) == (2, 33)
    assert problem["text"].startswith("request:2:33: error: the body is not valid JSON")
    # without a Content-Type the same text is YAML (a flow mapping) and taken as such; a body that looks like
    # JSON and is neither is named as JSON's mistake, not YAML's
    assert client.post(f"{LISHUI}/evaluate", content=body).status_code == 200
    r = client.post(f"{LISHUI}/evaluate?lang=en", content=b'{"recipient": "seller",\n  "facts": {')
    assert r.status_code == 422
    [problem] = problems(r)
    assert problem["message"].startswith("the body is not valid JSON: ") and problem["line"] == 2
    # a facts file's YAML sent as JSON is not quietly read as YAML: the client is told what it said
    r = client.post(f"{LISHUI}/facts-file?lang=en", content=SELLER_YAML.encode(),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "Content-Type: application/yaml" in problems(r)[0]["suggestion"]
    # a JSON body with a byte-order mark is still JSON
    r = client.post(f"{LISHUI}/evaluate", content=b"\xef\xbb\xbf" + SELLER_JSON.encode(),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 200


# -- the log ---------------------------------------------------------------------------------------------

def test_each_request_is_one_json_line_on_the_log_without_its_query_or_body():
    log = io.StringIO()
    app = make(log)
    app.post(f"{LISHUI}/evaluate?trace=false", content=SELLER_JSON.encode())
    app.post(f"{LISHUI}/facts-file?credit_code=91331100MA2A0B1C2N", content=SELLER_JSON.encode())
    app.get("/policies/nope")
    app.get("/no/such/address")
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    assert len(lines) == 4
    for line in lines:
        assert set(line) == {"time", "method", "route", "path", "status", "duration_ms", "policy", "revision"}
        assert line["time"].endswith("Z") and line["duration_ms"] >= 0
    revision = load_policy(str(ROOT / "policies" / "lishui-2021-67.yaml")).revision
    assert revision and len(revision) == 64
    assert lines[0] | {"time": None, "duration_ms": None} == {
        "time": None, "method": "POST", "route": "/policies/{policy_id}/evaluate",
        "path": "/policies/lishui-2021-67/evaluate", "status": 200, "duration_ms": None,
        "policy": "lishui-2021-67", "revision": revision}
    assert lines[1]["status"] == 200 and lines[1]["route"] == "/policies/{policy_id}/facts-file"
    assert (lines[2]["status"], lines[2]["policy"], lines[2]["revision"]) == (404, None, None)
    assert (lines[3]["status"], lines[3]["route"]) == (404, None)
    assert "91331100MA2A0B1C2N" not in log.getvalue() and "seller" not in log.getvalue()


def test_without_a_log_stream_nothing_is_written(capsys):
    make().get("/policies")
    assert capsys.readouterr().err == ""


# -- the editors' schemas --------------------------------------------------------------------------------

def test_the_schemas_are_served_as_policy_schemas_writes_them(client, tmp_path):
    CliRunner().invoke(cli, ["schemas", str(tmp_path)])
    listed = client.get("/schemas").json()["schemas"]
    assert [s["name"] for s in listed] == list(SCHEMAS) and listed[0]["url"] == "/schemas/policy.schema.json"
    for name in ("policy.schema.json", "tests.schema.json"):
        r = client.get(f"/schemas/{name}")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/schema+json")
        assert r.content == (tmp_path / name).read_bytes()
    assert client.get("/schemas/result.schema.json").json()["$id"].endswith("result.schema.json")
    r = client.get("/schemas/policy.schema?lang=en")
    assert r.status_code == 404 and problems(r)[0]["suggestion"] == "did you mean 'policy.schema.json'?"
    configured = make(base_url="https://bureau.example.invalid/policy-engine/")
    assert configured.get("/schemas").json()["schemas"][1]["url"] == \
        "https://bureau.example.invalid/policy-engine/schemas/tests.schema.json"


@pytest.mark.parametrize("given", ["https://bureau.example.invalid/", "https://bureau.example.invalid",
                                   "https://bureau.example.invalid/schemas/",
                                   "https://bureau.example.invalid/schemas/policy.schema.json"])
def test_fork_completes_the_bureaus_address_to_its_policy_schema(tmp_path, given):
    out = tmp_path / "q.yaml"
    run = CliRunner().invoke(cli, ["fork", str(ROOT / "policies" / "lishui-2021-67.yaml"), "--id", "q-1",
                                   "--jurisdiction", "青田县", "-o", str(out), "--schema-url", given])
    assert run.exit_code == 0, run.output
    assert "# yaml-language-server: $schema=https://bureau.example.invalid/schemas/policy.schema.json\n" in \
        out.read_text(encoding="utf-8")


def test_policy_serve_logs_each_request_and_a_county_file_validates_against_its_schema_url(tmp_path):
    """A real `policy serve`: its stderr carries a JSON line per request; a county file forked with the
    service's address validates (check-jsonschema, fetching the schema from the service) wherever it is."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    err = tmp_path / "stderr.txt"
    with open(err, "w", encoding="utf-8") as handle:
        proc = subprocess.Popen([sys.executable, "-m", "cli", "serve", str(ROOT / "policies"), "--port", str(port)],
                                stderr=handle, text=True, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/schemas", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("the service did not answer: " + err.read_text(encoding="utf-8"))
        county = tmp_path / "county" / "policies" / "qingtian.yaml"
        run = CliRunner().invoke(cli, ["fork", str(ROOT / "policies" / "lishui-2021-67.yaml"), "--id", "qingtian-1",
                                       "--jurisdiction", "青田县", "-o", str(county), "--schema-url", base + "/"])
        assert run.exit_code == 0, run.output
        url = f"{base}/schemas/policy.schema.json"
        assert f"$schema={url}\n" in county.read_text(encoding="utf-8")
        if shutil.which("check-jsonschema") is None:
            assert httpx.get(url).json()["$id"].endswith("policy.schema.json")
        else:
            check = subprocess.run(["check-jsonschema", "--schemafile", url, str(county)], capture_output=True,
                                   text=True, timeout=300)
            assert check.returncode == 0, check.stdout + check.stderr
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and '"route": "/schemas/{name}"' not in err.read_text(encoding="utf-8"):
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    lines = [json.loads(line) for line in err.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
    assert any(line["route"] == "/schemas" and line["status"] == 200 for line in lines), lines
    assert any(line["route"] == "/schemas/{name}" and line["path"] == "/schemas/policy.schema.json"
               and line["status"] == 200 for line in lines), lines


def test_policy_serve_no_log_is_quiet_after_it_starts(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    err = tmp_path / "stderr.txt"
    with open(err, "w", encoding="utf-8") as handle:
        proc = subprocess.Popen([sys.executable, "-m", "cli", "serve", str(ROOT / "policies"), "--port", str(port),
                                 "--no-log"], stderr=handle, text=True, cwd=ROOT)
    try:
        for _ in range(100):
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/policies", timeout=2).status_code == 200
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("the service did not answer")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert not [line for line in err.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
