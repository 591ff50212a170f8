"""The plan stage: what a question asks for before anything is searched.

The question checked and trimmed, and what it says about time: the days to answer from
(`since`/`until`, or days it names such as "today": `time_words`) and whether it wants the
newest reports first. A question without time words is planned as any other.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from ..dates import DateRange, date_range
from ..errors import QuestionError
from .time_words import time_intent


@dataclass(frozen=True)
class Plan:
    """One question, ready to be shortlisted."""

    question: str  # trimmed, and short enough to ask
    # when it arrived (`time.perf_counter()`), for the answer's elapsed time
    started: float
    # the days to answer from: given by since/until, else named by the question (None: any day)
    period: DateRange | None
    # whether the period was given (since/until), not read from the question's words
    period_given: bool
    # whether it asks for the newest reports first
    recent: bool


def plan(question: str, since: str | None, until: str | None, now: dt.datetime, max_chars: int) -> Plan:
    """The question's plan; raises QuestionError if it cannot be asked or since/until cannot be read."""
    started = time.perf_counter()
    question = check_question(question, max_chars)
    given = date_range(since, until, now)
    intent = time_intent(question, now.date())
    period = given or (intent.period if intent else None)
    return Plan(question, started, period, given is not None, intent is not None and intent.prefer_recent)


def check_question(question: str, max_chars: int) -> str:
    """The question, trimmed; raises QuestionError if it cannot be asked."""
    question = " ".join(question.split())
    if not question:
        raise QuestionError("Ask a question: the text is empty.")
    if len(question) > max_chars:
        raise QuestionError(f"That question is {len(question):,} characters long; the limit is {max_chars:,}.")
    return question
