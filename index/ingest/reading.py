"""Reading files into articles: `.txt`, `.md` (YAML front matter), `.html`, `.jsonl`.

Every problem is reported as a `ReadProblem` naming the file (and line, for jsonl)
in one sentence; nothing here raises for bad input.
"""

from __future__ import annotations

import datetime as dt
import errno
import functools
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from .passages import SENTENCE_END, paragraph_spans
from .untrusted import NumberTooLong, clip, describe_error, describe_value, load_json, plain_line, short, unsafe_marked

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".jsonl")

# A headline is one short line without sentence-final punctuation.
_HEADLINE_MAX_CHARS = 160
# An agency credit ("Reuters", "(AP)", "-- AFP") is one very short closing line.
_CREDIT_MAX_CHARS = 40
# A byline ("By Jane Doe", "By Jane Doe and John Roe, Reuters"): a short line of names
# starting with "By", never a sentence.
_BYLINE = re.compile(r"(?:By|BY)\s+[A-Z][^\n]{0,100}")
# A dateline opens the first paragraph: a capitalised place, perhaps a country or a date,
# the agency in brackets and a dash ("ISLAMABAD, Pakistan (CNN) --", "MOSCOW (Reuters) -").
_DATELINE = re.compile(
    r"[A-Z][A-Z.'’ -]*[A-Z.](?:,[^()\n]{1,40})?\s*\((?P<agency>[A-Za-z][^()\n]{0,30})\)\s*(?:--?|—|–)\s"
)
_DERIVED_TITLE_CHARS = 90
_ISO_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
# Control characters other than tab, newline and carriage return mark a binary file.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NAME_MAX_CHARS = 120
# Front matter is a few lines of metadata; a larger block is not an article's header.
_FRONT_MATTER_MAX_CHARS = 16_000
# More digits than any date, count or id in an article's metadata needs; Python refuses to
# convert over 4,300 anyway, with an error that would otherwise end an ingest run.
_MAX_NUMBER_DIGITS = 100


@dataclass(frozen=True)
class ArticleDraft:
    """An article read from a file, not yet stored."""

    title: str
    text: str
    origin: str
    source: str | None = None
    date: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class ReadProblem:
    """Why a file, or one line of a jsonl file, was refused."""

    origin: str
    reason: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.reason}"


@dataclass
class ReadResult:
    articles: list[ArticleDraft] = field(default_factory=list)
    problems: list[ReadProblem] = field(default_factory=list)


@dataclass(frozen=True)
class ReadLimits:
    max_file_bytes: int = 5_000_000
    max_article_chars: int = 500_000


