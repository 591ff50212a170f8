"""Synthetic dated articles (written for the tests, not real news): one story told over three years."""

from __future__ import annotations

# What the follow tests follow: the strike below.
STRIKE_TOPIC = "lakeside ferry strike"

STRIKE_BEGINS = {
    "title": "Lakeside ferry crews strike",
    "date": "2021-03-02",
    "source": "Lakeside Herald",
    "text": "Ferry crews at the lakeside port began a strike over pay on Tuesday, halting the lake ferry service "
    "between the two towns.",
}
STRIKE_STALLS = {
    "title": "Ferry strike talks stall",
    "date": "2024-04-20",
    "source": "Lakeside Herald",
    "text": "The lakeside ferry strike entered its third week as talks between the crews and the operator "
    "over pay stalled again on Saturday.",
}
STRIKE_ENDS = {
    "title": "Ferry strike ends",
    "date": "2024-05-01",
    "source": "Lake Radio",
    "text": "The lakeside ferry strike ended on Wednesday after the crews accepted a new pay offer, and the "
    "first lake ferry left the port at noon.",
}
STORY = [STRIKE_BEGINS, STRIKE_STALLS, STRIKE_ENDS]
# "Now" for the tests that need a clock: two days after the strike ended.
NOW = "2024-05-03T12:00:00+00:00"


def older_reports(count: int) -> list[dict]:
    """Many old articles that match "ferry strike" better than any newer one: a shortlist of the best
    candidates holds only these, so a date range must narrow the search itself to find the new one."""
    return [
        {
            "title": f"Ferry strike bulletin {number}",
            "date": "2019-06-01",
            "text": f"Ferry strike bulletin {number}: the ferry strike goes on, ferry strike pickets at the ferry port, "
            "ferry strike talks, ferry strike pay.",
        }
        for number in range(count)
    ]
