"""``procpilot bench soak``: many durable processes through workers that keep being killed.

On a fresh PostgreSQL database: a creator process opens N conversations that each wait for an
approval with a deadline (spread over the run), then hands them to the workers and stops. W worker
processes run the deadlines; every few seconds one of them is killed with SIGKILL and a new one is
started under a new id, so a dead worker's processes are only ever resumed through the leases.
At the end every approval must have expired exactly once: "lost" counts approvals still pending,
"duplicated" conversations told twice.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from procpilot.bench.databases import temporary_postgres
from procpilot.bench.report import Figures
from procpilot.domain.errors import UserError

FLOW = """flows:
  - id: leave
    name: request leave
    description: Ask for days off.
    examples: [I need some days off]
    slots:
      days: {type: integer, description: number of days}
      wait: {type: text, description: deadline}
    steps:
      - collect: days
        prompt: How many days?
      - approval:
          role: manager
          summary: "{{ slots.days }} days"
          timeout: TIMEOUT
        on_timeout: expired
      - respond: Approved.
        next: END
      - id: expired
        respond: "EXPIRED {{ slots.days }}"
"""

CREATOR = """
import os
import sys
from procpilot.services.platform.container import build
from procpilot.services.platform.settings import Settings
from procpilot.services.processes.workers import Worker

count = int(sys.argv[1])
container = build(Settings())
worker = Worker(container, "creator")
worker.start()
for index in range(count):
    conversation = f"s{index}"
    for text in ("I need some days off", str(index + 1)):
        container.conversations.handle(
            tenant="default", pack_id=f"soak{index % PACKS}", conversation_id=conversation, text=text, user_id="u"
        )
worker.stop()  # its waiting processes pass to the workers at once
container.close()
print("CREATED", flush=True)
os._exit(0)  # do not wait for the pool threads of processes still waiting: they are recorded
"""

PACKS = 4  # deadlines of 20, 35, 50 and 65 seconds: expiries spread over the run


def run(
    *,
    instances: int = 1000,
    workers: int = 2,
    kill_every: float = 6.0,
    admin_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    limit_seconds: float = 400.0,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    with (
        temporary_postgres(admin_url, "soak") as url,
        tempfile.TemporaryDirectory(prefix="procpilot-soak-") as folder,
    ):
        return _run(Path(folder), url, instances, workers, kill_every, limit_seconds, progress)


def _run(
    root: Path,
    url: str,
    instances: int,
    workers: int,
    kill_every: float,
    limit_seconds: float,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    for index in range(PACKS):
        pack = root / "packs" / f"soak{index}"
        (pack / "flows").mkdir(parents=True)
        (pack / "pack.yaml").write_text(f'id: soak{index}\nname: Soak\nversion: "1"\n')
        (pack / "flows" / "leave.yaml").write_text(FLOW.replace("TIMEOUT", f"{20 + 15 * index}s"))
    env = {
        **os.environ,
        "PROCPILOT_DATA_DIR": str(root / "data"),
        "PROCPILOT_PACKS_DIR": str(root / "packs"),
        "PROCPILOT_DATABASE_URL": url,
        "PROCPILOT_LEASE_SECONDS": "3",
        "PROCPILOT_LOG_JSON": "true",
    }
    logs = root / "logs"
    logs.mkdir()
    serial = 0

    def spawn() -> subprocess.Popen[bytes]:
        nonlocal serial
        serial += 1
        with (logs / f"w{serial}.log").open("w") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "procpilot.cli.main", "worker", "--worker-id", f"w{serial}"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    started = time.monotonic()
    progress(f"creating {instances} waiting processes")
    creator = subprocess.run(
        [sys.executable, "-c", CREATOR.replace("PACKS", str(PACKS)), str(instances)],
        env=env,
        capture_output=True,
        text=True,
        timeout=limit_seconds,
        check=False,
    )
    if "CREATED" not in creator.stdout:
        raise UserError(f"creating the processes failed:\n{creator.stderr[-2000:]}")
    created = time.monotonic()
    progress(f"created in {created - started:.1f} s; {workers} workers, one killed every {kill_every} s")
    running = [spawn() for _ in range(workers)]
    kills = 0
    engine = sa.create_engine(url)
    rng = random.Random(7)
    pending = instances
    next_kill = time.monotonic() + kill_every
    try:
        while time.monotonic() - started < limit_seconds:
            time.sleep(1.0)
            with engine.connect() as c:
                pending = c.execute(
                    sa.text("SELECT count(*) FROM approvals WHERE status = 'pending'")
                ).scalar_one()
            if pending == 0:
                break
            if time.monotonic() >= next_kill:
                victim = running.pop(rng.randrange(len(running)))
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                kills += 1
                running.append(spawn())
                next_kill = time.monotonic() + kill_every
                progress(f"killed a worker ({kills} so far); {pending} approvals still waiting")
        finished = time.monotonic()
        with engine.connect() as c:
            told: dict[str, int] = dict(
                c.execute(
                    sa.text(
                        "SELECT conversation_id, count(*) FROM messages WHERE role = 'bot' AND text LIKE 'EXPIRED %'"
                        " GROUP BY conversation_id"
                    )
                ).all()
            )
            expired = c.execute(
                sa.text("SELECT count(*) FROM approvals WHERE status = 'timeout'")
            ).scalar_one()
    finally:
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        engine.dispose()
    duplicated = len([n for n in told.values() if n > 1])
    return {
        "instances": instances,
        "workers": workers,
        "kills": kills,
        "expired": int(expired),
        "told": len(told),
        "lost": instances - len(told),
        "duplicated": duplicated,
        "still_pending": int(pending),
        "create_seconds": round(created - started, 1),
        "run_seconds": round(finished - created, 1),
        "instances_per_second": round(instances / (finished - started), 2),
        "deadlines": f"{20}-{20 + 15 * (PACKS - 1)} s",
    }


def figures(report: dict[str, Any]) -> Figures:
    table = Figures(
        f"soak: {report['instances']} processes, {report['workers']} workers, {report['kills']} killed",
        ["figure", "value"],
    )
    for key in ("expired", "told", "lost", "duplicated", "still_pending", "create_seconds", "run_seconds",
                "instances_per_second", "deadlines"):  # fmt: skip
        table.add(key, report[key])
    return table
