"""Throughput through Discord: members `/ask` at a steady rate, through the tests' loopback Discord.

Two processes, so neither's work slows the other's event loop or holds its GIL:
- the fake Discord (tests/support/fake_discord/), which sends the interactions at the given
  rate and notes when each follow-up arrives (run as `python bench/discord_load.py
  --fake N RATE [--shards S]`);
- the real NewsdeskBot with the real engine and model, on the store given, which also
  measures how late a 10 ms timer fires on its event loop (the loop's lag).

Or, sharing one PostgreSQL database (`bench_discord_processes`), one or more `newsdesk run
--shard-ids ... --shard-count S` processes serving the S shards between them: the fake then
holds S guilds, one on each shard, and sends the interactions to them in turn.

Figures: answers per second (first interaction sent to last follow-up received), time
from each interaction to its follow-up (p50/p95), answers lost (no follow-up within the
timeout), and the bot's event-loop lag p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = [
    "why does Russia oppose the missile shield?",
    "What did the council decide about the new library?",
    "How many warheads does the treaty allow?",
    "What caused the price of oil to rise?",
    "Where will the new stadium be built?",
    "Why did the airline cancel its flights?",
]


def percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


# --- the fake Discord's side ---------------------------------------------------------


async def _record_posts(fake, arrived: dict[str, float], stop: asyncio.Event) -> None:
    """Note when each POST path was first answered, polling every 2 ms until stopped."""
    seen = 0
    while not stop.is_set():
        for request in fake.requests[seen:]:
            if request.status is None:
                break  # not answered yet: look again next round
            seen += 1
            if request.method == "POST":
                arrived.setdefault(request.path, time.perf_counter())
        await asyncio.sleep(0.002)


async def serve_load(interactions: int, rate: float, shards: int | None = None, timeout: float = 120.0) -> dict:
    """Start a fake Discord, print its addresses, and once a bot connects (with shards: once each
    shard has) send it /ask at `rate` a second (with shards: to a guild on each shard in turn)."""
    from tests.support.fake_discord import FakeDiscord

    fake = FakeDiscord()
    await fake.start()
    members = [fake.add_user(f"reader{i}") for i in range(interactions)]
    if shards:
        fake.max_concurrency = shards  # every shard may IDENTIFY at once
        guilds = [fake.add_guild(name=f"Load {i}", members=members[i::shards], shard=(i, shards)) for i in range(shards)]
    else:
        guilds = [fake.add_guild(name="Load", members=members)]
    print(json.dumps({"api_base": fake.api_base, "gateway_url": fake.gateway_url}), flush=True)
    await fake.wait_ready(timeout=timeout, shards=range(shards) if shards else None)
    await asyncio.sleep(1.0)  # the bot's on_ready follows READY after its guild_ready_timeout
    sent_at: dict[str, float] = {}
    arrived: dict[str, float] = {}
    stop = asyncio.Event()
    recording = asyncio.create_task(_record_posts(fake, arrived, stop))
    started = time.perf_counter()
    for number, member in enumerate(members):
        await asyncio.sleep(max(0.0, started + number / rate - time.perf_counter()))
        sent = time.perf_counter()
        channel = guilds[number % len(guilds)].channels["general"]
        question = {"question": QUESTIONS[number % len(QUESTIONS)]}
        interaction = await fake.send_interaction("ask", question, user_id=member, channel_id=channel)
        sent_at[interaction.followup_path] = sent
    deadline = time.perf_counter() + timeout
    while not set(sent_at) <= set(arrived) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    await recording
    await fake.stop()
    latencies = [(arrived[path] - sent_at[path]) * 1000 for path in sent_at if path in arrived]
    finished = max((arrived[path] for path in sent_at if path in arrived), default=time.perf_counter())
    return {
        "interactions": interactions,
        "offered_per_s": rate,
        "answers": len(latencies),
        "lost": interactions - len(latencies),
        "answers_per_s": round(len(latencies) / max(finished - started, 1e-9), 1),
        "followup_p50_ms": percentile(latencies, 50),
        "followup_p95_ms": percentile(latencies, 95),
    }


# --- the bot's side --------------------------------------------------------------------


async def _loop_lag(samples: list[float]) -> None:
    while True:
        started = time.perf_counter()
        await asyncio.sleep(0.01)
        samples.append((time.perf_counter() - started - 0.01) * 1000)


async def bench_discord(data_dir: Path, interactions: int, rate: float) -> dict:
    """Serve the fake's load with the real bot on data_dir's store; the fake's figures plus loop lag."""
    from newsdesk.bot.discord import NewsdeskBot, redirect_discord
    from newsdesk.index import load_settings
    from tests.support.fake_discord import run_bot

    fake = start_fake(interactions, rate)
    try:
        addresses = json.loads(fake.stdout.readline())
        settings = load_settings().with_data_dir(data_dir)
        table = {**settings.extra["discord"], **addresses, "corpus_scan_seconds": 0, "ask_rate": 1000}
        settings = replace(settings, extra={**settings.extra, "discord": table})
        bot = NewsdeskBot(settings, guild_ready_timeout=0.05)
        redirect_discord(bot.config)
        lag: list[float] = []
        async with run_bot(bot, timeout=120):
            ticker = asyncio.create_task(_loop_lag(lag))
            report = await asyncio.to_thread(fake.stdout.read)
            ticker.cancel()
            await asyncio.sleep(0.2)  # handlers finish before the bot closes
    finally:
        if fake.poll() is None:
            fake.kill()
        fake.wait()
    return {**json.loads(report.strip().splitlines()[-1]), "loop_lag_p99_ms": percentile(lag, 99)}


