"""Reading files into articles: `.txt`, `.md` (YAML front matter), `.html`, `.jsonl`.

Every problem is reported as a `ReadProblem` naming the file (and line, for jsonl)
in one sentence; nothing here raises for bad input.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from .passages import SENTENCE_END, paragraph_spans

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
# In a file name shown to a user, line breaks too would let the uploader write extra lines.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAME_MAX_CHARS = 120
# Front matter is a few lines of metadata; a larger block is not an article's header.
_FRONT_MATTER_MAX_CHARS = 16_000


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

    A file named explicitly is yielded whatever its suffix, so that `read_document`
    can say why it is refused; inside folders only supported suffixes are taken.
    """
    for path in map(Path, paths):
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if child.is_file() and not hidden and child.suffix.lower() in SUPPORTED_SUFFIXES:
                    yield child
        else:
            yield path


def read_path(path: Path, limits: ReadLimits) -> ReadResult:
    """Read one file from disk into articles; problems come back, never raise."""
    name = path.name
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            return _refused(name, _too_big(size, limits.max_file_bytes))
        data = path.read_bytes()
    except FileNotFoundError:
        return _refused(str(path), "no such file")
    except OSError as exc:
        return _refused(str(path), f"cannot be read ({exc.strerror or exc})")
    return read_document(data, name, limits)


def display_name(name: str) -> str:
    """A file name fit for a one-line message: control characters and line breaks replaced, length capped."""
    shown = _UNPRINTABLE.sub("?", name)
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
    suffix = Path(name).suffix.lower()
    name = display_name(name)
    if suffix not in SUPPORTED_SUFFIXES:
        return _refused(name, f"unsupported file type {suffix or '(none)'}; use one of {', '.join(SUPPORTED_SUFFIXES)}")
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
    words = " ".join(first[dateline.end() if dateline else 0 :].lstrip("#").split())
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
    raise ValueError(f"date {value!r} is not a YYYY-MM-DD date")


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
        title=title or derive_title(body),
        text=body,
        origin=name,
        source=source or _dateline_agency(body),
        date=_date_in_name(name),
    )
    return ReadResult(articles=[article])


def _parse_md(text: str, name: str) -> ReadResult:
    import frontmatter  # imported here: only markdown files need it
    import yaml

    class PurePythonYAML(frontmatter.YAMLHandler):
        # PyYAML's C loader recurses without limit and can overflow the C stack on deeply
        # nested input; the pure-Python loader raises RecursionError instead.
        def load(self, fm: str, **kwargs):
            return yaml.load(fm, Loader=yaml.SafeLoader)

    head = text[: _FRONT_MATTER_MAX_CHARS + 8]
    if text.startswith("---") and "\n---" not in head[3:]:
        return _refused(name, f"front matter over {_FRONT_MATTER_MAX_CHARS:,} characters, or not closed by ---")
    try:
        post = frontmatter.loads(text, handler=PurePythonYAML())
    except RecursionError:
        return _refused(name, "front matter nested too deeply")
    except Exception as exc:  # the YAML parser's many error types all mean the same here
        return _refused(name, f"front matter is not valid YAML ({str(exc).splitlines()[0]})")
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
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            result.problems.append(ReadProblem(origin, f"not valid JSON ({exc.msg} at column {exc.colno})"))
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
    # JSON escapes can smuggle in what the byte-level checks refused: control characters
    # and unpaired surrogates (which no UTF-8 store can hold).
    for key, value in (("text", body), *values.items()):
        if value is None:
            continue
        if _CONTROL.search(value):
            raise ValueError(f"\"{key}\" contains control characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"\"{key}\" contains an unpaired surrogate (\\ud800-\\udfff) escape") from None
    date = _normalise_date(fields.get("date")) or default_date
    return ArticleDraft(
        title=values["title"] or derive_title(body),
        text=body,
        origin=origin,
        source=values["source"],
        date=date,
        url=values["url"],
    )