def iter_corpus_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Yield the article files named, walking folders (hidden entries skipped).

    A file named explicitly is yielded whatever its suffix, so that `read_path` can say
    why it is refused. Inside folders, files with a supported suffix are taken, and so is
    anything that is neither a file nor a folder (a named pipe, a device, a link to a folder,
    a broken link or a loop of links), so that `read_path` refuses it with a line rather
    than skip it unseen. Links to folders are never followed inside a folder, so a loop of
    links cannot make the walk endless.
    """
    for path in map(Path, paths):
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if hidden or (child.is_dir() and not child.is_symlink()):
                    continue
                if not child.is_file() or child.suffix.lower() in SUPPORTED_SUFFIXES:
                    yield child
        else:
            yield path


def read_path(path: Path, limits: ReadLimits) -> ReadResult:
    """Read one file from disk into articles; problems come back, never raise.

    Only a regular file is opened (a named pipe would block, a device never end), and at
    most one byte over the size limit is read from it, whatever its size claimed.
    """
    name = display_name(path.name)
    try:
        kind = _file_kind(os.stat(path).st_mode)
        if kind is None:
            # O_NONBLOCK: should a named pipe replace the file after the check, opening it
            # returns at once instead of waiting for a writer; the check below refuses it.
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
            with open(fd, "rb") as file:
                opened = os.fstat(file.fileno())
                kind, size = _file_kind(opened.st_mode), opened.st_size
                fits = kind is None and size <= limits.max_file_bytes
                data = file.read(limits.max_file_bytes + 1) if fits else b""
    except FileNotFoundError:
        broken = os.path.islink(path)
        return _refused(display_name(str(path)), "a broken link: what it points to does not exist" if broken else "no such file")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return _refused(display_name(str(path)), "a loop of symbolic links, not a file")
        return _refused(display_name(str(path)), f"cannot be read ({clip(exc.strerror or str(exc), 80)})")
    if kind is not None:
        return _refused(name, f"{kind}, not a regular file; only regular files are read")
    if size > limits.max_file_bytes:
        return _refused(name, _too_big(size, limits.max_file_bytes))
    if len(data) > limits.max_file_bytes:  # it grew while read, or its size was not its length
        return _refused(name, f"file is over the {limits.max_file_bytes:,}-byte limit")
    return read_document(data, path.name, limits)


def _file_kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    kinds = {
        stat.S_ISDIR: "a folder (links to folders are not followed inside a folder)",
        stat.S_ISFIFO: "a named pipe",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
        stat.S_ISSOCK: "a socket",
    }
    return next((words for test, words in kinds.items() if test(mode)), "a special file")


def display_name(name: str) -> str:
    """A file name fit for a one-line message: control characters and line breaks replaced, length capped."""
    shown = unsafe_marked(name)
    if len(shown) <= _NAME_MAX_CHARS:
        return shown
    tail = 20  # the end of a long name (its suffix, a date) tells files apart best
    return shown[: _NAME_MAX_CHARS - tail - 1] + "…" + shown[-tail:]


def read_document(data: bytes, name: str, limits: ReadLimits) -> ReadResult:
    """Parse the bytes of one file (from disk or an upload) into articles.

    Args:
        data: the file's content.
        name: its file name; the suffix picks the format and it becomes the origin.
        limits: size limits.

    Returns:
        The articles found and the problems met.
    """
    shown = display_name(name)
    try:
        return _read_text(data, Path(name).suffix.lower(), shown, limits)
    except Exception as exc:  # whatever a parser meets in a hostile file is that file's problem, not the run's
        return _refused(shown, f"could not be read ({describe_error(exc)})")


def _read_text(data: bytes, suffix: str, name: str, limits: ReadLimits) -> ReadResult:
    """`read_document` for a file of that suffix, whose name is already fit to show."""
    if suffix not in SUPPORTED_SUFFIXES:
        shown = clip(display_name(suffix), 20) or "(none)"
        return _refused(name, f"unsupported file type {shown}; use one of {', '.join(SUPPORTED_SUFFIXES)}")
    if len(data) > limits.max_file_bytes:
        return _refused(name, _too_big(len(data), limits.max_file_bytes))
    if not data.strip():
        return _refused(name, "empty file")
    if b"\x00" in data:
        return _refused(name, "binary file (contains NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        return _refused(name, f"not UTF-8 text (byte 0x{bad} at offset {exc.start}); save it as UTF-8")
    if _CONTROL.search(text):
        return _refused(name, "binary file (contains control characters), not text")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():  # white space beyond ASCII (no-break spaces, ideographic spaces)
        return _refused(name, "empty file")
    parse = {".txt": _parse_txt, ".md": _parse_md, ".markdown": _parse_md, ".jsonl": _parse_jsonl}.get(suffix, _parse_html)
    result = parse(text, name)
    too_long = [a for a in result.articles if len(a.text) > limits.max_article_chars]
    for article in too_long:
        result.problems.append(
            ReadProblem(article.origin, f"article is {len(article.text):,} characters, over the {limits.max_article_chars:,} limit")
        )
    result.articles = [a for a in result.articles if len(a.text) <= limits.max_article_chars]
    return result


def _refused(origin: str, reason: str) -> ReadResult:
    return ReadResult(problems=[ReadProblem(origin, reason)])


def _too_big(size: int, limit: int) -> str:
    return f"file is {size:,} bytes, over the {limit:,}-byte limit"


def _looks_like_headline(line: str) -> bool:
    return "\n" not in line and len(line) <= _HEADLINE_MAX_CHARS and not line.rstrip().endswith((".", ",", ";", ":"))


def _looks_like_credit(line: str) -> bool:
    return (
        "\n" not in line
        and len(line) <= _CREDIT_MAX_CHARS
        and not line.endswith((",", ";", ":"))
        and not SENTENCE_END.search(line)  # the last line of a sentence, perhaps inside quotes
    )


def _looks_like_byline(line: str) -> bool:
    return _BYLINE.fullmatch(line) is not None and not SENTENCE_END.search(line)


def _dateline_agency(paragraph: str) -> str | None:
    """The agency named by a dateline opening the paragraph ("MOSCOW (Reuters) - ..."), if any."""
    match = _DATELINE.match(paragraph)
    return match.group("agency").strip() if match else None


def derive_title(text: str) -> str:
    """A title for an article that has none: its opening words after any dateline, cut at a word."""
    spans = paragraph_spans(text)
    first = text[slice(*spans[0])] if spans else ""
    dateline = _DATELINE.match(first)
    words = plain_line(first[dateline.end() if dateline else 0 :].lstrip("#"))
    if len(words) <= _DERIVED_TITLE_CHARS:
        return words
    cut = words[:_DERIVED_TITLE_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


def _date_in_name(name: str) -> str | None:
    match = _ISO_DATE_IN_NAME.search(name)
    return _normalise_date(match.group(0)) if match else None


def _normalise_date(value: object) -> str | None:
    """ISO date (YYYY-MM-DD) from a date, datetime or ISO-like string; None if absent."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10]).isoformat()
        except ValueError:
            pass
    raise ValueError(f"date: {describe_value(value)} is not a YYYY-MM-DD date")


