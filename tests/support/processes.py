"""Bot processes in the tests: `newsdesk run` started as its operator would, stopped with Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

STOP_SECONDS = 30


@asynccontextmanager
async def newsdesk_run(
    config: Path, log: Path, *arguments: str, environment: Mapping[str, str] | None = None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`newsdesk --config CONFIG run ARGUMENTS` in a process of its own (this environment passed on, and
    `environment`), Ctrl-C'd at the end; its log (stdout and stderr, in LOG) must hold no error."""
    command_line = [sys.executable, "-m", "newsdesk.bot.cli", "--config", str(config), "run", *arguments]
    with open(log, "wb") as out:
        process = await asyncio.create_subprocess_exec(
            *command_line, stdout=out, stderr=out, env={**os.environ, "DISCORD_TOKEN": "test-token", **(environment or {})}
        )
    try:
        yield process
    finally:
        stopped = await stop(process)
    text = log.read_text(encoding="utf-8", errors="replace")
    assert stopped, f"newsdesk run did not stop within {STOP_SECONDS} s of Ctrl-C (SIGINT); killed. Its log:\n{text}"
    assert "ERROR" not in text and "Traceback" not in text, text


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
