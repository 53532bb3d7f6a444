"""Training and model versions over HTTP: jobs started and followed, versions listed, promoted
(through the evaluation gate), rejected and rolled back. Everything needs the ``models`` permission."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from procpilot.api.auth import Caller, Services
from procpilot.api.schemas import ID, Strict

router = APIRouter(tags=["models"])


class JobIn(Strict):
    pack: str = Field(min_length=1, max_length=100, pattern=ID)
    dataset: str = Field(min_length=1, max_length=100)
    steps: int = Field(default=60, ge=1, le=10000)
    batch_size: int = Field(default=8, ge=1, le=256)
    learning_rate: float = Field(default=5e-5, gt=0, le=1)
    held_out: float = Field(default=0.2, ge=0, lt=1)
    run_tests: bool = True


class RejectIn(Strict):
    reason: str = Field(min_length=1, max_length=500)


class RollbackIn(Strict):
    pack: str = Field(min_length=1, max_length=100, pattern=ID)
    use: str = Field(default="commands", min_length=1, max_length=32)


@router.post("/api/training/jobs", status_code=202)
def start_job(body: JobIn, c: Services, who: Caller) -> dict[str, Any]:
    """Start fine-tuning the embedded model as a pack's command generator on a dataset version;
    it runs as a durable process on the worker. Follow it at GET /api/training/jobs/{id}."""
    settings = {"steps": body.steps, "batch_size": body.batch_size, "learning_rate": body.learning_rate}
    return c.training.create_job(
        who, body.pack, body.dataset, settings=settings, run_tests=body.run_tests, held_out=body.held_out
    )


@router.get("/api/training/jobs")
def jobs(c: Services, who: Caller) -> list[dict[str, Any]]:
    return c.training.jobs(who)


@router.get("/api/training/jobs/{job_id}")
def job(job_id: str, c: Services, who: Caller) -> dict[str, Any]:
    """A job's stage, step and total, the model version it made, its error; and its log."""
    found = c.training.job(who, job_id)
    return {**found, "log": c.training.log_of(who.tenant, job_id)}


@router.get("/api/models")
def versions(c: Services, who: Caller, pack: str | None = None) -> list[dict[str, Any]]:
    return c.training.versions(who, pack)


@router.get("/api/models/{version_id}")
def version(version_id: str, c: Services, who: Caller) -> dict[str, Any]:
    """A model version: base and its hash, dataset version, settings, figures, status, events."""
    return c.training.version(who, version_id)


@router.post("/api/models/{version_id}/promote")
def promote(version_id: str, c: Services, who: Caller) -> dict[str, Any]:
    """Serve this version, when it is at least as good as the promoted one on every figure."""
    return c.training.promote(who, version_id)


@router.post("/api/models/{version_id}/reject", status_code=204)
def reject(version_id: str, body: RejectIn, c: Services, who: Caller) -> None:
    c.training.reject(who, version_id, body.reason)


@router.post("/api/models/rollback")
def rollback(body: RollbackIn, c: Services, who: Caller) -> dict[str, Any]:
    """Put back the version promoted before the current one (or none: the pack's own setting)."""
    return c.training.rollback(who, body.pack, body.use)
