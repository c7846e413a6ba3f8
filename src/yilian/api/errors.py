"""One renderer for errors: {"error", "message", "details"}; internals never leak."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from yilian.domain.errors import ErrorCode, YilianError

log = logging.getLogger(__name__)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": code, "message": message, "details": details}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(YilianError)
    async def _yilian(request: Request, exc: YilianError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        malformed = any(e.get("type") == "json_invalid" for e in errors)
        code = ErrorCode.MALFORMED_REQUEST if malformed else ErrorCode.VALIDATION_FAILED
        details = [{"field": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")} for e in errors]
        message = "the request body is not valid JSON" if malformed else "some fields are missing or invalid"
        return JSONResponse(error_body(code, message, details), status_code=400 if malformed else 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.MALFORMED_REQUEST}.get(
            exc.status_code, ErrorCode.MALFORMED_REQUEST
        )
        return JSONResponse(error_body(code, str(exc.detail), None), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        correlation = uuid.uuid4().hex[:12]
        log.exception("unhandled error %s on %s %s", correlation, request.method, request.url.path)
        return JSONResponse(
            error_body(ErrorCode.INTERNAL, "something went wrong on our side", {"correlation_id": correlation}),
            status_code=500,
        )
