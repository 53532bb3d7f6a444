"""The process engine on DBOS Transact: durable workflows in SQLite or PostgreSQL.

One DBOS workflow, ``procpilot.process``, runs every process body (looked up by kind in the
registry), so recovery after a crash finds the body by name. Steps go through two DBOS steps, one
without and one with retries (exponential back-off), so their results are recorded and replayed.
DBOS is one instance per Python process: ``DBOSEngine.launch`` creates it, ``close`` destroys it.

Recovery of another executor's processes uses only DBOS's public calls: the pending workflows of an
executor are listed and resumed here (``recover``); deciding that an executor is dead is the
worker lease's job (``procpilot.services.processes.workers``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from dbos import DBOS, DBOSConfig, SetWorkflowID

from procpilot.engine.processes import Registry

_registry = Registry()
_lock = threading.Lock()


def registry() -> Registry:
    """The registry DBOS consults; services register their process bodies and steps here."""
    return _registry


class _Context:
    """ProcessContext inside a DBOS workflow."""

    def step(self, name: str, *args: Any) -> Any:
        if name in _registry.retried:
            return _retried_step(name, list(args))
        return _step(name, list(args))

    def wait(self, topic: str, timeout_seconds: float) -> Any | None:
        return DBOS.recv(topic, timeout_seconds=timeout_seconds)

    def sleep(self, seconds: float) -> None:
        DBOS.sleep(seconds)

    def publish(self, status: str) -> None:
        DBOS.set_event("status", status)


@DBOS.workflow(name="procpilot.process")
def _process(kind: str, payload: dict[str, Any]) -> Any:
    return _registry.processes[kind](_Context(), **payload)


@DBOS.step(name="procpilot.step")
def _step(name: str, args: list[Any]) -> Any:
    return _registry.steps[name](*args)


@DBOS.step(
    name="procpilot.retried_step",
    retries_allowed=True,
    interval_seconds=0.5,
    max_attempts=5,
    backoff_rate=2.0,
)
def _retried_step(name: str, args: list[Any]) -> Any:
    return _registry.steps[name](*args)


def _outside_processes(call: Callable[[], None]) -> None:
    """Run ``call`` as if from outside every process.

    A step may start processes (an approval expires, its flow escalates to another approval with a
    deadline of its own; a timer fires and the retried call fails again), but DBOS refuses to
    start or signal a workflow from inside a step. Its context lives in a context variable, which a
    new thread does not inherit: there the call is an ordinary, top-level one. The keys are
    deterministic, so a step replayed after a crash starts nothing twice.
    """
    if DBOS.workflow_id is None:
        call()
        return
    failure: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as error:  # handed back to the calling thread
            failure.append(error)

    thread = threading.Thread(target=run, name="procpilot-start")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


class DBOSEngine:
    """``system_database_url``: a SQLAlchemy URL (``sqlite:///...`` or ``postgresql+psycopg://...``)."""

    def __init__(self, *, system_database_url: str, executor_id: str, application_version: str = "1") -> None:
        self.executor_id = executor_id
        self.config: DBOSConfig = {
            "name": "procpilot",
            "system_database_url": system_database_url,
            "executor_id": executor_id,
            "application_version": application_version,
        }
        self.launched = False

    def launch(self) -> None:
        """Start DBOS in this process; it recovers this executor's unfinished processes."""
        with _lock:
            DBOS(config=self.config)
            DBOS.launch()
            self.launched = True

    def close(self) -> None:
        with _lock:
            if self.launched:
                DBOS.destroy(destroy_registry=False)
                self.launched = False

    def start(self, kind: str, key: str, **payload: Any) -> None:
        if kind not in _registry.processes:
            raise KeyError(f"no process kind {kind!r}")

        def start() -> None:
            with SetWorkflowID(key):
                DBOS.start_workflow(_process, kind, payload)

        _outside_processes(start)

    def signal(self, key: str, topic: str, message: Any) -> None:
        _outside_processes(lambda: DBOS.send(key, message, topic))

    def status(self, key: str) -> str | None:
        value = DBOS.get_event(key, "status", timeout_seconds=0)
        return None if value is None else str(value)

    def outcome(self, key: str) -> str | None:
        """DBOS's status of a process: PENDING, SUCCESS, ERROR, ... (None if unknown)."""
        found = DBOS.list_workflows(workflow_ids=[key], load_input=False, load_output=False)
        return found[0].status if found else None

    def recover(self, executor_id: str, on_progress: Callable[[], None] | None = None) -> list[str]:
        """Resume, here, the unfinished processes of an executor known to be dead.

        ``on_progress`` is called every 50 processes (the worker renews its claim with it).
        """
        pending = DBOS.list_workflows(
            status=["PENDING", "ENQUEUED"], executor_id=executor_id, load_input=False, load_output=False
        )
        for index, workflow in enumerate(pending, start=1):
            DBOS.resume_workflow(workflow.workflow_id)
            if on_progress is not None and index % 50 == 0:
                on_progress()
        return [w.workflow_id for w in pending]
