"""The runtime port for processes that wait or retry: what a durable engine must offer.

A *process* is a function ``body(ctx, **payload)`` registered under a kind. It may only touch the
world through ``ctx``: ``step`` runs a registered side effect once (its result is recorded and
replayed after a crash), ``wait`` waits for a signal with a time-out (the deadline survives
restarts), ``sleep`` sleeps durably, ``publish`` makes a status readable from outside. Anything else
in the body must be deterministic, because a recovered process runs its body again from the top and
replays what was recorded.

``ProcessEngine`` starts processes (once per key) and signals them. DBOS implements it
(``procpilot.engine.dbos_engine``); another engine could be added behind the same port.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class ProcessContext(Protocol):
    def step(self, name: str, *args: Any) -> Any:
        """Run the step registered as ``name`` once; a replay returns the recorded result."""

    def wait(self, topic: str, timeout_seconds: float) -> Any | None:
        """The next signal on ``topic``, or None when ``timeout_seconds`` pass first."""

    def sleep(self, seconds: float) -> None: ...

    def publish(self, status: str) -> None: ...


ProcessBody = Callable[..., Any]
StepFunction = Callable[..., Any]


class ProcessEngine(Protocol):
    def start(self, kind: str, key: str, **payload: Any) -> None:
        """Start a process of ``kind``; starting an existing ``key`` again does nothing."""

    def signal(self, key: str, topic: str, message: Any) -> None: ...

    def status(self, key: str) -> str | None:
        """The last published status, or None for an unknown key."""

    def outcome(self, key: str) -> str | None:
        """Whether the process is PENDING (or ENQUEUED), SUCCESS or ERROR; None for an unknown key."""


class Registry:
    """Process bodies and steps by name; the engine looks them up when it runs or recovers."""

    def __init__(self) -> None:
        self.processes: dict[str, ProcessBody] = {}
        self.steps: dict[str, StepFunction] = {}
        self.retried: set[str] = set()

    def process(self, kind: str, body: ProcessBody) -> None:
        self.processes[kind] = body

    def step(self, name: str, function: StepFunction, *, retried: bool = False) -> None:
        """``retried``: a failing step is tried again with exponential back-off (five attempts)."""
        self.steps[name] = function
        if retried:
            self.retried.add(name)
