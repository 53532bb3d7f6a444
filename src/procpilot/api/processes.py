"""Processes: the flows one may start, instances, their timelines, cancelling one; approvals."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from procpilot.api.auth import Caller, Services
from procpilot.api.conversations import reply_out
from procpilot.api.schemas import DecisionIn, ReplyOut, StartProcessIn

router = APIRouter(tags=["processes"])


@router.get("/api/packs/{pack_id}/flows")
def list_flows(pack_id: str, c: Services, who: Caller) -> list[dict[str, Any]]:
    """The pack's flows, and whether the caller may start each."""
    return c.instances.flows(who, pack_id)


@router.get("/api/processes")
def list_instances(c: Services, who: Caller, status: str | None = None) -> list[dict[str, Any]]:
    """Instances the caller started (approvers, admins and auditors: the tenant's), newest first."""
    return c.instances.listing(who, status)


@router.post("/api/processes", response_model=ReplyOut)
async def start_instance(body: StartProcessIn, c: Services, who: Caller) -> ReplyOut:
    """Start a flow in a new conversation, slot values given up front; the reply asks for the rest."""
    reply = await run_in_threadpool(c.instances.start, who, body.pack, body.flow, body.slots)
    return reply_out(reply)


@router.get("/api/processes/{instance_id:path}/timeline")
def timeline(instance_id: str, c: Services, who: Caller) -> dict[str, Any]:
    """Every step, slot, tool call, approval and message of the instance, with times."""
    return c.instances.timeline(who, instance_id)


@router.post("/api/processes/{instance_id:path}/cancel")
async def cancel_instance(instance_id: str, c: Services, who: Caller) -> dict[str, Any]:
    return await run_in_threadpool(c.instances.cancel, who, instance_id)


@router.get("/api/approvals", tags=["approvals"])
def inbox(
    c: Services, who: Caller, status: str | None = "pending", all: bool = False
) -> list[dict[str, Any]]:
    """The caller's inbox: tasks assigned to them or their roles. ``all=true``: the tenant's."""
    return c.approvals.inbox(who, status or None, everyone=all)


@router.get("/api/approvals/{approval_id}", tags=["approvals"])
def approval(approval_id: str, c: Services, who: Caller) -> dict[str, Any]:
    return c.approvals.task(who, approval_id)


@router.post("/api/approvals/{approval_id}/decision", response_model=ReplyOut, tags=["approvals"])
async def decide(approval_id: str, body: DecisionIn, c: Services, who: Caller) -> ReplyOut:
    """Approve, reject or ask for changes, with a comment; the waiting flow goes on at once."""
    reply = await run_in_threadpool(c.approvals.decide_as, who, approval_id, body.outcome, body.comment)
    return reply_out(reply)
