"""The documents the loopback feed server serves: RSS 2.0, Atom and JSON Feed of a list of stories, and their pages."""

from __future__ import annotations

import json
from dataclasses import dataclass
from email.utils import format_datetime
from html import escape

import datetime as dt


@dataclass
class Story:
    """One news story: the feeds give its title and teaser, its page holds the full text (paragraphs)."""

    slug: str
    title: str
    teaser: str
    paragraphs: list[str]
    published: dt.datetime

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)


def rss(
    stories: list[Story],
    base: str,
    title: str = "Harbour Gazette",
    full_text: bool = False,
    links: dict[str, str] | None = None,
    encoding: str = "UTF-8",
) -> bytes:
    """RSS 2.0: a teaser per item (the full text too, as content:encoded, if full_text).

    links: an item's link by story slug, instead of its page's (a feed's bad links).
    encoding: the encoding the XML declaration names (the bytes are UTF-8 whatever it says).
    """
    items = []
    for s in stories:
        content = ""
        if full_text:
            content = "<content:encoded><![CDATA[" + "".join(f"<p>{escape(p)}</p>" for p in s.paragraphs) + "]]></content:encoded>"
        link = (links or {}).get(s.slug, f"{base}/articles/{s.slug}?utm_source=rss")
        items.append(
            f"<item><title>{escape(s.title)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">story-{s.slug}</guid><pubDate>{format_datetime(s.published)}</pubDate>'
            f"<description>{escape(s.teaser)}</description>{content}</item>"
        )
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{escape(title)}</title><link>{base}/</link><description>News</description>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def atom(stories: list[Story], base: str, title: str = "Valley Times") -> bytes:
    """Atom with each story's full text as HTML content."""
    entries = "".join(
        f"<entry><title>{escape(s.title)}</title><link href=\"{base}/articles/{s.slug}\"/>"
        f"<id>urn:valley:{s.slug}</id><updated>{s.published.isoformat()}</updated>"
        f"<published>{s.published.isoformat()}</published><summary>{escape(s.teaser)}</summary>"
        '<content type="html">' + escape("".join(f"<p>{escape(p)}</p>" for p in s.paragraphs)) + "</content></entry>"
        for s in stories
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><link href=\"{base}/\"/><id>urn:valley</id>"
        f"<updated>{dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc).isoformat()}</updated>{entries}</feed>"
    ).encode()


def json_feed(stories: list[Story], base: str, title: str = "Mountain Post") -> bytes:
    """JSON Feed 1.1 with each story's full text as content_text."""
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": title,
            "home_page_url": f"{base}/",
            "items": [
                {
                    "id": f"mountain-{s.slug}",
                    "url": f"{base}/articles/{s.slug}",
                    "title": s.title,
                    "content_text": s.body,
                    "date_published": s.published.isoformat().replace("+00:00", "Z"),
                }
                for s in stories
            ],
        }
    ).encode()


def article_page(story: Story, canonical: str | None) -> bytes:
    """A news site's page: navigation and a footer around the article, and a canonical link (if any)."""
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in story.paragraphs)
    canonical_link = f'<link rel="canonical" href="{escape(canonical)}">' if canonical else ""
    return (
        "<!DOCTYPE html><html><head>"
        f"<title>{escape(story.title)} | Harbour Gazette</title>"
        + canonical_link
        + '<meta property="og:site_name" content="Harbour Gazette">'
        "</head><body><nav><a href='/'>Home</a> <a href='/sport'>Sport</a> <a href='/weather'>Weather</a></nav>"
        f"<article><h1>{escape(story.title)}</h1>{paragraphs}</article>"
        "<footer>Copyright Harbour Gazette. All rights reserved. Subscribe to our newsletter.</footer>"
        "</body></html>"
    ).encode()


ENTITY_BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'.encode() for i in range(1, 10)
    )
    + b']>\n<rss version="2.0"><channel><title>&lol9;</title><item><title>x</title>'
    b"<link>http://example.org/x</link></item></channel></rss>"
)

EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
    b'<rss version="2.0"><channel><title>&secret;</title></channel></rss>'
)


def odd_entries(story: Story, base: str, now: dt.datetime) -> bytes:
    """A JSON Feed with one good item, one without a link and one dated a year ahead."""
    good = {"id": "good", "url": f"{base}/articles/{story.slug}", "title": story.title, "content_text": story.body}
    linkless = {"id": "no-link", "title": "Linkless notice", "content_text": "A notice without a page of its own."}
    future = {
        "id": "future",
        "url": f"{base}/articles/from-the-future",
        "title": "Tomorrow's news today",
        "content_text": "This item claims to be published a year from now.",
        "date_published": (now + dt.timedelta(days=365)).isoformat(),
    }
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "Odd Entries", "items": [good, linkless, future]}
    ).encode()


def big_number_feed(story: Story, base: str) -> bytes:
    """A JSON Feed whose one item carries a 5,000-digit number (Python's int() refuses over 4,300 digits)."""
    item = json.dumps({"id": "big", "url": f"{base}/articles/{story.slug}", "title": story.title, "content_text": story.body})
    return (
        '{"version": "https://jsonfeed.org/version/1.1", "title": "Big Numbers", "items": ['
        + item[:-1] + ', "_views": ' + "9" * 5000 + "}]}"
    ).encode()
