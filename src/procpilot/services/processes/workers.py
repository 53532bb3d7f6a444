"""A worker: runs durable processes and keeps a lease, so live workers resume a dead one's work.

DBOS recovers a restarted executor's own processes, but leaves recovering a dead executor's to a
paid service. Here every worker renews a lease row every ``lease_seconds / 3`` from a thread of its
own (so long work never delays it) and looks for leases older than ``lease_seconds``: it claims one
(a conditional update that exactly one claimer wins) and resumes that executor's pending processes.
A live worker is never declared dead while its heartbeat thread runs; a worker that finds its own
lease gone (it stalled longer than the lease) stops at once, because another worker owns its work now.

Workers also finish conversations whose process died in the middle of an effect (status "working"
for longer than ``stalled_seconds``): the tool call replays from its idempotency record; fire
timers that no process watched; and start the packs' scheduled flows when they are due.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

import structlog

from procpilot.domain.errors import ProcpilotError, StateConflict
from procpilot.services.platform.container import Container
from procpilot.storage.conversations import stalled
from procpilot.storage.workers import LeaseRepository

log = structlog.get_logger(__name__)

SCHEDULE_TICK_SECONDS = 1.0


class LeaseLost(RuntimeError):
    pass


class Worker:
    def __init__(
        self,
        container: Container,
        executor_id: str,
        *,
        lease_seconds: float | None = None,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self.container = container
        self.executor_id = executor_id
        self.lease_seconds = lease_seconds or container.settings.lease_seconds
        self.on_lost = on_lost
        self.lost = False
        self.recovered: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._finisher: threading.Thread | None = None
        self._scheduler: threading.Thread | None = None

    def start(self) -> None:
        with self.container.database.transaction() as c:
            LeaseRepository(c).register(self.executor_id)
        self.container.start_processes(self.executor_id)
        self._thread = threading.Thread(target=self._run, name=f"lease-{self.executor_id}", daemon=True)
        self._thread.start()
        # Finishing stalled conversations runs tools: never in the heartbeat's thread.
        self._finisher = threading.Thread(target=self._finish_loop, name="finish-stalled", daemon=True)
        self._finisher.start()
        self._scheduler = threading.Thread(target=self._schedule_loop, name="schedules", daemon=True)
        self._scheduler.start()
        log.info("worker.started", executor=self.executor_id, lease_seconds=self.lease_seconds)

    def _run(self) -> None:
        interval = self.lease_seconds / 3
        while not self._stop.wait(interval):
            try:
                self.tick()
            except LeaseLost:
                log.error("worker.lease_lost", executor=self.executor_id)
                self.lost = True
                if self.on_lost:
                    self.on_lost()
                return
            except Exception as error:  # a database hiccup: try again next beat
                log.warning("worker.beat_failed", executor=self.executor_id, error=str(error))

    def tick(self) -> list[str]:
        """One heartbeat, then take over any dead worker; returns the processes resumed."""
        with self.container.database.transaction() as c:
            if not LeaseRepository(c).beat(self.executor_id):
                raise LeaseLost(self.executor_id)
            dead = [e for e in LeaseRepository(c).expired(self.lease_seconds) if e != self.executor_id]
        resumed: list[str] = []
        for executor in dead:
            with self.container.database.transaction() as c:
                claimed = LeaseRepository(c).claim(executor, self.lease_seconds)
            if claimed and self.container.engine is not None:
                ids = self.container.engine.recover(
                    executor, on_progress=functools.partial(self._touch, executor)
                )
                if not ids:
                    # Scanned empty: forget it. Otherwise its row (renewed by the claim) expires again
                    # and is scanned again, which catches a process the dying worker took up late.
                    with self.container.database.transaction() as c:
                        LeaseRepository(c).forget(executor)
                log.info("worker.took_over", dead=executor, by=self.executor_id, processes=len(ids))
                resumed += ids
        self.recovered += resumed
        return resumed

    def _finish_loop(self) -> None:
        while not self._stop.wait(self.lease_seconds):
            try:
                self.finish_stalled()
                # A decision stored by a process that died before its flow got it.
                self.container.approvals.resume_decided(self.container.settings.stalled_seconds)
                # Timers set while no worker ran have no process watching them: fire them late.
                self.container.timers.fire_overdue(2 * self.lease_seconds)
            except Exception as error:  # a database hiccup: try again later
                log.warning("worker.finish_failed", error=str(error))

    def _schedule_loop(self) -> None:
        while not self._stop.wait(SCHEDULE_TICK_SECONDS):
            # Asked every tick (in memory): packs reloaded with schedules are served without a restart.
            if not any(r.loaded.pack.schedules for r in self.container.catalog.packs.values()):
                continue
            try:
                self.container.schedules.tick()
            except Exception as error:  # a database hiccup: the next tick starts what is due
                log.warning("worker.schedule_failed", error=str(error))

    def finish_stalled(self) -> int:
        """Finish conversations whose process died during an effect (a tool call cut off by a
        crash): the call replays from its idempotency record, so its write happens once."""
        with self.container.database.transaction() as c:
            found = stalled(c, self.container.settings.stalled_seconds)
        finished = 0
        for tenant, conversation_id in found:
            try:
                self.container.conversations.recover(tenant=tenant, conversation_id=conversation_id)
                finished += 1
            except StateConflict:
                continue  # someone else is finishing it
            except ProcpilotError as error:
                log.warning("worker.recover_failed", conversation=conversation_id, error=str(error))
        if finished:
            log.info("worker.finished_stalled", conversations=finished)
        return finished

    def _touch(self, executor: str) -> None:
        """Keep a dead worker's row claimed while its processes are being resumed."""
        with self.container.database.transaction() as c:
            LeaseRepository(c).touch(executor)

    def stop(self) -> None:
        self._stop.set()
        for thread in (self._thread, self._finisher, self._scheduler):
            if thread is not None:
                thread.join(timeout=5)
        if not self.lost:
            # Unfinished processes (deadlines still waiting) pass to the other workers at once.
            with self.container.database.transaction() as c:
                LeaseRepository(c).release(self.executor_id)
