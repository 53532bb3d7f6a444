"""``procpilot bench api``: conversation messages over HTTP against calling the service in-process.

Each virtual person logs in and claims an expense in the workplace pack (six messages, two tool
calls, an approval requested); N people do it at once. The same conversations run through
``ConversationService`` directly, alternating with the HTTP rounds, so the ratio shows what the
HTTP layer (auth, CSRF, middleware, JSON, uvicorn) costs on this machine. The clients run in
the same process as the server (threads sharing one interpreter), so the HTTP figures include the
clients' own work.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from procpilot.api.app import create_app
from procpilot.bench.report import Figures, percentile
from procpilot.bench.serving import LocalServer
from procpilot.services.platform.container import Container, build
from procpilot.services.platform.settings import Settings

MESSAGES = ("I want to claim an expense", "120 euros", "travel", "yesterday", "Taxi Berlin", "yes")
PASSWORD = "bench-password"


def _logged_in(url: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60)
    login = client.post("/api/session", json={"username": username, "password": PASSWORD})
    login.raise_for_status()
    client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    return client


def _over_http(client: httpx.Client) -> list[float]:
    took = []
    conversation = None
    for text in MESSAGES:
        started = time.perf_counter()
        if conversation is None:
            response = client.post("/api/conversations", json={"pack": "workplace", "text": text})
        else:
            response = client.post(f"/api/conversations/{conversation}/messages", json={"text": text})
        response.raise_for_status()
        took.append(time.perf_counter() - started)
        conversation = response.json()["conversation_id"]
    return took


def _in_process(container: Container, user: str) -> list[float]:
    took = []
    conversation = None
    for text in MESSAGES:
        started = time.perf_counter()
        reply = container.conversations.handle(
            tenant="default", pack_id="workplace", conversation_id=conversation, text=text, user_id=user
        )
        took.append(time.perf_counter() - started)
        conversation = reply.conversation_id
    return took


def run(
    packs_dir: Path, concurrency: list[int], people: int, rounds: int, progress: Callable[[str], None]
) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="procpilot-bench-api-"))
    (root / "packs").mkdir()
    (root / "packs" / "workplace").symlink_to((packs_dir / "workplace").resolve())
    settings = Settings(data_dir=root / "data", packs_dir=root / "packs")
    container = build(settings)
    container.prepare()
    # Employees e007-e060 exist in the workplace pack; each virtual person is one of them.
    users = [f"e{n:03d}" for n in range(7, 7 + people)]
    for user in users:
        container.accounts.ensure_account("default", user, PASSWORD, ("agent_user",), user_id=user)
    results: dict[str, dict[int, list[float]]] = {"http": {}, "in-process": {}}
    walls: dict[str, dict[int, float]] = {"http": {}, "in-process": {}}
    try:
        with LocalServer(create_app(settings, container)) as url:
            # Log-ins (scrypt) happen before the clock starts: the figures are messages only.
            clients = {user: _logged_in(url, user) for user in users}
            for round_number in range(rounds):
                for level in concurrency:
                    for path in ("http", "in-process"):
                        progress(f"round {round_number + 1}/{rounds}: {path}, {level} at once")
                        work: Callable[[str], list[float]] = (
                            (lambda u: _over_http(clients[u]))
                            if path == "http"
                            else (lambda u: _in_process(container, u))
                        )
                        started = time.perf_counter()
                        with ThreadPoolExecutor(max_workers=level) as pool:
                            took = [t for batch in pool.map(work, users) for t in batch]
                        walls[path][level] = walls[path].get(level, 0.0) + time.perf_counter() - started
                        results[path].setdefault(level, []).extend(took)
            for client in clients.values():
                client.close()
    finally:
        container.close()
    report: dict[str, Any] = {
        "people": people,
        "messages_per_person": len(MESSAGES),
        "rounds": rounds,
        "paths": {},
    }
    for path, levels in results.items():
        report["paths"][path] = {
            level: {
                "messages": len(took),
                "messages_per_s": round(len(took) / walls[path][level], 1),
                "p50_ms": round(statistics.median(took) * 1000, 1),
                "p95_ms": round(percentile(took, 0.95) * 1000, 1),
            }
            for level, took in levels.items()
        }
    report["http_over_in_process"] = {
        level: round(
            report["paths"]["in-process"][level]["messages_per_s"]
            / report["paths"]["http"][level]["messages_per_s"],
            2,
        )
        for level in concurrency
    }
    return report


def figures(report: dict[str, Any]) -> Figures:
    table = Figures(
        f"workplace expense claims: {report['people']} people x {report['messages_per_person']} messages,"
        f" {report['rounds']} rounds",
        ["path", "at once", "messages", "msg/s", "p50 ms", "p95 ms"],
    )
    for path, levels in report["paths"].items():
        for level, row in levels.items():
            table.add(path, level, row["messages"], row["messages_per_s"], row["p50_ms"], row["p95_ms"])
    ratios = ", ".join(
        f"{level} at once: {ratio}x" for level, ratio in report["http_over_in_process"].items()
    )
    table.notes.append(f"in-process messages/s over HTTP messages/s: {ratios}")
    return table
