"""``create_app``: the FastAPI application over the services.

Identity for now comes from the ``X-Tenant``, ``X-User`` and ``X-Roles`` headers, which is only
safe behind a trusted gateway or on loopback; API keys and logins replace it (Service issue).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, Header, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from procpilot import __version__
from procpilot.api.schemas import DecisionIn, MessageIn, NewConversationIn, QuestionIn, ReplyOut
from procpilot.domain.errors import PermissionDenied, ProcpilotError, StateConflict, UserError
from procpilot.services.container import Container, build, default_worker_id
from procpilot.services.knowledge import MAX_UPLOAD_BYTES, answer_payload
from procpilot.services.settings import Settings
from procpilot.services.workers import Worker


@dataclass(frozen=True)
class Caller:
    tenant: str
    user: str | None
    roles: tuple[str, ...]


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


def create_app(
    settings: Settings | None = None, container: Container | None = None, *, worker: bool = False
) -> FastAPI:
    """Build the app. Pass a ``container`` to share one (tests); otherwise one is built at start-up.
    ``worker``: also run durable processes in this process (the embedded default of ``serve``)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = container is None
        app.state.container = container or build(settings)
        running = None
        if worker:
            running = Worker(app.state.container, settings.worker_id or default_worker_id())
            running.start()
        yield
        if running is not None:
            running.stop()
        if own:
            app.state.container.close()

    # No /docs or /redoc: FastAPI serves those pages from a CDN, and procpilot stays offline.
    app = FastAPI(title="procpilot", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)

    def services(request: Request) -> Container:
        return request.app.state.container

    def caller(
        x_tenant: Annotated[str | None, Header()] = None,
        x_user: Annotated[str | None, Header()] = None,
        x_roles: Annotated[str | None, Header()] = None,
    ) -> Caller:
        roles = tuple(r.strip() for r in (x_roles or "").split(",") if r.strip())
        return Caller(x_tenant or settings.default_tenant, x_user, roles)

    Services = Annotated[Container, Depends(services)]
    Who = Annotated[Caller, Depends(caller)]

    @app.exception_handler(PermissionDenied)
    async def forbidden(_: Request, error: PermissionDenied) -> JSONResponse:
        return _problem(403, "Forbidden", str(error))

    @app.exception_handler(StateConflict)
    async def conflict(_: Request, error: StateConflict) -> JSONResponse:
        return _problem(409, "Conflict", str(error))

    @app.exception_handler(UserError)
    async def user_error(_: Request, error: UserError) -> JSONResponse:
        status = 404 if str(error).startswith("no ") else 400
        return _problem(status, "Bad request" if status == 400 else "Not found", str(error))

    @app.exception_handler(ProcpilotError)
    async def runtime_error(_: Request, error: ProcpilotError) -> JSONResponse:
        return _problem(503, "Temporarily unavailable", str(error))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        return _problem(422, "Invalid request", details)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz(c: Services) -> dict[str, Any]:
        return {"status": "ready", "packs": sorted(c.catalog.packs), "refused": sorted(c.catalog.errors)}

    @app.get("/api/packs")
    def list_packs(c: Services) -> list[dict[str, Any]]:
        return c.catalog.summary()

    @app.post("/api/packs/{pack_id}/reload")
    def reload_pack_models(pack_id: str, c: Services) -> dict[str, Any]:
        """Load the pack's newly promoted models (intent classifier) without a restart."""
        runtime = c.catalog.reload_models(pack_id)
        return {"id": pack_id, "understanding": type(runtime.understanding.intents).__name__}

    @app.post("/api/packs/reload")
    def reload_packs(c: Services) -> list[dict[str, Any]]:
        c.catalog.load_all()
        return c.catalog.summary()

    def _reply(reply: Any) -> ReplyOut:
        return ReplyOut(
            conversation_id=reply.conversation_id,
            messages=reply.messages,
            commands=reply.commands,
            active_flows=reply.active_flows,
            handed_off=reply.handed_off,
        )

    @app.post("/api/conversations", response_model=ReplyOut)
    async def start_conversation(body: NewConversationIn, c: Services, who: Who) -> ReplyOut:
        reply = await run_in_threadpool(
            c.conversations.handle,
            tenant=who.tenant,
            pack_id=body.pack,
            conversation_id=body.conversation_id,
            text=body.text,
            user_id=who.user,
            roles=who.roles,
        )
        return _reply(reply)

    @app.post("/api/conversations/{conversation_id}/messages", response_model=ReplyOut)
    async def send_message(conversation_id: str, body: MessageIn, c: Services, who: Who) -> ReplyOut:
        history = await run_in_threadpool(
            c.conversations.history, tenant=who.tenant, conversation_id=conversation_id
        )
        reply = await run_in_threadpool(
            c.conversations.handle,
            tenant=who.tenant,
            pack_id=history["pack"],
            conversation_id=conversation_id,
            text=body.text,
            user_id=who.user,
            roles=who.roles,
        )
        return _reply(reply)

    @app.get("/api/conversations/{conversation_id}")
    def get_conversation(conversation_id: str, c: Services, who: Who) -> dict[str, Any]:
        return c.conversations.history(tenant=who.tenant, conversation_id=conversation_id)

    @app.get("/api/conversations/{conversation_id}/events")
    def get_events(conversation_id: str, c: Services, who: Who) -> list[dict[str, Any]]:
        c.conversations.history(tenant=who.tenant, conversation_id=conversation_id)
        return [
            {"id": e["id"], "kind": e["kind"], "data": e["data"], "at": str(e["created_at"])}
            for e in c.conversations.events(tenant=who.tenant, conversation_id=conversation_id)
        ]

    @app.get("/api/usage")
    def model_usage(c: Services, who: Who, conversation_id: str | None = None) -> dict[str, Any]:
        """Model calls and tokens for the caller's tenant, or one of its conversations."""
        return {
            "tenant": who.tenant,
            "conversation_id": conversation_id,
            **c.models.usage(who.tenant, conversation_id),
        }

    @app.get("/api/approvals")
    def pending_approvals(c: Services, who: Who) -> list[dict[str, Any]]:
        return [
            {k: (str(v) if k.endswith("_at") and v is not None else v) for k, v in row.items()}
            for row in c.approvals.pending(who.tenant)
        ]

    @app.post("/api/approvals/{approval_id}/decision", response_model=ReplyOut)
    async def decide(approval_id: str, body: DecisionIn, c: Services, who: Who) -> ReplyOut:
        if not who.user:
            raise UserError("deciding an approval needs a user (X-User header)")
        reply = await run_in_threadpool(
            c.approvals.decide,
            tenant=who.tenant,
            approval_id=approval_id,
            outcome=body.outcome,
            by=who.user,
            comment=body.comment,
        )
        return _reply(reply)

    # -- knowledge: a collection is a pack's id (or a name given at ingestion) -----------------

    @app.get("/api/knowledge/{collection}/documents")
    def list_documents(collection: str, c: Services, who: Who) -> list[dict[str, Any]]:
        """The documents of a collection that the caller may read (their roles are their labels)."""
        return c.knowledge.documents(who.tenant, collection, who.roles)

    @app.get("/api/knowledge/{collection}/documents/{document_id}")
    def open_document(collection: str, document_id: int, c: Services, who: Who) -> dict[str, Any]:
        """A cited document, with its chunks; 404 when absent or not readable by the caller."""
        return c.knowledge.document(who.tenant, collection, document_id, who.roles)

    @app.post("/api/knowledge/{collection}/documents", status_code=201)
    async def upload_document(
        collection: str,
        c: Services,
        who: Who,
        file: Annotated[UploadFile, File(description="Markdown, HTML, PDF, DOCX, text or JSON")],
        labels: Annotated[str, Form(description="Access labels, comma-separated")] = "",
    ) -> dict[str, Any]:
        """Add or replace one document in the caller's tenant (role ``admin``)."""
        if "admin" not in who.roles:
            raise PermissionDenied("uploading documents needs the admin role")
        data = await file.read(MAX_UPLOAD_BYTES + 1)
        chosen = tuple(label.strip() for label in labels.split(",") if label.strip())
        report = await run_in_threadpool(
            c.knowledge.ingest_upload, who.tenant, collection, file.filename or "", data, labels=chosen
        )
        return {
            "collection": collection,
            "added": report.added,
            "updated": report.updated,
            "chunks": report.chunks,
        }

    @app.delete("/api/knowledge/{collection}/documents/{document_id}", status_code=204)
    def delete_document(collection: str, document_id: int, c: Services, who: Who) -> None:
        """Remove one of the tenant's own documents (role ``admin``); a pack's documents stay."""
        if "admin" not in who.roles:
            raise PermissionDenied("deleting documents needs the admin role")
        c.knowledge.delete_by_id(who.tenant, collection, document_id)

    @app.post("/api/knowledge/{collection}/ask")
    async def ask(collection: str, body: QuestionIn, c: Services, who: Who) -> dict[str, Any]:
        """A cited answer from the collection, and the passages found."""
        answer = await run_in_threadpool(
            c.knowledge.answer, who.tenant, collection, body.question, labels=who.roles
        )
        passages = await run_in_threadpool(
            c.knowledge.search, who.tenant, collection, body.question, labels=who.roles, mode=body.mode
        )
        return {
            **answer_payload(answer, collection),
            "passages": [
                {"n": p.n, "label": p.label, "source": p.source, "document_id": p.document_id, "text": p.text}
                for p in passages
            ],
        }

    return app
