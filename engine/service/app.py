"""The HTTP service as a Starlette application: the policies held, their facts schemas, evaluation, the form.

Every refusal, whatever its status (400 to 503, and 500 for a bug of ours), is a problem document
(`application/problem+json`, RFC 9457): `type`, `title`, `status`, `detail`, and `problems`, each problem as
`policy validate --format json` gives it. No response names a server path: a policy file is named relative
to the served folder. A query parameter a route does not read is refused by name (400, with a did-you-mean), a
body that says it is neither JSON nor YAML is a 415, and a body that says it is JSON is read as JSON alone (a
mistake in it is named as JSON's, at its line and column). With a log stream (`policy serve` gives stderr), each
request is one JSON line there: time, method, route, path, status, duration, and the policy and its revision.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping, TextIO
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from engine import (
    Applicant,
    Loaded,
    LoadError,
    Policy,
    PolicyError,
    Problem,
    applicant_from,
    applicant_from_text,
    check_facts,
    did_you_mean,
    facts_schema,
    load_text,
    msg,
    one_of,
    schema_text,
)
from engine.service.limits import Limits as Limits  # re-exported: create_app takes them
from engine.service.openapi import SCHEMAS
from engine.service.registry import PolicySet

LANGS = ("zh", "en")
PROBLEM_TYPE = "application/problem+json"


class ServiceError(Exception):
    """A request the service refuses: its HTTP status and the problems, worded as the CLI words them."""

    def __init__(self, status: int, problems: list[Problem] | tuple[Problem, ...], lang: str | None = None,
                 headers: Mapping[str, str] | None = None):
        super().__init__(status)
        self.status, self.problems, self.lang = status, list(problems), lang
        self.headers = dict(headers or {})


def problems_json(problems: list[Problem] | tuple[Problem, ...], lang: str) -> dict[str, object]:
    """The problems as `policy validate --format json` gives them, each also as the CLI's line of text."""
    return {"problems": [{**p.to_json(lang), "text": p.format(lang)} for p in problems]}


def problem_document(status: int, problems: list[Problem] | tuple[Problem, ...], lang: str) -> dict[str, Any]:
    """An RFC 9457 problem document whose `problems` member lists every problem."""
    listed = problems_json(problems, lang)["problems"]
    assert isinstance(listed, list)
    detail = "; ".join(str(p["message"]) for p in listed) or HTTPStatus(status).phrase
    return {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail,
            "problems": listed}


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_TYPE


def problem_response(status: int, problems: list[Problem] | tuple[Problem, ...], lang: str,
                     headers: Mapping[str, str] | None = None, hide: tuple[str, ...] = ()) -> Response:
    """The problem document as a response; any of the `hide` folder prefixes is taken out of every string."""
    return ProblemResponse(_hidden(problem_document(status, problems, lang), hide), status_code=status,
                           headers=dict(headers or {}))


