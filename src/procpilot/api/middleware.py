"""What every request passes through: a body-size limit, metrics, and Idempotency-Key replay."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from procpilot.api.auth import identify
from procpilot.api.problems import problem, status_of
from procpilot.domain.errors import ProcpilotError
from procpilot.services.platform.idempotency import Stored, request_hash

UPLOAD_LIMIT = 21 * 1024 * 1024  # document uploads: the knowledge service refuses above 20 MiB


class BodyLimit:
    """Refuse request bodies above ``limit`` bytes with 413: by Content-Length, or, for a chunked
    body, by reading it (up to the limit) before the app does."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = UPLOAD_LIMIT if scope["path"].startswith("/api/knowledge/") else self.limit
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await problem(413, f"the request body may have at most {limit} bytes")(scope, receive, send)
            return
        if length is None and scope.get("method") in ("POST", "PUT", "PATCH"):
            # A chunked body has no length to check: read it here, up to the limit, so the answer
            # to one too large is a 413 and not whatever the body parser makes of a cut-off body.
            messages: list[Message] = []
            received = 0
            while True:
                message = await receive()
                messages.append(message)
                received += len(message.get("body", b""))
                if received > limit:
                    await problem(413, f"the request body may have at most {limit} bytes")(
                        scope, receive, send
                    )
                    return
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
            replay = iter(messages)

            async def buffered() -> Message:
                return next(replay, None) or await receive()

            await self.app(scope, buffered, send)
            return
        await self.app(scope, receive, send)


Next = Callable[[Request], Awaitable[Response]]


async def idempotent(request: Request, call_next: Next) -> Response:
    """A POST with an Idempotency-Key runs once per caller and key; a replay gets the stored
    response (header ``Idempotent-Replayed: true``); the same key with another body: 422."""
    key = request.headers["idempotency-key"]  # IdempotencyGate sends only such POSTs here
    try:
        principal = await identify(request)
    except ProcpilotError:
        principal = None
    if principal is None:
        return await call_next(request)
    services = request.app.state.container
    body = await request.body()
    fingerprint = request_hash(request.method, request.url.path + "?" + request.url.query, body)
    try:
        stored = await run_in_threadpool(services.idempotency.begin, principal, key, fingerprint)
    except ProcpilotError as error:
        return problem(status_of(error), str(error), request.url.path)
    if stored is not None:
        return Response(
            stored.body,
            status_code=stored.status_code,
            media_type=stored.content_type,
            headers={"Idempotent-Replayed": "true"},
        )
    response = await call_next(request)
    content_type = response.headers.get("content-type", "application/json")
    if content_type.startswith("text/event-stream"):
        # A stream cannot be replayed; the key is released so a retry runs again.
        await run_in_threadpool(services.idempotency.finish, principal, key, Stored(500, content_type, ""))
        return response
    chunks = [chunk async for chunk in response.body_iterator]  # type: ignore[attr-defined]
    data = b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)
    await run_in_threadpool(
        services.idempotency.finish,
        principal,
        key,
        Stored(response.status_code, content_type, data.decode("utf-8", "replace")),
    )
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(data, status_code=response.status_code, headers=headers, media_type=None)


class Measured:
    """Counts requests and their latency per route template (pure ASGI: no body buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            container = getattr(scope["app"].state, "container", None) if "app" in scope else None
            if container is not None:
                path = getattr(scope.get("route"), "path", "unmatched")
                container.metrics.observe(scope["method"], path, status, time.perf_counter() - started)


class IdempotencyGate:
    """Sends only POSTs with an ``Idempotency-Key`` through the (buffering) idempotency check."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.checked = BaseHTTPMiddleware(app, dispatch=idempotent)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and any(name == b"idempotency-key" for name, _ in scope["headers"])
        ):
            await self.checked(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install(app: FastAPI, max_body_bytes: int) -> None:
    app.add_middleware(IdempotencyGate)
    app.add_middleware(Measured)
    app.add_middleware(BodyLimit, limit=max_body_bytes)
