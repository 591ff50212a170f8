"""What a question says about time, and since/until as members write them."""

from __future__ import annotations

import datetime as dt

import pytest

from newsdesk.index import QuestionError
from newsdesk.index.dates import date_range
from newsdesk.index.answer.time_words import time_intent

TODAY = dt.date(2024, 5, 3)  # a Friday


@pytest.mark.parametrize(
    ("question", "since", "until"),
    [
        ("What happened at the port today?", "2024-05-03", "2024-05-03"),
        ("what did the council decide yesterday", "2024-05-02", "2024-05-03"),
        ("Any strikes this week?", "2024-04-29", "2024-05-03"),
        ("What changed last week?", "2024-04-22", "2024-04-28"),
        ("news from the past week", "2024-04-26", "2024-05-03"),
        ("who resigned last month?", "2024-04-01", "2024-04-30"),
        ("What has the mayor said this year?", "2024-01-01", "2024-05-03"),
    ],
)
def test_named_days_limit_the_question_and_ask_for_the_newest(question, since, until):
    intent = time_intent(question, TODAY)
    assert intent.prefer_recent
    assert (intent.period.since.isoformat(), intent.period.until.isoformat()) == (since, until)


@pytest.mark.parametrize(
    "question",
    ["What's the latest on the ferry strike?", "Is the bridge still closed?", "who is the current mayor", "recent floods"],
)
def test_recency_words_ask_for_the_newest_without_limiting_days(question):
    intent = time_intent(question, TODAY)
    assert intent.prefer_recent and intent.period is None


@pytest.mark.parametrize(
    "question",
    [
        "why does Russia oppose the missile shield?",
        "When does the Start-1 pact expire?",
        "How many people died in the stampede?",
        "what did the weekly newsletter say?",  # "week" inside a word is not a time phrase
        "what did todays papers print?",  # nor "today" inside one
        "who won the yesterdays cup?",
    ],
)
def test_questions_without_time_words_have_no_time_intent(question):
    assert time_intent(question, TODAY) is None


def test_since_and_until_read_dates_and_ages():
    now = dt.datetime(2024, 5, 3, 9, 30, tzinfo=dt.timezone.utc)
    assert date_range("7d", None, now).since == dt.date(2024, 4, 26)
    assert date_range("2w", "12h", now) == date_range("2024-04-19", "2024-05-02", now)
    assert date_range("30m", None, now).since == dt.date(2024, 5, 3)
    assert date_range(" ", "", now) is None
    with pytest.raises(QuestionError, match="`since` must be a date like 2024-05-01"):
        date_range("yesterday", None, now)
