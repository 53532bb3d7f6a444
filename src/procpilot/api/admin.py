"""Administration: tenants, users, roles and API keys, each scoped to the caller's tenant."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from procpilot.api.auth import Caller, Services
from procpilot.api.schemas import KeyIn, TenantIn, UserChangeIn, UserIn
from procpilot.domain.access import Permission

router = APIRouter(prefix="/api", tags=["administration"])


@router.get("/tenants")
def list_tenants(c: Services, who: Caller) -> list[dict[str, Any]]:
    """Every tenant for an admin of the operator tenant; the caller's own otherwise."""
    return c.accounts.tenants(who)


@router.post("/tenants", status_code=201)
async def create_tenant(body: TenantIn, c: Services, who: Caller) -> dict[str, Any]:
    """A new tenant and its first admin (admins of the operator tenant only)."""
    return await run_in_threadpool(
        c.accounts.create_tenant, who, body.id, body.name, body.admin_username, body.admin_password
    )


@router.get("/users")
def list_users(c: Services, who: Caller) -> list[dict[str, Any]]:
    return c.accounts.users(who)


@router.post("/users", status_code=201)
async def create_user(body: UserIn, c: Services, who: Caller) -> dict[str, Any]:
    return await run_in_threadpool(
        lambda: c.accounts.create_user(
            who,
            username=body.username,
            user_id=body.id,
            password=body.password,
            roles=body.roles,
            display_name=body.display_name,
            language=body.language,
        )
    )


@router.get("/users/{user_id}")
def get_user(user_id: str, c: Services, who: Caller) -> dict[str, Any]:
    return c.accounts.user(who, user_id)


@router.patch("/users/{user_id}")
async def change_user(user_id: str, body: UserChangeIn, c: Services, who: Caller) -> dict[str, Any]:
    return await run_in_threadpool(
        lambda: c.accounts.update_user(who, user_id, **body.model_dump(exclude_unset=True))
    )


@router.get("/roles")
def list_roles(c: Services, who: Caller) -> list[dict[str, Any]]:
    """Platform roles (admin, designer, approver, agent_user, auditor) and the tenant's business roles."""
    return c.accounts.roles(who)


@router.get("/keys")
def list_keys(c: Services, who: Caller) -> list[dict[str, Any]]:
    return c.accounts.keys(who)


@router.post("/keys", status_code=201)
def create_key(body: KeyIn, c: Services, who: Caller) -> dict[str, Any]:
    """A new API key for a system. The secret is in this answer only; store it now."""
    return c.accounts.create_key(who, body.name, body.roles)


@router.delete("/keys/{key_id}", status_code=204)
def revoke_key(key_id: str, c: Services, who: Caller) -> Response:
    c.accounts.revoke_key(who, key_id)
    return Response(status_code=204)


@router.get("/usage")
def model_usage(c: Services, who: Caller, conversation_id: str | None = None) -> dict[str, Any]:
    """Model calls and tokens for the caller's tenant, or one of its conversations."""
    if conversation_id:
        c.chats.require_readable(who, conversation_id)
    else:
        who.require(Permission.READ_ALL, "the tenant's model usage")
    return {
        "tenant": who.tenant,
        "conversation_id": conversation_id,
        **c.models.usage(who.tenant, conversation_id),
    }
