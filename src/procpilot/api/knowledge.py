"""Knowledge: a collection is a pack's id (or a name given at ingestion). A caller reads the
documents whose access labels are among their roles."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from procpilot.api.auth import Caller, Services
from procpilot.api.schemas import QuestionIn, RowId
from procpilot.services.knowledge import MAX_UPLOAD_BYTES, answer_payload

router = APIRouter(prefix="/api/knowledge", tags=["knowledge"])

DocumentId = RowId


@router.get("/{collection}/documents")
def list_documents(collection: str, c: Services, who: Caller) -> list[dict[str, Any]]:
    return c.knowledge.documents(who.tenant, collection, who.roles)


@router.get("/{collection}/documents/{document_id}")
def open_document(collection: str, document_id: DocumentId, c: Services, who: Caller) -> dict[str, Any]:
    """A cited document, with its chunks; 404 when absent or not readable by the caller."""
    return c.knowledge.document(who.tenant, collection, document_id, who.roles)


@router.post("/{collection}/documents", status_code=201)
async def upload_document(
    collection: str,
    c: Services,
    who: Caller,
    file: Annotated[UploadFile, File(description="Markdown, HTML, PDF, DOCX, text or JSON")],
    labels: Annotated[str, Form(description="Access labels, comma-separated")] = "",
) -> dict[str, Any]:
    """Add or replace one document in the caller's tenant (designer, admin)."""
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    chosen = tuple(label.strip() for label in labels.split(",") if label.strip())
    report = await run_in_threadpool(c.knowledge.upload, who, collection, file.filename or "", data, chosen)
    return {
        "collection": collection,
        "added": report.added,
        "updated": report.updated,
        "chunks": report.chunks,
    }


@router.delete("/{collection}/documents/{document_id}", status_code=204)
def delete_document(collection: str, document_id: DocumentId, c: Services, who: Caller) -> Response:
    """Remove one of the tenant's own documents (designer, admin); a pack's documents stay."""
    c.knowledge.remove(who, collection, document_id)
    return Response(status_code=204)


@router.post("/{collection}/ask")
async def ask(collection: str, body: QuestionIn, c: Services, who: Caller) -> dict[str, Any]:
    """A cited answer from the collection, and the passages found."""
    answer = await run_in_threadpool(
        c.knowledge.answer, who.tenant, collection, body.question, labels=who.roles
    )
    passages = await run_in_threadpool(
        c.knowledge.search, who.tenant, collection, body.question, labels=who.roles, mode=body.mode
    )
    return {
        **answer_payload(answer, collection, body.question),
        "passages": [
            {"n": p.n, "label": p.label, "source": p.source, "document_id": p.document_id, "text": p.text}
            for p in passages
        ],
    }
