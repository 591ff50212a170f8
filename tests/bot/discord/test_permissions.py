"""Permissions, end to end: the admin role by id, admin autocompletes, search budgets and per-server stats."""

from __future__ import annotations

import json
import re

import pytest

from newsdesk.bot.cli import main
from newsdesk.bot.discord.config import DiscordConfig
from newsdesk.index import load_settings
from tests.support.dated_news import STRIKE_BEGINS, STRIKE_ENDS
from tests.support.discord_bot import (
    ARTICLES, EPHEMERAL, MANAGE_GUILD, TRAM, TRAM_MD, articles_in, body, bot_settings, command, db_rows,
    first_poll_done, make_bot, reply, seed, serve, upload,
)
from tests.support.engines import with_feeds
from tests.support.feed_server import FeedServer, stories

pytestmark = pytest.mark.usefixtures("fail_on_error_logs", "nobody_pinged")

NO_ROLE_REFUSAL = (
    "Only members with the Manage Server permission can change the articles "
    "(they can let a role do it too, with /corpus admin-role)."
)


def choose_admin_role(fake_discord, guild, role_id: int) -> dict:
    """/corpus admin-role with a ROLE option, as Discord sends it: the role's id, and the role resolved."""
    return {
        "options": [{"name": "admin-role", "type": 1, "options": [{"name": "role", "type": 8, "value": str(role_id)}]}],
        "resolved": {"roles": {str(role_id): fake_discord.role_payload(guild.id, role_id)}},
    }


async def choose(fake_discord, guild, role_id: int, **options) -> dict:
    chosen = choose_admin_role(fake_discord, guild, role_id)
    return await command(fake_discord, "corpus", chosen["options"], resolved=chosen["resolved"], **options)


def member(fake_discord, guild, name: str) -> int:
    user_id = fake_discord.add_user(name)
    fake_discord.guilds[guild.id].member_ids.append(user_id)
    return user_id


async def test_the_admin_role_is_the_one_chosen_by_id_not_one_with_the_old_name(fake_discord, guild, settings):
    editor, impostor = member(fake_discord, guild, "editor"), member(fake_discord, guild, "impostor")
    editors = fake_discord.add_role(guild.id, "editors", members=[editor])
    fake_discord.add_role(guild.id, "newsdesk admin", members=[impostor])  # the name admins had before
    await seed(settings, ARTICLES)
    async with serve(make_bot(settings)):
        before = await upload_refused(fake_discord, impostor)
        assert before["content"] == NO_ROLE_REFUSAL

        chosen = await choose(fake_discord, guild, editors, permissions=MANAGE_GUILD)
        assert chosen["flags"] == EPHEMERAL
        assert chosen["content"] == (
            f"Members of <@&{editors}> may now use the admin commands, as may those with Manage Server."
        )

        _, report = await upload(fake_discord, ("tram.md", TRAM_MD), user_id=editor)
        assert report.json["embeds"][0]["description"].startswith("✅ **tram.md**")
        after = await upload_refused(fake_discord, impostor)
        assert after["flags"] == EPHEMERAL
        assert after["content"] == (
            f"Only members with the Manage Server permission or the <@&{editors}> role can change the articles."
        )
        # The role's members may use the admin commands, not choose who else may.
        old_name = fake_discord.guilds[guild.id].roles["newsdesk admin"]
        refused = await choose(fake_discord, guild, old_name, user_id=editor)
        assert refused["content"] == "Only members with the Manage Server permission can choose the admin role."
    async with serve(make_bot(settings)):  # the choice is kept in the store
        listed = await command(fake_discord, "corpus", {"list": {}}, user_id=editor)
    assert listed["embeds"][0]["title"] == "4 article(s)"
    assert not fake_discord.find_requests(method="GET", path=r"/attachments/\d+/impostor\.md")
    assert articles_in(settings, str(guild.id)) == [TRAM["title"]]


async def upload_refused(fake_discord, user_id: int) -> dict:
    """/corpus add by a member who may not: the refusal they see."""
    attachment = fake_discord.add_attachment("impostor.md", TRAM_MD)
    sent = await fake_discord.send_interaction("corpus", {"add": {"file": attachment}}, user_id=user_id)
    return body(await reply(fake_discord, sent))


