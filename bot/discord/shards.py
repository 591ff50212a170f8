"""Which Discord shards one process runs: `newsdesk run --shard-ids 0,1 --shard-count 4`.

Several processes with disjoint shard ranges serve one bot; Discord sends each guild's events
to shard `(guild_id >> 22) % shard_count`, so every process must agree on the count.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ShardRange:
    """The shards of this process: `ids` of `count` (both None: every shard, as many as Discord recommends)."""

    ids: tuple[int, ...] | None = None
    count: int | None = None

    @classmethod
    def parse(cls, ids: str | None, count: int | None) -> "ShardRange":
        """Check the command line's `--shard-ids` (comma-separated) and `--shard-count`.

        Raises:
            ValueError: a one-line reason: ids that are not numbers, out of range or listed
                twice, a count below 1, or ids without a count.
        """
        if count is not None and count < 1:
            raise ValueError(f"--shard-count must be at least 1, not {count}")
        if ids is None:
            return cls(None, count)
        if count is None:
            raise ValueError("--shard-ids needs --shard-count: every process of the bot must use the same total")
        try:
            parsed = tuple(int(part) for part in ids.split(","))
        except ValueError:
            raise ValueError(f"--shard-ids takes shard numbers separated by commas, such as 0,1; not {ids!r}") from None
        for shard_id in parsed:
            if not 0 <= shard_id < count:
                raise ValueError(f"shard id {shard_id} is out of range: with --shard-count {count} the ids are 0 to {count - 1}")
        repeated = sorted({shard_id for shard_id in parsed if parsed.count(shard_id) > 1})
        if repeated:
            raise ValueError(f"--shard-ids lists shard {', '.join(map(str, repeated))} more than once")
        return cls(parsed, count)

    def bot_options(self) -> dict:
        """The keywords of `discord.AutoShardedClient` for this range."""
        return {"shard_count": self.count, "shard_ids": list(self.ids) if self.ids is not None else None}

