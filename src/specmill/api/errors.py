"""Every error the API answers has one shape: `{"error": {"code": ..., "message": ...}}`.

Handlers translate specmill's own exceptions (a `BadInput` is the caller's to fix: 422),
FastAPI's validation errors and Starlette's HTTP errors into that shape, and anything
unexpected into a 500 that names no internals (the traceback goes to the server log).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from specmill.api.schemas import ErrorBody
from specmill.checkpoints import TamperedRecord
from specmill.errors import BadInput, RunNotFound, SpecmillError

log = logging.getLogger("specmill.api")

_PHRASES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    503: "unavailable",
}


class ApiError(Exception):
    """An answer other than success, raised anywhere below a router."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers of an operation, so clients and schema checks know them."""
    return {
        status: {"model": ErrorBody, "description": _PHRASES.get(status, "error").replace("_", " ")}
        for status in statuses
    }


def documented_as_json(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`documented` for a route whose success is not JSON: FastAPI would file a model-based
    answer under the route's own media type, so the error bodies are referenced explicitly."""
    schema = {"$ref": "#/components/schemas/ErrorBody"}
    return {
        status: {
            "description": _PHRASES.get(status, "error").replace("_", " "),
            "content": {"application/json": {"schema": schema}},
        }
        for status in statuses
    }


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(SpecmillError, _specmill_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def _specmill_error(request: Request, exc: Exception) -> JSONResponse:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, RunNotFound):
        return error_response(404, "not_found", message)
    if isinstance(exc, TamperedRecord):
        log.error("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, message)
        return error_response(500, "tampered_record", message)
    if isinstance(exc, BadInput):
        return error_response(422, _snake(type(exc).__name__), message)
    log.warning("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, message)
    return error_response(503, "unavailable", message)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return error_response(422, "invalid_request", "; ".join(problems) or "invalid request")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # FastAPI's answer to a body it cannot decode: bad input like any other
        return error_response(422, "invalid_request", "the request body is not valid JSON text: send UTF-8 JSON")
    code = _PHRASES.get(exc.status_code, f"http_{exc.status_code}")
    return error_response(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal", "internal error; the server log has the details")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
