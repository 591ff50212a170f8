"""Which articles a place may see, and finding one from what a member typed.

A server sees the bundled global corpus plus its own uploads (scope = its id); a DM sees
only the global corpus. Every engine call from the bot passes scopes from here, so one
server never reads, lists or removes another's uploads.
"""

from __future__ import annotations

from collections.abc import Sequence

from discord import app_commands

from newsdesk.index import GLOBAL_SCOPE, ArticleText, Engine

from .embeds import clip, credit

CHOICES_LIMIT = 25  # Discord shows at most 25 autocomplete choices
CHOICE_NAME_LIMIT = 100  # and at most 100 characters of each choice's name


def own_scope(guild_id: int) -> str:
    """The scope a server's uploads go into."""
    return str(guild_id)


def scopes_for(guild_id: int | None) -> list[str]:
    """The scopes a server (or, with None, a DM) may search."""
    return [GLOBAL_SCOPE] if guild_id is None else [GLOBAL_SCOPE, own_scope(guild_id)]


async def article_choices(engine: Engine, scopes: Sequence[str], typed: str) -> list[app_commands.Choice[str]]:
    """Autocomplete: articles whose title contains what was typed, newest first; the value is the id.

    A LIKE query on titles, not a search: it has to answer while the member types.
    """
    rows = await engine.articles(scopes, title_like=typed.strip() or None, limit=CHOICES_LIMIT)
    choices = []
    for row in rows:
        label = f"{row.title} ({credit(row)})" if credit(row) else row.title
        choices.append(app_commands.Choice(name=clip(label, CHOICE_NAME_LIMIT), value=str(row.id)))
    return choices


async def find_article(engine: Engine, scopes: Sequence[str], typed: str) -> ArticleText | None:
    """The article a member picked (an id from autocomplete) or typed (a title, or part of one).

    Typed text names an article when exactly one title contains it, or one title equals it.
    """
    typed = typed.strip()
    if typed.isdigit():
        return await engine.article(int(typed), scopes)
    rows = await engine.articles(scopes, title_like=typed, limit=CHOICES_LIMIT) if typed else []
    exact = [row for row in rows if row.title.casefold() == typed.casefold()]
    chosen = exact if exact else rows
    return await engine.article(chosen[0].id, scopes) if len(chosen) == 1 else None
