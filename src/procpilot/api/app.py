"""``create_app``: the FastAPI application over the services.

Identity for now comes from the ``X-Tenant``, ``X-User`` and ``X-Roles`` headers, which is only
safe behind a trusted gateway or on loopback; API keys and logins replace it (Service issue).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from procpilot import __version__
from procpilot.api.schemas import DecisionIn, MessageIn, NewConversationIn, ReplyOut
from procpilot.domain.errors import ProcpilotError, StateConflict, UserError
from procpilot.services.container import Container, build
from procpilot.services.settings import Settings


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


def create_app(settings: Settings | None = None, container: Container | None = None) -> FastAPI:
    """Build the app. Pass a ``container`` to share one (tests); otherwise one is built at start-up."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = container is None
        app.state.container = container or build(settings)
        yield
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

    return app
