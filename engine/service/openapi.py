"""The service's OpenAPI 3.1 document: every route, its parameters, bodies, responses and limits."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import TYPE_CHECKING, Any

from engine.syntax.schema import load_schema

if TYPE_CHECKING:
    from engine.service.app import Limits

_REF = "#/components/schemas/"


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
            "content": {"application/json": {"schema": {"$ref": f"{_REF}Problems"}}}}


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
    }
    return [known[n] for n in names]


@cache
def _document(max_body: int, max_items: int, max_depth: int, timeout: float) -> dict[str, Any]:
    facts_body = {
        "required": True,
        "description": (f"An applicant's facts, shaped as a facts file (recipient, area, date, facts, granted): JSON, "
                        f"or the YAML of a facts file. At most {max_body} bytes, {max_items} entries in any list or "
                        f"mapping, {max_depth} levels deep. Each policy's exact schema: "
                        "GET /policies/{policy_id}/facts-schema."),
        "content": {"application/json": {"schema": {"$ref": f"{_REF}Facts"}},
                    "application/yaml": {"schema": {"type": "string"}}},
    }
    refused = {
        "400": _problems("A malformed parameter, or a body that is not UTF-8."),
        "404": _problems("No policy with this id."),
        "413": _problems(f"The body is larger than {max_body} bytes, or holds a list or mapping of more than "
                         f"{max_items} entries, or is nested more than {max_depth} deep."),
        "422": _problems("The facts do not fit the policy: each problem with its line, column, JSON path and a "
                         "suggestion, as `policy evaluate` reports them."),
        "503": _problems(f"The policy's file does not compile now (its problems, as `policy validate` gives them), "
                         f"or the evaluation took longer than {timeout:g} s."),
    }
    policy_id = _params("policy_id")
    return {
        "openapi": "3.1.0",
        "info": {"title": "policy-engine", "version": "1",
                 "description": "Subsidy policies as data: the policies this service holds, the facts each needs, "
                                "and the evaluation of one applicant (`policy serve`)."},
        "paths": {
            "/policies": {"get": {
                "operationId": "listPolicies", "summary": "The policies held, and files that do not compile now.",
                "parameters": _params("lang"),
                "responses": {"200": {"description": "The policies.", "content": {"application/json": {
                    "schema": {"$ref": f"{_REF}PolicyList"}}}}, "400": refused["400"]}}},
            "/policies/{policy_id}": {"get": {
                "operationId": "getPolicy", "summary": "One policy: its document, period, areas and recipient kinds.",
                "parameters": policy_id,
                "responses": {"200": {"description": "The policy.", "content": {"application/json": {
                    "schema": {"$ref": f"{_REF}PolicySummary"}}}}, "404": refused["404"], "503": refused["503"]}}},
            "/policies/{policy_id}/facts-schema": {"get": {
                "operationId": "getFactsSchema", "summary": "The JSON Schema of this policy's facts "
                                                            "(as `policy facts POLICY --schema`).",
                "parameters": policy_id,
                "responses": {"200": {"description": "A JSON Schema (draft 2020-12).",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              "404": refused["404"], "503": refused["503"]}}},
            "/policies/{policy_id}/evaluate": {"post": {
                "operationId": "evaluate", "summary": "Evaluate one applicant (as `policy evaluate`).",
                "parameters": _params("policy_id", "trace", "format", "lang", "on"),
                "requestBody": facts_body,
                "responses": {"200": {"description": "The result.", "content": {
                    "application/json": {"schema": {"$ref": f"{_REF}Result"}},
                    "text/plain": {"schema": {"type": "string"}}}}, **refused}}},
            "/policies/{policy_id}/facts-file": {"post": {
                "operationId": "factsFile", "summary": "The facts as a YAML facts file for `policy evaluate`.",
                "parameters": _params("policy_id", "lang"),
                "requestBody": facts_body,
                "responses": {"200": {"description": "A facts file.", "content": {
                    "application/yaml": {"schema": {"type": "string"}}}}, **refused}}},
            "/policies/{policy_id}/form": {"get": {
                "operationId": "form", "summary": "A case worker's form: fill in the facts, see the sheet, save them.",
                "parameters": _params("policy_id", "lang"),
                "responses": {"200": {"description": "An HTML page (no network assets).",
                                      "content": {"text/html": {"schema": {"type": "string"}}}},
                              "404": refused["404"], "503": refused["503"]}}},
            "/": {"get": {
                "operationId": "index", "summary": "A page listing the policies and their forms.",
                "parameters": _params("lang"),
                "responses": {"200": {"description": "An HTML page.",
                                      "content": {"text/html": {"schema": {"type": "string"}}}}}}},
            "/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document.",
                "responses": {"200": {"description": "OpenAPI 3.1.",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        },
        "components": {"schemas": {
            **_result_schemas(),
            "Problem": PROBLEM,
            "Problems": {"type": "object", "required": ["problems"],
                         "properties": {"problems": {"type": "array", "items": {"$ref": f"{_REF}Problem"}}}},
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


def openapi_document(limits: Limits) -> dict[str, Any]:
    return _document(limits.max_body, limits.max_items, limits.max_depth, limits.timeout)
