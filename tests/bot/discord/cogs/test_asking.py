"""Asking, end to end: the real bot and engine against the loopback Discord (tests/support/fake_discord/)."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace

import pytest

from newsdesk.index import load_settings
from tests.support.discord_bot import (
    ARTICLES, EPHEMERAL, assert_nobody_pinged, body, bot_settings, command, component, components, db_rows,
    make_bot, message_id, reply, seed, serve, unquote,
)
from tests.support.engines import BRIDGE, PROJECT_ROOT

pytestmark = pytest.mark.usefixtures("fail_on_error_logs", "nobody_pinged")

BRIDGE_QUESTION = "when did the harbour bridge reopen?"


async def test_ask_defers_then_follows_up_with_the_quote_and_title(fake_discord, newsdesk):
    sent = await fake_discord.send_interaction("ask", {"question": BRIDGE_QUESTION})
    answer = body(await reply(fake_discord, sent))
    defer = fake_discord.interaction_responses(sent.token)[0]
    assert defer.path == sent.callback_path and defer.json == {"type": 5}
    embed = answer["embeds"][0]
    assert embed["title"] == "1. Harbour bridge reopens" and embed["url"] == "https://example.org/bridge"
    assert embed["footer"]["text"] == "Coast Gazette · 2024-03-01"
    assert embed["description"].startswith("> ") and "**" in embed["description"]  # the key sentence in bold
    assert "reopened on Monday" in embed["description"]  # the passage that answers comes first
    for number, quote in enumerate(answer["embeds"], start=1):  # only the bridge article is relevant
        assert quote["title"] == f"{number}. Harbour bridge reopens"
        assert unquote(quote["description"]) in BRIDGE["text"]  # verbatim
    assert answer["allowed_mentions"] == {"parse": []}


async def test_ask_private_answers_ephemerally(fake_discord, newsdesk):
    sent = await fake_discord.send_interaction("ask", {"question": BRIDGE_QUESTION, "private": True})
    answer = body(await reply(fake_discord, sent))
    assert fake_discord.interaction_responses(sent.token)[0].json == {"type": 5, "data": {"flags": EPHEMERAL}}
    assert answer["flags"] == EPHEMERAL and answer["embeds"]


async def test_a_mention_is_answered_as_a_reply_in_its_channel(fake_discord, guild, newsdesk):
    channel = guild.channels["world"]
    asked = await fake_discord.send_message(
        f"<@{fake_discord.bot_id}> {BRIDGE_QUESTION}", channel_id=channel, mentions=[fake_discord.bot_id]
    )
    answer = await fake_discord.wait_for_request(method="POST", path=f"/channels/{channel}/messages")
    assert int(answer.json["message_reference"]["message_id"]) == int(asked["id"])
    assert answer.json["embeds"][0]["title"] == "1. Harbour bridge reopens"
    assert answer.json["allowed_mentions"] == {"parse": [], "replied_user": False}
    assert fake_discord.find_requests(method="POST", path=f"/channels/{channel}/typing")


async def test_a_dm_is_answered_as_a_reply(fake_discord, newsdesk):
    dm = fake_discord.dm_channel(fake_discord.tester_id)
    asked = await fake_discord.send_message(BRIDGE_QUESTION, channel_id=dm)
    answer = await fake_discord.wait_for_request(method="POST", path=f"/channels/{dm}/messages")
    assert int(answer.json["message_reference"]["message_id"]) == int(asked["id"])
    assert unquote(answer.json["embeds"][0]["description"]) in BRIDGE["text"]


async def test_bots_and_messages_not_addressed_to_it_are_ignored(fake_discord, guild, newsdesk):
    other_bot = fake_discord.add_user("another-bot", bot=True)
    mention = f"<@{fake_discord.bot_id}>"
    await fake_discord.send_message(f"{mention} {BRIDGE_QUESTION}", author_id=other_bot, mentions=[fake_discord.bot_id])
    await fake_discord.send_message(BRIDGE_QUESTION)  # in a server, without a mention
    await fake_discord.send_message(f"{mention} ", mentions=[fake_discord.bot_id])  # the one to answer
    answer = await fake_discord.wait_for_request(method="POST", path=r"/channels/\d+/messages")
    assert answer.json["content"] == "Ask a question: the text is empty."
    assert len(fake_discord.find_requests(method="POST", path=r"/channels/\d+/messages")) == 1


async def test_abstaining_says_so_and_offers_the_closest_articles(fake_discord, newsdesk):
    sent = await fake_discord.send_interaction("ask", {"question": "who won the football league final?"})
    answer = body(await reply(fake_discord, sent))
    (embed,) = answer["embeds"]
    assert embed["title"] == "Nothing in my articles answers that."
    assert "Harbour bridge reopens" in embed["description"] and "Orchard harvest record" in embed["description"]
    menu = component(answer, "Full article…")
    assert {option["label"] for option in menu["options"]} == {a["title"] for a in ARTICLES}
    assert "More" not in {c.get("label") for c in components(answer)}


async def test_abstaining_names_what_no_near_article_says(fake_discord, newsdesk):
    sent = await fake_discord.send_interaction("ask", {"question": "who won the Lisbon football league final?"})
    (embed,) = body(await reply(fake_discord, sent))["embeds"]
    assert embed["title"] == "Nothing in my articles answers that."
    assert embed["description"].startswith('None of the articles nearest the question says "Lisbon".\n\nThe closest articles I have:')


async def test_more_sends_the_next_quotes_privately(fake_discord, guild, tmp_path):
    settings = bot_settings(tmp_path, quotes_per_message=1)
    await seed(settings, ARTICLES)
    async with serve(make_bot(settings)):
        sent = await fake_discord.send_interaction("ask", {"question": "harbour bridge cables"})
        first = await reply(fake_discord, sent)
        assert [e["title"] for e in body(first)["embeds"]] == ["1. Harbour bridge reopens"]
        more = component(body(first), "More")
        click = await fake_discord.send_interaction(custom_id=more["custom_id"], message_id=message_id(first))
        second = body(await reply(fake_discord, click))
    assert second["flags"] == EPHEMERAL
    assert [e["title"] for e in second["embeds"]] == ["2. Harbour bridge reopens"]
    assert second["embeds"][0]["description"] != body(first)["embeds"][0]["description"]
    assert "More" not in {c.get("label") for c in components(second)}  # nothing further


async def test_full_article_opens_privately_and_paginated(fake_discord, guild, tmp_path):
    settings = bot_settings(tmp_path)
    updates = [f"Update {i}: " + "traffic on the span was light. " * 30 for i in range(12)]
    await seed(settings, [{**BRIDGE, "text": "\n\n".join([BRIDGE["text"], *updates])}])
    async with serve(make_bot(settings)):
        sent = await fake_discord.send_interaction("ask", {"question": BRIDGE_QUESTION})
        answer = await reply(fake_discord, sent)
        menu = component(body(answer), "Full article…")
        pick = await fake_discord.send_interaction(
            custom_id=menu["custom_id"], message_id=message_id(answer), values=[menu["options"][0]["value"]]
        )
        page = await reply(fake_discord, pick)
        first_page = body(page)
        next_page = component(first_page, "Next")["custom_id"]
        turn = await fake_discord.send_interaction(custom_id=next_page, message_id=message_id(page))
        second_page = body(await reply(fake_discord, turn))
    assert fake_discord.interaction_responses(pick.token)[0].json == {"type": 5, "data": {"flags": EPHEMERAL}}
    assert first_page["flags"] == EPHEMERAL
    assert first_page["embeds"][0]["title"] == "Harbour bridge reopens"
    assert first_page["embeds"][0]["description"].startswith("The harbour bridge reopened on Monday")
    counter = components(first_page)[1]
    assert re.fullmatch(r"1/\d+", counter["label"]) and counter["disabled"]
    assert second_page["embeds"][0]["description"].startswith("Update")


async def test_feedback_is_stored_once_per_member_with_the_user_id_hashed(fake_discord, newsdesk, settings):
    sent = await fake_discord.send_interaction("ask", {"question": BRIDGE_QUESTION})
    answer = await reply(fake_discord, sent)
    helpful = component(body(answer), "Helpful")["custom_id"]
    first = await fake_discord.send_interaction(custom_id=helpful, message_id=message_id(answer))
    thanks = body(await reply(fake_discord, first))
    again = await fake_discord.send_interaction(custom_id=helpful, message_id=message_id(answer))
    refused = body(await reply(fake_discord, again))
    assert thanks["content"] == "Thanks, noted." and thanks["flags"] == EPHEMERAL
    assert refused["content"] == "You have already rated this answer."
    (row,) = db_rows(settings, "SELECT question, quotes, user_hash, helpful FROM feedback")
    question, quotes, user_hash, verdict = row
    assert (question, verdict) == (BRIDGE_QUESTION, 1)
    assert [q["article_id"] for q in json.loads(quotes)] == [1] * len(body(answer)["embeds"])  # the quotes shown
    assert str(fake_discord.tester_id) not in user_hash and len(user_hash) == 64


async def test_a_quote_containing_everyone_pings_nobody(fake_discord, guild, newsdesk):
    answer = await command(fake_discord, "ask", {"question": "what did the ferry notice say about the timetable?"})
    assert "@everyone" in answer["embeds"][0]["description"]
    assert "<@123456789012345678>" in answer["embeds"][0]["description"]
    await fake_discord.send_message(f"<@{fake_discord.bot_id}> ferry notice timetable", mentions=[fake_discord.bot_id])
    await fake_discord.wait_for_request(method="POST", path=r"/channels/\d+/messages")
    assert assert_nobody_pinged(fake_discord) >= 2  # the /ask answer and the reply to a mention


async def test_a_rate_limited_followup_is_retried(fake_discord, newsdesk):
    fake_discord.fail_next("POST", r"/webhooks/\d+/.+", status=429, retry_after=0.1)
    sent = await fake_discord.send_interaction("ask", {"question": BRIDGE_QUESTION})
    answer = await reply(fake_discord, sent)
    attempts = fake_discord.find_requests(method="POST", path=sent.followup_path)
    assert [r.status for r in attempts] == [429, 200]
    assert body(answer)["embeds"][0]["title"] == "1. Harbour bridge reopens"


async def test_asking_too_fast_gets_a_friendly_private_refusal(fake_discord, guild, tmp_path):
    settings = bot_settings(tmp_path, ask_rate=1, ask_per_seconds=60)
    await seed(settings, ARTICLES)
    async with serve(make_bot(settings)):
        await reply(fake_discord, await fake_discord.send_interaction("ask", {"question": BRIDGE_QUESTION}))
        refused = await command(fake_discord, "ask", {"question": BRIDGE_QUESTION})
        # The same budget covers mentions.
        await fake_discord.send_message(f"<@{fake_discord.bot_id}> {BRIDGE_QUESTION}", mentions=[fake_discord.bot_id])
        mention = await fake_discord.wait_for_request(method="POST", path=r"/channels/\d+/messages")
    assert refused["flags"] == EPHEMERAL and refused["content"].startswith("You're asking quickly: try again in")
    assert mention.json["content"].startswith("You're asking quickly")


async def test_a_question_too_long_is_refused_privately_before_deferring(fake_discord, newsdesk):
    sent = await fake_discord.send_interaction("ask", {"question": "why " * 200})
    callback = await reply(fake_discord, sent)
    assert fake_discord.interaction_responses(sent.token) == [callback]
    assert callback.json["type"] == 4 and callback.json["data"]["flags"] == EPHEMERAL
    assert "the limit is 500" in callback.json["data"]["content"]


async def test_many_questions_at_once_are_all_answered(fake_discord, newsdesk):
    members = [fake_discord.add_user(f"reader{i}") for i in range(20)]
    sent = await asyncio.gather(
        *(fake_discord.send_interaction("ask", {"question": BRIDGE_QUESTION}, user_id=member) for member in members)
    )
    answers = await asyncio.gather(*(reply(fake_discord, s) for s in sent))
    assert all(body(a)["embeds"][0]["title"] == "1. Harbour bridge reopens" for a in answers)


async def test_an_unexpected_failure_is_logged_and_the_member_told(fake_discord, newsdesk, fail_on_error_logs):
    fake_discord.fail_next("POST", r"/webhooks/\d+/.+", status=400)
    sent = await fake_discord.send_interaction("ask", {"question": BRIDGE_QUESTION})
    apology = await fake_discord.wait_for_request(lambda r: r.status == 200, method="POST", path=sent.followup_path)
    assert apology.json["content"].startswith("Something went wrong on my side")
    assert [r.getMessage() for r in fail_on_error_logs] == ["unexpected error in /ask"]
    fail_on_error_logs.clear()


@pytest.mark.model
async def test_ask_with_the_real_bundled_model(fake_discord, guild, tmp_path):
    """The one end-to-end run of the real model (about 12 s to load): a question on the seed.

    (The card's own question is tracked in test_model, where it is a known failure.)"""
    real = load_settings().with_data_dir(tmp_path / "data")
    discord_table = {**real.extra["discord"], "corpus_scan_seconds": 0}
    real = replace(real, corpus=replace(real.corpus, dir=PROJECT_ROOT / "corpus"), extra={"discord": discord_table})
    async with serve(make_bot(real)) as bot:
        await bot.reading.wait()  # corpus/ is read at start-up
        sent = await fake_discord.send_interaction("ask", {"question": "When does the Start-1 pact expire?"})
        answer = body(await reply(fake_discord, sent))
    first = answer["embeds"][0]
    (marked,) = re.findall(r"\*\*(.+?)\*\*", first["description"])  # the sentence the quote marks
    assert "December" in marked and "Start-1" in marked, first["description"]
    assert first["footer"]["text"] == "Reuters · 2009-07-05"  # the seed, credited to its agency
