"""The ASGI layer in front of every route: request ids, body size and read-time limits, access logs.

Written as plain ASGI (not ``BaseHTTPMiddleware``) so it adds microseconds, not a task per request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access = logging.getLogger("seek.serving.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class _TooLarge(Exception):
    pass


class _TooSlow(Exception):
    pass


class RequestLayer:
    """Request id (``X-Request-ID`` echoed or made), body limits (413, 408), one access-log line."""

    def __init__(
        self,
        app: ASGIApp,
        max_body: int,
        max_upload: int,
        upload_paths: tuple[str, ...] = ("/v1/jobs",),
        read_timeout_s: float = 30.0,
        observe: Callable[[Scope, int, float], None] | None = None,
        in_flight: Any = None,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.upload_paths = upload_paths
        self.read_timeout_s = read_timeout_s
        self.observe = observe
        self.in_flight = in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _SAFE_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        limit = self.max_upload if scope["path"] in self.upload_paths else self.max_body
        status = {"code": 500, "sent": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        if self.in_flight is not None:
            self.in_flight.inc()
        try:
            declared = int(headers.get(b"content-length", b"0") or 0)
        except ValueError:
            declared = 0
        try:
            if declared > limit:
                raise _TooLarge
            seen = 0

            async def limited() -> Message:
                nonlocal seen
                try:
                    message = await asyncio.wait_for(receive(), self.read_timeout_s)
                except TimeoutError:
                    raise _TooSlow from None
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > limit:
                        raise _TooLarge
                return message

            await self.app(scope, limited, send_with_id)
        except _TooLarge:
            if not status["sent"]:
                await _error(send_with_id, 413, f"request body larger than {limit} bytes", request_id)
        except _TooSlow:
            if not status["sent"]:
                await _error(send_with_id, 408, "request body not received in time", request_id)
        finally:
            elapsed = time.perf_counter() - started
            if self.in_flight is not None:
                self.in_flight.dec()
            if self.observe is not None:
                self.observe(scope, status["code"], elapsed)
            if access.isEnabledFor(logging.INFO):
                access.info(
                    "%s %s %d",
                    scope["method"],
                    scope["path"],
                    status["code"],
                    extra={
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status["code"],
                        "duration_ms": round(elapsed * 1000, 3),
                    },
                )


async def _error(send: Send, status: int, message: str, request_id: str) -> None:
    payload = json.dumps({"error": message, "request_id": request_id}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})
