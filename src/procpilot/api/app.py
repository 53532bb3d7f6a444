"""``create_app``: the FastAPI application over the services: the JSON API, the OpenAI-compatible
endpoint, the web app, health and metrics.

Callers authenticate with an API key (``Authorization: Bearer pp_...``) or a session cookie from
logging in; the services check what they may do, within their own tenant.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from procpilot import __version__
from procpilot.api import (
    admin,
    conversations,
    data,
    desk_pages,
    handoffs,
    knowledge,
    middleware,
    models,
    openai,
    operations,
    pages,
    problems,
    processes,
    sessions,
)
from procpilot.api import packs as pack_routes
from procpilot.services.platform.container import Container, build, default_worker_id
from procpilot.services.platform.settings import Settings
from procpilot.services.processes.workers import Worker
from procpilot.web import STATIC


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
    if container is not None:
        app.state.container = container
    problems.install(app)
    middleware.install(app, settings.max_body_bytes)
    for module in (
        operations,
        sessions,
        conversations,
        handoffs,
        processes,
        pack_routes,
        admin,
        knowledge,
        data,
        models,
        openai,
    ):
        app.include_router(module.router)
    app.include_router(desk_pages.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
