"""Following stories: `/follow add`, `/follow list`, `/unfollow`, and posting what new articles say.

Follows live in the engine's store (standing questions with once-only delivery claims), so
they survive restarts and every writer's articles (uploads, corpus/ scans, feeds) reach them:
the engine tells this cog of new articles once they are committed (and, at start-up, of
those added while it was not listening), and the cog posts the best quote of each one that
answers a follow, in the follow's channel, at most once, and no faster than `follow_posts`
per `follow_per_seconds` per channel.
"""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands
from discord.ext import commands

from newsdesk.index import ArticlesAdded, Follow, Quote

from ..admins import admin_choices, check_admin
from ..articles import CHOICE_NAME_LIMIT, CHOICES_LIMIT, own_scope, scopes_for
from ..client import NewsdeskBot
from ..embeds import clip, echo, listing_pages, quote_embeds
from ..replies import NO_MENTIONS, send
from ..views import Paginator

log = logging.getLogger(__name__)

# Follows one server may have: each new article is matched against every follow.
FOLLOWS_PER_SERVER = 25


def follow_line(follow: Follow) -> str:
    return f"`{follow.id}` {echo(follow.topic)} → <#{follow.target}>"


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Following(commands.GroupCog, group_name="follow", group_description="Stories posted as they move (admins)"):
    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot
        config = bot.config
        self._pace = commands.CooldownMapping(
            commands.Cooldown(config.follow_posts, config.follow_per_seconds), lambda channel_id: channel_id
        )
        self._channel_turns: dict[str, asyncio.Lock] = {}
        self._new_articles: asyncio.Queue[ArticlesAdded] = asyncio.Queue()
        self._tasks: set[asyncio.Task] = set()
        self._unsubscribe = None

    async def cog_load(self) -> None:
        if not self.bot.serve:  # `newsdesk sync`: nothing is posted
            return
        # The engine calls this on the event loop, right after a commit: it only queues the news.
        self._unsubscribe = self.bot.engine.subscribe(self._new_articles.put_nowait)
        # Then what was added while the bot was not listening (claims stop anything going out twice).
        for event in await self.bot.engine.follows.missed():
            self._new_articles.put_nowait(event)
        self._spawn(self._match_new_articles(), "newsdesk: matching new articles to follows")

    async def cog_unload(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        await check_admin(interaction, "change what this server follows")
        return True

    # --- the commands ------------------------------------------------------------------

    @app_commands.command(name="add", description="Post each new article's best quote about a topic in a channel")
    @app_commands.describe(topic="What to follow, as you would ask it", channel="Where to post (default: here)")
    async def add(
        self, interaction: discord.Interaction, topic: str, channel: discord.TextChannel | None = None
    ) -> None:
        owner = own_scope(interaction.guild_id)
        target = channel.id if channel is not None else interaction.channel_id
        if len(await self.bot.engine.follows.list(owner)) >= FOLLOWS_PER_SERVER:
            limit = f"This server follows {FOLLOWS_PER_SERVER} topics already; /unfollow one first."
            await send(interaction, content=limit, ephemeral=True)
            return
        follow = await self.bot.engine.follows.add(owner, scopes_for(interaction.guild_id), topic, str(target))
        text = f"Following {echo(follow.topic)}: new articles that answer it will be quoted in <#{target}>."
        await send(interaction, content=text, ephemeral=True)

    @app_commands.command(name="list", description="The topics this server follows")
    async def list_follows(self, interaction: discord.Interaction) -> None:
        follows = await self.bot.engine.follows.list(own_scope(interaction.guild_id))
        if not follows:
            await send(interaction, content="This server follows nothing yet: /follow add a topic.", ephemeral=True)
            return
        pages = listing_pages(f"{len(follows)} followed topic(s)", [follow_line(f) for f in follows])
        await Paginator.show(interaction, pages, ephemeral=True)

    # --- posting -------------------------------------------------------------------------

    def _spawn(self, work, name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _match_new_articles(self) -> None:
        """Match each batch of new articles against the follows; each post then waits its channel's turn."""
        while True:
            event = await self._new_articles.get()
            try:
                matches = await self.bot.engine.follows.matches(event)
                await self.bot.engine.follows.matched(event)
            except Exception:  # keep listening: the next batch may match
                log.exception("matching new articles %s to follows failed", event.article_ids)
                continue
            # Every process sharing the store hears of new articles; each posts for its own servers.
            for follow, quote in matches:
                if self.bot.runs_guild(int(follow.owner)):
                    self._spawn(self._post(follow, quote), f"newsdesk: follow {follow.id} post")

    async def _post(self, follow: Follow, quote: Quote) -> None:
        """Post one quote for a follow, once: in turn with its channel's other posts, within the channel's pace."""
        async with self._channel_turns.setdefault(follow.target, asyncio.Lock()):
            bucket = self._pace.get_bucket(follow.target)
            while retry_after := bucket.update_rate_limit():
                await asyncio.sleep(retry_after)
            if not await self.bot.engine.follows.claim(follow, quote.article.id):
                return  # posted before, or unfollowed meanwhile
            channel = self.bot.get_partial_messageable(int(follow.target), guild_id=int(follow.owner))
            content = f"New on {echo(follow.topic)}:"
            try:
                await channel.send(content, embeds=quote_embeds([quote], None), allowed_mentions=NO_MENTIONS)
            except discord.HTTPException as error:
                log.warning("could not post follow %s in channel %s: %s", follow.id, follow.target, error)


class Unfollowing(commands.Cog):
    """`/unfollow`, beside the /follow group (a group's own name cannot also be a command)."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot

    @app_commands.command(description="Stop following a topic (admins)")
    @app_commands.describe(follow="Start typing the topic and pick it")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def unfollow(self, interaction: discord.Interaction, follow: str) -> None:
        await check_admin(interaction, "change what this server follows")
        owner = own_scope(interaction.guild_id)
        removed = await self.bot.engine.follows.remove(int(follow), owner) if follow.isdigit() else None
        if removed is None:
            await send(interaction, content="This server follows no such topic; pick one of the suggestions.", ephemeral=True)
            return
        await send(interaction, content=f"Stopped following {echo(removed.topic)}.", ephemeral=True)

    @unfollow.autocomplete("follow")
    @admin_choices
    async def follow_choices(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        follows = await self.bot.engine.follows.list(own_scope(interaction.guild_id))
        typed = typed.strip().casefold()
        return [
            app_commands.Choice(name=clip(f"{f.topic} (#{self._channel_name(f)})", CHOICE_NAME_LIMIT), value=str(f.id))
            for f in follows
            if typed in f.topic.casefold()
        ][:CHOICES_LIMIT]

    def _channel_name(self, follow: Follow) -> str:
        channel = self.bot.get_channel(int(follow.target))
        return getattr(channel, "name", follow.target)


async def setup(bot: NewsdeskBot) -> None:
    await bot.add_cog(Following(bot))
    await bot.add_cog(Unfollowing(bot))
