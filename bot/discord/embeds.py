"""Turning what the engine returns into embeds that stay inside Discord's limits.

Quotes stay verbatim: the passage's own text, Markdown-escaped so that an asterisk in an
article shows as an asterisk, as a block quote with the key sentence in bold. A passage
too long for the room left is trimmed around its key sentence and the cut marked with an
ellipsis; nothing is ever reworded.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import datetime, timezone

import discord
from discord.utils import escape_markdown

from newsdesk.index import Answer, Article, ArticleText, FileReport, Quote, Stats

# Discord's limits: https://discord.com/developers/docs/resources/message#embed-object-embed-limits
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_LIMIT = 1024
EMBED_CHARS_PER_MESSAGE = 6000
EMBEDS_PER_MESSAGE = 10
# Ours, well inside Discord's: a footer credits a source and a date, and ten embeds of
# full titles and credits must still leave room for their passages.
CREDIT_CHARS = 200
# A title in a list line or a menu.
LINE_TITLE_CHARS = 200
# One page of an article or of a list: a screenful, well under DESCRIPTION_LIMIT.
PAGE_CHARS = 2000
# How many problems of one refused file are listed before "and N more".
PROBLEMS_SHOWN = 3

# Sources whose licence asks to be named wherever their articles are shown (the bundled
# Wikinews articles; the title links to each one's page).
SOURCE_LICENCES = {"Wikinews": "CC BY 2.5"}

ANSWER_COLOUR = discord.Colour(0x2B6CB0)
QUIET_COLOUR = discord.Colour.light_grey()
ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """text, cut to limit characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def echo(typed: str) -> str:
    """What a member typed, quoted back to them: short, and shown as typed."""
    return f"“{escape_markdown(clip(typed, 100))}”"


def credit(article: Article) -> str:
    """ "Source · date", or whichever of them is known; the source's licence beside it when it asks for one."""
    source = article.source
    if source in SOURCE_LICENCES:
        source = f"{source} ({SOURCE_LICENCES[source]})"
    return clip(" · ".join(part for part in (source, article.date) if part), CREDIT_CHARS)


def link(article: Article) -> str | None:
    """The article's url if Discord will accept it as a link; a bad one would get the whole message refused."""
    return article.url if article.url and article.url.startswith(("https://", "http://")) else None


def article_line(article: Article) -> str:
    """One line naming an article: its title (linked when it has a url), source and date."""
    title = escape_markdown(clip(article.title, LINE_TITLE_CHARS))
    line = f"[{title}]({link(article)})" if link(article) else title
    return f"{line} ({credit(article)})" if credit(article) else line


def _article_embed(article: Article, title: str) -> discord.Embed:
    """An embed headed by an article: title linked when it has a url, source and date below."""
    embed = discord.Embed(title=clip(title, TITLE_LIMIT), url=link(article), colour=ANSWER_COLOUR)
    if credit(article):
        embed.set_footer(text=credit(article))
    return embed


def published(article: Article) -> datetime | None:
    """The article's date as a time (midnight UTC of its day), if it has one that reads."""
    try:
        day = datetime.fromisoformat(article.date[:10]) if article.date else None
    except ValueError:
        return None
    return day.replace(tzinfo=timezone.utc) if day else None


def age(article: Article) -> str | None:
    """How old the article is, as Discord shows it to each reader ("3 days ago"), with its date."""
    when = published(article)
    if when is None:
        return None
    return f"{discord.utils.format_dt(when, 'R')} ({discord.utils.format_dt(when, 'D')})"


def quote_embeds(
    quotes: Sequence[Quote], first_number: int | None = 1, *, dates_first: bool = False
) -> list[discord.Embed]:
    """One embed per quote, numbered from first_number (None: not numbered), together within one message's limits.

    Each says how old its article is; with dates_first (a question that asked for the newest reports)
    the title opens with the article's date.
    """
    if not 0 < len(quotes) <= EMBEDS_PER_MESSAGE:
        raise ValueError(f"a message holds 1 to {EMBEDS_PER_MESSAGE} quotes, not {len(quotes)}")
    embeds = []
    for offset, quote in enumerate(quotes):
        title = quote.article.title
        if dates_first and quote.article.date:
            title = f"{quote.article.date[:10]} · {title}"
        if first_number is not None:
            title = f"{first_number + offset}. {title}"
        embed = _article_embed(quote.article, title)
        if age(quote.article):
            embed.add_field(name="Published", value=age(quote.article))
        embeds.append(embed)
    # Titles and footers are short and fixed; the passages share what is left.
    room = (EMBED_CHARS_PER_MESSAGE - sum(len(embed) for embed in embeds)) // len(quotes)
    for embed, quote in zip(embeds, quotes):
        embed.description = block_quote(quote, min(room, DESCRIPTION_LIMIT))
    return embeds


def block_quote(quote: Quote, limit: int = DESCRIPTION_LIMIT) -> str:
    """The passage as a Markdown block quote, key sentence in bold, in at most limit characters.

    Trimming takes context from the longer side of the key sentence first, and cuts into
    the key sentence itself only when it alone does not fit.
    """
    text, key_start, key_end = quote.quote, quote.highlight_start, quote.highlight_end
    start, end = 0, len(text)
    while True:
        rendered = _render(text, start, end, key_start, key_end)
        over = len(rendered) - limit
        if over <= 0 or start >= end:  # fits, or nothing is left to cut
            return rendered[:limit]
        before, after = max(0, key_start - start), max(0, end - key_end)
        if before and before >= after:
            start += min(over, before)
        else:
            end -= min(over, after) if after else over


