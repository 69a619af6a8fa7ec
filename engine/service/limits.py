"""What one request may ask of the service: read by the application (engine.service.app), the server
(engine.service.server) and the OpenAPI document (engine.service.openapi), which states them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one request may ask of the service."""

    max_body: int = 64 * 1024  # bytes: a facts document is a few KiB
    max_items: int = 1000  # entries in any one list or mapping of the request, JSON or YAML
    max_depth: int = 32  # nesting of the request's data, JSON or YAML
    timeout: float = 5.0  # seconds for one evaluation, or for waiting for a policy being recompiled
    read_timeout: float = 10.0  # seconds to receive a request's body (its headers: engine.service.server)
