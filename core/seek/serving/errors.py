"""OIP-style JSON errors (``{"error": "..."}``) with the right status, never a traceback or a server path."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from seek.errors import DataError, SeekError

if TYPE_CHECKING:
    from fastapi import FastAPI

logger = logging.getLogger("seek.serving")

# An absolute path with at least two segments (``/srv/runs/x``); replaced so responses never show one.
_PATH = re.compile(r"(?<![\w:/])/(?:[\w.@+-]+/)+[\w.@+-]*")


class ApiError(Exception):
    """An HTTP error with a readable message (and headers such as Retry-After)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def scrub(message: str) -> str:
    """Hide server paths and keep the message to one bounded line."""
    line = _PATH.sub("<path>", str(message)).replace("\n", " ").strip()
    return line[:500]


def body(message: str, request_id: str | None, **extra: Any) -> dict[str, Any]:
    """The error body every route returns."""
    out: dict[str, Any] = {"error": scrub(message), "request_id": request_id}
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


def field_errors(errors: list[Any]) -> list[dict[str, Any]]:
    """Pydantic errors as ``[{"field": "records.0.amount", "message": "..."}]`` (no input values echoed)."""
    out = []
    for err in errors[:50]:
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        out.append({"field": ".".join(loc) or "(body)", "message": scrub(err.get("msg", "invalid"))})
    return out


def install(app: FastAPI) -> None:
    """Register the exception handlers on a FastAPI app."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    def rid(request: Any) -> str | None:
        return getattr(request.state, "request_id", None)

    @app.exception_handler(ApiError)
    async def api_error(request: Any, exc: ApiError) -> JSONResponse:
        fields = getattr(exc, "fields", None)
        return JSONResponse(body(exc.message, rid(request), fields=fields), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Any, exc: RequestValidationError) -> JSONResponse:
        fields = field_errors(list(exc.errors()))
        first = fields[0] if fields else {"field": "(body)", "message": "invalid"}
        message = f"invalid request: {first['field']}: {first['message']}"
        return JSONResponse(body(message, rid(request), fields=fields), status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Any, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Allow lists the methods of every route on this path, not just the first
            headers["Allow"] = ", ".join(sorted(_methods(request)))
        return JSONResponse(body(str(exc.detail), rid(request)), status_code=exc.status_code, headers=headers)

    @app.exception_handler(DataError)
    async def data_error(request: Any, exc: DataError) -> JSONResponse:
        return JSONResponse(body(str(exc), rid(request)), status_code=422)

    @app.exception_handler(SeekError)
    async def seek_error(request: Any, exc: SeekError) -> JSONResponse:
        return JSONResponse(body(str(exc), rid(request)), status_code=503)

    @app.exception_handler(Exception)
    async def bug(request: Any, exc: Exception) -> JSONResponse:
        logger.error("unhandled error on %s", request.url.path, exc_info=exc, extra={"request_id": rid(request)})
        return JSONResponse(body("internal error", rid(request)), status_code=500)


def _methods(request: Any) -> set[str]:
    from starlette.routing import Match

    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE and getattr(route, "methods", None):
            methods |= set(route.methods)
    return methods - {"HEAD"} if "GET" in methods else methods
