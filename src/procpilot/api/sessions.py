"""Logging in and out (session cookies), and who the caller is."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from procpilot.api.auth import COOKIE, Caller, Services
from procpilot.api.schemas import LanguageIn, LoginIn
from procpilot.domain.access import Principal
from procpilot.services.access.accounts import Login

router = APIRouter(prefix="/api", tags=["sessions"])


def set_cookie(response: Response, request: Request, login: Login, secure: bool | None) -> None:
    response.set_cookie(
        COOKIE,
        login.token,
        max_age=int((login.expires_at - dt.datetime.now(dt.UTC)).total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https" if secure is None else secure,
        path="/",
    )


def me(principal: Principal) -> dict[str, Any]:
    return {
        "tenant": principal.tenant,
        "id": principal.id,
        "name": principal.name,
        "roles": list(principal.roles),
        "permissions": sorted(principal.permissions),
        "language": principal.language,
        "via": principal.via,
    }


@router.post("/session")
async def login(body: LoginIn, request: Request, response: Response, c: Services) -> dict[str, Any]:
    """Log in with a password; sets an HttpOnly session cookie. Send ``csrf_token`` back as the
    ``X-CSRF-Token`` header on every change made with that cookie."""
    found = await run_in_threadpool(c.accounts.login, body.tenant, body.username, body.password)
    set_cookie(response, request, found, c.settings.cookie_secure)
    return {**me(found.principal), "csrf_token": found.csrf_token}


@router.delete("/session", status_code=204)
def logout(request: Request, c: Services, who: Caller) -> Response:
    c.accounts.logout(request.cookies.get(COOKIE, ""))
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/me")
def whoami(who: Caller) -> dict[str, Any]:
    return me(who)


@router.put("/me/language")
def set_language(body: LanguageIn, c: Services, who: Caller) -> dict[str, Any]:
    """The interface language of the logged-in person (en or zh)."""
    c.accounts.set_language(who, body.language)
    return {"language": body.language}
