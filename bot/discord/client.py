"""The Discord client: a thin adapter that turns events into engine calls and answers into messages.

Shaped like RoboDanny: a `commands.Bot` subclass whose `setup_hook` opens the engine and
loads one Cog per concern; the command tree has one error handler for every command.
"""

from __future__ import annotations

import hashlib
import json
import logging

import discord
from discord import app_commands
from discord.ext import commands

from newsdesk.index import Engine, NewsdeskError, Settings

from .config import DiscordConfig
from .identify import IdentifyTurns
from .identify_backend import identify_turns
from .metrics import BotMetrics, MetricsConfig, MetricsServer
from .reading import StartupReading
from .replies import NO_MENTIONS, report

log = logging.getLogger(__name__)

EXTENSIONS = (
    "newsdesk.bot.discord.cogs.asking",
    "newsdesk.bot.discord.cogs.lookup",
    "newsdesk.bot.discord.cogs.news",
    "newsdesk.bot.discord.cogs.following",
    "newsdesk.bot.discord.cogs.corpus",
    "newsdesk.bot.discord.cogs.feeds",
    "newsdesk.bot.discord.cogs.help",
)


class MetricsUnavailableError(NewsdeskError):
    """`[metrics] listen` names an address the bot cannot serve on (taken, or not this machine's)."""


class NewsdeskTree(app_commands.CommandTree):
    """The command tree: any command's error is explained to the member privately, and faults logged."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await report(interaction, error)


class NewsdeskBot(commands.AutoShardedBot):
    """The newsdesk bot. Auto-sharded: one shard until Discord recommends more, or `shard_count`;
    `shard_ids` (with `shard_count`) runs only those shards, other processes running the rest.

    Args:
        settings: the engine's settings; `settings.extra["discord"]` configures the bot.
        serve: False for `newsdesk sync`, which needs the commands but not the model,
            the corpus scan or an automatic sync.
        **options: passed to `commands.AutoShardedBot` (`shard_count`, `shard_ids`,
            `guild_ready_timeout`, ...).
    """

    engine: Engine
    #: How this process takes turns to IDENTIFY with the bot's other processes; None: it runs
    #: every shard, and discord.py's own spacing does.
    identify_turns: IdentifyTurns | None = None

    def __init__(self, settings: Settings, *, serve: bool = True, **options) -> None:
        # The bot never joins voice; without this discord.py warns at every start that it cannot.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        # Guild and DM messages reach the bot when they mention it or are DMs, with their
        # text, without the privileged message-content intent.
        intents = discord.Intents.none()
        intents.guilds = intents.guild_messages = intents.dm_messages = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents,
            allowed_mentions=NO_MENTIONS,
            tree_cls=NewsdeskTree,
            **options,
        )
        self.engine_settings = settings
        self.config = DiscordConfig.from_settings(settings)
        self.serve = serve
        # corpus/ is read in the background at start-up (the Corpus cog) while the gateway
        # connects; until then, answers say they may be incomplete.
        self.reading = StartupReading()
        self._max_concurrency: int | None = None
        self.metrics = BotMetrics()
        self._metrics_address = MetricsConfig.from_settings(settings).address()
        self._metrics_server: MetricsServer | None = None
        # set once the engine is open and its indexes and model loaded: /healthz is 200 from then
        self._answering = False

    async def setup_hook(self) -> None:
        if self.serve and self._metrics_address:  # first: /healthz says "starting" meanwhile
            await self._serve_metrics(*self._metrics_address)
        self.engine = await Engine.open(settings=self.engine_settings)
        self.engine.observe_reads(self.metrics.reader_seconds.observe)
        shards_elsewhere = self.shard_ids is not None and len(self.shard_ids) < (self.shard_count or 0)
        backend = self.engine_settings.storage.backend
        self.identify_turns = identify_turns(shards_elsewhere, backend, self.application_id, self.config)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        if self.serve:
            await self.engine.warm_up()  # load the model now, not on the first question
            self._answering = True
            await self.sync_commands_if_changed()

    async def _serve_metrics(self, host: str, port: int) -> None:
        server = MetricsServer(self.metrics, lambda: self.engine if self._answering else None)
        try:
            await server.start(host, port)
        except OSError as exc:
            await server.stop()
            raise MetricsUnavailableError(f"cannot serve metrics on {host}:{port} ({exc.strerror or exc})") from None
        self._metrics_server = server

    async def close(self) -> None:
        self._answering = False
        if self._metrics_server is not None:
            await self._metrics_server.stop()
            self._metrics_server = None
        await super().close()
        engine = self.__dict__.pop("engine", None)  # close() may run twice; the engine closes once
        if engine is not None:
            await engine.close()

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: questions in messages are the asking cog's listener's job."""

    async def on_ready(self) -> None:
        shards = ",".join(map(str, sorted(self.shards)))
        log.info(
            "connected as %s (%s) to %d server(s) on shard(s) %s of %s",
            self.user, self.application_id, len(self.guilds), shards, self.shard_count,
        )

    def runs_guild(self, guild_id: int) -> bool:
        """Whether this process runs the shard of a server (other processes may run the rest)."""
        return self.shard_ids is None or (guild_id >> 22) % (self.shard_count or 1) in self.shard_ids

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Wait for this shard's turn to IDENTIFY: across processes when others run shards too."""
        if self.identify_turns is None:
            await super().before_identify_hook(shard_id, initial=initial)
            return
        if self._max_concurrency is None:
            self._max_concurrency = (await self.fetch_session_start_limits()).max_concurrency
        await self.identify_turns.take_turn((shard_id or 0) % self._max_concurrency)

    # --- command sync ----------------------------------------------------------------

    def command_schema_hash(self) -> str:
        """A digest of the global commands as Discord would receive them."""
        schema = [command.to_dict(self.tree) for command in self.tree.get_commands()]
        return hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()

    @property
    def _schema_key(self) -> str:
        # Per application: the same data folder may serve a test bot and the real one.
        return f"discord.command_schema.{self.application_id}"

    async def sync_commands(self, guild: discord.abc.Snowflake | None = None) -> int:
        """Upload the commands globally, or to one server (copies of the global ones, visible at once).

        Returns:
            How many commands Discord now has there.
        """
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        synced = await self.tree.sync(guild=guild)
        if guild is None:
            await self.engine.app_data.set(self._schema_key, self.command_schema_hash())
        log.info("synced %d command(s) %s", len(synced), f"to server {guild.id}" if guild else "globally")
        return len(synced)

    async def sync_commands_if_changed(self) -> None:
        """Sync globally only if the commands changed since the last sync (Discord rate-limits syncs)."""
        if await self.engine.app_data.get(self._schema_key) != self.command_schema_hash():
            await self.sync_commands()