def test_a_leftover_admin_role_name_in_the_config_stops_newsdesk_run_with_one_line(tmp_path, monkeypatch, capsys):
    config = tmp_path / "old.toml"
    config.write_text('[model]\nbackend = "hashing"\n[discord]\nadmin_role = "newsdesk admin"\n')
    monkeypatch.setenv("DISCORD_TOKEN", "not-a-real-token")  # refused before any connection is tried
    code = main(["--config", str(config), "--data-dir", str(tmp_path / "data"), "run"])
    assert code == 2
    assert capsys.readouterr().err == (
        "newsdesk: config: [discord] admin_role (a role name) is no longer read: remove it. "
        "A server's Manage Server members choose its admin role with /corpus admin-role.\n"
    )
    shipped = DiscordConfig.from_settings(load_settings())  # raises if config/default.toml still names a role
    assert (shipped.search_rate, shipped.search_per_seconds) == (5, 30)


async def test_admin_autocompletes_list_nothing_to_members_who_are_not_admins(fake_discord, guild, tmp_path):
    settings = with_feeds(bot_settings(tmp_path), allow_private_addresses=True, timeout_seconds=5)
    editor, impostor = member(fake_discord, guild, "editor"), member(fake_discord, guild, "impostor")
    editors = fake_discord.add_role(guild.id, "editors", members=[editor])
    fake_discord.add_role(guild.id, "newsdesk admin", members=[impostor])
    await seed(settings, [TRAM], str(guild.id))
    async with FeedServer(stories()) as server, serve(make_bot(settings)):
        await choose(fake_discord, guild, editors, permissions=MANAGE_GUILD)
        await command(fake_discord, "feed", {"add": {"url": server.url("/rss")}}, permissions=MANAGE_GUILD)
        await command(fake_discord, "follow", {"add": {"topic": "apple harvest in the valley"}}, permissions=MANAGE_GUILD)
        typing = {
            "feed remove": ("feed", {"remove": {"feed": "harbour"}}, "feed"),
            "unfollow": ("unfollow", {"follow": "apple"}, "follow"),
            "corpus remove": ("corpus", {"remove": {"article": "harbour"}}, "article"),
        }
        offered = {}
        for what, (name, options, focused) in typing.items():
            for who, as_member in {
                "member": {},
                "old role name": {"user_id": impostor},
                "chosen role": {"user_id": editor},
                "Manage Server": {"permissions": MANAGE_GUILD},
            }.items():
                typed = await fake_discord.send_interaction(name, options, focused=focused, **as_member)
                answer = await fake_discord.wait_for_request(path=typed.callback_path)
                assert answer.json["type"] == 8
                offered[what, who] = [choice["name"] for choice in answer.json["data"]["choices"]]
    for what in typing:
        assert offered[what, "member"] == offered[what, "old role name"] == [], what
        assert offered[what, "chosen role"] == offered[what, "Manage Server"] != [], what
    assert offered["feed remove", "Manage Server"] == [f"Harbour Gazette ({server.url('/rss')})"]
    assert offered["unfollow", "Manage Server"] == ["apple harvest in the valley (#general)"]
    assert offered["corpus remove", "Manage Server"] == [TRAM["title"]]


SEARCHES = {
    "search": {"query": "harbour bridge"},
    "latest": {"topic": "harbour bridge"},
    "timeline": {"topic": "harbour bridge"},
}


