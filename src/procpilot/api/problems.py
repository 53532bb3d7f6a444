"""Errors as RFC 9457 problem details (``application/problem+json``), with a message a person can act on."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from procpilot.domain.errors import (
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ProcpilotError,
    StateConflict,
    TooManyAttempts,
    UserError,
)
from procpilot.services.platform.idempotency import KeyReused

log = structlog.get_logger(__name__)

MEDIA_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal error",
    503: "Temporarily unavailable",
}


def problem(status: int, detail: str, instance: str | None = None) -> JSONResponse:
    body: dict[str, object] = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
        if instance.startswith("/v1/"):
            # OpenAI clients read ``error.message``: an extension member, allowed by RFC 9457.
            body["error"] = {"message": detail, "type": body["title"], "code": status}
    headers = {"WWW-Authenticate": 'Bearer realm="procpilot"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_of(error: ProcpilotError) -> int:
    if isinstance(error, TooManyAttempts):
        return 429
    if isinstance(error, NotAuthenticated):
        return 401
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, StateConflict):
        return 409
    if isinstance(error, KeyReused):
        return 422
    if isinstance(error, UserError):
        return 404 if str(error).startswith("no ") else 400
    return 503


def install(app: FastAPI) -> None:
    """Errors of the JSON API as problem+json; a browser asking for a page gets a page."""
    from procpilot.api import pages

    pages.install(app)

    @app.exception_handler(ProcpilotError)
    async def known(request: Request, error: ProcpilotError) -> Response:
        if pages.is_page(request):
            return pages.error_page(request, status_of(error), str(error))
        response = problem(status_of(error), str(error), request.url.path)
        if isinstance(error, TooManyAttempts):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        if pages.is_page(request):
            return pages.error_page(request, 422, details)
        return problem(422, details, request.url.path)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("request.failed", path=request.url.path)
        if pages.is_page(request):
            return pages.error_page(request, 500, "something went wrong on our side; it was logged")
        return problem(500, "something went wrong on our side; it was logged", request.url.path)

    @app.exception_handler(HTTPException)
    async def http(request: Request, error: HTTPException) -> Response:
        detail = error.detail if isinstance(error.detail, str) else TITLES.get(error.status_code, "Error")
        if pages.is_page(request) and error.status_code >= 400:
            # A browser asking for an unknown address gets a page in the app's style, not JSON.
            said = "There is no page at this address." if error.status_code == 404 else detail
            return pages.error_page(request, error.status_code, said)
        response = problem(error.status_code, detail, request.url.path)
        for name, value in (error.headers or {}).items():
            response.headers[name] = value
        return response
