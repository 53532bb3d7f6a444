"""Packs: list, describe, draw a flow, validate, reload."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from procpilot.api.auth import Caller, Services
from procpilot.services.packs import management as packs

router = APIRouter(prefix="/api/packs", tags=["packs"])


@router.get("")
def list_packs(c: Services, who: Caller) -> list[dict[str, Any]]:
    return c.catalog.summary()


@router.post("/reload")
def reload_packs(c: Services, who: Caller) -> list[dict[str, Any]]:
    """Load every pack folder again (designer, admin). A pack that no longer validates keeps
    serving its last good version, and its problems are listed."""
    return packs.reload_all(who, c.catalog)


@router.get("/{pack_id}")
def describe_pack(pack_id: str, c: Services, who: Caller) -> dict[str, Any]:
    return packs.describe(c.catalog, pack_id)


@router.get(
    "/{pack_id}/flows/{flow_id}/diagram",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}}},
)
def flow_diagram(pack_id: str, flow_id: str, c: Services, who: Caller) -> Response:
    return Response(packs.diagram(c.catalog, pack_id, flow_id), media_type="image/svg+xml")


@router.post("/{pack_id}/validate")
def validate_pack(pack_id: str, c: Services, who: Caller) -> dict[str, Any]:
    """Validate the pack's folder as it is on disk now (designer, admin)."""
    return packs.validate_served(who, c.catalog, pack_id)


@router.post("/{pack_id}/reload")
def reload_pack_models(pack_id: str, c: Services, who: Caller) -> dict[str, Any]:
    """Load the pack's newly promoted models (intent classifier) without a restart."""
    return packs.reload_models(who, c.catalog, pack_id)
