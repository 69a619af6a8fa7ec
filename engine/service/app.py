"""The HTTP service as a Starlette application: the policies held, their facts schemas, evaluation, the form."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from engine.core.errors import PolicyError, Problem
from engine.core.messages import msg
from engine.core.suggest import did_you_mean, one_of
from engine.model.facts import Applicant, applicant_from_text, check_facts, facts_schema
from engine.model.policy import Policy
from engine.service.registry import PolicySet

LANGS = ("zh", "en")


@dataclass(frozen=True)
class Limits:
    """What one request may ask of the service."""

    max_body: int = 64 * 1024  # bytes: a facts document is a few KiB
    max_items: int = 1000  # entries in any one list or mapping of the request
    max_depth: int = 32  # nesting of the request's JSON
    timeout: float = 5.0  # seconds for one evaluation


class ServiceError(Exception):
    """A request the service refuses: its HTTP status and the problems, worded as the CLI words them."""

    def __init__(self, status: int, problems: list[Problem] | tuple[Problem, ...], lang: str | None = None):
        super().__init__(status)
        self.status, self.problems, self.lang = status, list(problems), lang


def problems_json(problems: list[Problem] | tuple[Problem, ...], lang: str) -> dict[str, object]:
    """The problems as `policy validate --format json` gives them, each also as the CLI's line of text."""
    return {"problems": [{**p.to_json(lang), "text": p.format(lang)} for p in problems]}


def _lang(request: Request, policy: Policy | None = None) -> str:
    chosen = request.query_params.get("lang")
    if chosen is not None and chosen not in LANGS:
        raise ServiceError(400, [Problem(file="request", message=msg("serve.bad_param", name="lang", value=chosen),
                                         suggestion=msg("serve.one_of", options=one_of(LANGS)))])
    return chosen or (policy.language if policy else "zh")


def _flag(request: Request, name: str, default: bool) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return default
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise ServiceError(400, [Problem(file="request", message=msg("serve.bad_param", name=name, value=value),
                                     suggestion=msg("serve.one_of", options=one_of(["true", "false"])))])


