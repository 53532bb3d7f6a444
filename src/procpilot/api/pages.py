"""The web app: server-rendered pages (Jinja2) made live with HTMX and one EventSource.

Pages use the same services and the same session as the JSON API. Forms carry the session's
CSRF token (a hidden field, or the ``X-CSRF-Token`` header that HTMX sends from ``<body>``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates

from procpilot.api.auth import COOKIE, Services, check_csrf, identify
from procpilot.api.resume import resume_after
from procpilot.api.schemas import RowId
from procpilot.api.sessions import set_cookie
from procpilot.domain.access import Permission, Principal
from procpilot.domain.errors import NotAuthenticated, TooManyAttempts, UserError
from procpilot.services.access.accounts import parse_roles
from procpilot.services.data.exports import FORMATS
from procpilot.services.packs import management as pack_service
from procpilot.web import STATIC, TEMPLATES
from procpilot.web.i18n import LANGUAGES, translator
from procpilot.web.rendering import markdown

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(TEMPLATES))
STREAM_SECONDS = 25.0
POLL_SECONDS = 0.4
EXPORT_FORMATS = tuple(FORMATS)


def _when(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value or "")


def _duration(seconds: Any) -> str:
    """45 s, 3 min 5 s, 2 h 10 min."""
    total = int(float(seconds or 0))
    if total < 60:
        return f"{total} s"
    if total < 3600:
        return f"{total // 60} min {total % 60} s"
    return f"{total // 3600} h {total % 3600 // 60} min"


templates.env.filters["when"] = _when
templates.env.filters["duration"] = _duration
templates.env.filters["markdown"] = markdown


class LoginRequired(Exception):
    """Raised by pages for an anonymous visitor; answered with a redirect to the login page."""


async def person(request: Request) -> Principal:
    try:
        found = await identify(request)
    except NotAuthenticated:
        found = None
    if found is None:
        raise LoginRequired
    await check_csrf(request)
    return found


def render(
    request: Request, name: str, who: Principal | None, status: int = 200, **context: Any
) -> HTMLResponse:
    language = who.language if who else request.cookies.get("procpilot_language", "en")
    return templates.TemplateResponse(
        request,
        name,
        {
            "who": who,
            "t": translator(language),
            "language": language,
            "languages": LANGUAGES,
            "csrf": getattr(request.state, "csrf_token", "") or "",
            "can": (lambda p: who is not None and who.can(Permission(p))),
            **context,
        },
        status_code=status,
    )


def error_page(request: Request, status: int, detail: str) -> Response:
    if status == 401:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    who = getattr(request.state, "principal", None)
    return render(request, "error.html", who, status=status, detail=detail)


def back(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


@router.get("/api/docs", response_class=HTMLResponse, include_in_schema=False)
async def api_docs(request: Request) -> Response:
    """The API described by /openapi.json, readable in a browser (Swagger UI, served offline)."""
    return templates.TemplateResponse(request, "api_docs.html", {})


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response:
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


# -- logging in -------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    return back("/chat")


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "/chat") -> Response:
    return render(request, "login.html", None, next=next if next.startswith("/") else "/chat", failed=False)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    c: Services,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    tenant: Annotated[str, Form(max_length=64)] = "default",
    next: Annotated[str, Form(max_length=500)] = "/chat",
) -> Response:
    try:
        found = await run_in_threadpool(c.accounts.login, tenant, username, password)
    except TooManyAttempts as error:
        return render(
            request, "login.html", None, status=429, next=next, failed=True, tenant=tenant, detail=str(error)
        )
    except NotAuthenticated:
        return render(request, "login.html", None, status=401, next=next, failed=True, tenant=tenant)
    response = back(next if next.startswith("/") and not next.startswith("//") else "/chat")
    set_cookie(response, request, found, c.settings.cookie_secure)
    return response


@router.post("/logout")
async def logout(request: Request, c: Services) -> Response:
    await person(request)
    c.accounts.logout(request.cookies.get(COOKIE, ""))
    response = back("/login")
    response.delete_cookie(COOKIE, path="/")
    return response


@router.post("/language")
async def language(request: Request, c: Services, language: Annotated[str, Form(max_length=8)]) -> Response:
    who = await person(request)
    await run_in_threadpool(c.accounts.set_language, who, language)
    # Back to the page the person was on: its path only, never another site.
    came_from = urlsplit(request.headers.get("referer") or "")
    path = (
        came_from.path if came_from.path.startswith("/") and not came_from.path.startswith("//") else "/chat"
    )
    return back(path + (f"?{came_from.query}" if came_from.query else ""))


# -- chat -------------------------------------------------------------------------------------


@router.get("/chat", response_class=HTMLResponse)
async def chat_index(
    request: Request, c: Services, q: Annotated[str, Query(max_length=200)] = "", archived: bool = False
) -> Response:
    who = await person(request)
    mine = await run_in_threadpool(lambda: c.chats.listing(who, search=q, archived=archived))
    return render(
        request,
        "chat_index.html",
        who,
        packs=c.catalog.summary(),
        conversations=mine,
        q=q,
        archived=archived,
    )


@router.post("/chat")
async def chat_start(
    request: Request,
    c: Services,
    pack: Annotated[str, Form(max_length=100)],
    text: Annotated[str, Form(min_length=1, max_length=4000)],
) -> Response:
    who = await person(request)
    reply = await run_in_threadpool(lambda: c.chats.send(who, text=text, pack_id=pack, channel="web"))
    return back(f"/chat/{reply.conversation_id}")


@router.get("/chat/{conversation_id}", response_class=HTMLResponse)
async def chat_page(request: Request, conversation_id: str, c: Services) -> Response:
    who = await person(request)
    history = await run_in_threadpool(c.chats.history, who, conversation_id)
    waiting = await run_in_threadpool(c.chats.waiting, who, conversation_id)
    helper = await run_in_threadpool(c.chats.with_person, who, conversation_id)
    last = history["messages"][-1]["id"] if history["messages"] else 0
    return render(request, "chat.html", who, conversation=history, waiting=waiting, person=helper, last=last)


@router.post("/chat/{conversation_id}/messages")
async def chat_send(
    request: Request,
    conversation_id: str,
    c: Services,
    text: Annotated[str, Form(min_length=1, max_length=4000)],
) -> Response:
    who = await person(request)
    await run_in_threadpool(
        lambda: c.chats.send(who, text=text, conversation_id=conversation_id, channel="web")
    )
    if request.headers.get("hx-request"):
        return Response(status_code=204)  # the replies arrive through the page's event stream
    return back(f"/chat/{conversation_id}")


def sse_html(event: str, html: str, event_id: int | None = None) -> str:
    data = "".join(f"data: {line}\n" for line in html.strip().splitlines()) or "data: \n"
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\n{data}\n"


@router.get("/chat/{conversation_id}/stream")
async def chat_stream(
    request: Request, conversation_id: str, c: Services, after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0
) -> Response:
    """New messages as HTML fragments, and the waiting-for-approval banner when it changes."""
    who = await person(request)
    seen = resume_after(request.headers.get("last-event-id"), after)
    await run_in_threadpool(c.chats.require_readable, who, conversation_id)
    t = translator(who.language)
    message_template = templates.get_template("_message.html")
    banner_template = templates.get_template("_waiting.html")

    async def events() -> AsyncIterator[str]:
        nonlocal seen
        loop = asyncio.get_running_loop()
        until = loop.time() + STREAM_SECONDS
        banner = None
        yield "retry: 1000\n\n"
        while loop.time() < until and not await request.is_disconnected():
            found = await run_in_threadpool(c.chats.history, who, conversation_id, seen)
            for message in found["messages"]:
                seen = message["id"]
                yield sse_html("message", message_template.render(m=message, t=t), message["id"])
            waiting = await run_in_threadpool(c.chats.waiting, who, conversation_id)
            helper = await run_in_threadpool(c.chats.with_person, who, conversation_id)
            html = banner_template.render(waiting=waiting, person=helper, flows=found["active_flows"], t=t)
            if html != banner:
                banner = html
                yield sse_html("status", html)
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


@router.post("/chat/{conversation_id}/feedback/{message_id}")
async def chat_rate(
    request: Request,
    conversation_id: str,
    message_id: RowId,
    c: Services,
    rating: Annotated[str, Form(pattern="^(up|down)$")],
    reason: Annotated[str | None, Form(max_length=32)] = None,
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    who = await person(request)
    await run_in_threadpool(
        c.collection.rate, who, conversation_id, message_id, rating, reason or None, comment
    )
    return Response(status_code=204)


# -- review and datasets ----------------------------------------------------------------------


@router.get("/review", response_class=HTMLResponse)
async def review_index(request: Request, c: Services) -> Response:
    who = await person(request)
    queues = await run_in_threadpool(c.reviews.queues, who)
    return render(request, "review_index.html", who, queues=queues)


@router.get("/review/{queue_id}", response_class=HTMLResponse)
async def review_next(request: Request, queue_id: str, c: Services) -> Response:
    """The next item of the queue, leased to the reviewer (the one they hold, if any)."""
    who = await person(request)
    queue = await run_in_threadpool(c.reviews.queue, who, queue_id)
    item = await run_in_threadpool(c.reviews.next_item, who, queue_id)
    flows: list[str] = []
    if item is not None and item["turn"]["pack"] in c.catalog.packs:
        flows = [f["id"] for f in pack_service.describe(c.catalog, item["turn"]["pack"])["flows"]]
    return render(request, "review.html", who, queue=queue, item=item, flows=flows)


@router.post("/review/items/{item_id}")
async def review_submit(request: Request, item_id: RowId, c: Services) -> Response:
    """A reviewer's answer from the review page: the label, corrected slots and commands, the
    reply as it should have been; only what the reviewer changed is a correction."""
    who = await person(request)
    form = await request.form()
    item = await run_in_threadpool(c.reviews.item, who, item_id)
    verdict = str(form.get("verdict") or "submit")
    answer: dict[str, Any] = {}
    if form.get("intent"):
        answer["intent"] = str(form["intent"])
    turn = item["turn"]
    slots = {
        key[len("slot:") :]: str(value)
        for key, value in form.multi_items()
        if key.startswith("slot:") and str(value) != str(turn["slots"].get(key[len("slot:") :], ""))
    }
    if slots:
        answer["slots"] = slots
    reply = str(form.get("reply") or "").strip()
    if reply and reply != "\n".join(r["text"] for r in turn["replies"]).strip():
        answer["reply"] = reply
    commands = str(form.get("commands") or "").strip()
    if commands:
        try:
            parsed = json.loads(commands)
        except json.JSONDecodeError as error:
            raise UserError(f"the commands are not JSON: {error}") from None
        if parsed != turn["commands"]:
            answer["commands"] = parsed
    if str(form.get("note") or "").strip():
        answer["note"] = str(form["note"]).strip()
    await run_in_threadpool(c.reviews.review, who, item_id, verdict, answer)
    return back(f"/review/{item['queue']['id']}")


@router.get("/datasets", response_class=HTMLResponse)
async def datasets_page(request: Request, c: Services) -> Response:
    who = await person(request)
    versions = await run_in_threadpool(c.datasets.versions, who, None)
    return render(request, "datasets.html", who, versions=versions[::-1], formats=EXPORT_FORMATS,
                  packs=sorted(c.catalog.packs))  # fmt: skip


@router.post("/datasets")
async def datasets_build(
    request: Request,
    c: Services,
    name: Annotated[str, Form(min_length=1, max_length=100)],
    pack: Annotated[str, Form(max_length=100)] = "",
    reviewed_only: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    who = await person(request)
    query = {"packs": [pack] if pack else [], "reviewed_only": bool(reviewed_only)}
    await run_in_threadpool(c.datasets.build, who, name, query)
    return back("/datasets")


# -- documents --------------------------------------------------------------------------------


@router.get("/knowledge/{collection}/documents/{document_id}", response_class=HTMLResponse)
async def document_page(request: Request, collection: str, document_id: RowId, c: Services) -> Response:
    """A cited document as a person reads it; a citation opens it at its passage."""
    who = await person(request)
    found = await run_in_threadpool(c.knowledge.document, who.tenant, collection, document_id, who.roles)
    return render(request, "document.html", who, document=found, collection=collection)


# -- models -----------------------------------------------------------------------------------


@router.get("/models", response_class=HTMLResponse)
async def models_page(request: Request, c: Services) -> Response:
    """Training jobs with their progress, model versions with their figures, promotion."""
    who = await person(request)
    jobs = await run_in_threadpool(c.training.jobs, who)
    listed = await run_in_threadpool(c.training.versions, who, None)
    versions = [await run_in_threadpool(c.training.version, who, v["id"]) for v in listed]
    datasets = await run_in_threadpool(c.datasets.versions, who, None) if who.can(Permission.CURATE) else []
    running = any(j["status"] in ("queued", "running") for j in jobs)
    return render(request, "models.html", who, jobs=jobs, versions=versions, datasets=datasets[::-1],
                  packs=sorted(c.catalog.packs), running=running)  # fmt: skip


@router.post("/models/jobs")
async def models_train(
    request: Request,
    c: Services,
    pack: Annotated[str, Form(min_length=1, max_length=100)],
    dataset: Annotated[str, Form(min_length=1, max_length=100)],
    steps: Annotated[int, Form(ge=1, le=10000)] = 60,
    run_tests: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Start a training job; it runs on the worker, and the page follows it."""
    who = await person(request)
    settings = {"steps": steps}
    await run_in_threadpool(
        lambda: c.training.create_job(who, pack, dataset, settings=settings, run_tests=bool(run_tests))
    )
    return back("/models")


