"""Components: the buttons under an answer, and the one paginator every long list or article uses."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import discord

from newsdesk.index import Answer, Engine

from .embeds import abstention_embed, article_pages, clip, credit, quote_embeds
from .feedback import record_feedback
from .replies import NO_MENTIONS, report, send

log = logging.getLogger(__name__)

# Interaction tokens expire after 15 minutes, and with them the right to edit an ephemeral
# message; views end before that so their buttons can still be removed.
VIEW_TIMEOUT = 600.0
SELECT_LABEL_LIMIT = 100  # Discord's limit for a menu option's label and description


class NewsdeskView(discord.ui.View):
    """A view whose errors reach the member as the command tree's do, and whose buttons go when it ends."""

    def __init__(self) -> None:
        super().__init__(timeout=VIEW_TIMEOUT)
        self.message: discord.Message | None = None

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item) -> None:
        await report(interaction, error)

    async def on_timeout(self) -> None:
        if self.message is None:
            return
        try:
            await self.message.edit(view=None, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            log.debug("could not remove the buttons of message %s", self.message.id, exc_info=True)


class Paginator(NewsdeskView):
    """Pages of embeds turned with Previous / Next; only the member who asked may turn them."""

    def __init__(self, pages: Sequence[discord.Embed], owner_id: int) -> None:
        super().__init__()
        self.pages = list(pages)
        self.owner_id = owner_id
        self.index = 0
        self._update_buttons()

    @classmethod
    async def show(
        cls, interaction: discord.Interaction, pages: Sequence[discord.Embed], *, ephemeral: bool = False
    ) -> None:
        """Show the first page, with buttons only when there is more than one."""
        if len(pages) == 1:
            await send(interaction, embed=pages[0], ephemeral=ephemeral)
            return
        view = cls(pages, interaction.user.id)
        view.message = await send(interaction, embed=pages[0], view=view, ephemeral=ephemeral)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        refusal = "Only the member who asked can turn these pages; run the command to get your own."
        await send(interaction, content=refusal, ephemeral=True)
        return False

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def back(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="1/1", style=discord.ButtonStyle.secondary, disabled=True)
    async def counter(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        """Only shows the page number; it is never enabled."""

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def forward(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._turn(interaction, +1)

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        self.index = min(max(self.index + step, 0), len(self.pages) - 1)
        self._update_buttons()
        await interaction.response.edit_message(embed=self.pages[self.index], view=self, allowed_mentions=NO_MENTIONS)

    def _update_buttons(self) -> None:
        self.counter.label = f"{self.index + 1}/{len(self.pages)}"
        self.back.disabled = self.index == 0
        self.forward.disabled = self.index == len(self.pages) - 1


class AnswerView(NewsdeskView):
    """One message of an answer: its quotes from `offset` (or the abstention), and the buttons under them.

    More sends the next quotes privately to whoever pressed it; the menu opens a quoted
    (or, after an abstention, a suggested) article in full, privately and paginated;
    Helpful / Not helpful store the member's verdict on the quotes this message shows.
    """

    def __init__(
        self, engine: Engine, answer: Answer, scopes: Sequence[str], per_message: int, offset: int = 0
    ) -> None:
        super().__init__()
        self.engine = engine
        self.answer = answer
        self.scopes = list(scopes)
        self.per_message = per_message
        self.shown = answer.answers[offset : offset + per_message]
        self.next_offset = offset + len(self.shown)
        if self.shown:
            self.embeds = quote_embeds(self.shown, offset + 1, dates_first=answer.recent)
        else:
            self.embeds = [abstention_embed(answer)]
        self._raters: set[int] = set()
        if self.next_offset >= len(answer.answers):
            self.remove_item(self.more)
        articles = list({quote.article.id: quote.article for quote in self.shown}.values()) or answer.closest
        self.full_article.options = [
            discord.SelectOption(
                label=clip(article.title, SELECT_LABEL_LIMIT),
                value=str(article.id),
                description=clip(credit(article), SELECT_LABEL_LIMIT) or None,
            )
            for article in articles
        ]
        if not articles:
            self.remove_item(self.full_article)

    @discord.ui.button(label="More", style=discord.ButtonStyle.primary, row=0)
    async def more(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        view = AnswerView(self.engine, self.answer, self.scopes, self.per_message, self.next_offset)
        view.message = await send(interaction, embeds=view.embeds, view=view, ephemeral=True)

    @discord.ui.button(label="Helpful", emoji="👍", style=discord.ButtonStyle.secondary, row=0)
    async def helpful(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._rate(interaction, helpful=True)

    @discord.ui.button(label="Not helpful", emoji="👎", style=discord.ButtonStyle.secondary, row=0)
    async def not_helpful(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._rate(interaction, helpful=False)

    @discord.ui.select(placeholder="Full article…", row=1)
    async def full_article(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        article = await self.engine.article(int(select.values[0]), self.scopes)
        if article is None:
            await send(interaction, content="That article has been removed since.", ephemeral=True)
            return
        await Paginator.show(interaction, article_pages(article), ephemeral=True)

    async def _rate(self, interaction: discord.Interaction, helpful: bool) -> None:
        if interaction.user.id in self._raters:
            await send(interaction, content="You have already rated this answer.", ephemeral=True)
            return
        self._raters.add(interaction.user.id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        shown = dataclasses.replace(self.answer, answers=list(self.shown))
        await record_feedback(self.engine, shown, interaction.user.id, helpful)
        await send(interaction, content="Thanks, noted.", ephemeral=True)
