"""Health, readiness and Prometheus metrics."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Header, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from procpilot.api.auth import Services
from procpilot.domain.errors import NotAuthenticated
from procpilot.services.platform.metrics import CONTENT_TYPE

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready: the database or every pack is missing."}})
async def readyz(c: Services) -> Response:
    """Ready to serve: the database answers and at least one pack is loaded."""
    body: dict[str, Any] = await run_in_threadpool(c.readiness)
    return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE: {}}}})
async def metrics(c: Services, authorization: str | None = Header(default=None)) -> Response:
    """Prometheus text format: requests, latency, conversations, flows, tool calls, approvals, tokens.
    With ``PROCPILOT_METRICS_TOKEN`` set, the scraper sends it as a bearer token."""
    token = c.settings.metrics_token
    if token and not hmac.compare_digest((authorization or "").encode(), f"Bearer {token}".encode()):
        raise NotAuthenticated("/metrics needs the metrics token: 'Authorization: Bearer <token>'")
    return Response(await run_in_threadpool(c.metrics.render), media_type=CONTENT_TYPE)
