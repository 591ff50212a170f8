"""Settings from the environment: every `NEWSDESK_SECTION__KEY` variable overrides its setting, read as
the setting's type; a bad one is one line naming the variable."""

from __future__ import annotations

import os

import pytest

from newsdesk.bot.discord.config import DiscordConfig
from newsdesk.index.settings import PROJECT_ROOT, SettingsError, load_settings


@pytest.fixture(autouse=True)
def no_newsdesk_variables(monkeypatch):
    """Only the variables each test sets."""
    for name in list(os.environ):
        if name.startswith("NEWSDESK_"):
            monkeypatch.delenv(name)


def test_variables_override_the_config_file_as_their_settings_types(monkeypatch, tmp_path):
    config = tmp_path / "override.toml"
    config.write_text("[retrieval]\ntop_k = 4\n[feeds]\npoll_seconds = 60\n", encoding="utf-8")
    for name, value in {
        "NEWSDESK_RETRIEVAL__TOP_K": "5",
        "NEWSDESK_RETRIEVAL__ABSTAIN_BELOW": "0.25",
        "NEWSDESK_MODEL__ALLOW_DOWNLOAD": "true",
        "NEWSDESK_MODEL__NAME": "small",
        "NEWSDESK_CORPUS__DIR": "elsewhere",
        "NEWSDESK_FEEDS__URLS": '["https://example.org/feed", "https://example.com/rss"]',
        "NEWSDESK_DISCORD__ASK_RATE": "2",
        "NEWSDESK_METRICS__LISTEN": "127.0.0.1:9464",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(config)
    assert settings.retrieval.top_k == 5  # the variable wins over the file
    assert settings.retrieval.abstain_below == 0.25
    assert settings.model.allow_download is True and settings.model.name == "small"
    assert settings.corpus.dir == PROJECT_ROOT / "elsewhere"  # relative, as in a file
    assert settings.feeds.urls == ("https://example.org/feed", "https://example.com/rss")
    assert settings.feeds.poll_seconds == 60  # the file's, where no variable says otherwise
    assert DiscordConfig.from_settings(settings).ask_rate == 2
    assert settings.extra["metrics"] == {"listen": "127.0.0.1:9464"}


def test_config_and_database_url_keep_their_meanings(monkeypatch, tmp_path):
    config = tmp_path / "override.toml"
    config.write_text("[retrieval]\ntop_k = 6\n", encoding="utf-8")
    monkeypatch.setenv("NEWSDESK_CONFIG", str(config))
    monkeypatch.setenv("NEWSDESK_DATABASE_URL", "postgresql://newsdesk:secret@db.example/news")
    assert load_settings().retrieval.top_k == 6


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("NEWSDESK_RETRIEVAL__TOP_KAY", "5", "NEWSDESK_RETRIEVAL__TOP_KAY: [retrieval] has no setting 'top_kay'"),
        ("NEWSDESK_RETRIEVEL__TOP_K", "5", "NEWSDESK_RETRIEVEL__TOP_K: no config section [retrievel]"),
        ("NEWSDESK_DISCORD__ASK_RAET", "2", "NEWSDESK_DISCORD__ASK_RAET: [discord] has no setting 'ask_raet'"),
        ("NEWSDESK_RETRIEVAL__TOP_K", "five", "NEWSDESK_RETRIEVAL__TOP_K: expected a number (int), got 'five' (str of 4 characters)"),
        ("NEWSDESK_DISCORD__ASK_RATE", "2.5", "NEWSDESK_DISCORD__ASK_RATE: expected a number (int), got '2.5' (str of 3 characters)"),
        ("NEWSDESK_MODEL__ALLOW_DOWNLOAD", "maybe", "NEWSDESK_MODEL__ALLOW_DOWNLOAD: expected true or false, got 'maybe' (str of 5 characters)"),
        ("NEWSDESK_FEEDS__URLS", "https://a.example/feed", "NEWSDESK_FEEDS__URLS: expected a list such as [\"a\", \"b\"], got 'https://a.example/feed' (str of 22 characters)"),
    ],
)
def test_a_bad_variable_is_one_line_naming_it(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert str(refused.value) == message


def test_a_huge_value_is_trimmed_in_the_message(monkeypatch):
    monkeypatch.setenv("NEWSDESK_RETRIEVAL__TOP_K", "9" * 5000)  # more digits than int() takes
    with pytest.raises(SettingsError) as refused:
        load_settings()
    message = str(refused.value)
    assert message.startswith("NEWSDESK_RETRIEVAL__TOP_K: expected a number (int), got '999")
    assert message.endswith("(str of 5000 characters)") and len(message) < 200 and "\n" not in message


def test_other_newsdesk_variables_are_not_settings(monkeypatch):
    monkeypatch.setenv("NEWSDESK_SOMETHING_ELSE", "x")  # no SECTION__KEY: not a setting, left alone
    assert load_settings() == load_settings(PROJECT_ROOT / "config" / "default.toml")
