"""`policy serve`'s HTTP server: uvicorn, with the bounds it does not have itself.

uvicorn's `timeout_keep_alive` is reset by every byte received, so a client that sends its headers one byte a
second holds a connection for ever, and past `limit_concurrency` it answers 503 in plain text. The protocol
here (uvicorn's h11 protocol, subclassed) adds a deadline for a request's headers, re-armed when a response
is complete, and refuses connections past the limit with a problem document; the body's deadline is the
application's (Limits.read_timeout), which answers 408 in the problems format.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from engine import Problem, msg
from engine.service.app import PROBLEM_TYPE, problem_document, problem_response
from engine.service.limits import Limits

MAX_CONNECTIONS = 200


def _raw(status: int, problem: Problem) -> bytes:
    """A whole HTTP/1.1 response with a problem document, for a connection with no request to answer."""
    body = json.dumps(problem_document(status, [problem], "zh"), ensure_ascii=False).encode("utf-8")
    reason = {408: "Request Timeout", 503: "Service Unavailable"}[status]
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: {PROBLEM_TYPE}\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n")
    return head.encode("ascii") + body


class BoundedProtocol(H11Protocol):
    """H11Protocol with a deadline for each request's headers and a connection limit answered in the problems
    format. Configured by subclassing (see `protocol`)."""

    header_timeout: float = 10.0
    max_connections: int = MAX_CONNECTIONS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit_concurrency = None  # uvicorn's plain-text 503: the limit is enforced below instead
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            problem = Problem(file="request", message=msg("serve.busy", limit=self.max_connections),
                              suggestion=msg("serve.retry.hint"))
            self.app = _busy(problem)  # the request is read (as uvicorn would), then refused, and the connection closed
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.our_state is h11.SEND_RESPONSE:  # the headers are in: the application has the request
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.our_state is not h11.SEND_RESPONSE:
            self._arm()  # the next request's headers (or the rest of an unread body) have their deadline too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.header_timeout, self._late)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _late(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.conn.our_state is h11.IDLE and self.conn.their_state in (h11.IDLE, h11.SEND_BODY):
            # No response begun: say why the connection is closed, as every refusal does.
            problem = Problem(file="request", message=msg("serve.header_timeout", seconds=self.header_timeout))
            self.transport.write(_raw(408, problem))
        self.transport.close()


def _busy(problem: Problem) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        response = problem_response(503, [problem], "zh", {"Retry-After": "1", "Connection": "close"})
        await response(scope, receive, send)

    return app


def protocol(header_timeout: float = 10.0, max_connections: int = MAX_CONNECTIONS) -> type[BoundedProtocol]:
    return type("Bounded", (BoundedProtocol,), {"header_timeout": header_timeout,
                                                "max_connections": max_connections})


def config(app: Any, host: str, port: int, limits: Limits | None = None, header_timeout: float = 10.0,
           max_connections: int = MAX_CONNECTIONS, **extra: Any) -> uvicorn.Config:
    """uvicorn's configuration for the service: bounded headers, bodies (the application's read deadline),
    idle connections (keep-alive), and connections."""
    return uvicorn.Config(app, host=host, port=port, http=protocol(header_timeout, max_connections),
                          log_level="warning", timeout_keep_alive=5, limit_concurrency=None,
                          h11_max_incomplete_event_size=min((limits or Limits()).max_body, 64 * 1024), **extra)