@router.post("/models/rollback")
async def models_rollback(
    request: Request,
    c: Services,
    pack: Annotated[str, Form(min_length=1, max_length=100)],
    use: Annotated[str, Form(min_length=1, max_length=32)] = "commands",
) -> Response:
    who = await person(request)
    await run_in_threadpool(c.training.rollback, who, pack, use)
    return back("/models")


@router.post("/models/{version_id}/promote")
async def models_promote(request: Request, version_id: str, c: Services) -> Response:
    who = await person(request)
    await run_in_threadpool(c.training.promote, who, version_id)
    return back("/models")


@router.post("/models/{version_id}/reject")
async def models_reject(
    request: Request, version_id: str, c: Services, reason: Annotated[str, Form(min_length=1, max_length=500)]
) -> Response:
    who = await person(request)
    await run_in_threadpool(c.training.reject, who, version_id, reason)
    return back("/models")


# -- approvals --------------------------------------------------------------------------------


@router.get("/approvals", response_class=HTMLResponse)
async def approvals_page(request: Request, c: Services) -> Response:
    who = await person(request)
    pending = await run_in_threadpool(c.approvals.inbox, who, "pending")
    everything = await run_in_threadpool(c.approvals.inbox, who, None)
    decided = [task for task in everything if task["status"] != "pending"][-20:][::-1]
    return render(request, "approvals.html", who, pending=pending, decided=decided)


