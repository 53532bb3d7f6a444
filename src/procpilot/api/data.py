"""Data collection over HTTP: ratings of replies, review queues and items, datasets and exports."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from procpilot.api.auth import Caller, Services
from procpilot.api.schemas import ID, RowId, Strict

router = APIRouter(tags=["data"])


class FeedbackIn(Strict):
    rating: Literal["up", "down"]
    reason: str | None = Field(default=None, max_length=32)
    comment: str = Field(default="", max_length=2000)


class QueueIn(Strict):
    name: str = Field(default="", max_length=200)
    signals: list[str] = []
    sample_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    packs: list[str] = []
    assignees: list[str] = []
    assignee_role: str | None = "reviewer"
    guideline: str = Field(default="", max_length=20000)
    reviews_needed: int = Field(default=1, ge=1, le=5)


class ReviewIn(Strict):
    verdict: Literal["submit", "skip", "reject"]
    answer: dict[str, Any] = {}


class DatasetIn(Strict):
    name: str = Field(min_length=1, max_length=100, pattern=ID)
    query: dict[str, Any] = {}


@router.post("/api/conversations/{conversation_id}/messages/{message_id}/feedback")
def rate(
    conversation_id: str, message_id: RowId, body: FeedbackIn, c: Services, who: Caller
) -> dict[str, Any]:
    """Rate one of the assistant's messages: up or down, a reason, a comment."""
    return c.collection.rate(who, conversation_id, message_id, body.rating, body.reason, body.comment)


@router.get("/api/review/queues")
def queues(c: Services, who: Caller) -> list[dict[str, Any]]:
    return c.reviews.queues(who)


@router.put("/api/review/queues/{queue_id}")
def save_queue(queue_id: str, body: QueueIn, c: Services, who: Caller) -> dict[str, Any]:
    """Create or change a review queue (data stewards and admins)."""
    return c.reviews.save_queue(who, queue_id, **body.model_dump())


@router.post("/api/review/queues/{queue_id}/next", responses={204: {"description": "nothing left to review"}})
def next_item(queue_id: str, c: Services, who: Caller) -> Any:
    """Lease the next item to the caller; 204 when nothing is left for them."""
    item = c.reviews.next_item(who, queue_id)
    return Response(status_code=204) if item is None else item


@router.get("/api/review/items/{item_id}")
def item(item_id: RowId, c: Services, who: Caller) -> dict[str, Any]:
    return c.reviews.item(who, item_id)


@router.post("/api/review/items/{item_id}")
def review(item_id: RowId, body: ReviewIn, c: Services, who: Caller) -> dict[str, Any]:
    """Submit, skip or reject the item; 409 names who holds it when someone else does."""
    return c.reviews.review(who, item_id, body.verdict, body.answer)


@router.get("/api/review/items/{item_id}/test")
def as_test(item_id: RowId, c: Services, who: Caller) -> Response:
    """The reviewed conversation as a conversation test of its pack (YAML)."""
    return Response(c.reviews.as_conversation_test(who, item_id), media_type="application/yaml")


@router.post("/api/datasets", status_code=201)
async def build_dataset(body: DatasetIn, c: Services, who: Caller) -> dict[str, Any]:
    """A new version of a dataset from a query (the newest one when nothing changed)."""
    return await run_in_threadpool(c.datasets.build, who, body.name, body.query)


@router.get("/api/datasets")
def datasets(c: Services, who: Caller, name: str | None = None) -> list[dict[str, Any]]:
    return c.datasets.versions(who, name)


@router.get("/api/datasets/{version_id}/items")
def dataset_items(version_id: str, c: Services, who: Caller) -> list[dict[str, Any]]:
    return c.datasets.items(who, version_id)


@router.get("/api/datasets/{version_id}/diff/{other_id}")
def diff(version_id: str, other_id: str, c: Services, who: Caller) -> dict[str, Any]:
    return c.datasets.diff(who, version_id, other_id)


@router.get("/api/datasets/{version_id}/export")
def export(version_id: str, c: Services, who: Caller, format: str = "openai-sft") -> Response:
    """The version in an export format; every export is recorded."""
    text, rows = c.datasets.export(who, version_id, format)
    kind = (
        "application/yaml"
        if format in ("nlu", "tests")
        else "text/plain"
        if format == "out-of-scope"
        else "application/jsonl"
    )
    return Response(text, media_type=kind, headers={"X-Rows": str(rows)})


@router.get("/api/datasets/{version_id}/exports")
def exports(version_id: str, c: Services, who: Caller) -> list[dict[str, Any]]:
    return c.datasets.exports_of(who, version_id)


@router.delete("/api/datasets/{version_id}", status_code=204)
def delete_dataset(version_id: str, c: Services, who: Caller) -> Response:
    c.datasets.delete(who, version_id)
    return Response(status_code=204)
