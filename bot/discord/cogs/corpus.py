"""The corpus: admins add and remove their server's articles; corpus/ on the host is re-scanned.

Only admins (`admins.check_admin`) may use /corpus.
"""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands, tasks
from discord.utils import escape_markdown

from newsdesk.index import FileReport
from newsdesk.index.ingest.reading import display_name, iter_corpus_files
from newsdesk.index.ingest.untrusted import describe_error

from ..admins import admin_choices, check_admin, set_admin_role
from ..articles import article_choices, find_article, own_scope, scopes_for
from ..client import NewsdeskBot
from ..reading import StartupReading
from ..embeds import article_line, listing_pages, refused_line, stats_embed, upload_embed, upload_line
from ..replies import NO_MENTIONS, MemberError, send
from ..views import Paginator

log = logging.getLogger(__name__)


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Corpus(commands.GroupCog, group_name="corpus", group_description="This server's articles (admins)"):
    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot
        self._first_read: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        if not self.bot.serve:  # `newsdesk sync`: no questions, no reading
            self.bot.reading.finish()
            return
        # In the background, so that the gateway connects at once; questions meanwhile hear
        # how far it has got (bot.reading).
        self._first_read = asyncio.create_task(self._read_at_start_up(), name="newsdesk: reading corpus/")

    async def cog_unload(self) -> None:
        if self._first_read is not None:
            self._first_read.cancel()
            await asyncio.gather(self._first_read, return_exceptions=True)
        self.scan.cancel()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        await check_admin(interaction, "change the articles")
        return True

    # --- the commands ------------------------------------------------------------------

    @app_commands.command(description="Add articles from files (.txt, .md, .html, .jsonl)")
    @app_commands.describe(file="A file of articles", file2="Another file", file3="Another file")
    async def add(
        self,
        interaction: discord.Interaction,
        file: discord.Attachment,
        file2: discord.Attachment | None = None,
        file3: discord.Attachment | None = None,
    ) -> None:
        files = [f for f in (file, file2, file3) if f is not None]
        await interaction.response.defer(ephemeral=True, thinking=True)
        lines = []
        for number, attachment in enumerate(files, start=1):
            progress = f"Reading {escape_markdown(display_name(attachment.filename))} ({number}/{len(files)})…"
            await interaction.edit_original_response(
                content="\n".join([*lines, progress]), allowed_mentions=NO_MENTIONS
            )
            lines.append(await self._ingest(attachment, own_scope(interaction.guild_id)))
        await interaction.edit_original_response(content=None, embed=upload_embed(lines), allowed_mentions=NO_MENTIONS)

    async def _ingest(self, attachment: discord.Attachment, scope: str) -> str:
        """Download and ingest one attachment; the line that reports what happened."""
        name = display_name(attachment.filename)  # one line, whatever the uploader named it
        limit = self.bot.engine.settings.corpus.max_file_bytes
        if attachment.size > limit:
            return refused_line(name, f"it is {attachment.size:,} bytes, over the {limit:,}-byte limit.")
        try:
            data = await attachment.read()
        except discord.HTTPException as error:
            return refused_line(name, f"it could not be downloaded from Discord ({error.status}); try again.")
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            return refused_line(name, f"it could not be downloaded from Discord ({type(error).__name__}); try again.")
        try:
            report = await self.bot.engine.ingest_document(data, attachment.filename, scope)
        except Exception as error:  # the store's trouble: this file's line says so, and the other files are still read
            log.exception("storing the upload %s failed", name)
            return refused_line(name, f"it could not be stored ({describe_error(error)}); try again later.")
        return upload_line(report)

    @app_commands.command(description="Remove one of this server's articles")
    @app_commands.describe(article="Start typing a title and pick the article")
    async def remove(self, interaction: discord.Interaction, article: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        scope = [own_scope(interaction.guild_id)]  # the bundled articles are not a server's to remove
        found = await find_article(self.bot.engine, scope, article)
        if found is None or not await self.bot.engine.remove(found.article.id, scope):
            refusal = "None of this server's uploaded articles matches that; pick one of the suggestions."
            await send(interaction, content=refusal, ephemeral=True)
            return
        await send(interaction, content=f"Removed {article_line(found.article)}.", ephemeral=True)

    @remove.autocomplete("article")
    @admin_choices
    async def remove_choices(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        return await article_choices(self.bot.engine, [own_scope(interaction.guild_id)], typed)

    @app_commands.command(name="list", description="List the articles this server can search")
    async def list_articles(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        own = own_scope(interaction.guild_id)
        rows = await self.bot.engine.articles(scopes_for(interaction.guild_id))
        lines = [f"`{row.id}` {article_line(row)}{' · *uploaded here*' if row.scope == own else ''}" for row in rows]
        if not lines:
            await send(interaction, content="There are no articles yet: add some with /corpus add.", ephemeral=True)
            return
        await Paginator.show(interaction, listing_pages(f"{len(rows)} article(s)", lines), ephemeral=True)

    @app_commands.command(description="This server's articles, passages and feeds, and the last article added")
    async def stats(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        own = [own_scope(interaction.guild_id)]
        visible = await self.bot.engine.stats(scopes_for(interaction.guild_id))
        added_here = await self.bot.engine.stats(own)
        feeds = await self.bot.engine.feeds.list(own)
        await send(interaction, embed=stats_embed(visible, added_here, len(feeds)), ephemeral=True)

    @app_commands.command(
        name="admin-role", description="Let a role's members use the admin commands (Manage Server only)"
    )
    @app_commands.describe(role="The role (leave empty: only members with Manage Server)")
    async def admin_role(self, interaction: discord.Interaction, role: discord.Role | None = None) -> None:
        if not interaction.permissions.manage_guild:  # a role's members may not choose who else is an admin
            raise MemberError("Only members with the Manage Server permission can choose the admin role.")
        if role is not None and role.is_default():
            raise MemberError("@everyone cannot be the admin role: pick a role given only to admins.")
        await set_admin_role(self.bot.engine, interaction.guild_id, role.id if role is not None else None)
        if role is None:
            text = "Only members with the Manage Server permission may use the admin commands now."
        else:
            text = f"Members of <@&{role.id}> may now use the admin commands, as may those with Manage Server."
        await send(interaction, content=text, ephemeral=True)

    # --- corpus/ on the host -----------------------------------------------------------

    async def _read_at_start_up(self) -> None:
        """Read corpus/ (listing its files first, counting them as they are read), say so, then rescan it."""
        started = time.perf_counter()
        reading = self.bot.reading
        try:
            await self._scan_once(reading)
            stats = await self.bot.engine.stats()
            took = time.perf_counter() - started
            counts = stats.articles, stats.passages
            log.info("ready: %d article(s), %d passage(s) (corpus/ read in %.1f s)", *counts, took)
        finally:
            reading.finish()  # also when reading failed (logged): what is stored is all there is
        if self.bot.config.corpus_scan_seconds > 0:
            self.scan.change_interval(seconds=self.bot.config.corpus_scan_seconds)
            self.scan.start()

    @tasks.loop(seconds=60)
    async def scan(self) -> None:
        """Ingest files added to or changed in corpus/ (a cheap listing when nothing changed)."""
        await self._scan_once()

    async def _scan_once(self, reading: StartupReading | None = None) -> None:
        """One scan of corpus/; at start-up, `reading` learns how many files there are and counts them as read."""
        folder = self.bot.engine.settings.corpus.dir
        if not folder.is_dir():
            return
        try:
            on_file = None
            if reading is not None:
                files = await asyncio.to_thread(lambda: len(list(iter_corpus_files([folder]))))
                reading.listed(files)
                log.info("start-up: %d file(s) in %s", files, folder)

                def on_file(file_report: FileReport) -> None:
                    read = reading.file_read()
                    log.debug("read %s (%d of %d)", file_report.origin, read.read, read.files)

            report = await self.bot.engine.ingest_folder_if_changed(folder, on_file=on_file)
        except Exception:  # keep scanning: the next pass may succeed
            log.exception("scanning %s failed", folder)
            return
        if report is not None:
            log.info("corpus scan: %d article(s) added from %s", report.articles_added, folder)
            for problem in report.problems:
                log.warning("corpus scan skipped %s", problem)

    @scan.before_loop
    async def _before_scan(self) -> None:
        await self.bot.wait_until_ready()


async def setup(bot: NewsdeskBot) -> None:
    await bot.add_cog(Corpus(bot))