@router.get("/approvals/count", response_class=HTMLResponse)
async def approvals_count(request: Request, c: Services) -> Response:
    """The badge on Approvals: how many tasks wait for this person (nothing when none)."""
    who = await person(request)
    pending = await run_in_threadpool(c.approvals.inbox, who, "pending")
    label = translator(who.language)("pending_tasks")
    html = f'<span class="count" title="{len(pending)} {label}">{len(pending)}</span>' if pending else ""
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.post("/approvals/{approval_id}")
async def approvals_decide(
    request: Request,
    approval_id: str,
    c: Services,
    outcome: Annotated[str, Form(pattern="^(approved|rejected|changes_requested)$")],
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    who = await person(request)
    await run_in_threadpool(c.approvals.decide_as, who, approval_id, outcome, comment)
    return back("/approvals")


# -- processes --------------------------------------------------------------------------------


@router.get("/processes", response_class=HTMLResponse)
async def processes_page(request: Request, c: Services) -> Response:
    who = await person(request)
    instances = await run_in_threadpool(c.instances.listing, who)
    return render(request, "processes.html", who, instances=instances)


@router.get("/processes/{instance_id:path}", response_class=HTMLResponse)
async def timeline_page(request: Request, instance_id: str, c: Services) -> Response:
    who = await person(request)
    found = await run_in_threadpool(c.instances.timeline, who, instance_id)
    return render(request, "timeline.html", who, instance=found)


@router.post("/cancel/{instance_id:path}")
async def cancel_instance(request: Request, instance_id: str, c: Services) -> Response:
    who = await person(request)
    await run_in_threadpool(c.instances.cancel, who, instance_id)
    return back(f"/processes/{instance_id}")


# -- packs ------------------------------------------------------------------------------------


@router.get("/packs", response_class=HTMLResponse)
async def packs_page(request: Request, c: Services) -> Response:
    who = await person(request)
    return render(request, "packs.html", who, packs=c.catalog.summary())


@router.get("/packs/{pack_id}", response_class=HTMLResponse)
async def pack_page(request: Request, pack_id: str, c: Services) -> Response:
    who = await person(request)
    described = pack_service.describe(c.catalog, pack_id)
    diagrams = {f["id"]: pack_service.diagram(c.catalog, pack_id, f["id"]) for f in described["flows"]}
    return render(request, "pack.html", who, pack=described, diagrams=diagrams)


# -- administration ---------------------------------------------------------------------------


@router.get("/admin", response_class=HTMLResponse)
async def admin_home(request: Request) -> Response:
    return back("/admin/users")


@router.get("/admin/users", response_class=HTMLResponse)
async def users_page(request: Request, c: Services) -> Response:
    who = await person(request)
    users = await run_in_threadpool(c.accounts.users, who)
    return render(request, "admin_users.html", who, users=users)


@router.post("/admin/users")
async def users_create(
    request: Request,
    c: Services,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1000)],
    roles: Annotated[str, Form(max_length=500)] = "agent_user",
    user_id: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    who = await person(request)
    await run_in_threadpool(
        lambda: c.accounts.create_user(
            who,
            username=username,
            user_id=user_id or None,
            password=password,
            roles=parse_roles(roles),
            display_name=display_name,
        )
    )
    return back("/admin/users")


