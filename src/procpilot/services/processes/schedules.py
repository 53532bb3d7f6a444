"""``ScheduleService``: a pack's scheduled flows, started at the times their cron expressions name.

Every worker ticks once a second. A tick finds, for each schedule and tenant, the latest time the
expression names; if that is at most ``catch_up_seconds`` ago, the run for that time is started as
a process whose key is the schedule and the time. The process engine starts one process per key,
so however many workers tick, each run happens once; a run missed while every worker was down is
made up when one comes back within the catch-up window (an older one is skipped, as cron would).

A run is a conversation of its own (channel "schedule", role "scheduler", no person): the flow's
tools, approvals and timers work as in any conversation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import structlog

from procpilot.domain.commands import StartFlow
from procpilot.domain.schedules import Cron
from procpilot.services.conversations.messages import ConversationService
from procpilot.services.packs.catalog import PackCatalog
from procpilot.services.processes.durable import ProcessService
from procpilot.storage.accounts import AccountRepository
from procpilot.storage.conversations import ConversationRepository
from procpilot.storage.database import Database

log = structlog.get_logger(__name__)

SCHEDULER_ROLE = "scheduler"


@dataclass(frozen=True)
class ScheduledRun:
    tenant: str
    pack_id: str
    flow: str
    at: dt.datetime  # UTC

    @property
    def key(self) -> str:
        return f"schedule:{self.tenant}:{self.pack_id}:{self.flow}:{self.at:%Y%m%dT%H%M%SZ}"

    @property
    def conversation_id(self) -> str:
        return f"sched_{self.pack_id}_{self.flow}_{self.at:%Y%m%dT%H%M%SZ}"[:100]


class ScheduleService:
    def __init__(
        self,
        database: Database,
        catalog: PackCatalog,
        conversations: ConversationService,
        processes: ProcessService,
        *,
        catch_up_seconds: float = 3600.0,
    ) -> None:
        self.database = database
        self.catalog = catalog
        self.conversations = conversations
        self.processes = processes
        self.catch_up_seconds = catch_up_seconds
        self._started: set[str] = set()

    def due(self, now: dt.datetime | None = None) -> list[ScheduledRun]:
        """The run each schedule owes now: its latest time, if within the catch-up window."""
        now = now or dt.datetime.now(dt.UTC)
        with self.database.transaction() as c:
            all_tenants = AccountRepository(c).tenant_ids()
        runs = []
        for runtime in self.catalog.packs.values():
            pack = runtime.loaded.pack
            for schedule in pack.schedules:
                at = Cron.parse(schedule.cron).previous(now, pack.settings.timezone)
                if at is None or (now - at).total_seconds() > self.catch_up_seconds:
                    continue
                for tenant in schedule.tenants or all_tenants:
                    runs.append(ScheduledRun(tenant, pack.id, schedule.flow, at))
        return runs

    def tick(self, now: dt.datetime | None = None) -> list[str]:
        """Start the runs that are due and not yet started from here; returns their keys."""
        started = []
        for run in self.due(now):
            if run.key in self._started:
                continue
            self.processes.start_scheduled(run.key, run.tenant, run.pack_id, run.flow, run.at.isoformat())
            self._started.add(run.key)
            started.append(run.key)
        if len(self._started) > 10_000:  # only saves round trips: starting a key again is a no-op
            self._started.clear()
        return started

    def run(self, tenant: str, pack_id: str, flow: str, at: str) -> str:
        """Step: start the flow in the run's own conversation, unless a replay finds it started."""
        run = ScheduledRun(tenant, pack_id, flow, dt.datetime.fromisoformat(at))
        with self.database.transaction() as c:
            exists = ConversationRepository(c, tenant).get(run.conversation_id) is not None
        if exists:
            return "started before"
        reply = self.conversations.handle(
            tenant=tenant,
            pack_id=pack_id,
            conversation_id=run.conversation_id,
            text=f"[scheduled run of {flow} for {at}]",
            roles=(SCHEDULER_ROLE,),
            channel="schedule",
            commands=[StartFlow(flow)],
        )
        log.info("schedule.ran", tenant=tenant, pack=pack_id, flow=flow, at=at, messages=len(reply.messages))
        return run.conversation_id
