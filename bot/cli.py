"""The `newsdesk` command line: ask, ingest, list, remove and re-embed in the terminal; run the Discord bot."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import sys
import textwrap
from dataclasses import replace
from importlib import metadata
from pathlib import Path

from newsdesk.bot import feeds_cli
from newsdesk.bot.logs import LoggingConfig, configure_logging
from newsdesk.index import GLOBAL_SCOPE, Answer, Engine, NewsdeskError, load_settings
from newsdesk.index.writer_lock import WriterLock, WriterLockedError

log = logging.getLogger("newsdesk")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsdesk", description="Answer questions about the news with verbatim quotes from stored articles."
    )
    parser.add_argument("--data-dir", type=Path, help="the store's folder (default: [storage] data_dir in config)")
    parser.add_argument("--config", type=Path, help="a TOML file overriding config/default.toml")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    parser.add_argument("--version", action="version", version=f"newsdesk {metadata.version('newsdesk')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = commands.add_parser("ask", help="answer a question from the stored articles")
    ask.add_argument("question", nargs="*", help="the question (quotes optional)")
    ask.add_argument("-k", type=int, help="how many quotes at most")
    ask.add_argument("--json", action="store_true", help="print JSON (one line per question)")
    ask.add_argument("--questions", type=Path, help="a .jsonl file of questions (field \"question\")")
    ask.add_argument("--scope", action="append", help="only articles in this scope (repeatable)")
    ask.add_argument("--since", help="only articles dated from this day: 2024-05-01, or an age such as 7d, 2w, 12h")
    ask.add_argument("--until", help="only articles dated up to this day (same forms as --since)")

    ingest = commands.add_parser("ingest", help="add articles from files and folders")
    ingest.add_argument("paths", nargs="+", type=Path)
    ingest.add_argument("--scope", default=GLOBAL_SCOPE, help="scope to add into (default: global)")

    articles = commands.add_parser("articles", help="list the stored articles")
    articles.add_argument("--json", action="store_true")

    remove = commands.add_parser("remove", help="delete an article by id")
    remove.add_argument("article_id", type=int)

    commands.add_parser("reembed", help="re-embed every passage with the configured model")

    migrate = commands.add_parser(
        "migrate", help="copy the store, embeddings included, to another backend (an empty store) and check the counts"
    )
    migrate.add_argument(
        "--to", required=True, metavar="TARGET",
        help="postgres (the database in NEWSDESK_DATABASE_URL), a postgresql:// URL, or sqlite:FOLDER",
    )

    feeds_cli.add_commands(commands)

    config = commands.add_parser("config", help="the settings in effect")
    config.add_subparsers(dest="config_command", required=True, metavar="ACTION").add_parser(
        "show", help="print the effective settings (files and NEWSDESK_SECTION__KEY variables) as TOML, secrets hidden"
    )

    evaluate = commands.add_parser("eval", help="measure answer quality on a question set (see README)")
    evaluate.add_argument("dataset", type=Path, help="a folder with corpus/*.txt and questions.jsonl")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.add_argument("--limit", type=int, help="only this many questions")
    evaluate.add_argument("--offset", type=int, default=0, help="skip this many questions first")

    run = commands.add_parser("run", help="run the Discord bot (token: DISCORD_TOKEN, or a .env file)")
    run.add_argument(
        "--shard-count", type=int, metavar="N", help="the bot's shards, in all its processes (default: as Discord recommends)"
    )
    run.add_argument(
        "--shard-ids", metavar="I,J,...", help="run only these shards (other processes run the rest); needs --shard-count"
    )

    sync = commands.add_parser("sync", help="upload the bot's slash commands to Discord")
    sync.add_argument("--guild", type=int, metavar="ID", help="to this server only, where they appear at once")
    return parser


async def _open(args: argparse.Namespace, **kwargs) -> Engine:
    return await Engine.open(args.data_dir, args.settings, **kwargs)


async def _open_to_read(args: argparse.Namespace) -> Engine:
    """The engine as the writer, so that a first run can read corpus/; read-only beside a running writer."""
    try:
        return await _open(args)
    except WriterLockedError:
        return await _open(args, read_only=True)


async def _ingest_bundled_corpus(engine: Engine) -> None:
    """Ingest corpus/ when it changed since the last time (first run: always)."""
    corpus = engine.settings.corpus.dir
    if not corpus.is_dir():
        return
    report = await engine.ingest_folder_if_changed(corpus)
    if report is None:
        return
    print(f"Ingested {report.articles_added} article(s) from {corpus}.", file=sys.stderr)
    for problem in report.problems:
        print(f"skipped {problem}", file=sys.stderr)


def _mark(quote: str, start: int, end: int, tty: bool) -> str:
    before, key, after = quote[:start], quote[start:end], quote[end:]
    return f"{before}\033[1m{key}\033[0m{after}" if tty else f"{before}**{key}**{after}"


def _print_answer(answer: Answer) -> None:
    tty = sys.stdout.isatty()
    width = min(shutil.get_terminal_size().columns, 100)
    if answer.period_missed:
        print(f"Nothing dated {answer.period.describe()} answers that; the newest reports from any date:\n")
    if answer.abstained:
        print("Nothing in my articles" + (f" dated {answer.period.describe()}" if answer.period else "") + " answers that.")
        if answer.unnamed:
            print(answer.describe_unnamed())
        if answer.closest:
            print("Closest articles: " + "; ".join(a.title for a in answer.closest))
        return
    for number, quote in enumerate(answer.answers, start=1):
        a = quote.article
        credit = ", ".join(part for part in (a.source, a.date) if part)
        print(f"{number}. {a.title}" + (f" ({credit})" if credit else ""))
        marked = _mark(quote.quote, quote.highlight_start, quote.highlight_end, tty)
        for paragraph in marked.split("\n"):
            if paragraph.strip():
                print(textwrap.fill(paragraph, width=width, initial_indent="   > ", subsequent_indent="   > "))
        if a.url:
            print(f"   {a.url}")
        print()


def _questions_from(path: Path):
    """(line number, question or None, error or None) for each non-blank line of a jsonl file."""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                question = record["question"]
                if not isinstance(question, str):
                    raise TypeError
            except (json.JSONDecodeError, KeyError, TypeError):
                yield lineno, None, f"{path.name}:{lineno}: expected a JSON object with a \"question\" string"
                continue
            yield lineno, question, None


async def _cmd_ask(args: argparse.Namespace) -> int:
    if not args.questions and not args.question:
        print("newsdesk ask: give a question, or --questions FILE", file=sys.stderr)
        return 2
    async with await _open_to_read(args) as engine:
        question = None if args.questions else engine.check_question(" ".join(args.question))
        engine.date_range(args.since, args.until)  # refused now, not after reading corpus/
        if not engine.read_only:  # else the writer reads corpus/
            await _ingest_bundled_corpus(engine)
        await engine.warm_up()
        if question is None:
            for _, question, error in _questions_from(args.questions):
                if error is None:
                    try:
                        out = (await engine.ask(question, args.scope, args.k, args.since, args.until)).to_json()
                    except NewsdeskError as exc:
                        out = {"question": question, "error": str(exc)}
                else:
                    out = {"question": None, "error": error}
                print(json.dumps(out, ensure_ascii=False), flush=True)
            return 0
        answer = await engine.ask(question, args.scope, args.k, args.since, args.until)
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
        else:
            _print_answer(answer)
        return 0


async def _cmd_ingest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from newsdesk.index.ingest.reading import iter_corpus_files

    async with await _open(args) as engine:
        files = list(iter_corpus_files(args.paths))
        with tqdm(total=len(files), unit="file", desc="ingesting", file=sys.stderr) as bar:

            def advance(report) -> None:
                bar.update(1)
                bar.set_postfix(articles=report.articles_added, refresh=False)
                for problem in report.problems:
                    bar.write(f"error: {problem}", file=sys.stderr)

            # The paths as given, not `files`: inside a folder a link to a folder is refused, but
            # named on its own it would be walked.
            report = await engine.ingest_paths(args.paths, args.scope, on_file=advance)
        print(
            f"{report.articles_added} article(s), {report.passages_added} passage(s) added; "
            f"{report.duplicates} already stored; {len(report.problems)} problem(s)."
        )
        return 1 if report.problems else 0


async def _cmd_articles(args: argparse.Namespace) -> int:
    async with await _open(args, read_only=True) as engine:
        rows = await engine.articles()
        if args.json:
            for row in rows:
                print(json.dumps({k: getattr(row, k) for k in ("id", "scope", "date", "source", "title", "passages")}))
            return 0
        print(f"{'id':>5}  {'date':10}  {'source':18}  {'passages':>8}  title")
        for row in rows:
            print(f"{row.id:>5}  {row.date or '-':10}  {(row.source or '-')[:18]:18}  {row.passages:>8}  {row.title}")
        # on stderr: stdout stays the table, for scripts
        print(f"{len(rows)} article(s) in {(await engine.stats()).storage}", file=sys.stderr)
        return 0


async def _cmd_remove(args: argparse.Namespace) -> int:
    async with await _open(args) as engine:
        if await engine.remove(args.article_id):
            print(f"Removed article {args.article_id}.")
            return 0
        print(f"No article with id {args.article_id}.", file=sys.stderr)
        return 1


async def _cmd_feeds(args: argparse.Namespace) -> int:
    """`feed ...` and `watch`: the writer, except to list."""
    async with await _open(args, read_only=getattr(args, "feed_command", None) == "list") as engine:
        return await feeds_cli.run(args, engine)


async def _cmd_reembed(args: argparse.Namespace) -> int:
    async with await _open(args, allow_model_change=True) as engine:
        count = await engine.reembed(lambda done, total: print(f"embedded {done}/{total}", file=sys.stderr))
        print(f"Re-embedded {count} passage text(s) with {engine.model_identity}.")
        return 0


async def _cmd_migrate(args: argparse.Namespace) -> int:
    """Copy the configured store to the one --to names; the writer lock of each embedded store is held meanwhile."""
    from contextlib import AsyncExitStack

    from newsdesk.index.ingest.migrate import MigrationError, copy_store, target_storage
    from newsdesk.index.store import open_store

    settings = args.settings
    if args.data_dir:
        settings = settings.with_data_dir(args.data_dir)
    try:
        target, database_url = target_storage(settings.storage, args.to)
    except ValueError as error:
        print(f"newsdesk migrate: {error}", file=sys.stderr)
        return 2
    async with AsyncExitStack() as stack:
        for storage in (settings.storage, target):
            if storage.backend == "sqlite":
                storage.data_dir.mkdir(parents=True, exist_ok=True)
                lock = WriterLock(storage.data_dir)
                lock.acquire()
                stack.callback(lock.release)
        source = await open_store(settings.storage)
        stack.push_async_callback(source.close)
        destination = await open_store(target, database_url)
        stack.push_async_callback(destination.close)
        model = await source.get_meta("embedding_model")
        try:
            report = await copy_store(source, destination, model or "")
        except MigrationError as error:
            print(f"newsdesk migrate: {error}", file=sys.stderr)
            return 1
        print(
            f"Copied {report.articles} article(s), {report.passages} passage(s) and {report.vectors} vector(s) "
            f"to {await destination.describe()}; the counts match."
        )
    return 0


async def _cmd_eval(args: argparse.Namespace) -> int:
    import tempfile

    from tqdm import tqdm

    from newsdesk.bot.evaluation import evaluate, format_report

    if not (args.dataset / "questions.jsonl").is_file() or not (args.dataset / "corpus").is_dir():
        print(f"newsdesk eval: {args.dataset} has no questions.jsonl and corpus/ folder", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="newsdesk-eval-") as scratch:
        settings = args.settings
        data_dir = args.data_dir or Path(scratch)
        engine = await Engine.open(data_dir, settings)
        before = replace(
            settings, reader=replace(settings.reader, enabled=False),
            other_languages=replace(settings.other_languages, enabled=False),
        )

        async def previous() -> Engine:  # the same store, answered as before the read stage, in the same run
            return await Engine.open(data_dir, before, read_only=True)

        try:
            with tqdm(unit="question", desc="evaluating", file=sys.stderr) as bar:

                def advance(done: int, total: int) -> None:
                    bar.total = total
                    bar.update(done - bar.n)

                report = await evaluate(
                    engine, args.dataset, offset=args.offset, limit=args.limit, on_question=advance,
                    previous=previous if before != settings else None,
                )
        finally:
            await engine.close()
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def _discord_token() -> str | None:
    """DISCORD_TOKEN from the environment, else from a .env file here or in a folder above."""
    from dotenv import find_dotenv, load_dotenv

    load_dotenv(find_dotenv(usecwd=True))
    return os.environ.get("DISCORD_TOKEN") or None


async def _with_bot(args: argparse.Namespace, work, **options) -> int:
    """Build the bot and run `await work(bot, token)`; token or network trouble is one line, not a traceback.

    The token is never printed or logged.
    """
    import aiohttp
    import discord

    from newsdesk.bot.discord import NewsdeskBot, redirect_discord

    token = _discord_token()
    if token is None:
        print("newsdesk: no Discord token: set DISCORD_TOKEN in the environment or in a .env file.", file=sys.stderr)
        return 2
    settings = args.settings
    bot = NewsdeskBot(settings.with_data_dir(args.data_dir) if args.data_dir else settings, **options)
    redirect_discord(bot.config)
    try:
        async with bot:
            await work(bot, token)
    except discord.LoginFailure:
        print(
            "newsdesk: Discord rejected the token in DISCORD_TOKEN; copy a fresh one from the Bot page "
            "of your application in the Discord Developer Portal.",
            file=sys.stderr,
        )
        return 1
    except (aiohttp.ClientConnectionError, discord.GatewayNotFound) as exc:
        print(f"newsdesk: cannot reach Discord ({exc.__class__.__name__}: {exc}).", file=sys.stderr)
        return 1
    return 0


async def _cmd_run(args: argparse.Namespace) -> int:
    from newsdesk.bot.discord.shards import ShardRange

    try:
        shards = ShardRange.parse(args.shard_ids, args.shard_count)
    except ValueError as exc:
        print(f"newsdesk run: {exc}", file=sys.stderr)
        return 2
    return await _with_bot(args, lambda bot, token: bot.start(token), **shards.bot_options())


async def _cmd_sync(args: argparse.Namespace) -> int:
    import discord

    async def sync(bot, token: str) -> None:
        await bot.login(token)  # REST only: syncing needs no gateway connection
        count = await bot.sync_commands(discord.Object(args.guild) if args.guild else None)
        print(f"Synced {count} command(s) " + (f"to server {args.guild}." if args.guild else "globally."))

    return await _with_bot(args, sync, serve=False)


async def _cmd_config(args: argparse.Namespace) -> int:
    from newsdesk.bot.config_show import effective_toml

    settings = args.settings
    print(effective_toml(settings.with_data_dir(args.data_dir) if args.data_dir else settings))
    return 0


COMMANDS = {
    "ask": _cmd_ask,
    "ingest": _cmd_ingest,
    "articles": _cmd_articles,
    "remove": _cmd_remove,
    "reembed": _cmd_reembed,
    "feed": _cmd_feeds,
    "watch": _cmd_feeds,
    "migrate": _cmd_migrate,
    "eval": _cmd_eval,
    "run": _cmd_run,
    "sync": _cmd_sync,
    "config": _cmd_config,
}


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:  # a bad config file or NEWSDESK_ variable is one line, before anything starts; read once, for every command
        args.settings = load_settings(args.config)
        logging_config = LoggingConfig.from_settings(args.settings)
    except OSError as exc:
        print(f"newsdesk: cannot read the config file {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    except ValueError as exc:  # SettingsError, TOMLDecodeError, a setting out of range
        print(f"newsdesk: {exc}", file=sys.stderr)
        return 2
    # The bot is a service: it reports connecting, syncing and corpus scans unless asked to be quiet.
    verbose = args.verbose or args.command == "run"
    configure_logging(logging_config, logging.INFO if verbose else logging.WARNING)
    # The model's loaders draw progress bars on stderr; the terminal answer needs none of them.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        return asyncio.run(COMMANDS[args.command](args))
    except NewsdeskError as exc:
        print(f"newsdesk: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
