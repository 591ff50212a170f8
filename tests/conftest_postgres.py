"""Fixtures for tests against a real PostgreSQL with pgvector (tests.support.postgres_server).

One server runs for the whole session; each test that asks for `postgres_dsn` gets a fresh
database. `storage_backend` runs a test once per storage backend: the embedded one and,
marked `postgres`, PostgreSQL (its DSN in the environment, as the product reads it).
Where the server cannot run (not Linux), the PostgreSQL runs skip, saying why.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from newsdesk.index.store.postgres import DATABASE_URL_ENV

from tests.support.postgres_server import PostgresServer, unavailable_reason


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