def _parse_txt(text: str, name: str) -> ReadResult:
    """A plain-text article as news comes: headline, byline, body with a dateline, credit line.

    Only the body is stored, verbatim; the headline becomes the title, the credit line
    (or else the dateline's agency) the source, and bylines are dropped.
    """
    spans = paragraph_spans(text)
    title = None
    while len(spans) > 1:
        first = text[slice(*spans[0])]
        if _looks_like_byline(first):
            spans = spans[1:]
        elif title is None and _looks_like_headline(first):
            title = first
            spans = spans[1:]
        else:
            break
    body_start, body_end = spans[0][0], spans[-1][1]
    # The credit is the article's last line, even when a hard-wrapped paragraph runs into it.
    last_line_start = text.rfind("\n", body_start, body_end) + 1
    source = None
    if last_line_start > body_start and _looks_like_credit(text[last_line_start:body_end]):
        source = text[last_line_start:body_end].strip(" ()-—–\t")
        body_end = len(text[:last_line_start].rstrip())
    body = text[body_start:body_end]
    article = ArticleDraft(
        title=plain_line(title or "") or derive_title(body),
        text=body,
        origin=name,
        source=plain_line(source or _dateline_agency(body) or "") or None,
        date=_date_in_name(name),
    )
    return ReadResult(articles=[article])


class _AliasInFrontMatter(Exception):
    """Front matter refers back to an anchored value (*name)."""


@functools.cache
def _front_matter_handler():
    """python-frontmatter's YAML handler, loading safely and refusing aliases (made once: it keeps no state)."""
    import frontmatter  # imported here: only markdown files need it
    import yaml

    class FrontMatterLoader(yaml.SafeLoader):
        # PyYAML's C loader recurses without limit and can overflow the C stack on deeply
        # nested input; this pure-Python one raises RecursionError instead.

        def compose_node(self, parent, index):
            # An alias repeats an anchored value without its text: nine aliases of nine
            # aliases, eight deep, are 472 bytes that build 43 million items ("billion
            # laughs"). Refused as the composer meets the first one, before anything is built.
            if self.check_event(yaml.AliasEvent):
                raise _AliasInFrontMatter
            return super().compose_node(parent, index)

    class FrontMatterYAML(frontmatter.YAMLHandler):
        def load(self, fm: str, **kwargs):
            return yaml.load(fm, Loader=FrontMatterLoader)

    return FrontMatterYAML()


def _parse_md(text: str, name: str) -> ReadResult:
    import frontmatter  # imported here: only markdown files need it

    head = text[: _FRONT_MATTER_MAX_CHARS + 8]
    if text.startswith("---") and "\n---" not in head[3:]:
        return _refused(name, f"front matter over {_FRONT_MATTER_MAX_CHARS:,} characters, or not closed by ---")
    try:
        post = frontmatter.loads(text, handler=_front_matter_handler())
    except _AliasInFrontMatter:
        return _refused(name, "front matter uses a YAML alias (*name), which is not allowed; write the value out")
    except RecursionError:
        return _refused(name, "front matter nested too deeply")
    except Exception as exc:  # the YAML parser's many error types all mean the same here
        return _refused(name, f"front matter is not valid YAML ({short(exc, 100)})")
    if not isinstance(post.metadata, dict):
        return _refused(name, "front matter must be a YAML mapping (title: ..., date: ...)")
    body = post.content.strip()
    if not body:
        return _refused(name, "no article text after the front matter")
    return _one_article(post.metadata, body, name)


