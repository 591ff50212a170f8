"""Files that are not regular files, and the hostile ones in hostile_files/, for the reading tests."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

HOSTILE = Path(__file__).resolve().parent / "hostile_files"
# 434 bytes of YAML front matter whose `date` is nine aliases of nine aliases, eight deep:
# built out, 387 million items.
ALIAS_BOMB = HOSTILE / "alias-bomb.md"
# Three lines: an article, one with a 5,000-digit number, another article.
BIG_NUMBER = HOSTILE / "big-number.jsonl"
# An article whose title and source carry terminal escapes, NUL, BEL, a bidi override and a line separator.
ESCAPED_NAMES = HOSTILE / "escaped-names.jsonl"
WRITE_INTO = Path(__file__).resolve().parent / "scripts" / "write_into.py"


@contextmanager
def pipe_with_a_waiting_writer(path: Path, content: Path) -> Iterator[subprocess.Popen]:
    """A named pipe at path, and a process waiting to write content into it.

    Opening the pipe to read never blocks (the writer is there to meet it) and would yield a
    readable article; so a reader that hangs or takes the article fails the test instead of
    hanging it, and the writer still waiting afterwards shows nothing opened the pipe.
    """
    os.mkfifo(path)
    writer = subprocess.Popen([sys.executable, str(WRITE_INTO), str(content), str(path)])
    try:
        yield writer
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.wait()
