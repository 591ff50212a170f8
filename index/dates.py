"""Date ranges over articles' dates: `since` / `until` as members and scripts write them.

An article's date is a day (`YYYY-MM-DD`, or an ISO time whose first ten characters are
one), so ranges are whole days, both ends included. A bound is written as a date
(`2024-05-01`) or as an age counted back from now (`7d`, `2w`, `12h`, `30m`): "since 7d"
is "from the day seven days ago".
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from .errors import QuestionError

_AGE = re.compile(r"(\d{1,5})\s*([mhdw])")
_AGE_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class DateRange:
    """Days from `since` to `until`, both included; None leaves that end open."""

    since: dt.date | None = None
    until: dt.date | None = None

    def bounds(self) -> tuple[str | None, str | None]:
        """As the store compares dates: (first day, inclusive; the day after the last, exclusive), ISO strings."""
        after = self.until + dt.timedelta(days=1) if self.until else None
        return (self.since.isoformat() if self.since else None, after.isoformat() if after else None)

    def describe(self) -> str:
        """For a reply: "since 2024-05-01", "until 2024-05-31", "from 2024-05-01 to 2024-05-31", or "on ..."."""
        if self.since and self.until:
            if self.since == self.until:
                return f"on {self.since.isoformat()}"
            return f"from {self.since.isoformat()} to {self.until.isoformat()}"
        if self.since:
            return f"since {self.since.isoformat()}"
        return f"until {self.until.isoformat()}" if self.until else "at any date"


def parse_bound(text: str, now: dt.datetime, name: str) -> dt.date:
    """A date (`2024-05-01`) or an age back from now (`7d`, `2w`, `12h`, `30m`) as a day.

    Args:
        text: what the member or script wrote.
        now: the current time (the engine's clock).
        name: "since" or "until", to name the bound in an error.

    Raises:
        QuestionError: neither a date nor an age, or a day that does not exist.
    """
    value = text.strip().lower()
    age = _AGE.fullmatch(value)
    if age:
        return (now - dt.timedelta(**{_AGE_UNITS[age.group(2)]: int(age.group(1))})).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise QuestionError(
            f"`{name}` must be a date like 2024-05-01 or an age like 7d, 2w or 12h, not “{text.strip()[:40]}”."
        ) from None


def date_range(since: str | None, until: str | None, now: dt.datetime) -> DateRange | None:
    """The range `since` / `until` describe (None when both are empty).

    Raises:
        QuestionError: a bound cannot be read, or the range ends before it starts.
    """
    first = parse_bound(since, now, "since") if since and since.strip() else None
    last = parse_bound(until, now, "until") if until and until.strip() else None
    if first is None and last is None:
        return None
    if first and last and last < first:
        raise QuestionError(f"`until` ({last.isoformat()}) is before `since` ({first.isoformat()}).")
    return DateRange(first, last)
