"""The service's OpenAPI 3.1 document: every route, its parameters, bodies, responses and limits."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import TYPE_CHECKING, Any, Sequence

from engine import EDITOR_SCHEMAS, load_schema

if TYPE_CHECKING:
    from engine import Policy
    from engine.service.limits import Limits

_REF = "#/components/schemas/"

# The schemas the service gives out at /schemas/NAME: those a county's editors check policy and test files with
# (a county's `$schema` line can point at the bureau's copy: `policy fork --schema-url`), and the result's.
SCHEMAS = (*EDITOR_SCHEMAS, "result.schema.json")


def _result_schemas() -> dict[str, Any]:
    """schemas/result.schema.json as components (its one $def becomes ResultClause)."""
    result = copy.deepcopy(load_schema("result.schema.json"))
    defs = result.pop("$defs", {})
    for key in ("$schema", "$id"):
        result.pop(key, None)
    text = json.dumps({"Result": result, **{f"Result{k.title()}": v for k, v in defs.items()}})
    for name in defs:
        text = text.replace(f'"#/$defs/{name}"', f'"{_REF}Result{name.title()}"')
    schemas: dict[str, Any] = json.loads(text)
    return schemas


PROBLEM = {
    "type": "object",
    "description": "One problem, as `policy validate --format json` gives it; `text` is the line the CLI prints.",
    "required": ["severity", "message", "path", "text"],
    "properties": {
        "severity": {"enum": ["error", "warning", "info"]},
        "message": {"type": "string"},
        "file": {"type": ["string", "null"], "description": "`request` for the request body; a policy file's name "
                                                            "for a policy that does not compile."},
        "line": {"type": ["integer", "null"]},
        "column": {"type": ["integer", "null"]},
        "path": {"type": "string", "description": "JSON path in the request (or file), e.g. $.facts.cbec_turnover"},
        "clause": {"type": ["string", "null"]},
        "suggestion": {"type": ["string", "null"]},
        "inherited_by": {"type": ["string", "null"]},
        "text": {"type": "string"},
    },
}


def _problems(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/problem+json": {"schema": {"$ref": f"{_REF}Problems"}}}}


def _params(*names: str) -> list[dict[str, Any]]:
    known: dict[str, dict[str, Any]] = {
        "policy_id": {"name": "policy_id", "in": "path", "required": True, "schema": {"type": "string"},
                      "description": "The policy's declared id, e.g. lishui-2021-67."},
        "lang": {"name": "lang", "in": "query", "schema": {"enum": ["zh", "en"]},
                 "description": "Language of messages and of the sheet. Default: the policy's declared language."},
        "trace": {"name": "trace", "in": "query", "schema": {"type": "boolean", "default": True},
                  "description": "false: outcomes and amounts without the working (faster)."},
        "format": {"name": "format", "in": "query", "schema": {"enum": ["json", "text"], "default": "json"},
                   "description": "json: schemas/result.schema.json; text: the calculation sheet."},
        "on": {"name": "on", "in": "query", "schema": {"type": "string", "format": "date"},
               "description": "The claim date (YYYY-MM-DD). Default: the facts' date, else today."},
        "credit_code": {"name": "credit_code", "in": "query", "schema": {"type": "string"},
                        "description": "The applicant's 统一社会信用代码 (18 characters, its check character "
                                       "valid): earlier grants are taken from the service's ledger by it, in place "
                                       "of the facts' own `granted:` (a facts `granted:` that disagrees with the "
                                       "ledger is a problem, 422). Without it, or with a code that is not one: "
                                       "422. Each evaluation answered is logged in the ledger's decisions."},
        "credit_code_saved": {"name": "credit_code", "in": "query", "schema": {"type": "string"},
                              "description": "The applicant's 统一社会信用代码, written into the facts file as its "
                                             "`credit_code:` (`policy evaluate --ledger` looks earlier grants up "
                                             "by it). A code that is not one (its length or check character): "
                                             "422."},
        "schema_name": {"name": "name", "in": "path", "required": True, "schema": {"enum": list(SCHEMAS)},
                        "description": "The schema's file name, as `policy schemas` writes it."},
        "credit_code_required": {"name": "credit_code", "in": "query", "required": True,
                                 "schema": {"type": "string"},
                                 "description": "The applicant's 统一社会信用代码 (18 characters, its check "
                                                "character valid)."},
    }
    return [known[n] for n in names]


GRANTS = {
    "type": "object", "required": ["credit_code", "policy", "grants"],
    "description": "An applicant's earlier grants under a policy, from the service's ledger, oldest first: "
                   "corrections applied, reversed grants left out.",
    "properties": {
        "credit_code": {"type": "string", "description": "The code asked about, normalised."},
        "policy": {"type": "string"},
        "grants": {"type": "array", "items": {
            "type": "object", "required": ["clause", "amount", "year", "counts", "for", "round", "entry"],
            "properties": {
                "clause": {"type": "string"},
                "amount": {"type": "string", "description": "Yuan, exact (a decimal as text)."},
                "year": {"type": ["integer", "null"], "description": "The fund year the award was for."},
                "counts": {"enum": ["year", "once", "lifetime", "claim"],
                           "description": "What the award counts against: its fund year, once or lifetime "
                                          "ever, or only its own claim."},
                "for": {"type": ["string", "null"], "description": "The object of a clause counted per "
                                                                  "object (a warehouse, a park), as written."},
                "round": {"type": ["string", "null"]},
                "entry": {"type": "integer", "description": "The ledger entry (policy ledger show/correct)."}}}}},
}


def _with_ledger(doc: dict[str, Any], refused: dict[str, Any], answers: Any) -> None:
    """`policy serve --ledger`: evaluate takes credit_code, and the grants route answers."""
    evaluate = doc["paths"]["/policies/{policy_id}/evaluate"]["post"]
    evaluate["parameters"] = [*evaluate["parameters"], *_params("credit_code")]
    doc["paths"]["/policies/{policy_id}/grants"] = {"get": {
        "operationId": "grants", "summary": "An applicant's earlier grants under the policy, from the ledger "
                                            "(the form shows them; only with `policy serve --ledger`).",
        "parameters": _params("policy_id", "credit_code_required", "lang"),
        "responses": {"200": {"description": "The grants.", "content": {"application/json": {
            "schema": {"$ref": f"{_REF}Grants"}}}},
            **answers("404"),
            "400": _problems("No credit_code, or one that is not a 统一社会信用代码 (its length or check "
                             "character), or a malformed parameter (e.g. lang).")}}}
    doc["components"]["schemas"]["Grants"] = GRANTS


@cache
def _document(max_body: int, max_items: int, max_depth: int, timeout: float, read_timeout: float,
              ledger: bool = False) -> dict[str, Any]:
    facts_body = {
        "required": True,
        "description": (f"An applicant's facts, shaped as a facts file (recipient, area, date, facts, granted): JSON, "
                        f"or the YAML of a facts file. At most {max_body} bytes, {max_items} entries in any list or "
                        f"mapping, {max_depth} levels deep. The body is checked against the policy's own facts "
                        "schema, GET /policies/{policy_id}/facts-schema, which this shape only outlines: each "
                        "policy held has its own paths below, whose request schema is that facts schema."),
        "content": {"application/json": {"schema": {"$ref": f"{_REF}Facts"}},
                    "application/yaml": {"schema": {"$ref": f"{_REF}Facts"}}},
    }
    refused = {
        "400": _problems("A malformed parameter (e.g. lang), a query parameter the route does not read (named, "
                         "with a did-you-mean), or a body that is not UTF-8."),
        "404": _problems("No policy with this id."),
        "408": _problems(f"The body did not arrive within {read_timeout:g} s (the connection is closed)."),
        "413": _problems(f"The body is larger than {max_body} bytes, or holds a list or mapping of more than "
                         f"{max_items} entries, or is nested more than {max_depth} deep (JSON or YAML alike)."),
        "415": _problems("The body's Content-Type is neither JSON (application/json, or a +json type) nor YAML "
                         "(application/yaml, application/x-yaml, text/yaml, or a +yaml type), or its charset is "
                         "not UTF-8. Accept-Post names what is taken. Without a Content-Type the body is read as "
                         "JSON, else as YAML."),
        "422": _problems("The facts do not fit the policy: each problem with its line, column, JSON path and a "
                         "suggestion, as `policy evaluate` reports them; or the body is not valid JSON (when it "
                         "says it is JSON, or looks like it: named as JSON's mistake, at its line and column) or "
                         "YAML."),
        "500": _problems("A bug of the service (not a problem with the request); its log has the details."),
        "503": _problems(f"The policy's file does not compile now (its problems, as `policy validate` gives them), "
                         f"or it is being compiled again after a change and was not ready within {timeout:g} s, or "
                         f"the evaluation took longer than {timeout:g} s, or the service holds its limit of "
                         "connections. Retry-After says when to try again."),
    }

    def answers(*codes: str) -> dict[str, Any]:
        """Every refusal an operation can give: its own, and 400, 500 and 503, which any route can answer."""
        return {code: refused[code] for code in sorted({*codes, "400", "500", "503"})}

    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "policy-engine", "version": "1",
                 "description": "Subsidy policies as data: the policies this service holds, the facts each needs, "
                                "and the evaluation of one applicant (`policy serve`)."},
        "paths": {
            "/policies": {"get": {
                "operationId": "listPolicies", "summary": "The policies held, and files that do not compile now.",
                "parameters": _params("lang"),
                "responses": {"200": {"description": "The policies.", "content": {"application/json": {
                    "schema": {"$ref": f"{_REF}PolicyList"}}}}, **answers()}}},
            "/policies/{policy_id}": {"get": {
                "operationId": "getPolicy", "summary": "One policy: its document, period, areas and recipient kinds.",
                "parameters": _params("policy_id", "lang"),
                "responses": {"200": {"description": "The policy.", "content": {"application/json": {
                    "schema": {"$ref": f"{_REF}PolicySummary"}}}}, **answers("404")}}},
            "/policies/{policy_id}/facts-schema": {"get": {
                "operationId": "getFactsSchema", "summary": "The JSON Schema of this policy's facts "
                                                            "(as `policy facts POLICY --schema`).",
                "parameters": _params("policy_id", "lang"),
                "responses": {"200": {"description": "A JSON Schema (draft 2020-12).",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              **answers("404")}}},
            "/policies/{policy_id}/evaluate": {"post": {
                "operationId": "evaluate", "summary": "Evaluate one applicant (as `policy evaluate`).",
                "parameters": _params("policy_id", "trace", "format", "lang", "on"),
                "requestBody": facts_body,
                "responses": {"200": {"description": "The result.", "content": {
                    "application/json": {"schema": {"$ref": f"{_REF}Result"}},
                    "text/plain": {"schema": {"type": "string"}}}},
                    **answers("404", "408", "413", "415", "422")}}},
            "/policies/{policy_id}/facts-file": {"post": {
                "operationId": "factsFile", "summary": "The facts as a YAML facts file for `policy evaluate` (the "
                                                       "same facts: text stays text for every YAML reader).",
                "parameters": _params("policy_id", "lang", "credit_code_saved"),
                "requestBody": facts_body,
                "responses": {"200": {"description": "A facts file.", "content": {
                    "application/yaml": {"schema": {"$ref": f"{_REF}Facts"}}}},
                    **answers("404", "408", "413", "415", "422")}}},
            "/policies/{policy_id}/form": {"get": {
                "operationId": "form", "summary": "A case worker's form: fill in the facts, see the sheet, save them.",
                "parameters": _params("policy_id", "lang"),
                "responses": {"200": {"description": "An HTML page (no network assets).",
                                      "content": {"text/html": {"schema": {"type": "string"}}}},
                              **answers("404")}}},
            "/": {"get": {
                "operationId": "index", "summary": "A page listing the policies and their forms.",
                "parameters": _params("lang"),
                "responses": {"200": {"description": "An HTML page.",
                                      "content": {"text/html": {"schema": {"type": "string"}}}}, **answers()}}},
            "/schemas": {"get": {
                "operationId": "listSchemas",
                "summary": "The JSON Schemas the service gives out: the editors' (policy and test files: a county's "
                           "`$schema` line can point at them, `policy fork --schema-url URL/schemas/"
                           "policy.schema.json`) and the result's.",
                "parameters": _params("lang"),
                "responses": {"200": {"description": "Each schema's name and address.", "content": {
                    "application/json": {"schema": {
                        "type": "object", "required": ["schemas"],
                        "properties": {"schemas": {"type": "array", "items": {
                            "type": "object", "required": ["name", "url"],
                            "properties": {"name": {"type": "string"}, "url": {"type": "string"}}}}}}}}},
                    **answers()}}},
            "/schemas/{name}": {"get": {
                "operationId": "getSchema",
                "summary": "One JSON Schema (draft 2020-12), byte for byte as `policy schemas DIR` copies it.",
                "parameters": _params("schema_name", "lang"),
                "responses": {"200": {"description": "The schema.",
                                      "content": {"application/schema+json": {"schema": {"type": "object"}}}},
                              **answers("404")}}},
            "/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document.",
                "parameters": _params("lang"),
                "responses": {"200": {"description": "OpenAPI 3.1.",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              **answers()}}},
        },
        "components": {"schemas": {
            **_result_schemas(),
            "Problem": PROBLEM,
            "Problems": {"type": "object", "required": ["type", "title", "status", "detail", "problems"],
                         "description": "A problem document (RFC 9457, application/problem+json) listing every "
                                        "problem found.",
                         "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                                        "status": {"type": "integer"}, "detail": {"type": "string"},
                                        "problems": {"type": "array", "items": {"$ref": f"{_REF}Problem"}}}},
            "Facts": {"type": "object", "required": ["recipient"],
                      "description": "A facts document; each policy's exact schema is at its facts-schema link.",
                      "properties": {"applicant": {"type": "string"},
                                     "recipient": {"anyOf": [{"type": "string"},
                                                             {"type": "array", "items": {"type": "string"}}]},
                                     "area": {"type": ["string", "null"]},
                                     "date": {"type": ["string", "null"], "format": "date"},
                                     "facts": {"type": "object"},
                                     "granted": {"type": ["object", "null"]}}},
            "PolicySummary": {
                "type": "object", "required": ["id", "document", "title", "language", "recipients", "links"],
                "properties": {"id": {"type": "string"}, "document": {"type": "string"}, "title": {"type": "string"},
                               "language": {"enum": ["zh", "en"]},
                               "in_force": {"type": "object", "properties": {
                                   "from": {"type": "string", "format": "date"},
                                   "until": {"type": ["string", "null"], "format": "date"}}},
                               "jurisdiction": {"type": "array", "items": {"type": "string"}},
                               "recipients": {"type": "object", "additionalProperties": {"type": "string"},
                                              "description": "Recipient kinds and their labels."},
                               "links": {"type": "object", "additionalProperties": {"type": "string"}}}},
            "PolicyList": {
                "type": "object", "required": ["policies", "invalid"],
                "properties": {"policies": {"type": "array", "items": {"$ref": f"{_REF}PolicySummary"}},
                               "invalid": {"type": "array", "items": {
                                   "type": "object", "properties": {
                                       "file": {"type": "string"},
                                       "problems": {"type": "array", "items": {"$ref": f"{_REF}Problem"}}}}}}},
        }},
    }
    if ledger:
        _with_ledger(doc, refused, answers)
    return doc


def _within(schema: Any, max_items: int) -> Any:
    """The facts schema with the service's limit of entries in any list or mapping written into it."""
    if isinstance(schema, list):
        return [_within(s, max_items) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: (_within(v, max_items) if k not in ("enum", "const", "required", "pattern") else v)
           for k, v in schema.items()}
    if out.get("type") == "array" or "items" in out:
        out["maxItems"] = min(out.get("maxItems", max_items), max_items)
    if out.get("type") == "object" or "properties" in out or "additionalProperties" in out:
        out["maxProperties"] = min(out.get("maxProperties", max_items), max_items)
    return out


