"""A worker process for test_stalled.py, to be killed: `python dead_worker.py URL QUEUE` prints
`started <kind> <run_id>` when its job starts, and the job never ends. It beats every 0.2 s."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from uuid import UUID

from dspex_gql.jobs.app import procrastinate_app

HEARTBEAT_SECONDS = 0.2


async def never_ending(kind: str, run_id: UUID, aborted: Callable[[], bool]) -> None:
    print(f"started {kind} {run_id}", flush=True)
    await asyncio.Event().wait()


async def main(database_url: str, queue: str) -> None:
    async with procrastinate_app(database_url, never_ending).open_async() as app:
        await app.run_worker_async(
            queues=[queue],
            update_heartbeat_interval=HEARTBEAT_SECONDS,
            install_signal_handlers=False,
        )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