def start_fake(interactions: int, rate: float, shards: int | None = None) -> subprocess.Popen:
    """The fake Discord in a process of its own; its first line of output is its addresses, its last the figures."""
    sharding = ["--shards", str(shards)] if shards else []
    command = [sys.executable, __file__, "--fake", str(interactions), str(rate), *sharding]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def bot_config(folder: Path, addresses: dict) -> Path:
    """A config for one `newsdesk run` process on PostgreSQL: its own data and (empty) corpus folders, the
    fake Discord, no limit on members' questions, IDENTIFY turns taken through the database."""
    (folder / "corpus").mkdir(parents=True)
    config = folder / "newsdesk.toml"
    config.write_text(
        f'[storage]\nbackend = "postgres"\ndata_dir = "{folder / "data"}"\n'
        f'[corpus]\ndir = "{folder / "corpus"}"\n'
        f'[discord]\napi_base = "{addresses["api_base"]}"\ngateway_url = "{addresses["gateway_url"]}"\n'
        f'identify_seconds = 0.5\nidentify_lock_dir = "{folder / "identify"}"\ncorpus_scan_seconds = 0\nask_rate = 1000\n',
        encoding="utf-8",
    )
    return config


async def bench_discord_processes(database_url: str, processes: int, shards: int, interactions: int, rate: float) -> dict:
    """Serve the fake's load (S guilds, one on each of S shards) with `processes` bot processes sharing
    the PostgreSQL database at database_url, the shards split evenly between them; the fake's figures.
    Every process is stopped with Ctrl-C (SIGINT) at the end, and killed if it has not ended in 30 s."""
    fake = start_fake(interactions, rate, shards)
    bots: list[subprocess.Popen] = []
    try:
        addresses = json.loads(fake.stdout.readline())
        env = {**os.environ, "DISCORD_TOKEN": "bench-token", "NEWSDESK_DATABASE_URL": database_url}
        with tempfile.TemporaryDirectory() as scratch:
            for number in range(processes):
                config = bot_config(Path(scratch) / f"bot{number}", addresses)
                shard_ids = ",".join(str(shard) for shard in range(number, shards, processes))
                command = ["--config", str(config), "run", "--shard-ids", shard_ids, "--shard-count", str(shards)]
                bots.append(subprocess.Popen([sys.executable, "-m", "newsdesk.bot.cli", *command], env=env, cwd=ROOT))
            report = await asyncio.to_thread(fake.stdout.read)
    finally:
        for process in (*bots, fake):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in (*bots, fake):
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return {"processes": processes, "shards": shards, **json.loads(report.strip().splitlines()[-1])}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fake", nargs=2, metavar=("INTERACTIONS", "RATE"), required=True)
    parser.add_argument("--shards", type=int, help="a guild on each of this many shards (default: one guild, no sharding)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(serve_load(int(args.fake[0]), float(args.fake[1]), args.shards))))
