"""Write a file's bytes into a path: `python write_into.py SOURCE TARGET`.

Aimed at a named pipe, it waits in `open` until something opens the pipe to read, so the
tests can tell whether newsdesk ever opened it (the writer still waiting: it did not).
"""

import sys
from pathlib import Path

Path(sys.argv[2]).write_bytes(Path(sys.argv[1]).read_bytes())