@router.post("/admin/users/{user_id}")
async def users_change(
    request: Request,
    user_id: str,
    c: Services,
    roles: Annotated[str, Form(max_length=500)],
    active: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    who = await person(request)
    await run_in_threadpool(
        lambda: c.accounts.update_user(who, user_id, roles=parse_roles(roles), active=bool(active))
    )
    return back("/admin/users")


@router.get("/admin/roles", response_class=HTMLResponse)
async def roles_page(request: Request, c: Services) -> Response:
    who = await person(request)
    return render(request, "admin_roles.html", who, roles=await run_in_threadpool(c.accounts.roles, who))


@router.get("/admin/tenants", response_class=HTMLResponse)
async def tenants_page(request: Request, c: Services) -> Response:
    who = await person(request)
    return render(
        request, "admin_tenants.html", who, tenants=await run_in_threadpool(c.accounts.tenants, who)
    )


@router.post("/admin/tenants")
async def tenants_create(
    request: Request,
    c: Services,
    tenant_id: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=200)],
    admin_username: Annotated[str, Form(max_length=64)],
    admin_password: Annotated[str, Form(max_length=1000)],
) -> Response:
    who = await person(request)
    await run_in_threadpool(c.accounts.create_tenant, who, tenant_id, name, admin_username, admin_password)
    return back("/admin/tenants")


@router.get("/admin/keys", response_class=HTMLResponse)
async def keys_page(request: Request, c: Services) -> Response:
    who = await person(request)
    return render(
        request, "admin_keys.html", who, keys=await run_in_threadpool(c.accounts.keys, who), new=None
    )


@router.post("/admin/keys", response_class=HTMLResponse)
async def keys_create(
    request: Request,
    c: Services,
    name: Annotated[str, Form(max_length=200)],
    roles: Annotated[str, Form(max_length=500)] = "agent_user",
) -> Response:
    who = await person(request)
    created = await run_in_threadpool(c.accounts.create_key, who, name, parse_roles(roles))
    keys = await run_in_threadpool(c.accounts.keys, who)
    return render(request, "admin_keys.html", who, keys=keys, new=created)


@router.post("/admin/keys/{key_id}/revoke")
async def keys_revoke(request: Request, key_id: str, c: Services) -> Response:
    who = await person(request)
    await run_in_threadpool(c.accounts.revoke_key, who, key_id)
    return back("/admin/keys")


def install(app: Any) -> None:
    """Pages answer errors with a page (or the login page), not problem+json."""

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(
        ("/api/", "/v1/", "/static/")
    ) and "text/html" in request.headers.get("accept", "")
