"""Answers as embeds: verbatim quotes, the key sentence in bold, and Discord's limits kept."""

from __future__ import annotations

from dataclasses import replace

from discord.utils import escape_markdown

from newsdesk.bot.discord.embeds import (
    DESCRIPTION_LIMIT,
    EMBED_CHARS_PER_MESSAGE,
    PAGE_CHARS,
    TITLE_LIMIT,
    article_line,
    article_pages,
    block_quote,
    paginate,
    quote_embeds,
)
from newsdesk.index import Article, ArticleText, Quote
from newsdesk.index.ingest.reading import ReadLimits, read_path
from tests.support.discord_bot import unquote
from tests.support.engines import PROJECT_ROOT

ARTICLE = Article(
    7, "global", "Budget *vote* delayed", source="Capital Times", date="2024-02-01", url=None, origin="a.md", added_at=0.0
)


def quote_of(text: str, key: str, article: Article = ARTICLE) -> Quote:
    start = text.index(key)
    return Quote(text, key, start, start + len(key), 0.9, 0, len(text), article)


def test_the_key_sentence_is_bold_and_the_rest_reads_verbatim():
    text = "The vote on the 2024 budget was delayed. MPs said *all* options_remain open > now.\nA second line | here."
    quote = quote_of(text, "MPs said *all* options_remain open > now.")
    rendered = block_quote(quote)
    assert "**MPs said \\*all\\* options\\_remain open > now.**" in rendered
    assert all(line.startswith("> ") for line in rendered.split("\n"))
    assert unquote(rendered) == text


def test_mentions_in_a_quote_are_left_as_written():
    text = "The notice to @everyone thanked <@123456789012345678> for the design."
    assert unquote(block_quote(quote_of(text, text))) == text


def test_a_long_passage_is_trimmed_around_its_key_sentence():
    before, key, after = "Background. " * 200, "The key sentence is here.", " Aftermath." * 300
    rendered = block_quote(quote_of(before + key + after, key), limit=500)
    assert len(rendered) <= 500
    assert f"**{key}**" in rendered
    assert rendered.startswith("> … ") and rendered.endswith(" …")


def test_many_long_quotes_fit_one_message():
    long_title = Article(
        1, "global", "T" * 400, source="S" * 5000, date="2024-01-01", url="https://example.org", origin="x", added_at=0.0
    )
    text = "A sentence with *stars* and _underscores_. " * 120
    quotes = [quote_of(text, "A sentence with *stars* and _underscores_.", long_title) for _ in range(10)]
    embeds = quote_embeds(quotes, first_number=4)
    assert len(embeds) == 10 and embeds[0].title.startswith("4. ")
    assert sum(len(embed) for embed in embeds) <= EMBED_CHARS_PER_MESSAGE
    assert all(len(embed.title) <= TITLE_LIMIT and len(embed.description) <= DESCRIPTION_LIMIT for embed in embeds)


def test_only_web_links_are_linked():
    """Discord refuses a whole message over one malformed embed url."""
    bare = replace(ARTICLE, url="example.org/budget")
    (embed,) = quote_embeds([quote_of("The vote was delayed.", "The vote was delayed.", bare)])
    assert embed.url is None and article_line(bare) == "Budget \\*vote\\* delayed (Capital Times · 2024-02-01)"
    assert article_line(replace(ARTICLE, url="https://example.org/b")).startswith("[Budget \\*vote\\* delayed](https://example.org/b)")


def test_a_bundled_wikinews_quote_links_its_page_and_names_the_licence():
    """CC BY 2.5: wherever a Wikinews article is shown, it is credited with a link."""
    drafts = read_path(PROJECT_ROOT / "corpus" / "wikinews.jsonl", ReadLimits()).articles
    assert len(drafts) == 24
    for number, draft in enumerate(drafts):
        article = Article(number, "global", draft.title, draft.source, draft.date, draft.url, draft.origin, added_at=0.0)
        (embed,) = quote_embeds([quote_of(draft.text, draft.text.split(". ", 1)[0], article)])
        assert embed.url == draft.url and draft.url.startswith("https://en.wikinews.org/wiki/")
        assert embed.footer.text == f"Wikinews (CC BY 2.5) · {draft.date}"
        assert article_line(article).startswith(f"[{escape_markdown(draft.title)}]({draft.url})")


def test_pages_keep_order_and_size():
    pieces = [f"line {i} " + "word " * (i % 40) for i in range(300)] + ["x" * (PAGE_CHARS * 2 + 5)]
    pages = paginate(pieces)
    assert all(len(page) <= PAGE_CHARS for page in pages)
    assert "".join(pages).replace("\n", "").replace(" ", "") == "".join(pieces).replace(" ", "")


def test_a_long_article_becomes_pages_under_its_title():
    text = "\n\n".join(f"Paragraph {i}: " + "the council met again. " * 30 for i in range(40))
    pages = article_pages(ArticleText(ARTICLE, text))
    assert len(pages) > 3
    assert all(page.title == ARTICLE.title and len(page.description) <= DESCRIPTION_LIMIT for page in pages)
    assert pages[0].footer.text == "Capital Times · 2024-02-01"
