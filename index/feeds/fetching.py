"""Fetching feed and article urls from hostile servers: public addresses only, bounded size, redirects and time.

aiohttp (already installed with discord.py) is the client: its connector takes a resolver,
so the public-address check runs on the addresses actually connected to
(`addresses.PublicOnlyResolver`), and it limits connections per host. Redirects are
followed here, one hop at a time, so every hop's url is checked before it is requested.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from dataclasses import dataclass

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from ..settings import FeedSettings
from .addresses import AddressPolicy, BlockedAddressError, PublicOnlyResolver, check_url
from ..ingest.untrusted import short

_REDIRECTS = (301, 302, 303, 307, 308)
_READ_CHUNK = 64 * 1024


class FetchError(Exception):
    """A url could not be fetched; the message says why in one sentence.

    `retry_after` is when the server asked us to come back (epoch seconds), if it did.
    """

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Fetched:
    """A response: its final url (after redirects), status (200, or 304 for not modified), headers and body."""

    url: str
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for part in self.headers.get("Content-Type", "").split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "charset":
                return value.strip().strip('"').lower() or None
        return None


def retry_after(value: str | None, now: float) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) as epoch seconds; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return now + int(value)
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


class Fetcher:
    """One HTTP session for feeds and article pages. Create inside a running event loop; `close()` when done."""

    def __init__(self, settings: FeedSettings):
        self._settings = settings
        self._policy = AddressPolicy(settings.allow_private_addresses, settings.allowed_networks)
        connector = aiohttp.TCPConnector(
            resolver=PublicOnlyResolver(self._policy),
            limit_per_host=settings.per_host_concurrency,
            use_dns_cache=False,  # every connection resolves, and so is checked, again
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": settings.user_agent},
            trust_env=False,  # no proxy from the environment: the address check must see the real peer
        )

    async def close(self) -> None:
        await self._session.close()

    async def get(self, url: str, max_bytes: int, headers: dict[str, str] | None = None) -> Fetched:
        """GET a url, following redirects, within [feeds] timeout_seconds all told.

        Args:
            url: an http(s) url.
            max_bytes: the largest body accepted (after decompression).
            headers: extra request headers (Accept, If-None-Match, ...).

        Returns:
            The final response (status 200 or 304).

        Raises:
            FetchError: refused address or scheme, too many redirects, too big, too slow,
                unreachable, or an HTTP error status.
        """
        timeout = self._settings.timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                return await self._follow(URL(url), max_bytes, headers or {})
        except TimeoutError:
            raise FetchError(f"{short(url)} did not answer in full within {timeout:g} seconds") from None
        except BlockedAddressError as exc:
            raise FetchError(f"refused: {exc}") from None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, BlockedAddressError):
                raise FetchError(f"refused: {exc.os_error}") from None
            raise FetchError(f"cannot connect to {short(exc.host)}: {short(exc.os_error.strerror or exc.os_error)}") from None
        except (aiohttp.ClientError, ValueError) as exc:
            raise FetchError(f"{short(url)} could not be fetched ({exc.__class__.__name__}: {short(exc)})") from None

    async def _follow(self, start: URL, max_bytes: int, headers: dict[str, str]) -> Fetched:
        url = start
        for _ in range(self._settings.max_redirects + 1):
            check_url(url, self._policy)
            async with self._session.get(url, headers=headers, allow_redirects=False) as response:
                if response.status in _REDIRECTS and "Location" in response.headers:
                    url = url.join(URL(response.headers["Location"]))
                    continue
                if response.status >= 400:
                    raise FetchError(
                        f"{short(url)} answered HTTP {response.status} {short(response.reason or '', 60)}".rstrip(),
                        retry_after(response.headers.get("Retry-After"), time.time()),
                    )
                if response.status not in (200, 304):
                    raise FetchError(f"{short(url)} answered HTTP {response.status}, not a page")
                body = await _read_bounded(response, max_bytes, url)
                return Fetched(str(url), response.status, response.headers, body)
        raise FetchError(f"{short(start)} redirected more than {self._settings.max_redirects} times")


async def _read_bounded(response: aiohttp.ClientResponse, max_bytes: int, url: URL) -> bytes:
    """The body, refused as soon as it passes max_bytes (a declared length over it is refused unread)."""
    too_big = f"{short(url)} is over the {max_bytes:,}-byte limit"
    if response.content_length is not None and response.content_length > max_bytes:
        raise FetchError(too_big)
    chunks, size = [], 0
    async for chunk in response.content.iter_chunked(_READ_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(too_big)
        chunks.append(chunk)
    return b"".join(chunks)
