"""``Metrics``: Prometheus metrics of the service.

HTTP requests and their latency are counted by the process that serves them. Business figures
(conversations, flows started and completed, tool calls and failures, approvals pending, model
tokens) are read from the database at scrape time, so they are right whichever process or worker
did the work, and survive restarts.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector

from procpilot.storage.database import Database
from procpilot.storage.metrics import totals

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Records(Collector):
    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[Metric]:
        with self.database.transaction() as c:
            found = totals(c)
        conversations = CounterMetricFamily(
            "procpilot_conversations", "Conversations started", labels=["tenant"]
        )
        for labels, value in found["conversations"]:
            conversations.add_metric([labels["tenant"]], value)
        yield conversations
        started = CounterMetricFamily("procpilot_flows_started", "Flow instances started", labels=["tenant"])
        completed = CounterMetricFamily(
            "procpilot_flows_completed", "Flow instances completed", labels=["tenant"]
        )
        by_status = GaugeMetricFamily(
            "procpilot_flows", "Flow instances by status", labels=["tenant", "status"]
        )
        per_tenant: dict[str, float] = {}
        for labels, value in found["flows"]:
            per_tenant[labels["tenant"]] = per_tenant.get(labels["tenant"], 0) + value
            by_status.add_metric([labels["tenant"], labels["status"]], value)
            if labels["status"] == "completed":
                completed.add_metric([labels["tenant"]], value)
        for tenant, value in per_tenant.items():
            started.add_metric([tenant], value)
        yield from (started, completed, by_status)
        calls = CounterMetricFamily(
            "procpilot_tool_calls", "Tool calls by outcome", labels=["tenant", "status"]
        )
        failures = CounterMetricFamily(
            "procpilot_tool_failures", "Tool calls that failed or timed out", labels=["tenant"]
        )
        failed: dict[str, float] = {}
        for labels, value in found["tool_calls"]:
            calls.add_metric([labels["tenant"], labels["status"]], value)
            if labels["status"] != "ok":
                failed[labels["tenant"]] = failed.get(labels["tenant"], 0) + value
        for tenant, value in failed.items():
            failures.add_metric([tenant], value)
        yield from (calls, failures)
        pending = GaugeMetricFamily(
            "procpilot_approvals_pending", "Approval tasks waiting for a person", labels=["tenant"]
        )
        for labels, value in found["approvals_pending"]:
            pending.add_metric([labels["tenant"]], value)
        yield pending
        queue = GaugeMetricFamily(
            "procpilot_handoffs_waiting", "Conversations waiting for a human agent", labels=["tenant"]
        )
        for labels, value in found["handoffs_waiting"]:
            queue.add_metric([labels["tenant"]], value)
        oldest = GaugeMetricFamily(
            "procpilot_handoff_oldest_wait_seconds",
            "How long the longest-waiting conversation has waited for a human agent",
            labels=["tenant"],
        )
        for labels, value in found["handoff_oldest_wait"]:
            oldest.add_metric([labels["tenant"]], value)
        waits = SummaryMetricFamily(
            "procpilot_handoff_wait_seconds",
            "Seconds from a handoff to an agent taking the conversation",
            labels=["tenant"],
        )
        counts = dict((labels["tenant"], value) for labels, value in found["handoff_wait_count"])
        for labels, value in found["handoff_wait_sum"]:
            waits.add_metric(
                [labels["tenant"]], count_value=int(counts.get(labels["tenant"], 0)), sum_value=value
            )
        yield from (queue, oldest, waits)
        tokens = CounterMetricFamily(
            "procpilot_model_tokens", "Language-model tokens", labels=["tenant", "kind"]
        )
        for labels, value in found["model_tokens"]:
            tokens.add_metric([labels["tenant"], labels["kind"]], value)
        yield tokens


class Metrics:
    """One registry per app (tests build many apps in one process)."""

    def __init__(self, database: Database) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "procpilot_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "procpilot_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.registry.register(_Records(database))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
