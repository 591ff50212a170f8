"""Threads for ingest's CPU work (reading, splitting, embedding), which yield the CPU to questions.

A machine with two cores serves an upload and the questions asked meanwhile. Were the
upload's embedding to run at the same priority, a question's encoder thread would share a
core evenly with it (or worse, with torch's two threads); instead the worker thread lowers
its own scheduling priority, so the kernel runs a question's threads first and gives the
upload every cycle they leave. On Linux the priority is a thread's own, and threads it
starts (torch's OpenMP team, say) inherit it; elsewhere the worker runs at normal priority.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

# The nice value of ingest's threads: the lowest priority, so that a question (nice 0) takes a
# busy core at once (a nice-19 thread weighs 15 against a nice-0 thread's 1024).
BACKGROUND_NICE = 19


def _lower_own_priority() -> None:
    if sys.platform.startswith("linux"):  # elsewhere a thread id is no pid: setpriority could hit another process
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)


def background_executor(name: str) -> ThreadPoolExecutor:
    """One thread, at background priority, for work that must never slow a question down."""
    return ThreadPoolExecutor(1, thread_name_prefix=name, initializer=_lower_own_priority)
