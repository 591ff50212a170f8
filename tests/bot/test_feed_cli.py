"""`newsdesk feed ...` and `newsdesk watch` against the tests' loopback feed server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsdesk.bot.cli import main

from tests.support.engines import PROJECT_ROOT
from tests.support.feed_server import serving_in_thread, stories


@pytest.fixture
def server():
    with serving_in_thread(stories()) as server:
        yield server


@pytest.fixture
def config(tmp_path: Path) -> Path:
    config = tmp_path / "test.toml"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    config.write_text(
        f'[model]\nbackend = "hashing"\n[reader]\nenabled = false\n[corpus]\ndir = "{corpus}"\n[retrieval]\nabstain_below = 0.0\n'
        "[feeds]\nallow_private_addresses = true\ntimeout_seconds = 5\n"
    )
    return config


@pytest.fixture
def cli(tmp_path: Path, config: Path, capsys):
    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--config", str(config), "--data-dir", str(tmp_path / "data"), *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_add_poll_list_ask_and_remove_a_feed(cli, server):
    code, out, _ = cli("feed", "add", server.url("/rss"))
    assert code == 0 and "Added feed 1: Harbour Gazette (3 item(s)) to scope global." in out
    code, out, err = cli("feed", "poll")
    assert code == 0
    assert "Harbour Gazette: + Ferry to Grey Island resumes\n" in out and "polling: 100%" in err
    assert "3 article(s) added, 0 updated, from 1 feed(s); 0 failed." in out
    code, out, _ = cli("feed", "poll")
    assert "0 article(s) added, 0 updated, from 0 feed(s)" in out  # not due again yet
    code, out, _ = cli("feed", "list")
    assert code == 0
    row = next(line for line in out.splitlines() if line.strip().startswith("1 "))
    assert row.split()[1:4] == ["ok", "global", "3"] and row.endswith("Harbour Gazette")
    assert server.url("/rss") in out
    code, out, _ = cli("ask", "When will the ferry to Grey Island run again?")
    assert "twice a day from 3 December" in out
    code, out, _ = cli("feed", "remove", "1", "--articles")
    assert code == 0 and "Removed feed 1 (Harbour Gazette) and 3 of its article(s)." in out
    assert cli("articles")[1].count("\n") == 1  # the header only


def test_a_refused_feed_is_one_line_and_nothing_is_stored(cli, server):
    code, _, err = cli("feed", "add", server.url("/static/bomb.xml"))
    assert code == 1
    assert err == "newsdesk feed add: the feed declares XML entities or external references, which are refused\n"
    assert "No feeds." in cli("feed", "list")[1]


def test_a_failing_feed_shows_its_error_in_the_list(cli, server):
    cli("feed", "add", server.url("/rss-full"), "--scope", "42")
    server.feeds_answer = 500
    code, out, err = cli("feed", "poll", "--all")
    assert code == 1 and "Harbour Gazette: failed: " in err and "answered HTTP 500" in err
    code, out, _ = cli("feed", "list")
    assert " error " in out and "42" in out and "last error: " in out and "answered HTTP 500" in out


def test_watch_polls_without_discord(tmp_path: Path, config: Path, server):
    with config.open("a") as fh:
        fh.write("poll_seconds = 1\n")  # the [feeds] table is the file's last
    data = tmp_path / "data"
    assert main(["--config", str(config), "--data-dir", str(data), "feed", "add", server.url("/atom")]) == 0
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    watch = subprocess.Popen(
        [sys.executable, "-m", "newsdesk.bot.cli", "--config", str(config), "--data-dir", str(data), "watch"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        deadline = time.monotonic() + 60
        lines = []
        while time.monotonic() < deadline and len(lines) < 3:
            line = watch.stdout.readline()
            if not line:
                break
            lines.append(line)
        assert len(lines) == 3 and all("Valley Times: + " in line for line in lines), lines
        server.story("tram-line-vote").paragraphs.append("The first tram was named after the council's oldest member.")
        line = watch.stdout.readline()  # the next poll, a second later
        assert "Valley Times: ~ Council approves new tram line" in line
    finally:
        watch.terminate()
        watch.wait(10)


def test_escape_sequences_in_a_feeds_names_never_reach_the_terminal(cli, server):
    server.feed_title = "\x1b[31mRed Alert\x1b[0m Gazette\u202e"
    server.story("grey-island-ferry").title = "\x1b]0;owned\x07Ferry to Grey Island resumes"
    code, out, _ = cli("feed", "add", server.url("/feed.json"))
    assert code == 0 and "Added feed 1: Red Alert Gazette (3 item(s)) to scope global." in out
    code, out, err = cli("feed", "poll")
    assert code == 0 and "Red Alert Gazette: + Ferry to Grey Island resumes\n" in out
    assert "3 article(s) added, 0 updated, from 1 feed(s); 0 failed." in out
    listing = cli("feed", "list")[1]
    assert listing.splitlines()[1].endswith("  Red Alert Gazette")
    for printed in (out, err, listing):
        assert "\x1b" not in printed and "\u202e" not in printed and "\x07" not in printed


def test_a_feed_past_the_limit_is_refused_in_one_line_and_the_others_stay(cli, config, server):
    with config.open("a") as fh:
        fh.write("max_feeds_per_server = 2\n")  # the [feeds] table is the file's last
    for path in ("/rss-full", "/atom"):
        assert cli("feed", "add", server.url(path))[0] == 0
    code, _, err = cli("feed", "add", server.url("/feed.json"))
    assert code == 1 and err == (
        "newsdesk feed add: the global scope already has 2 feeds, the most allowed "
        "([feeds] max_feeds_per_server = 2); remove one to add another\n"
    )
    listing = cli("feed", "list")[1]
    assert server.url("/rss-full") in listing and server.url("/atom") in listing and "/feed.json" not in listing
