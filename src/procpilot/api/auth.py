"""Who is calling: an API key (``Authorization: Bearer pp_...``) or a session cookie.

A request authenticated by its cookie must also carry the session's CSRF token in the
``X-CSRF-Token`` header (or a ``csrf_token`` form field) when it changes something; the cookie is
``HttpOnly`` and ``SameSite=Lax``, and ``Secure`` over HTTPS. Services check what the principal may do.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from procpilot.domain.access import Principal
from procpilot.domain.errors import NotAuthenticated, PermissionDenied
from procpilot.services.platform.container import Container

COOKIE = "procpilot_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def container(request: Request) -> Container:
    services: Container = request.app.state.container
    return services


async def identify(request: Request) -> Principal | None:
    """The principal behind the request's credentials; None without any. Cached per request."""
    if "principal" in request.state._state:
        cached: Principal | None = request.state.principal
        return cached
    services = container(request)
    principal: Principal | None = None
    csrf: str | None = None
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("use 'Authorization: Bearer <API key>'")
        principal = await run_in_threadpool(services.accounts.authenticate_key, token.strip())
    elif request.cookies.get(COOKIE):
        principal, csrf = await run_in_threadpool(services.accounts.session, request.cookies[COOKIE])
    request.state.principal = principal
    request.state.csrf_token = csrf
    return principal


async def check_csrf(request: Request) -> None:
    """Refuse a cookie-authenticated change that does not carry the session's CSRF token."""
    csrf = getattr(request.state, "csrf_token", None)
    if csrf is None or request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = str((await request.form()).get("csrf_token") or "")
    if not sent or not hmac.compare_digest(sent, csrf):
        raise PermissionDenied("this change needs the page's CSRF token; reload the page and try again")


# Declared so that /openapi.json documents both ways in; ``identify`` does the checking.
_bearer = HTTPBearer(auto_error=False, description="An API key: 'Authorization: Bearer pp_...'")
_cookie = APIKeyCookie(name=COOKIE, auto_error=False, description="A session cookie from POST /api/session")


async def principal(
    request: Request,
    _key: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
    _session: Annotated[str | None, Depends(_cookie)] = None,
) -> Principal:
    found = await identify(request)
    if found is None:
        raise NotAuthenticated("log in, or send an API key as 'Authorization: Bearer <key>'")
    await check_csrf(request)
    return found


Caller = Annotated[Principal, Depends(principal)]
Services = Annotated[Container, Depends(container)]
