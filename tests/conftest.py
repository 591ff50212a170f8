"""The fixtures every test folder may use; pytest finds them here, nobody imports them.

- `fake_discord`: a started loopback Discord (tests/support/fake_discord) that discord.py is
  pointed at for the test; `fail_on_error_logs`: the test fails if anything logged at ERROR.
  Connect a client with `tests.support.fake_discord.run_bot`.
- PostgreSQL (tests/support/postgres_server): one server runs for the whole session; each test
  that asks for `postgres_dsn` gets a fresh database. `storage_backend` runs a test once per
  storage backend: the embedded one and, marked `postgres`, PostgreSQL (its DSN in the
  environment, as the product reads it). Where the server cannot run (not Linux), the
  PostgreSQL runs skip, saying why.

The bot's end-to-end fixtures are in tests/bot/discord/conftest.py.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from newsdesk.index.store.postgres import DATABASE_URL_ENV
from tests.support.fake_discord import FakeDiscord
from tests.support.postgres_server import PostgresServer, unavailable_reason

# --- the fake Discord --------------------------------------------------------------------------


@pytest.fixture
async def fake_discord(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    """A started FakeDiscord that discord.py is pointed at for the duration of the test.

    Fails the test at teardown if the bot made a request the fake has no endpoint for:
    the fake answered it with an invented 404, so whatever the test saw is not evidence.
    """
    fake = FakeDiscord()
    await fake.start()
    fake.install(monkeypatch)
    yield fake
    await fake.stop()
    if fake.unrouted_requests:
        calls = "\n".join(f"  {r.method} {r.path}" for r in fake.unrouted_requests)
        pytest.fail(f"the bot called endpoints the fake Discord does not implement:\n{calls}")


class _ErrorRecords(logging.Handler):
    """Collects records at ERROR and above, whichever logger emits them."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def fail_on_error_logs() -> Iterator[list[logging.LogRecord]]:
    """Fail the test if anything logged at ERROR while it ran.

    discord.py only *logs* exceptions raised in event handlers and app commands ("Ignoring
    exception in ..."), so without this a crashing handler, or a payload the fake got
    wrong, shows up as a mere timeout or not at all. Yields the list of records so a test
    that expects an error can check and clear it.
    """
    handler = _ErrorRecords()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler.records
    root.removeHandler(handler)
    if handler.records:
        pytest.fail("ERROR logged during the test:\n" + "\n".join(handler.format(r) for r in handler.records))


# --- PostgreSQL --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer) -> Iterator[str]:
    """The DSN of a new, empty database (with the vector extension), dropped after the test."""
    dsn = postgres_server.create_database()
    yield dsn
    postgres_server.drop_database(dsn)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each storage backend in turn; for PostgreSQL, a fresh database named in NEWSDESK_DATABASE_URL."""
    if request.param == "postgres":
        monkeypatch.setenv(DATABASE_URL_ENV, request.getfixturevalue("postgres_dsn"))
    return request.param
