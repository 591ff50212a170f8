"""Looking articles up, end to end: /search (paginated) and /article (autocomplete, paginated)."""

from __future__ import annotations

import pytest

from tests.support.discord_bot import (
    ARTICLES, EPHEMERAL, body, command, component, make_bot, message_id, reply, seed, serve,
)

pytestmark = pytest.mark.usefixtures("fail_on_error_logs", "nobody_pinged")

BUDGET = [
    {
        "title": f"Budget talks, day {day}: ministers argue over the long-delayed regional spending plan",
        "date": f"2024-01-{day:02d}",
        "source": "Capital Times",
        "text": f"On day {day} of the budget talks, ministers argued again over the regional spending plan, "
        "which has been delayed for months while the coalition partners disagree about taxes.",
    }
    for day in range(1, 31)
]


@pytest.fixture
async def library(fake_discord, guild, settings):
    """The bot with ARTICLES and thirty budget articles: enough for several pages and choices."""
    await seed(settings, ARTICLES + BUDGET)
    async with serve(make_bot(settings)) as bot:
        yield bot


async def test_search_pages_and_only_the_asker_may_turn_them(fake_discord, library):
    sent = await fake_discord.send_interaction("search", {"query": "budget talks regional spending plan"})
    first = await reply(fake_discord, sent)
    page_one = body(first)["embeds"][0]
    assert page_one["title"] == "Articles about “budget talks regional spending plan”"
    assert page_one["description"].startswith("1. Budget talks, day ")
    assert "(Capital Times · 2024-01-" in page_one["description"]
    next_id = component(body(first), "Next")["custom_id"]

    stranger = fake_discord.add_user("stranger")
    meddling = await fake_discord.send_interaction(custom_id=next_id, message_id=message_id(first), user_id=stranger)
    refused = body(await reply(fake_discord, meddling))
    assert refused["flags"] == EPHEMERAL and refused["content"].startswith("Only the member who asked")

    turn = await fake_discord.send_interaction(custom_id=next_id, message_id=message_id(first))
    turned = await reply(fake_discord, turn)
    assert turned.json["type"] == 7  # the same message, edited
    page_two = body(turned)["embeds"][0]["description"]
    assert page_two != page_one["description"] and not page_two.startswith("1. ")
    assert component(body(turned), "Previous")["disabled"] is False
    assert body(turned)["allowed_mentions"] == {"parse": []}


async def test_article_autocomplete_offers_at_most_25_titles_with_ids(fake_discord, library):
    typed = await fake_discord.send_interaction("article", {"title": "budget"}, focused="title")
    callback = await fake_discord.wait_for_request(path=typed.callback_path)
    assert callback.json["type"] == 8
    choices = callback.json["data"]["choices"]
    assert len(choices) == 25
    assert all(c["name"].startswith("Budget talks") and len(c["name"]) <= 100 and c["value"].isdigit() for c in choices)

    narrow = await fake_discord.send_interaction("article", {"title": "harbour"}, focused="title")
    (choice,) = (await fake_discord.wait_for_request(path=narrow.callback_path)).json["data"]["choices"]
    assert choice["name"] == "Harbour bridge reopens (Coast Gazette · 2024-03-01)"


async def test_article_shows_the_chosen_article(fake_discord, library):
    typed = await fake_discord.send_interaction("article", {"title": "orchard"}, focused="title")
    (choice,) = (await fake_discord.wait_for_request(path=typed.callback_path)).json["data"]["choices"]
    sent = await fake_discord.send_interaction("article", {"title": choice["value"]})
    (embed,) = body(await reply(fake_discord, sent))["embeds"]
    assert embed["title"] == "Orchard harvest record"
    assert embed["description"].startswith("Apple growers in the valley picked a record harvest")


async def test_article_by_a_typed_title_and_an_unknown_one(fake_discord, library):
    found = await command(fake_discord, "article", {"title": "Ferry timetable notice"})
    missing = await command(fake_discord, "article", {"title": "budget talks"})
    assert found["embeds"][0]["title"] == "Ferry timetable notice"
    assert missing["content"].startswith("No single article matches “budget talks”")
