"""The plan stage: what a question asks for before anything is searched.

The question checked and trimmed; what it says about time: the days to answer from
(`since`/`until`, or days it names such as "today": `time_words`) and whether it wants the
newest reports first; its words for BM25 and the names it gives (`tokenization`); and its
language (`models.language`), when that changes how it is read. A question without time words
is planned as any other. Every later stage takes what it needs of the question from the plan.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from ..dates import DateRange, date_range
from ..errors import QuestionError
from ..models.language import is_english
from ..tokenization import question_names, question_tokens
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
    # its stemmed content words, question words left out (`question_tokens`): what BM25 looks for
    tokens: tuple[str, ...]
    # the names it gives, as written (`question_names`): a candidate's article should hold them
    names: tuple[str, ...]
    # whether it is written in English; None: not told (nothing reads it differently by language)
    english: bool | None


def plan(
    question: str, since: str | None, until: str | None, now: dt.datetime, max_chars: int, tell_language: bool
) -> Plan:
    """The question's plan; raises QuestionError if it cannot be asked or since/until cannot be read."""
    started = time.perf_counter()
    question = check_question(question, max_chars)
    given = date_range(since, until, now)
    intent = time_intent(question, now.date())
    period = given or (intent.period if intent else None)
    recent = intent is not None and intent.prefer_recent
    return _planned(question, started, period, given is not None, recent, tell_language)


def plan_search(text: str) -> Plan:
    """A search's plan: text (already checked) looked up as it is: any day, no order by date, no language."""
    return _planned(text, time.perf_counter(), None, False, False, False)


def _planned(
    question: str, started: float, period: DateRange | None, period_given: bool, recent: bool, tell_language: bool
) -> Plan:
    english = is_english(question) if tell_language else None
    tokens, names = tuple(question_tokens(question)), tuple(question_names(question))
    return Plan(question, started, period, period_given, recent, tokens, names, english)


def check_question(question: str, max_chars: int) -> str:
    """The question, trimmed; raises QuestionError if it cannot be asked."""
    question = " ".join(question.split())
    if not question:
        raise QuestionError("Ask a question: the text is empty.")
    if len(question) > max_chars:
        raise QuestionError(f"That question is {len(question):,} characters long; the limit is {max_chars:,}.")
    return question
