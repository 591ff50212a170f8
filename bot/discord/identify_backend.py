"""Which IDENTIFY turns this process takes: lock files, or the database its processes share.

The choice sits here, above both kinds, so `identify_postgres` depends on `identify` and nothing
depends back on it (asyncpg is the postgres extra: imported only when chosen).
"""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_state_path

from .config import DiscordConfig
from .identify import FileIdentifyTurns, IdentifyTurns


def identify_turns(
    shards_elsewhere: bool, storage_backend: str, application_id: int, config: DiscordConfig
) -> IdentifyTurns | None:
    """The turns this process takes, or None when discord.py's own spacing is enough.

    Args:
        shards_elsewhere: other processes run some of the bot's shards (`--shard-ids`).
        storage_backend: `[storage] backend`: with "postgres", the processes (on any
            machine) take turns through the database they share.
        config: `identify_seconds` apart; else lock files in `identify_lock_dir`, by default
            in the user's state directory, which every process of this user on this machine sees.
    """
    if not shards_elsewhere:
        return None
    if storage_backend == "postgres":
        from .identify_postgres import PostgresIdentifyTurns  # asyncpg: the postgres extra

        return PostgresIdentifyTurns.from_environment(application_id, config.identify_seconds)
    folder = Path(config.identify_lock_dir).expanduser() if config.identify_lock_dir else None
    folder = folder or user_state_path("newsdesk", appauthor=False) / "identify"
    return FileIdentifyTurns(folder, application_id, config.identify_seconds)
