"""Turning feed entries into articles: identity (GUID, canonical url), full text, source and times.

A feed that carries only a summary gets its full article from the linked page, extracted
by trafilatura; when the page cannot be had (or holds no article), the feed's own text is used.
An article keeps the url it was fetched from (the entry's link): a page's own claim to another
url (its canonical link) is not taken, as a page could claim another publisher's address.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import re
from dataclasses import dataclass

import lxml.html
from lxml.etree import ParserError
from yarl import URL

from .addresses import ALLOWED_SCHEMES
from ..ingest.untrusted import clean_name, clean_text, shown
from .fetching import Fetcher, FetchError
from .parsing import FeedEntry

log = logging.getLogger(__name__)

# Dates this far ahead are taken for mistakes (a wrong time zone is at most 14 hours off).
FUTURE_TOLERANCE = dt.timedelta(days=1)
_TRACKING_PARAMS = re.compile(r"^(utm_[a-z]+|fbclid|gclid|mc_cid|mc_eid)$", re.I)
_BLOCKS = ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "section", "article")
_PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
# Longer links are refused (browsers and servers stop near 2,000 to 8,000 characters).
LINK_MAX_CHARS = 2048
# A longer GUID is kept as its hash: it names the entry just as well, in bounded space.
GUID_MAX_CHARS = 512


class EntryProblem(Exception):
    """An entry that cannot become an article (no link, dated in the future, no text); the message says which and why."""


@dataclass(frozen=True)
class ItemDraft:
    """A feed entry ready to ingest: its identity, its article and when the feed last changed it."""

    guid: str
    url: str
    title: str | None
    text: str
    source: str
    published: dt.datetime | None
    updated: dt.datetime | None
    entry_hash: str  # of the entry as the feed gives it: unchanged entries are not fetched again

    def jsonl_line(self) -> str:
        """The article as a line of the engine's jsonl format."""
        date = self.published or self.updated
        record = {"title": self.title, "text": self.text, "source": self.source, "url": self.url}
        if date:
            record["date"] = date.isoformat()
        return json.dumps({k: v for k, v in record.items() if v}, ensure_ascii=False) + "\n"


def canonical_url(parsed: URL) -> str:
    """The url that names an article: lower-case scheme and host, no fragment, no tracking parameters."""
    query = [(k, v) for k, v in parsed.query.items() if not _TRACKING_PARAMS.match(k)]
    return str(parsed.with_fragment(None).with_query(query).with_scheme(parsed.scheme.lower()))


def entry_label(entry: FeedEntry) -> str:
    """How a message names an entry: its title or GUID, trimmed."""
    return shown(entry.title or entry.guid or "untitled")


def entry_identity(entry: FeedEntry, now: dt.datetime, feed_url: str) -> tuple[str, str, str]:
    """(guid, canonical url, entry hash) of an entry that can be taken in; a relative link is the feed url's.

    Raises:
        EntryProblem: it has no link or a bad one, or is dated in the future.
    """
    label = entry_label(entry)
    if not entry.link:
        raise EntryProblem(f"entry {label} has no link")
    for when in (entry.published, entry.updated):
        if when and when > now + FUTURE_TOLERANCE:
            raise EntryProblem(f"entry {label} is dated {when:%Y-%m-%d %H:%M} UTC, in the future")
    url = canonical_url(_entry_link(entry.link, label, feed_url))
    fields = [entry.title, entry.link, entry.summary_html, entry.content_html, entry.published, entry.updated]
    entry_hash = hashlib.sha256(json.dumps(fields, default=str).encode()).hexdigest()
    guid = entry.guid or url
    if len(guid) > GUID_MAX_CHARS:
        guid = "sha256:" + hashlib.sha256(guid.encode("utf-8", "surrogatepass")).hexdigest()
    return guid, url, entry_hash


def _entry_link(link: str, label: str, feed_url: str) -> URL:
    """The entry's link as an absolute http(s) url.

    Raises:
        EntryProblem: too long, not a url, or not http(s).
    """
    if len(link) > LINK_MAX_CHARS:
        raise EntryProblem(f"entry {label} has a link {len(link):,} characters long; over {LINK_MAX_CHARS:,} is refused")
    try:
        url = URL(feed_url).join(URL(link))  # yarl refuses a bad host or port ("http://[::1", ":99999")
    except (ValueError, TypeError) as exc:
        raise EntryProblem(f"entry {label} has a link that is not a valid url ({shown(link)}: {exc})") from None
    if url.scheme.lower() not in ALLOWED_SCHEMES or not url.host:
        raise EntryProblem(f"entry {label} has a link that is not an http(s) url ({shown(link)})")
    return url


def fragment_text(markup: str) -> str:
    """The text of an HTML fragment (a feed's summary or content), a paragraph per block."""
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (ParserError, ValueError):
        return ""
    for element in root.iter("script", "style"):
        element.drop_tree()
    for element in root.iter(*_BLOCKS):
        element.tail = "\n\n" + (element.tail or "")
    paragraphs = (" ".join(p.split()) for p in re.split(r"\n\s*\n", root.text_content()))
    return "\n\n".join(p for p in paragraphs if p)


def _extract_page(markup: bytes) -> dict:
    import trafilatura  # its import costs ~0.5 s: only pages need it

    try:
        doc = trafilatura.bare_extraction(markup, with_metadata=True, include_comments=False, include_tables=False)
    except Exception:  # lxml and trafilatura raise assorted errors on broken markup
        return {}
    return (doc.as_dict() if hasattr(doc, "as_dict") else doc) if doc else {}


async def build_item(
    entry: FeedEntry,
    identity: tuple[str, str, str],
    feed_source: str,
    fetcher: Fetcher,
    max_page_bytes: int,
    page_fetches: asyncio.Semaphore,
) -> ItemDraft:
    """The entry's article: the feed's content if it has any, else the linked page's, else the feed's summary.

    Args:
        page_fetches: held while the linked page is fetched and read (it bounds the pages at once).

    Raises:
        EntryProblem: no text could be had from either.
    """
    guid, url, entry_hash = identity
    text, title = "", entry.title
    if entry.content_html:
        text = clean_text(fragment_text(entry.content_html))
    if not text:
        try:
            async with page_fetches:
                page = await fetcher.get(url, max_page_bytes, {"Accept": _PAGE_ACCEPT})
                meta = await asyncio.to_thread(_extract_page, page.body)
            page_text, page_title = meta.get("text"), meta.get("title")
            text = clean_text(page_text).strip() if isinstance(page_text, str) else ""
            title = title or (clean_name(page_title) if isinstance(page_title, str) else None)
        except FetchError as exc:
            log.info("feed entry %s: page not fetched (%s); using the feed's summary", url, exc)
    if not text and entry.summary_html:
        text = clean_text(fragment_text(entry.summary_html))
    if not text:
        raise EntryProblem(f"entry {shown(entry.title or url)} has no text, in the feed or on its page")
    return ItemDraft(guid, url, title, text, feed_source, entry.published, entry.updated, entry_hash)
