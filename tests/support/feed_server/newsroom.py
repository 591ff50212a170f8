"""Stories for the loopback feed server: short news items, each with facts a question can ask about."""

from __future__ import annotations

import datetime as dt

from .documents import Story


def days_ago(days: int) -> dt.datetime:
    """A publication time some days before now, at whole seconds (as feeds give them)."""
    return (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)).replace(microsecond=0)


def stories() -> list[Story]:
    """Fresh copies (tests change them)."""
    return [
        Story(
            "grey-island-ferry",
            "Ferry to Grey Island resumes",
            "The island ferry returns next month.",
            [
                "The ferry to Grey Island will run twice a day from 3 December, the harbour authority said on "
                "Tuesday, ending a four-month suspension caused by a cracked propeller shaft.",
                "Islanders had relied on a weekly supply boat since August. The authority said the repaired vessel "
                "passed its sea trials last week and that fares would not rise this winter.",
            ],
            days_ago(5),
        ),
        Story(
            "lighthouse-museum",
            "Old lighthouse becomes a museum",
            "The keeper's cottage opens to visitors.",
            [
                "The disused lighthouse on Saltcombe Point will open as a maritime museum in the spring, after the "
                "town council bought it from the coastguard for one pound.",
                "Volunteers have restored the keeper's cottage and the brass lantern, which will be lit once a year "
                "on the anniversary of the last keeper's retirement.",
            ],
            days_ago(4),
        ),
        Story(
            "tram-line-vote",
            "Council approves new tram line",
            "Trams will reach the university by 2029.",
            [
                "The city council voted 31 to 12 on Wednesday to build a tram line from the central station to the "
                "university campus, at a cost of 240 million euros.",
                "Construction is due to begin next year and the first trams should carry passengers in 2029, the "
                "transport committee said.",
            ],
            days_ago(3),
        ),
    ]


def many_stories(count: int) -> list[Story]:
    """A newsroom's archive: count short stories, story 0 the newest, a day apart."""
    return [
        Story(
            f"bulletin-{n}",
            f"Harbour bulletin number {n}",
            f"Bulletin {n} in brief.",
            [f"Harbour bulletin number {n}: the tide tables for week {n} are posted at the harbour office."],
            days_ago(n),
        )
        for n in range(count)
    ]
