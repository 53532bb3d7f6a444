"""HTTP tools declared in YAML, against a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from procpilot.domain.flows import HttpToolSpec
from procpilot.tools.http import http_tool
from procpilot.tools.runner import ToolRunner

SEEN: list[dict[str, Any]] = []


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        SEEN.append({"path": self.path, "headers": dict(self.headers)})
        if self.path.startswith("/slow"):
            time.sleep(1.0)
            self._answer(200, {})
            return
        if self.path.startswith("/broken"):
            self._answer(500, {"error": "boom"})
            return
        self._answer(
            200, {"order": {"id": self.path.split("/")[2].split("?")[0], "status": "shipped"}, "n": 2}
        )

    def do_POST(self) -> None:
        length = int(self.headers["content-length"])
        body = json.loads(self.rfile.read(length))
        SEEN.append({"path": self.path, "headers": dict(self.headers), "body": body})
        self._answer(201, {"ticket": "T-1", "echo": body})


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def runner(*specs: HttpToolSpec, secrets: dict[str, str] | None = None) -> ToolRunner:
    return ToolRunner(tools={s.name: http_tool(s) for s in specs}, secrets=secrets or {})


def call(r: ToolRunner, name: str, args: dict[str, Any]) -> Any:
    return r.call(name, args, tenant="t", conversation_id="c", user_id=None, idempotency_key="idem-1")


def test_get_with_url_template_query_and_response_mapping(server: str) -> None:
    spec = HttpToolSpec(
        name="order",
        description="",
        method="GET",
        url=server + "/orders/{order_id}",
        params={"order_id": {"type": "string"}},
        query={"verbose": "yes"},
        response={"status": "response.order.status", "count": "response.n * 10"},
    )
    outcome = call(runner(spec), "order", {"order_id": "#W1 2"})
    assert outcome.ok and outcome.result == {"status": "shipped", "count": 20}
    assert SEEN[-1]["path"] == "/orders/%23W1%202?verbose=yes"


def test_post_sends_body_auth_and_idempotency_key(server: str) -> None:
    spec = HttpToolSpec(
        name="ticket",
        description="",
        method="POST",
        url=server + "/tickets",
        writes=True,
        params={"title": {"type": "string"}, "priority": {"type": "integer"}},
        body={"title": "{title}", "priority": "{priority}", "source": "procpilot {title}"},
        auth={"type": "bearer", "secret": "helpdesk"},
    )
    outcome = call(runner(spec, secrets={"helpdesk": "s3cret"}), "ticket", {"title": "Help", "priority": 2})
    assert outcome.ok and outcome.result["ticket"] == "T-1"
    seen = SEEN[-1]
    assert seen["body"] == {"title": "Help", "priority": 2, "source": "procpilot Help"}
    assert seen["headers"]["Authorization"] == "Bearer s3cret"
    assert seen["headers"]["Idempotency-Key"] == "idem-1"


def test_a_missing_secret_names_the_variable(server: str) -> None:
    spec = HttpToolSpec(
        name="t",
        description="",
        method="GET",
        url=server + "/orders/1",
        auth={"type": "bearer", "secret": "crm"},
    )
    outcome = call(runner(spec), "t", {})
    assert not outcome.ok and "PROCPILOT_SECRET_CRM" in outcome.detail


def test_server_errors_and_timeouts_are_reported(server: str) -> None:
    broken = HttpToolSpec(name="broken", description="", method="GET", url=server + "/broken")
    slow = HttpToolSpec(name="slow", description="", method="GET", url=server + "/slow", timeout=0.2)
    r = runner(broken, slow)
    failed = call(r, "broken", {})
    assert not failed.ok and "answered 500" in failed.detail
    timed = call(r, "slow", {})
    assert not timed.ok and timed.timed_out


def test_a_closed_port_is_a_clear_failure() -> None:
    spec = HttpToolSpec(name="down", description="", method="GET", url="http://127.0.0.1:9/x", timeout=1)
    outcome = call(runner(spec), "down", {})
    assert not outcome.ok and "GET http://127.0.0.1:9/x failed" in outcome.detail
