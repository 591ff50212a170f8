"""Bot processes in the tests: `newsdesk run` started as its operator would, stopped with Ctrl-C."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable

import pytest

STOP_SECONDS = 30


async def stop(process: asyncio.subprocess.Process) -> bool:
    """Ctrl-C (SIGINT) a bot process, as its operator would; kill it if it has not ended within
    STOP_SECONDS, so that no process outlives its test. Whether it stopped by itself."""
    if process.returncode is not None:
        return True
    process.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(process.wait(), STOP_SECONDS)
        return True
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        return False


async def unless_one_ends(waiting: Awaitable[None], *processes: asyncio.subprocess.Process) -> None:
    """Await `waiting`; fail at once if a bot process ends first (its log, checked as it is left, says why)."""
    waited = asyncio.ensure_future(waiting)
    ended = [asyncio.ensure_future(process.wait()) for process in processes]
    done, _ = await asyncio.wait([waited, *ended], return_when=asyncio.FIRST_COMPLETED)
    for future in (waited, *ended):
        future.cancel()
    if waited not in done:
        pytest.fail("a bot process ended early")
    waited.result()
