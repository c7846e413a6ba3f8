"""One renderer for errors: {"error", "message", "details"}; internals never leak."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from yilian.domain.errors import HTTP_STATUS, ErrorCode, YilianError

log = logging.getLogger(__name__)


# Errors raised by Starlette itself (no route, wrong method, an unreadable multipart body), by their status.
_STARLETTE_CODES = {
    400: ErrorCode.MALFORMED_REQUEST,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
}


def error_body(code: ErrorCode, message: str, details: Any = None) -> dict[str, Any]:
    """The one error body; only catalogue codes (tests/unit/test_errors.py holds every emitter to that)."""
    return {"error": code.value, "message": message, "details": details}


def error_response(
    code: ErrorCode, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The error as an HTTP response with the catalogue's status, for code that answers instead of raising."""
    return JSONResponse(error_body(code, message, details), status_code=HTTP_STATUS[code], headers=headers)


def refusal(exc: YilianError) -> JSONResponse:
    """A raised YilianError as the API answers it: by the handler below, and by the doors that answer before routing
    (api/dicomweb/retrieve_door.py)."""
    retry = exc.details.get("retry_after_seconds") if isinstance(exc.details, dict) else None
    headers = {"Retry-After": str(retry)} if isinstance(retry, int) else None  # a lock says when it ends
    return error_response(exc.code, exc.message, exc.details, headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(YilianError)
    async def _yilian(request: Request, exc: YilianError) -> JSONResponse:
        return refusal(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        malformed = any(e.get("type") == "json_invalid" for e in errors)
        code = ErrorCode.MALFORMED_REQUEST if malformed else ErrorCode.VALIDATION_FAILED
        details = [{"field": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")} for e in errors]
        message = "the request body is not valid JSON" if malformed else "some fields are missing or invalid"
        return error_response(code, message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STARLETTE_CODES.get(exc.status_code, ErrorCode.MALFORMED_REQUEST)
        return JSONResponse(error_body(code, str(exc.detail), None), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        correlation = uuid.uuid4().hex[:12]
        log.exception("unhandled error %s on %s %s", correlation, request.method, request.url.path)
        return error_response(ErrorCode.INTERNAL, "something went wrong on our side", {"correlation_id": correlation})