def _hidden(value: Any, prefixes: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        for prefix in prefixes:
            value = value.replace(prefix, "")
        return value
    if isinstance(value, dict):
        return {k: _hidden(v, prefixes) for k, v in value.items()}
    if isinstance(value, list):
        return [_hidden(v, prefixes) for v in value]
    return value


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


def _too_deep(error: PolicyError) -> bool:
    return any(getattr(p.message, "key", "") == "load.too_deep" for p in error.problems)


CLOSE = {"Connection": "close"}  # a refusal before the whole body was read: the connection is not reused

# Bodies taken, by media type (a `+json` or `+yaml` suffix too); a body with no Content-Type is read as JSON,
# else as the YAML of a facts file (as `curl --data-binary` without -H would not say, nor a hand-made client).
JSON_TYPES = ("application/json",)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
TAKES = "application/json, application/yaml"



def _media(request: Request, lang: str) -> str | None:
    """What the body says it is: "json", "yaml", or None (no Content-Type); anything else is refused (415)
    before the body is read, as is a charset other than UTF-8."""
    header = request.headers.get("content-type", "").strip()
    if not header:
        return None
    kind, *params = (part.strip() for part in header.split(";"))
    kind = kind.lower()
    refused = {"Accept-Post": TAKES, **CLOSE}
    if kind in JSON_TYPES or kind.endswith("+json"):
        media = "json"
    elif kind in YAML_TYPES or kind.endswith("+yaml"):
        media = "yaml"
    else:
        raise ServiceError(415, [Problem(file="request", message=msg("serve.media_type", type=kind or header),
                                         suggestion=msg("serve.media_type.hint"))], lang, refused)
    for param in params:
        name, _, value = param.partition("=")
        value = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and value not in ("utf-8", "utf8"):
            raise ServiceError(415, [Problem(file="request", message=msg("serve.charset", charset=value),
                                             suggestion=msg("serve.charset.hint"))], lang, refused)
    return media


def _json_problem(error: json.JSONDecodeError) -> Problem:
    """A body that is not JSON, named as JSON's mistake, where it is."""
    return Problem(file="request", message=msg("serve.bad_json", reason=error.msg), line=error.lineno,
                   column=error.colno, suggestion=msg("serve.bad_json.hint"))


def _looks_like_json(text: str) -> bool:
    return text.lstrip("\ufeff \t\r\n")[:1] in ("{", "[", '"')


class Service:
    """The endpoints, over one folder of policy files."""

    def __init__(self, folder: str | Path, limits: Limits = Limits(), base_url: str | None = None,
                 ledger: str | None = None):
        self.folder = Path(folder)
        self.policies = PolicySet(self.folder).load()
        self.limits = limits
        self.base_url = base_url.rstrip("/") if base_url else None
        # How the folder appears in a problem's file and text: taken out of every response.
        self.hide = tuple(dict.fromkeys(f"{str(p).rstrip('/')}/" for p in (self.folder.resolve(), self.folder)
                                        if str(p) not in ("", ".")))
        self._openapi: tuple[tuple[tuple[str, int], ...], dict[str, Any]] | None = None
        self.ledger: Any = None  # engine.service.ledger.ServiceLedger with --ledger
        if ledger is not None:
            from engine.service.ledger import ServiceLedger

            self.ledger = ServiceLedger(ledger)

    # -- helpers -------------------------------------------------------------------------------
    def relative(self, file: str) -> str:
        try:
            return Path(file).resolve().relative_to(self.folder.resolve()).as_posix()
        except ValueError:
            return Path(file).name

    async def held(self, request: Request, policy_id: str | None) -> PolicySet:
        """The policies as last saved: waits (within the deadline) for the recompile of a changed file the
        request needs; others' recompiles go on in their threads and do not delay it."""
        deadline = asyncio.get_running_loop().time() + self.limits.timeout
        waits = await run_in_threadpool(self.policies.waits_for, policy_id)
        while waits:  # a compile that ends stale (the file saved again meanwhile) starts the next one: wait for it
            left = deadline - asyncio.get_running_loop().time()
            _done, late = await asyncio.wait([asyncio.wrap_future(f) for f in waits], timeout=max(left, 0))
            if late:
                problem = Problem(file="request", message=msg("serve.compiling", seconds=self.limits.timeout),
                                  suggestion=msg("serve.retry.hint"))
                raise ServiceError(503, [problem], _request_lang(request), {"Retry-After": "2"})
            waits = self.policies.waits_for(policy_id, look=False)
        return self.policies

    async def policy(self, request: Request) -> Policy:
        policy_id = request.path_params["policy_id"]
        found = await self.held(request, policy_id)
        policy = found.get(policy_id)
        if policy is not None:  # for the request's log line
            request.state.policy, request.state.revision = policy.id, policy.revision
        if policy is None:
            broken = [e for e in found.broken() if Path(e.file).stem == policy_id]
            if broken:  # its file is being edited and does not compile now: say where, as validate would
                raise ServiceError(503, broken[0].problems, _lang(request), {"Retry-After": "2"})
            known = sorted(found.by_id)
            raise ServiceError(404, [Problem(file="request", message=msg("serve.unknown_policy", id=policy_id),
                                             suggestion=did_you_mean(policy_id, known)
                                             or msg("serve.one_of", options=one_of(known)))], _lang(request))
        return policy

    async def body_text(self, request: Request, lang: str) -> str:
        """The request body as text, never more than the limit read, and within the read deadline; one that
        says it is JSON is JSON (else its mistake is named, where it is)."""
        media = _media(request, lang)
        declared = request.headers.get("content-length", "")
        too_large = ServiceError(413, [Problem(file="request",
                                               message=msg("serve.too_large", kib=self.limits.max_body // 1024))],
                                 lang, CLOSE)
        if declared.isdigit() and int(declared) > self.limits.max_body:
            raise too_large

        async def read() -> bytes:
            chunks, size = [], 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > self.limits.max_body:
                    raise too_large
                chunks.append(chunk)
            return b"".join(chunks)

        try:
            raw = await asyncio.wait_for(read(), self.limits.read_timeout)
        except asyncio.TimeoutError:
            late = Problem(file="request", message=msg("serve.read_timeout", seconds=self.limits.read_timeout))
            raise ServiceError(408, [late], lang, CLOSE) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ServiceError(400, [Problem(file="request", message=msg("serve.not_utf8"))], lang) from None
        if media == "json":
            try:
                json.loads(text.removeprefix("\ufeff"))
            except json.JSONDecodeError as error:
                raise ServiceError(422, [_json_problem(error)], lang) from None
            except RecursionError:
                pass  # nested past any limit: refused as too deep where the facts are read (413)
        return text

    def read_facts(self, policy: Policy, text: str, lang: str) -> tuple[object, Applicant]:
        """The facts of the request and the applicant they make: JSON, or YAML as a facts file, within the same
        limits of entries and depth, checked as `policy evaluate` checks them."""
        loaded: Loaded | None = None
        not_json: json.JSONDecodeError | None = None
        try:
            data: object = json.loads(text)
            is_json = True
        except json.JSONDecodeError as error:
            is_json, not_json = False, error  # not JSON: read as a facts file, whose loader places every mistake
        except (ValueError, RecursionError):
            is_json = False
        if not is_json:
            try:
                loaded = load_text(text, "request")
            except LoadError as error:
                if _too_deep(error):
                    raise ServiceError(413, error.problems, lang) from None
                if not_json is not None and _looks_like_json(text):  # meant as JSON: JSON's mistake, not YAML's
                    raise ServiceError(422, [_json_problem(not_json)], lang) from None
                raise ServiceError(422, error.problems, lang) from None
            data = loaded.data
        problem = _bounded(data, self.limits)
        if problem is not None:
            raise ServiceError(413, [problem], lang)
        try:
            if is_json and isinstance(data, dict):
                try:
                    return data, check_facts(policy, data, name="request")
                except PolicyError:
                    pass  # worded again from the text, so each problem also has its line and column
            if loaded is None:
                loaded = load_text(text, "request")
            return data, applicant_from(policy, loaded)
        except PolicyError as error:
            raise ServiceError(413 if _too_deep(error) else 422, error.problems, lang) from None

    def applicant(self, policy: Policy, text: str, lang: str) -> Applicant:
        return self.read_facts(policy, text, lang)[1]

    async def timed(self, work: Any, lang: str) -> Any:
        try:
            return await asyncio.wait_for(run_in_threadpool(work), self.limits.timeout)
        except asyncio.TimeoutError:
            late = Problem(file="request", message=msg("serve.timeout", seconds=self.limits.timeout))
            raise ServiceError(503, [late], lang, {"Retry-After": "2"}) from None

    def schema_link(self, policy: Policy) -> str:
        """The facts schema's address: under the configured base URL, else relative to this service's root;
        never from a request header."""
        return f"{self.base_url or ''}/policies/{quote(policy.id, safe='')}/facts-schema"

    # -- endpoints -----------------------------------------------------------------------------
    def summary(self, policy: Policy) -> dict[str, object]:
        base = f"/policies/{policy.id}"
        return {"id": policy.id, "document": policy.document, "title": policy.title, "language": policy.language,
                "in_force": {"from": policy.start.isoformat(), "until": policy.end.isoformat() if policy.end else None},
                "jurisdiction": list(policy.areas),
                "recipients": {k: r.label for k, r in policy.recipients.items()},
                "links": {"self": base, "facts_schema": f"{base}/facts-schema", "evaluate": f"{base}/evaluate",
                          "form": f"{base}/form"}}

    async def list_policies(self, request: Request) -> Response:
        lang = _lang(request)
        found = await self.held(request, None)
        body = {
            "policies": [self.summary(e.policy) for e in found.by_id.values() if e.policy is not None],
            "invalid": [{"file": self.relative(e.file), **problems_json(e.problems, lang)} for e in found.broken()],
        }
        return JSONResponse(_hidden(body, self.hide))

    async def show_policy(self, request: Request) -> Response:
        return JSONResponse(self.summary(await self.policy(request)))

    async def facts_schema(self, request: Request) -> Response:
        return JSONResponse(facts_schema(await self.policy(request)))

    async def evaluate(self, request: Request) -> Response:
        from engine import evaluate, render_json, render_text

        policy = await self.policy(request)
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
        """The request's facts (the bodies `evaluate` accepts) as a YAML facts file for `policy evaluate`,
        checked first and read back by the CLI's own loader before it is given out."""
        from engine import evaluate
        from engine.service.form import facts_yaml, with_credit_code
        from engine.service.ledger import credit_code as saved_code

        policy = await self.policy(request)
        lang = _lang(request, policy)
        text = await self.body_text(request, lang)

        def work() -> str:
            data, _applicant = self.read_facts(policy, text, lang)
            if not isinstance(data, dict):  # the check above refuses anything else; a bug if it did not
                raise TypeError(f"facts of type {type(data).__name__} passed the check")
            saved = facts_yaml(policy, data, self.schema_link(policy))
            try:
                # Read back as `policy evaluate` reads it, and refused for what it refuses (a fund year after the
                # claim date is found only when evaluating): a file given out always evaluates.
                evaluate(policy, applicant_from_text(policy, saved, name=f"{policy.id}.facts.yaml"), trace=False)
                code = saved_code(request.query_params.get("credit_code"))
            except PolicyError as error:
                raise ServiceError(422, error.problems, lang) from None
            return with_credit_code(saved, code)

        saved = await self.timed(work, lang)
        return Response(saved, media_type="application/yaml",
                        headers={"Content-Disposition": f'attachment; filename="{policy.id}.facts.yaml"'})

    async def form(self, request: Request) -> Response:
        from engine.service.form import render_form

        policy = await self.policy(request)
        return HTMLResponse(render_form(policy, _lang(request, policy), ledger=self.ledger is not None))

    async def grants(self, request: Request) -> Response:
        """An applicant's earlier grants under the policy, from the ledger (only with --ledger)."""
        from engine.service.ledger import credit_code

        policy = await self.policy(request)
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

        lang = _lang(request)
        found = await self.held(request, None)
        return HTMLResponse(render_index([e.policy for e in found.by_id.values() if e.policy is not None], lang))

    async def schemas(self, request: Request) -> Response:
        """The schemas given out, each with its address (under the configured base URL, else this root)."""
        base = self.base_url or ""
        return JSONResponse({"schemas": [{"name": name, "url": f"{base}/schemas/{name}"} for name in SCHEMAS]})

    async def schema(self, request: Request) -> Response:
        """One schema, byte for byte as `policy schemas` copies it: an editor's `$schema` line can point here."""
        name = request.path_params["name"]
        if name not in SCHEMAS:
            raise ServiceError(404, [Problem(file="request", message=msg("serve.unknown_schema", name=name),
                                             suggestion=did_you_mean(name, SCHEMAS)
                                             or msg("serve.one_of", options=one_of(SCHEMAS)))], _lang(request))
        return Response(schema_text(name), media_type="application/schema+json",
                        headers={"Cache-Control": "public, max-age=300"})

    async def openapi(self, request: Request) -> Response:
        from engine.service.openapi import openapi_document

        found = await self.held(request, None)
        policies = [e.policy for e in found.by_id.values() if e.policy is not None]
        key = tuple((p.id, id(p)) for p in policies)
        if self._openapi is None or self._openapi[0] != key:
            self._openapi = (key, openapi_document(self.limits, policies, ledger=self.ledger is not None))
        return JSONResponse(self._openapi[1])


def _request_lang(request: Request) -> str:
    lang = request.query_params.get("lang", "zh")
    return lang if lang in LANGS else "zh"


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such address, a method a route does not take), worded as every other."""
    assert isinstance(exc, HTTPException)
    lang, path = _request_lang(request), request.url.path
    if exc.status_code == 405:
        problem = Problem(file="request", message=msg("serve.method", path=path, method=request.method),
                          suggestion=msg("serve.allowed", methods=(exc.headers or {}).get("Allow", "")))
    elif exc.status_code == 404:
        problem = Problem(file="request", message=msg("serve.not_found", path=path),
                          suggestion=msg("serve.not_found.hint"))
    else:
        problem = Problem(file="request", message=HTTPStatus(exc.status_code).phrase)
    return problem_response(exc.status_code, [problem], lang, headers=exc.headers)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    service: Service = request.app.state.service
    return problem_response(exc.status, exc.problems, exc.lang or "zh", exc.headers, service.hide)


async def _internal(request: Request, exc: Exception) -> Response:
    """A bug of ours: a problem document that says so, never a traceback (the server's log has it)."""
    problem = Problem(file="request", message=msg("serve.internal"), suggestion=msg("serve.internal.hint"))
    return problem_response(500, [problem], _request_lang(request))


# The query parameters each route reads (the OpenAPI document lists the same: tests hold them to it); any other
# is refused by name. `lang` words the refusals of every route.
QUERY: dict[str, tuple[str, ...]] = {
    "index": ("lang",), "openapi": ("lang",), "schemas": ("lang",), "schema": ("lang",),
    "list_policies": ("lang",), "show_policy": ("lang",), "facts_schema": ("lang",),
    "evaluate": ("trace", "format", "lang", "on"), "facts_file": ("lang", "credit_code"), "form": ("lang",),
    "grants": ("credit_code", "lang"),
}


def _checked(path: str, endpoint: Callable[[Request], Awaitable[Response]], names: tuple[str, ...]
             ) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint, after refusing every query parameter it does not read (each named, with a did-you-mean);
    the route is noted for the request's log line."""
    async def checked(request: Request) -> Response:
        request.state.route = path
        problems = []
        for name in dict.fromkeys(request.query_params.keys()):
            values = request.query_params.getlist(name)
            if name not in names:
                problems.append(Problem(file="request", message=msg("serve.unknown_param", name=name),
                                        suggestion=did_you_mean(name, names) or (
                                            msg("serve.params", names=one_of(names)) if names
                                            else msg("serve.no_params"))))
            elif len(values) > 1:  # which one was meant is not for the service to guess
                problems.append(Problem(file="request", message=msg("serve.repeated_param", name=name,
                                                                    count=len(values)),
                                        suggestion=msg("serve.repeated_param.hint")))
        if problems:
            raise ServiceError(400, problems, _request_lang(request))
        _lang(request)  # every route words its refusals in `lang`: a value it does not know is refused here
        return await endpoint(request)

    return checked


class RequestLog:
    """One JSON line per request on `stream`: when it started (UTC), method, route (as declared, e.g.
    /policies/{policy_id}/evaluate), path, status, duration in milliseconds, and the policy asked about with its
    revision (the content hash a ledger records). Never the query or the body: they carry applicants' data."""

    def __init__(self, app: Any, stream: TextIO):
        self.app, self.stream = app, stream

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, clock = dt.datetime.now(dt.timezone.utc), time.perf_counter()
        status = 500  # unless a response starts: a bug of ours, answered by Starlette's outermost handler

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            state = scope.get("state") or {}
            line = {"time": started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    "method": scope.get("method"), "route": state.get("route"), "path": scope.get("path"),
                    "status": status, "duration_ms": round((time.perf_counter() - clock) * 1000, 2),
                    "policy": state.get("policy"), "revision": state.get("revision")}
            try:
                self.stream.write(json.dumps(line, ensure_ascii=False) + "\n")
                self.stream.flush()
            except (OSError, ValueError):  # a closed or full stream: the answer matters more than its log line
                pass


def create_app(folder: str | Path, limits: Limits = Limits(), base_url: str | None = None,
               ledger: str | None = None, log: TextIO | None = None) -> Starlette:
    """The service over the policy files in `folder`, each compiled now; with `ledger`, evaluations read earlier
    grants from it and are logged in it, and /policies/{id}/grants answers; with `log`, a JSON line per request
    is written to it (RequestLog)."""
    service = Service(folder, limits, base_url, ledger)
    query = dict(QUERY)
    if service.ledger is not None:
        query["evaluate"] = (*query["evaluate"], "credit_code")
    table = [
        ("/", service.index, "GET", "index"),
        ("/openapi.json", service.openapi, "GET", "openapi"),
        ("/schemas", service.schemas, "GET", "schemas"),
        ("/schemas/{name}", service.schema, "GET", "schema"),
        ("/policies", service.list_policies, "GET", "list_policies"),
        ("/policies/{policy_id}", service.show_policy, "GET", "show_policy"),
        ("/policies/{policy_id}/facts-schema", service.facts_schema, "GET", "facts_schema"),
        ("/policies/{policy_id}/evaluate", service.evaluate, "POST", "evaluate"),
        ("/policies/{policy_id}/facts-file", service.facts_file, "POST", "facts_file"),
        ("/policies/{policy_id}/form", service.form, "GET", "form"),
    ]
    if service.ledger is not None:
        table.append(("/policies/{policy_id}/grants", service.grants, "GET", "grants"))
    routes = [Route(path, _checked(path, endpoint, query[name]), methods=[method], name=name)
              for path, endpoint, method, name in table]
    middleware = [Middleware(RequestLog, stream=log)] if log is not None else []
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={ServiceError: _refused, HTTPException: _http_error, Exception: _internal})
    app.state.service = service
    return app
