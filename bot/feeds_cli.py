"""`newsdesk feed add|list|remove|poll` and `newsdesk watch`: feeds from the terminal (global unless --scope)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

from newsdesk.index import GLOBAL_SCOPE, Engine
from newsdesk.index.feeds import FeedRefused, PollReport, feed_state
from newsdesk.index.ingest.untrusted import plain_line

# What a feed says is printed through `printable`: a title's escape sequences must not reach the terminal.
_LINE_MAX_CHARS = 500


def printable(value: str) -> str:
    return plain_line(value, _LINE_MAX_CHARS)


def add_commands(commands: argparse._SubParsersAction) -> None:
    feed = commands.add_parser("feed", help="subscribe to RSS, Atom and JSON feeds, and poll them")
    actions = feed.add_subparsers(dest="feed_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="subscribe to a feed (checked at once; its items come in with the next poll)")
    add.add_argument("url")
    add.add_argument("--scope", default=GLOBAL_SCOPE, help="scope its articles go to (default: global)")
    add.add_argument("--every", type=int, metavar="SECONDS", help="poll it this often (default: [feeds] poll_seconds)")
    actions.add_parser("list", help="the feeds, their state and article counts")
    remove = actions.add_parser("remove", help="unsubscribe from a feed by id")
    remove.add_argument("feed_id", type=int)
    remove.add_argument("--articles", action="store_true", help="also remove the articles it brought")
    poll = actions.add_parser("poll", help="poll the feeds that are due, once, and say what came in")
    poll.add_argument("--all", action="store_true", help="poll every feed now, due or not")
    commands.add_parser("watch", help="poll the feeds continuously, without Discord (Ctrl-C stops)")


def when(epoch: float | None) -> str:
    """A feed time for a terminal: UTC, to the minute."""
    if epoch is None:
        return "-"
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


def report_lines(report: PollReport) -> list[str]:
    name = printable(report.title or report.url)
    if report.error:
        return [f"{name}: failed: {printable(report.error)}"]
    lines = [f"{name}: + {printable(title)}" for title in report.added]
    lines += [f"{name}: ~ {printable(title)}" for title in report.updated]
    lines += [f"{name}: {printable(report.limited)}"] if report.limited else []
    lines += [f"{name}: skipped {printable(problem)}" for problem in report.problems]
    return lines


async def _add(args: argparse.Namespace, engine: Engine) -> int:
    try:
        added = await engine.feeds.add(args.url, args.scope, "cli", args.every)
    except FeedRefused as exc:
        print(f"newsdesk feed add: {printable(str(exc))}", file=sys.stderr)
        return 1
    feed = added.feed
    print(f"Added feed {feed.id}: {printable(feed.title or feed.url)} ({added.entries} item(s)) to scope {feed.scope}.")
    if added.limited:
        print(f"Note: {added.limited}.")
    print("`newsdesk feed poll` takes its items in now; `newsdesk watch` and the bot keep polling it.")
    return 0


async def _list(args: argparse.Namespace, engine: Engine) -> int:
    feeds = await engine.feeds.list()
    if not feeds:
        print("No feeds. Add one with `newsdesk feed add URL`.")
        return 0
    print(f"{'id':>4}  {'state':7}  {'scope':10}  {'articles':>8}  {'last success':16}  {'next poll':16}  title / url")
    for f in feeds:
        print(
            f"{f.id:>4}  {feed_state(f, engine.feeds.settings):7}  {f.scope[:10]:10}  {f.articles:>8}  {when(f.last_success_at):16}  "
            f"{when(f.next_poll_at):16}  {printable(f.title or '-')}\n{'':>4}  {printable(f.url)}"
        )
        if f.last_error:
            print(f"{'':>4}  last error: {printable(f.last_error)}")
    return 0


async def _remove(args: argparse.Namespace, engine: Engine) -> int:
    removed = await engine.feeds.remove(args.feed_id, remove_articles=args.articles)
    if removed is None:
        print(f"No feed with id {args.feed_id}.", file=sys.stderr)
        return 1
    extra = f" and {removed.articles_removed} of its article(s)" if args.articles else "; its articles stay"
    print(f"Removed feed {args.feed_id} ({printable(removed.feed.title or removed.feed.url)}){extra}.")
    return 0


async def _poll(args: argparse.Namespace, engine: Engine) -> int:
    from tqdm import tqdm

    await engine.feeds.sync_config()
    total = len(await engine.feeds.list()) if args.all else await engine.feeds.due_count()
    with tqdm(total=total, unit="feed", desc="polling", file=sys.stderr) as bar:

        def advance(report: PollReport) -> None:
            bar.update(1)
            for line in report_lines(report):  # what came in on stdout, failures on stderr
                bar.write(line, file=sys.stderr if report.error else sys.stdout)

        reports = await engine.feeds.poll_due(advance, everything=args.all)
    added = sum(len(r.added) for r in reports)
    updated = sum(len(r.updated) for r in reports)
    failed = sum(1 for r in reports if r.error)
    print(f"{added} article(s) added, {updated} updated, from {len(reports)} feed(s); {failed} failed.")
    return 1 if failed else 0


async def _watch(args: argparse.Namespace, engine: Engine) -> int:
    print(f"Watching {len(await engine.feeds.list())} feed(s); Ctrl-C stops.", file=sys.stderr)

    def show(report: PollReport) -> None:
        for line in report_lines(report):
            print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)

    await engine.feeds.watch(show)
    return 0


FEED_ACTIONS = {"add": _add, "list": _list, "remove": _remove, "poll": _poll}


async def run(args: argparse.Namespace, engine: Engine) -> int:
    """Run `feed ACTION` or `watch` on an open engine."""
    if args.command == "watch":
        return await _watch(args, engine)
    return await FEED_ACTIONS[args.feed_command](args, engine)