def openapi_document(limits: Limits, policies: Sequence[Policy] = (), *, ledger: bool = False) -> dict[str, Any]:
    """The document, with each held policy's evaluate and facts-file paths, whose request schema is that
    policy's facts schema (so a client generated from the document sends what the service accepts); with
    `ledger` (`policy serve --ledger`), evaluate's credit_code and the grants route."""
    from engine import facts_schema

    base = _document(limits.max_body, limits.max_items, limits.max_depth, limits.timeout, limits.read_timeout,
                     ledger)
    if not policies:
        return base
    doc = copy.deepcopy(base)
    held = sorted(p.id for p in policies)
    for route in ("evaluate", "facts-file"):  # the generic paths are for ids not held: each held has its own
        generic = doc["paths"][f"/policies/{{policy_id}}/{route}"]["post"]
        generic["parameters"] = [
            {**p, "schema": {"type": "string", "not": {"enum": held}},
             "description": "An id this service does not hold now (404); a policy held has its own path."}
            if p["name"] == "policy_id" else p for p in generic["parameters"]]
    for policy in policies:
        schema = _within(facts_schema(policy), limits.max_items)
        for key in ("$schema", "$id"):
            schema.pop(key, None)
        name = "Facts_" + "".join(c if c.isalnum() else "_" for c in policy.id)
        doc["components"]["schemas"][name] = schema
        for route, op in (("evaluate", "evaluate"), ("facts-file", "factsFile")):
            generic = doc["paths"][f"/policies/{{policy_id}}/{route}"]["post"]
            specific = copy.deepcopy(generic)
            specific["operationId"] = f"{op}_{name[6:]}"
            specific["summary"] = f"{generic['summary']} {policy.id}: {policy.title}"
            specific["parameters"] = [p for p in specific["parameters"] if p["name"] != "policy_id"]
            specific["requestBody"] = {
                "required": True,
                "description": f"The applicant's facts for {policy.id}: JSON by this schema (the same as GET "
                               f"/policies/{policy.id}/facts-schema), or the YAML of a facts file. At most "
                               f"{limits.max_body} bytes, {limits.max_items} entries in any list or mapping, "
                               f"{limits.max_depth} levels deep.",
                "content": {"application/json": {"schema": {"$ref": f"{_REF}{name}"}},
                            "application/yaml": {"schema": {"$ref": f"{_REF}{name}"}}}}
            if route == "facts-file":
                specific["responses"]["200"]["content"]["application/yaml"]["schema"] = {"$ref": f"{_REF}{name}"}
            specific["responses"] = {k: v for k, v in specific["responses"].items() if k != "404"}
            doc["paths"][f"/policies/{policy.id}/{route}"] = {"post": specific}
    return doc