def _parse_html(text: str, name: str) -> ReadResult:
    import trafilatura  # imported here: its import costs ~0.5 s and only HTML needs it

    try:
        doc = trafilatura.bare_extraction(text, with_metadata=True, include_comments=False, include_tables=False)
    except Exception as exc:  # lxml and trafilatura raise assorted errors on broken markup
        return _refused(name, f"HTML could not be parsed ({exc.__class__.__name__})")
    meta = (doc.as_dict() if hasattr(doc, "as_dict") else doc) if doc else {}
    body = (meta.get("text") or "").strip()
    if not body:
        return _refused(name, "no article text found in the HTML")
    fields = {
        "title": meta.get("title"),
        "source": meta.get("sitename") or meta.get("hostname"),
        "date": meta.get("date"),
        "url": meta.get("url"),
    }
    return _one_article(fields, body, name)


def _one_article(fields: dict, body: str, name: str) -> ReadResult:
    """A file holding one article: the article, or the reason its metadata is refused."""
    try:
        return ReadResult(articles=[_article_from_fields(fields, body, name, default_date=_date_in_name(name))])
    except ValueError as exc:
        return _refused(name, str(exc))


def _parse_jsonl(text: str, name: str) -> ReadResult:
    result = ReadResult()
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        origin = f"{name}:{lineno}"
        try:
            record = load_json(line, _MAX_NUMBER_DIGITS)
        except json.JSONDecodeError as exc:
            result.problems.append(ReadProblem(origin, f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        except NumberTooLong as exc:
            too_long = f"a number {exc.length:,} digits long; numbers here have at most {_MAX_NUMBER_DIGITS} digits"
            result.problems.append(ReadProblem(origin, too_long))
            continue
        except RecursionError:
            result.problems.append(ReadProblem(origin, "JSON nested too deeply"))
            continue
        if not isinstance(record, dict):
            result.problems.append(ReadProblem(origin, "each line must be a JSON object with a \"text\" field"))
            continue
        body = record.get("text")
        if not isinstance(body, str) or not body.strip():
            result.problems.append(ReadProblem(origin, "no \"text\" (a non-empty string) on this line"))
            continue
        try:
            result.articles.append(_article_from_fields(record, body.strip(), origin))
        except ValueError as exc:
            result.problems.append(ReadProblem(origin, str(exc)))
    if not result.articles and not result.problems:
        result.problems.append(ReadProblem(name, "empty file"))
    return result


def _article_from_fields(fields: dict, body: str, origin: str, default_date: str | None = None) -> ArticleDraft:
    """Build an article from metadata fields, checking their types."""
    values = {}
    for key in ("title", "source", "url"):
        value = fields.get(key)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"\"{key}\" must be a string, not {type(value).__name__}")
        values[key] = value.strip() if value and value.strip() else None
    # Unpaired surrogates (escaped in JSON or YAML) no UTF-8 store can hold: a file that
    # writes one anywhere is malformed, and is refused rather than stored altered.
    for key, value in (("text", body), *values.items()):
        if value is None:
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"\"{key}\" contains an unpaired surrogate (\\ud800-\\udfff) escape") from None
    # Escapes (JSON's, YAML's, HTML's) can smuggle in what the byte-level checks refused.
    # A title or source is shown on one line, so its terminal escapes, control characters
    # and bidirectional overrides go; the text is quoted verbatim, so it is refused instead,
    # and so is a url, which is no longer the same url without them.
    for key in ("title", "source"):
        values[key] = plain_line(values[key] or "") or None
    for key, value in (("text", body), ("url", values.get("url"))):
        if value is not None and _CONTROL.search(value):
            raise ValueError(f"\"{key}\" contains control characters")
    date = _normalise_date(fields.get("date")) or default_date
    return ArticleDraft(
        title=values["title"] or derive_title(body),
        text=body,
        origin=origin,
        source=values["source"],
        date=date,
        url=values["url"],
    )
