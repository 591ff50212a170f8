"""Reading a fetched feed (RSS 2.0, Atom or JSON Feed) into entries, or one clear reason why not.

XML is checked by defusedxml before feedparser sees it: feedparser hands the bytes to a SAX
parser that expands internal entities (the "billion laughs") and, in old versions, opened
the files a DOCTYPE named (kurtmckee/feedparser#107). A document with entity declarations
or external references is refused unparsed.
"""

from __future__ import annotations

import codecs
import datetime as dt
import html
import io
import json
import re
import time
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree
import feedparser
from defusedxml import DefusedXmlException

from ..ingest.untrusted import ESCAPE_SEQUENCE, NumberTooLong, clean_name, load_json, shown

_JSON_TYPES = ("application/feed+json", "application/json")
_XML_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml")
# Servers often label feeds loosely; these are read by sniffing the body.
_LOOSE_TYPES = ("", "text/plain", "application/octet-stream", "binary/octet-stream")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_JSON_FEED_VERSION = re.compile(r"^https?://jsonfeed\.org/version/1(\.1)?/?$")
_XML_DECLARED_ENCODING = re.compile(rb"^\s*<\?xml[^>]*\bencoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_LOOKS_LIKE_HTML = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>])", re.I | re.S)
# Text codecs that are no character set a feed is written in: they read escapes, punycode or
# UTF-7's base64 runs (markup hidden in plain ASCII), or refuse everything.
_NOT_CHARSETS = frozenset({"utf-7", "idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined", "charmap"})
# Control characters XML 1.0 forbids, raw or as character references: sloppy feeds carry them
# (pasted from word processors), and they would make the whole feed unreadable for one title.
_XML_CONTROL_BYTES = re.compile(ESCAPE_SEQUENCE.encode() + rb"|[\x00-\x08\x0b\x0c\x0e-\x1f]")  # escape sequences whole
_XML_CONTROL_REFERENCES = re.compile(rb"&#(?:0*(?:[0-8]|1[124-9]|2[0-9]|3[01])|[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]));")
# The longest number a JSON feed may hold: ids and counts are short; a 5,000-digit number is an
# attack on int() (Python refuses to convert over 4,300 digits, and converts slowly below).
JSON_NUMBER_MAX_CHARS = 40


class FeedError(Exception):
    """The document is not a feed newsdesk can read; the message says why in one sentence."""


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed, as the feed gives it (times are UTC datetimes)."""

    guid: str | None
    link: str | None
    title: str | None
    summary_html: str | None  # a teaser: the full article is on the linked page
    content_html: str | None  # the article itself, when the feed carries it
    published: dt.datetime | None
    updated: dt.datetime | None


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    site_url: str | None
    entries: list[FeedEntry]


def parse_feed(body: bytes, content_type: str, charset: str | None) -> ParsedFeed:
    """Parse a feed's bytes.

    Args:
        body: the response body.
        content_type: the response's media type, lower case ("" if none).
        charset: the charset the response declared, if any.

    Raises:
        FeedError: HTML or another non-feed type, undecodable text, malformed or
            dangerous XML, or a document that is not a feed.
    """
    if content_type in _HTML_TYPES or _LOOKS_LIKE_HTML.match(body[:4096]):
        raise FeedError("this is an HTML page, not a feed (give the url of its RSS, Atom or JSON feed)")
    if not body.strip():
        raise FeedError("the feed is empty")
    if content_type in _JSON_TYPES or (content_type in _LOOSE_TYPES and body.lstrip()[:1] == b"{"):
        return _parse_json_feed(body)
    if content_type in _XML_TYPES or content_type.endswith("+xml") or content_type in _LOOSE_TYPES:
        return _parse_xml_feed(body, charset)
    raise FeedError(f"the server says this is {content_type}, not a feed")


def _decode_check(body: bytes, encoding: str) -> None:
    """Refuse a body that is not text in a character set (zlib, base64, UTF-7 and the like are not)."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise FeedError(f"the feed's character set {shown(encoding)} is unknown") from None
    except (TypeError, ValueError):  # a name with NULs or the like
        raise FeedError(f"the feed's character set {shown(encoding)} is not a character set name") from None
    not_a_charset = FeedError(f"the feed's character set {shown(encoding)} is not a text encoding feeds are read in")
    if name in _NOT_CHARSETS:
        raise not_a_charset
    try:
        body.decode(encoding)
    except UnicodeDecodeError as exc:
        raise FeedError(
            f"the feed is not valid {name.upper()} text (byte 0x{body[exc.start]:02x} at offset {exc.start})"
        ) from None
    except LookupError:  # str.decode takes text encodings only: "'zlib' is not a text encoding"
        raise not_a_charset from None
    except UnicodeError as exc:
        raise FeedError(f"the feed is not valid {name.upper()} text ({exc.__class__.__name__})") from None


