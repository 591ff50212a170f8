"""What an untrusted value becomes before it is stored or shown: no control, escape or direction-override
characters, long values trimmed, any value described without writing it out whole.

Files, uploads and feeds name things (titles, sources, file names) that reach terminals, logs and
Discord: an escape sequence there can repaint a terminal, a bidi override can reverse what a line
seems to say ("txt.exe" shown as "exe.txt"), and a NUL or an unpaired surrogate is refused by the
store. They are removed, not refused, so an article is never lost for its title. Values quoted in
a message (a bad date, a url, an error's text) are trimmed: a file can hold a value of gigabytes.
"""

from __future__ import annotations

import json
import re
import reprlib
from typing import Any

# Control characters (C0, DEL, C1), unpaired surrogates, and the bidi embeddings, overrides and
# isolates (U+202A-U+202E, U+2066-U+2069; the plain direction marks stay: right-to-left text needs them).
_UNSAFE_BEYOND_C0 = "\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069"
_UNSAFE_IN_NAMES = re.compile(f"[\x00-\x1f\u2028\u2029{_UNSAFE_BEYOND_C0}]")
_UNSAFE_IN_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f{_UNSAFE_BEYOND_C0}]")  # tab, \n and \r stay
# Terminal escape sequences go whole, so "\x1b[31mRed" leaves "Red", not "[31mRed": control
# sequences (CSI), operating-system commands (OSC: a window title, a hyperlink) and two-byte escapes.
ESCAPE_SEQUENCE = r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]"
_ESCAPE_SEQUENCES = re.compile(ESCAPE_SEQUENCE)
_LINE_BREAKS = re.compile(r"[\t\n\r\x0b\x0c\x85\u2028\u2029]")
NAME_MAX_CHARS = 300


def plain_line(value: str, max_chars: int = NAME_MAX_CHARS) -> str:
    """One line of plain text: line breaks as spaces, unsafe characters removed, runs of spaces as one, capped."""
    line = " ".join(_UNSAFE_IN_NAMES.sub("", _LINE_BREAKS.sub(" ", _ESCAPE_SEQUENCES.sub("", value))).split())
    return clip(line, max_chars)


def clip(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def short(value: object, max_chars: int = 160) -> str:
    """A url, host or error text for a one-line message: one line of at most max_chars."""
    return plain_line(str(value)[: max_chars * 4], max_chars)


def clean_name(value: str | None) -> str | None:
    """A title or a source's name, fit to store and print; None if nothing is left of it."""
    return (plain_line(value) or None) if value else None


def clean_text(text: str) -> str:
    """An article's text without unsafe characters (tabs and line breaks stay)."""
    return _UNSAFE_IN_TEXT.sub("", _ESCAPE_SEQUENCES.sub("", text))


def unsafe_marked(name: str) -> str:
    """A name with each unsafe character (line breaks too) shown as "?": a file name must stay recognisable."""
    return _UNSAFE_IN_NAMES.sub("?", _ESCAPE_SEQUENCES.sub("?", name))


def describe_error(exc: BaseException) -> str:
    """An exception in a few words for a one-line message: its type and the start of its message."""
    message = short(exc, 100)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class _ShortRepr(reprlib.Repr):
    """reprlib's trimming, safe for any number: a repr of an int over 4,300 digits raises."""

    def repr_int(self, x: int, level: int) -> str:
        return super().repr_int(x, level) if x.bit_length() <= 256 else f"<a number of {x.bit_length():,} bits>"


_SHORT_REPR = _ShortRepr()
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = 60
_SHORT_REPR.maxlist = _SHORT_REPR.maxtuple = _SHORT_REPR.maxdict = _SHORT_REPR.maxset = 3
_SHORT_REPR.maxlevel = 2
_KINDS = {str: "text", int: "a number", float: "a number", bool: "true/false", list: "a list", dict: "a mapping"}


def shown(value: object) -> str:
    """An untrusted value for a one-line message: its repr, trimmed (a str's quotes and escapes make its type plain)."""
    return plain_line(_SHORT_REPR.repr(value))


def describe_value(value: object) -> str:
    """An untrusted value for a message: its kind and a trimmed repr ("a list (['x', 'x', ...])")."""
    return f"{_KINDS.get(type(value), f'a {type(value).__name__}')} ({shown(value)})"


class NumberTooLong(ValueError):
    """A JSON number longer than its reader allows (`length` characters)."""

    def __init__(self, length: int):
        super().__init__(f"a JSON number {length:,} characters long")
        self.length = length


def load_json(text: str, max_number_chars: int) -> Any:
    """json.loads, refusing any number over max_number_chars characters (`NumberTooLong`): an int of
    over 4,300 digits makes Python raise, a longer one takes time, and no field newsdesk reads needs one."""

    def number(literal: str) -> str:
        if len(literal) > max_number_chars:
            raise NumberTooLong(len(literal))
        return literal

    return json.loads(text, parse_int=lambda s: int(number(s)), parse_float=lambda s: float(number(s)))