def _render(text: str, start: int, end: int, key_start: int, key_end: int) -> str:
    key_start, key_end = min(max(key_start, start), end), max(min(key_end, end), start)
    lines = [ELLIPSIS + " " if start > 0 else ""]
    segments = ((text[start:key_start], False), (text[key_start:key_end], True), (text[key_end:end], False))
    for segment, strong in segments:
        for number, piece in enumerate(segment.split("\n")):
            if number:
                lines.append("")
            lines[-1] += _strong(piece) if strong else escape_markdown(piece)
    if end < len(text):
        lines[-1] += " " + ELLIPSIS
    return "\n".join(f"> {line}" for line in lines)


def _strong(piece: str) -> str:
    """piece in bold; Discord ignores `** text**`, so surrounding spaces stay outside the markers."""
    core = piece.strip()
    if not core:
        return piece
    lead = piece[: len(piece) - len(piece.lstrip())]
    trail = piece[len(piece.rstrip()) :]
    return f"{lead}**{escape_markdown(core)}**{trail}"


def abstention_embed(answer: Answer) -> discord.Embed:
    """Saying plainly that nothing answers the question (dated as it asked), and offering the closest articles."""
    dated = f" dated {answer.period.describe()}" if answer.period else ""
    embed = discord.Embed(title=f"Nothing in my articles{dated} answers that.", colour=QUIET_COLOUR)
    unnamed = f"{escape_markdown(answer.describe_unnamed())}\n\n" if answer.unnamed else ""
    if answer.closest:
        listed = "\n".join(f"• {article_line(article)}" for article in answer.closest)
        text = f"{unnamed}The closest articles I have:\n{listed}\n\nPick one below to read it."
        embed.description = clip(text, DESCRIPTION_LIMIT)
    else:
        embed.description = f"{unnamed}I have no article close to that question."
    return embed


def paginate(pieces: Sequence[str], limit: int = PAGE_CHARS, separator: str = "\n") -> list[str]:
    """Pack pieces (paragraphs, list lines) into pages of at most limit characters, in order.

    A piece longer than a page is split at white space (a word longer than a page, at the limit).
    """
    pages: list[str] = []
    current = ""
    for piece in pieces:
        parts = [piece] if len(piece) <= limit else textwrap.wrap(piece, limit, break_on_hyphens=False)
        for part in parts:
            joined = f"{current}{separator}{part}" if current else part
            if len(joined) <= limit:
                current = joined
            else:
                pages.append(current)
                current = part
    if current:
        pages.append(current)
    return pages


def article_pages(article: ArticleText) -> list[discord.Embed]:
    """A whole article as pages for the paginator: its paragraphs, escaped, under its title."""
    paragraphs = [escape_markdown(p.strip()) for p in article.text.split("\n") if p.strip()]
    pages = []
    for body in paginate(paragraphs, separator="\n\n"):
        embed = _article_embed(article.article, article.article.title)
        embed.description = body
        pages.append(embed)
    return pages


def listing_pages(title: str, lines: Sequence[str]) -> list[discord.Embed]:
    """A list (search results, the corpus) as pages for the paginator."""
    return [
        discord.Embed(title=clip(title, TITLE_LIMIT), description=body, colour=ANSWER_COLOUR)
        for body in paginate(lines)
    ]


def upload_line(report: FileReport) -> str:
    """What ingesting one uploaded file did, in one line."""
    name = escape_markdown(report.origin)
    if report.problems:
        # A jsonl file's problems name their line ("feed.jsonl:2"); the file's own need no name.
        shown = report.problems[:PROBLEMS_SHOWN]
        reasons = [p.reason if p.origin == report.origin else str(p) for p in shown]
        more = len(report.problems) - PROBLEMS_SHOWN
        if more > 0:
            reasons.append(f"and {more} more problem(s)")
        return refused_line(report.origin, "; ".join(reasons) + ". Nothing from it was added.")
    if not report.articles_added:
        return f"➖ **{name}**: already stored ({report.duplicates} article(s)); nothing added."
    line = f"✅ **{name}**: {report.articles_added} article(s), {report.passages_added} passage(s) added"
    return line + (f"; {report.duplicates} already stored." if report.duplicates else ".")


def refused_line(name: str, reason: str) -> str:
    """An uploaded file that was not ingested, and why."""
    return f"❌ **{escape_markdown(name)}** was refused: {escape_markdown(reason)}"


def upload_embed(lines: Sequence[str]) -> discord.Embed:
    """The report of /corpus add: one line per file."""
    description = clip("\n".join(lines), DESCRIPTION_LIMIT)
    return discord.Embed(title="Upload report", description=description, colour=ANSWER_COLOUR)


def stats_embed(stats: Stats, added_here: Stats, feeds: int) -> discord.Embed:
    """/corpus stats: what this server can search and how much of it is its own (uploads and feeds).

    Nothing about other servers or the host: the index and storage are shared by every server.
    """
    embed = discord.Embed(title="Corpus", colour=ANSWER_COLOUR)
    embed.add_field(name="Articles", value=f"{stats.articles:,} ({added_here.articles:,} added here)")
    embed.add_field(name="Passages", value=f"{stats.passages:,} ({added_here.passages:,} added here)")
    embed.add_field(name="Feeds", value=f"{feeds:,}")
    if stats.last_added is not None:
        added = discord.utils.format_dt(datetime.fromtimestamp(stats.last_added.added_at, timezone.utc), "R")
        last = clip(f"{article_line(stats.last_added)}, {added}", FIELD_LIMIT)
        embed.add_field(name="Last added", value=last, inline=False)
    return embed
