"""What a question says about time: whether it wants recent news, and which days it names.

"What's the latest on the bridge?" wants the newest reports first; "what happened
today?" wants today's. A question without such words gets no time intent at all, so it
is answered exactly as before. Word lists, not a model: the phrases are few and fixed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Callable

from ..dates import DateRange

# Words that ask for the newest reports, without naming days.
_RECENT = re.compile(
    r"\b(latest|newest|most recent|recent(ly)?|current(ly)?|now|nowadays|so far|as of|up to date|"
    r"any (news|updates?)|updates? on|still)\b",
    re.IGNORECASE,
)


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


# Phrases naming days, each with the days it names relative to today (both ends included).
_PERIODS: tuple[tuple[re.Pattern[str], Callable[[dt.date], tuple[dt.date, dt.date]]], ...] = tuple(
    (re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE), days)
    for pattern, days in (
        (r"today|tonight|this (morning|afternoon|evening)", lambda t: (t, t)),
        # News of yesterday is often published today.
        (r"yesterday|last night", lambda t: (t - dt.timedelta(days=1), t)),
        (r"this week", lambda t: (_week_start(t), t)),
        (r"last week", lambda t: (_week_start(t) - dt.timedelta(days=7), _week_start(t) - dt.timedelta(days=1))),
        (r"(past|last) (7|seven) days|past week", lambda t: (t - dt.timedelta(days=7), t)),
        (r"this month", lambda t: (_month_start(t), t)),
        (r"last month", lambda t: (_month_start(_month_start(t) - dt.timedelta(days=1)), _month_start(t) - dt.timedelta(days=1))),
        (r"(past|last) (30|thirty) days|past month", lambda t: (t - dt.timedelta(days=30), t)),
        (r"this year", lambda t: (t.replace(month=1, day=1), t)),
    )
)


@dataclass(frozen=True)
class TimeIntent:
    """A question's time words: newest first, and the days it names (if any), with the phrase that named them."""

    prefer_recent: bool
    period: DateRange | None = None
    phrase: str | None = None


def time_intent(question: str, today: dt.date) -> TimeIntent | None:
    """The question's time intent, or None when it has no time words (it is then answered as any other).

    A named period ("today", "this week") also asks for the newest first.
    """
    for pattern, days in _PERIODS:
        match = pattern.search(question)
        if match:
            since, until = days(today)
            return TimeIntent(True, DateRange(since, until), match.group(0).lower())
    match = _RECENT.search(question)
    return TimeIntent(True, None, match.group(0).lower()) if match else None