def _bounded(data: object, limits: Limits) -> Problem | None:
    """The first place the request's data is nested too deep or holds too many entries, walked without recursion."""
    stack: list[tuple[object, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > limits.max_depth:
            return Problem(file="request", message=msg("serve.too_deep", limit=limits.max_depth), path=path)
        if isinstance(value, (list, dict)) and len(value) > limits.max_items:
            return Problem(file="request",
                           message=msg("serve.too_many_items", count=len(value), limit=limits.max_items), path=path,
                           suggestion=msg("serve.too_many_items.hint"))
        if isinstance(value, dict):
            stack.extend((v, (*path, str(k))) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(value))
    return None


class Service:
    """The endpoints, over one folder of policy files."""

    def __init__(self, folder: str | Path, limits: Limits = Limits(), ledger: str | None = None):
        self.policies = PolicySet(Path(folder)).load()
        self.limits = limits
        self.ledger: Any = None  # engine.service.ledger.ServiceLedger with --ledger
        if ledger is not None:
            from engine.service.ledger import ServiceLedger

            self.ledger = ServiceLedger(ledger)

    # -- helpers -------------------------------------------------------------------------------
    def policy(self, request: Request) -> Policy:
        policy_id = request.path_params["policy_id"]
        found = self.policies.current()
        policy = found.get(policy_id)
        if policy is None:
            broken = [e for e in found.broken() if Path(e.file).stem == policy_id]
            if broken:  # its file is being edited and does not compile now: say where, as validate would
                raise ServiceError(503, broken[0].problems, _lang(request))
            known = sorted(found.by_id)
            raise ServiceError(404, [Problem(file="request", message=msg("serve.unknown_policy", id=policy_id),
                                             suggestion=did_you_mean(policy_id, known)
                                             or msg("serve.one_of", options=one_of(known)))], _lang(request))
        return policy

    async def body_text(self, request: Request, lang: str) -> str:
        """The request body as text, never more than the limit read."""
        declared = request.headers.get("content-length", "")
        too_large = ServiceError(413, [Problem(file="request",
                                               message=msg("serve.too_large", kib=self.limits.max_body // 1024))], lang)
        if declared.isdigit() and int(declared) > self.limits.max_body:
            raise too_large
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.limits.max_body:
                raise too_large
            chunks.append(chunk)
        try:
            return b"".join(chunks).decode("utf-8")
        except UnicodeDecodeError:
            raise ServiceError(400, [Problem(file="request", message=msg("serve.not_utf8"))], lang) from None

    def applicant(self, policy: Policy, text: str, lang: str) -> Applicant:
        """The facts of the request: JSON (or YAML, as a facts file) checked as `policy evaluate` checks them."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            data = None  # not JSON: read as a facts file, whose loader places every mistake at its line
        if data is not None:
            problem = _bounded(data, self.limits)
            if problem is not None:
                raise ServiceError(413, [problem], lang)
        try:
            if isinstance(data, dict):
                try:
                    return check_facts(policy, data, name="request")
                except PolicyError:
                    pass  # worded again from the text, so each problem also has its line and column
            return applicant_from_text(policy, text, name="request")
        except PolicyError as error:
            raise ServiceError(422, error.problems, lang) from None

    async def timed(self, work: Any, lang: str) -> Any:
        try:
            return await asyncio.wait_for(run_in_threadpool(work), self.limits.timeout)
        except asyncio.TimeoutError:
            late = Problem(file="request", message=msg("serve.timeout", seconds=self.limits.timeout))
            raise ServiceError(503, [late], lang) from None

    # -- endpoints -----------------------------------------------------------------------------
    def summary(self, request: Request, policy: Policy) -> dict[str, object]:
        base = f"/policies/{policy.id}"
        return {"id": policy.id, "document": policy.document, "title": policy.title, "language": policy.language,
                "in_force": {"from": policy.start.isoformat(), "until": policy.end.isoformat() if policy.end else None},
                "jurisdiction": list(policy.areas),
                "recipients": {k: r.label for k, r in policy.recipients.items()},
                "links": {"self": base, "facts_schema": f"{base}/facts-schema", "evaluate": f"{base}/evaluate",
                          "form": f"{base}/form"}}

    async def list_policies(self, request: Request) -> Response:
        lang = _lang(request)
        found = self.policies.current()
        return JSONResponse({
            "policies": [self.summary(request, e.policy) for e in found.by_id.values() if e.policy is not None],
            "invalid": [{"file": Path(e.file).name, **problems_json(e.problems, lang)} for e in found.broken()],
        })

    async def show_policy(self, request: Request) -> Response:
        return JSONResponse(self.summary(request, self.policy(request)))

    async def facts_schema(self, request: Request) -> Response:
        return JSONResponse(facts_schema(self.policy(request)))

    async def evaluate(self, request: Request) -> Response:
        from engine.present.result_json import render_json
        from engine.present.sheet import render_text
        from engine.runtime.evaluate import evaluate

        policy = self.policy(request)
        lang = _lang(request, policy)
        trace = _flag(request, "trace", True)
        fmt = request.query_params.get("format", "json")
        if fmt not in ("json", "text"):
            raise ServiceError(400, [Problem(file="request", message=msg("serve.bad_param", name="format", value=fmt),
                                             suggestion=msg("serve.one_of", options=one_of(["json", "text"])))], lang)
        on = request.query_params.get("on")
        try:
            day = dt.date.fromisoformat(on) if on is not None else None
        except ValueError:
            raise ServiceError(400, [Problem(file="request", message=msg("serve.bad_param", name="on", value=on),
                                             suggestion=msg("serve.date.hint"))], lang) from None
        text = await self.body_text(request, lang)

        def work() -> str:
            applicant = self.applicant(policy, text, lang)
            try:
                if self.ledger is not None:  # earlier grants from the ledger, by the credit code asked about
                    from engine.service.ledger import credit_code

                    code = credit_code(request.query_params.get("credit_code"))
                    applicant = self.ledger.earlier(policy, applicant, code, day or applicant.date or dt.date.today())
                result = evaluate(policy, applicant, on=day, trace=trace or fmt == "text")
            except PolicyError as error:
                raise ServiceError(422, error.problems, lang) from None
            if self.ledger is not None:
                self.ledger.log(result, code)
            return render_text(result, lang) if fmt == "text" else render_json(result, lang)

        out = await self.timed(work, lang)
        if fmt == "text":
            return PlainTextResponse(out)
        return Response(out, media_type="application/json")

    async def facts_file(self, request: Request) -> Response:
        """The request's facts as a YAML facts file for `policy evaluate` (checked first: it will load)."""
        from engine.service.form import facts_yaml

        policy = self.policy(request)
        lang = _lang(request, policy)
        text = await self.body_text(request, lang)
        await self.timed(lambda: self.applicant(policy, text, lang), lang)
        data = json.loads(text)
        schema_url = str(request.url_for("facts_schema", policy_id=policy.id))
        return Response(facts_yaml(policy, data, schema_url), media_type="application/yaml",
                        headers={"Content-Disposition": f'attachment; filename="{policy.id}.facts.yaml"'})

    async def form(self, request: Request) -> Response:
        from engine.service.form import render_form

        policy = self.policy(request)
        return HTMLResponse(render_form(policy, _lang(request, policy), ledger=self.ledger is not None))

    async def grants(self, request: Request) -> Response:
        """An applicant's earlier grants under the policy, from the ledger (only with --ledger)."""
        from engine.service.ledger import credit_code

        policy = self.policy(request)
        lang = _lang(request, policy)
        try:
            code = credit_code(request.query_params.get("credit_code"))
        except PolicyError as error:
            raise ServiceError(400, error.problems, lang) from None
        if code is None:
            raise ServiceError(400, [Problem(file="request", message=msg("ledger.use.no_code"),
                                             suggestion=msg("ledger.use.no_code.request"))], lang)
        found = await self.timed(lambda: self.ledger.grants(policy, code), lang)
        return JSONResponse({"credit_code": code, "policy": policy.id, "grants": found})

    async def index(self, request: Request) -> Response:
        from engine.service.form import render_index

        found = self.policies.current()
        return HTMLResponse(render_index([e.policy for e in found.by_id.values() if e.policy is not None],
                                         _lang(request)))

    async def openapi(self, request: Request) -> Response:
        from engine.service.openapi import openapi_document

        return JSONResponse(openapi_document(self.limits))


async def _no_route(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 and 405, worded as every other refusal."""
    lang = request.query_params.get("lang", "zh")
    lang = lang if lang in LANGS else "zh"
    path = request.url.path
    if getattr(exc, "status_code", 404) == 405:
        problem = Problem(file="request", message=msg("serve.method", path=path, method=request.method))
        return JSONResponse(problems_json([problem], lang), status_code=405)
    problem = Problem(file="request", message=msg("serve.not_found", path=path), suggestion=msg("serve.not_found.hint"))
    return JSONResponse(problems_json([problem], lang), status_code=404)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    return JSONResponse(problems_json(exc.problems, exc.lang or "zh"), status_code=exc.status)


def create_app(folder: str | Path, limits: Limits = Limits(), ledger: str | None = None) -> Starlette:
    """The service over the policy files in `folder`, each compiled now; with `ledger`, evaluations read earlier
    grants from it and are logged in it, and /policies/{id}/grants answers."""
    service = Service(folder, limits, ledger)
    routes = [
        Route("/", service.index, methods=["GET"], name="index"),
        Route("/openapi.json", service.openapi, methods=["GET"], name="openapi"),
        Route("/policies", service.list_policies, methods=["GET"], name="list_policies"),
        Route("/policies/{policy_id}", service.show_policy, methods=["GET"], name="show_policy"),
        Route("/policies/{policy_id}/facts-schema", service.facts_schema, methods=["GET"], name="facts_schema"),
        Route("/policies/{policy_id}/evaluate", service.evaluate, methods=["POST"], name="evaluate"),
        Route("/policies/{policy_id}/facts-file", service.facts_file, methods=["POST"], name="facts_file"),
        Route("/policies/{policy_id}/form", service.form, methods=["GET"], name="form"),
    ]
    if service.ledger is not None:
        routes.append(Route("/policies/{policy_id}/grants", service.grants, methods=["GET"], name="grants"))
    app = Starlette(routes=routes, exception_handlers={ServiceError: _refused, 404: _no_route, 405: _no_route})
    app.state.service = service
    return app
