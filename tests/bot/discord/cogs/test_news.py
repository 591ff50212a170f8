"""The news by date, end to end: /latest, /timeline, /ask since/until, and how old each quote is."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support.dated_news import NOW, STORY, STRIKE_BEGINS, STRIKE_ENDS, STRIKE_STALLS, older_reports
from tests.support.discord_bot import (
    EPHEMERAL, body, bot_settings, command, component, components, make_bot, message_id, reply, seed, serve,
)
from tests.support.engines import ORCHARD

pytestmark = pytest.mark.usefixtures("fail_on_error_logs", "nobody_pinged")

STRIKE = "what happened in the lakeside ferry strike over pay?"


def timestamp(date: str) -> int:
    return int(dt.datetime.fromisoformat(date).replace(tzinfo=dt.timezone.utc).timestamp())


def relative(date: str) -> str:
    """How Discord is asked to show an article's age to each reader ("3 days ago")."""
    return f"<t:{timestamp(date)}:R>"


@pytest.fixture
async def newsroom(fake_discord, guild, settings):
    await seed(settings, [*STORY, ORCHARD])
    async with serve(make_bot(settings)) as bot:
        bot.engine.clock = lambda: dt.datetime.fromisoformat(NOW)
        yield bot


async def test_latest_lists_the_newest_articles_with_their_age(fake_discord, newsroom):
    (embed,) = (await command(fake_discord, "latest"))["embeds"]
    assert embed["title"] == "The newest articles"
    lines = embed["description"].split("\n")
    order = [ORCHARD, STRIKE_ENDS, STRIKE_STALLS, STRIKE_BEGINS]
    assert [line.split(" (")[0] for line in lines] == [a["title"] for a in order]
    assert all(relative(a["date"]) in line for a, line in zip(order, lines))


async def test_latest_on_a_topic_quotes_the_newest_reports_first(fake_discord, newsroom):
    (embed,) = (await command(fake_discord, "latest", {"topic": "lakeside ferry strike pay"}))["embeds"]
    assert embed["title"] == "The latest on “lakeside ferry strike pay”"
    text = embed["description"]
    positions = [text.index(a["title"]) for a in (STRIKE_ENDS, STRIKE_STALLS, STRIKE_BEGINS)]
    assert positions == sorted(positions)
    assert "Orchard" not in text  # not about the strike: below the threshold
    assert "> The lakeside ferry strike ended on Wednesday" in text  # verbatim, as a quote
    assert relative(STRIKE_ENDS["date"]) in text


async def test_timeline_tells_the_story_oldest_first(fake_discord, newsroom):
    (embed,) = (await command(fake_discord, "timeline", {"topic": "lakeside ferry strike pay"}))["embeds"]
    text = embed["description"]
    positions = [text.index(a["title"]) for a in (STRIKE_BEGINS, STRIKE_STALLS, STRIKE_ENDS)]
    assert positions == sorted(positions)
    nothing = await command(fake_discord, "timeline", {"topic": "volcanic eruption in iceland"})
    assert nothing["content"] == "No dated article answers “volcanic eruption in iceland”."


async def test_ask_since_leaves_out_older_articles_and_says_how_old_each_quote_is(fake_discord, newsroom):
    everything = await command(fake_discord, "ask", {"question": STRIKE})
    assert any(STRIKE_BEGINS["title"] in e["title"] for e in everything["embeds"])  # the premise
    recent = await command(fake_discord, "ask", {"question": STRIKE, "since": "2024-01-01"})
    titles = [e["title"] for e in recent["embeds"]]
    assert titles and not any(STRIKE_BEGINS["title"] in t for t in titles)
    ends = next(e for e in recent["embeds"] if STRIKE_ENDS["title"] in e["title"])
    assert ends["fields"] == [{"name": "Published", "value": f"{relative('2024-05-01')} (<t:{timestamp('2024-05-01')}:D>)", "inline": True}]
    assert ends["footer"]["text"] == "Lake Radio · 2024-05-01"  # the absolute date
    until = await command(fake_discord, "ask", {"question": STRIKE, "until": "2021-12-31"})
    assert [e["title"] for e in until["embeds"]] == [f"1. {STRIKE_BEGINS['title']}"]
    none = await command(fake_discord, "ask", {"question": STRIKE, "since": "2030-01-01"})
    assert none["embeds"][0]["title"] == "Nothing in my articles dated since 2030-01-01 answers that."


async def test_an_unreadable_since_is_refused_privately_before_deferring(fake_discord, newsroom):
    sent = await fake_discord.send_interaction("ask", {"question": STRIKE, "since": "last tuesday"})
    callback = await reply(fake_discord, sent)
    assert fake_discord.interaction_responses(sent.token) == [callback]  # no defer: refused at once
    assert callback.json["type"] == 4 and callback.json["data"]["flags"] == EPHEMERAL
    assert callback.json["data"]["content"].startswith("`since` must be a date like 2024-05-01 or an age like 7d")


async def test_a_question_for_the_latest_shows_dates_first_and_today_says_when_nothing_is_from_today(
    fake_discord, newsroom
):
    latest = await command(fake_discord, "ask", {"question": "what is the latest on the lakeside ferry strike?"})
    assert latest["embeds"][0]["title"] == f"1. 2024-05-01 · {STRIKE_ENDS['title']}"
    today = await command(fake_discord, "ask", {"question": "what happened in the lakeside ferry strike today?"})
    assert today["content"] == "Nothing dated on 2024-05-03 answers that; here are the newest reports I have."
    assert today["embeds"][0]["title"] == f"1. 2024-05-01 · {STRIKE_ENDS['title']}"


async def test_a_long_timeline_is_paged(fake_discord, guild, tmp_path):
    settings = bot_settings(tmp_path)
    await seed(settings, [*older_reports(20), *STORY])
    async with serve(make_bot(settings)):
        sent = await fake_discord.send_interaction("timeline", {"topic": "ferry strike pay"})
        first = await reply(fake_discord, sent)
        counter = components(body(first))[1]["label"]
        turn = await fake_discord.send_interaction(custom_id=component(body(first), "Next")["custom_id"],
                                                   message_id=message_id(first))
        second = body(await reply(fake_discord, turn))["embeds"][0]["description"]
    pages = int(counter.split("/")[1])
    assert counter == f"1/{pages}" and pages > 1
    first_entries = body(first)["embeds"][0]["description"].split("\n\n")
    assert first_entries[0].startswith("**Ferry strike bulletin")  # the oldest reports open the story
    assert not set(second.split("\n\n")) & set(first_entries)  # the next entries, none repeated