def _without_control_characters(body: bytes, encoding: str) -> bytes:
    """The XML without the control characters XML 1.0 forbids, if its encoding keeps ASCII as ASCII."""
    if "<\n".encode(encoding) != b"<\n":  # UTF-16 and UTF-32 have NUL bytes in every character
        return body
    return _XML_CONTROL_REFERENCES.sub(b"", _XML_CONTROL_BYTES.sub(b"", body))


def _parse_xml_feed(body: bytes, charset: str | None) -> ParsedFeed:
    declared = _XML_DECLARED_ENCODING.match(body)
    encoding = declared.group(1).decode() if declared else charset or "utf-8"
    _decode_check(body, encoding)
    body = _without_control_characters(body, encoding)
    try:
        defusedxml.ElementTree.fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise FeedError("the feed declares XML entities or external references, which are refused") from None
    except ParseError as exc:
        raise FeedError(f"the feed is not well-formed XML ({exc})") from None
    # A file-like object: given bytes or a str, feedparser may take them for a file name or url to open.
    parsed = feedparser.parse(io.BytesIO(body), response_headers={"content-type": f"application/xml; charset={encoding}"})
    if not parsed.version:
        raise FeedError("this XML is not an RSS or Atom feed")
    feed = parsed.feed
    entries = [
        FeedEntry(
            guid=e.get("id") or None,
            link=e.get("link") or None,
            title=clean_name(e.get("title")),
            summary_html=e.get("summary") or None,
            content_html="\n".join(c.get("value", "") for c in e.get("content", [])).strip() or None,
            # dict.get: FeedParserDict's own get maps a missing key to another one, with a warning
            published=_from_struct(dict.get(e, "published_parsed")),
            updated=_from_struct(dict.get(e, "updated_parsed")),
        )
        for e in parsed.entries
    ]
    return ParsedFeed(clean_name(feed.get("title")), feed.get("link") or None, entries)


def _from_struct(value: time.struct_time | None) -> dt.datetime | None:
    """feedparser's parsed dates are UTC struct_times."""
    return dt.datetime(*value[:6], tzinfo=dt.timezone.utc) if value else None


def _parse_json_feed(body: bytes) -> ParsedFeed:
    try:
        # JSON Feed is UTF-8 by its spec
        data = load_json(body.decode("utf-8"), JSON_NUMBER_MAX_CHARS)
    except UnicodeDecodeError as exc:
        raise FeedError(f"the JSON feed is not UTF-8 text (byte 0x{body[exc.start]:02x} at offset {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise FeedError(f"the feed is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except NumberTooLong as exc:
        raise FeedError(
            f"the JSON feed holds a number {exc.length:,} characters long; over {JSON_NUMBER_MAX_CHARS} is refused"
        ) from None
    except RecursionError:
        raise FeedError("the JSON feed is nested too deeply") from None
    if not isinstance(data, dict) or not _JSON_FEED_VERSION.match(str(data.get("version", ""))):
        raise FeedError("this JSON is not a JSON Feed (no \"version\": \"https://jsonfeed.org/version/1.1\")")
    items = data.get("items")
    if not isinstance(items, list):
        raise FeedError("the JSON feed has no \"items\" list")
    entries = []
    for item in items:
        if not isinstance(item, dict):
            raise FeedError("an item of the JSON feed is not an object")
        content = _text_field(item, "content_html") or _plain_to_html(_text_field(item, "content_text"))
        entries.append(
            FeedEntry(
                guid=_text_field(item, "id") or None,
                link=_text_field(item, "url") or _text_field(item, "external_url"),
                title=clean_name(_text_field(item, "title")),
                summary_html=_plain_to_html(_text_field(item, "summary")),
                content_html=content,
                published=_from_rfc3339(item.get("date_published")),
                updated=_from_rfc3339(item.get("date_modified")),
            )
        )
    return ParsedFeed(clean_name(_text_field(data, "title")), _text_field(data, "home_page_url"), entries)


def _text_field(record: dict, key: str) -> str | None:
    value = record.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and key == "id":
        value = str(value)  # JSON Feed 1.0 allowed numeric ids
    return (value.strip() or None) if isinstance(value, str) else None


def _plain_to_html(text: str | None) -> str | None:
    if not text:
        return None
    return "".join(f"<p>{html.escape(p.strip())}</p>" for p in re.split(r"\n\s*\n", text) if p.strip())


def _from_rfc3339(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc)