@pytest.mark.parametrize("name", SEARCHES)
async def test_a_member_searching_past_the_budget_is_told_when_to_retry_and_gets_no_search(
    fake_discord, guild, tmp_path, name
):
    settings = bot_settings(tmp_path, search_rate=2, search_per_seconds=600)
    await seed(settings, ARTICLES)
    async with serve(make_bot(settings)):
        for _ in range(2):
            answered = await fake_discord.send_interaction(name, SEARCHES[name])
            await reply(fake_discord, answered)
            assert fake_discord.interaction_responses(answered.token)[0].json["type"] == 5  # deferred: searching
        refused = await fake_discord.send_interaction(name, SEARCHES[name])
        refusal = await reply(fake_discord, refused)
        other = await fake_discord.send_interaction(name, SEARCHES[name], user_id=member(fake_discord, guild, "other"))
        await reply(fake_discord, other)
    assert fake_discord.interaction_responses(refused.token) == [refusal]  # no defer, no results
    assert refusal.json["type"] == 4 and body(refusal)["flags"] == EPHEMERAL
    text = body(refusal)["content"]
    assert re.fullmatch(r"You're searching quickly: try again in \d+ s \(search limit: 2 per 600 s\)\.", text)
    assert 0 < int(re.search(r"\d+", text)[0]) <= 600
    assert fake_discord.interaction_responses(other.token)[0].json["type"] == 5  # another member's budget is whole


async def test_latest_without_a_topic_lists_without_spending_the_search_budget(fake_discord, guild, tmp_path):
    settings = bot_settings(tmp_path, search_rate=1, search_per_seconds=600)
    await seed(settings, ARTICLES)
    async with serve(make_bot(settings)):
        for _ in range(3):
            newest = await command(fake_discord, "latest")
            assert newest["embeds"][0]["title"] == "The newest articles"
        searched = await command(fake_discord, "timeline", SEARCHES["timeline"])
    assert not searched.get("content", "").startswith("You're searching quickly")


def stats_fields(message: dict) -> dict[str, str]:
    return {field["name"]: field["value"] for field in message["embeds"][0]["fields"]}


def counts(settings, *scopes: str) -> tuple[int, int]:
    """Articles and passages stored in these scopes, read from the database."""
    marks = ",".join("?" * len(scopes))
    (articles,), = db_rows(settings, f"SELECT COUNT(*) FROM articles WHERE scope IN ({marks})", *scopes)
    (passages,), = db_rows(
        settings,
        f"SELECT COUNT(*) FROM passages JOIN articles ON articles.id = passages.article_id WHERE scope IN ({marks})",
        *scopes,
    )
    return articles, passages


async def test_corpus_stats_shows_only_the_asking_servers_figures_and_no_host_paths(fake_discord, guild, tmp_path):
    settings = with_feeds(bot_settings(tmp_path), allow_private_addresses=True, timeout_seconds=5)
    other = fake_discord.add_guild(name="Elsewhere")
    await seed(settings, ARTICLES)
    await seed(settings, [STRIKE_BEGINS, STRIKE_ENDS], str(other.id))
    await seed(settings, [TRAM], str(guild.id))
    async with FeedServer(stories()) as server, serve(make_bot(settings)):
        await command(fake_discord, "feed", {"add": {"url": server.url("/rss")}}, permissions=MANAGE_GUILD)
        await first_poll_done(settings)
        here = await command(fake_discord, "corpus", {"stats": {}}, permissions=MANAGE_GUILD)
        elsewhere = await command(
            fake_discord, "corpus", {"stats": {}}, channel_id=other.channels["general"], permissions=MANAGE_GUILD
        )
    for shown, server_id, feeds in ((here, guild.id, "1"), (elsewhere, other.id, "0")):
        visible, own = counts(settings, "global", str(server_id)), counts(settings, str(server_id))
        fields = stats_fields(shown)
        assert set(fields) == {"Articles", "Passages", "Feeds", "Last added"}
        assert fields["Articles"] == f"{visible[0]:,} ({own[0]:,} added here)"
        assert fields["Passages"] == f"{visible[1]:,} ({own[1]:,} added here)"
        assert fields["Feeds"] == feeds
        dump = json.dumps(shown)
        assert str(tmp_path) not in dump and str(settings.storage.data_dir) not in dump
        assert "SQLite" not in dump and not re.search(r"(?<![\w:/.])/[\w.-]+/", dump)  # no file path (urls are fine)
    assert counts(settings, str(guild.id))[0] > 1 and counts(settings, str(other.id))[0] == 2  # uploads and the feed's
    assert "Tram line" not in json.dumps(elsewhere) and "Ferry strike" not in json.dumps(here)
