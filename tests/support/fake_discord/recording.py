"""Every REST request the bot makes, recorded for tests to inspect, and failures injected into them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .payloads import RecordedRequest, _FailureRule


class RequestLog:
    """The record of REST requests, waits on it, and failures a test asks for."""

    # ------------------------------------------------------------------ failure injection

    def fail_next(self, method: str, path_regex: str, status: int = 429, retry_after: float = 0.3, times: int = 1) -> None:
        """Answer the next ``times`` requests matching ``method`` and ``path_regex`` with ``status``.

        ``path_regex`` must match the whole API-relative path (``re.fullmatch``), e.g.
        ``r"/webhooks/\\d+/.+"``. A 429 carries the body (``retry_after``, ``global: false``)
        and headers (``Retry-After``, ``X-RateLimit-*``, ``Via``) discord.py needs to wait
        and retry; other statuses get a Discord-style error body. Note that discord.py
        retries 5xx itself after sleeping 1 s, 3 s, ...
        """
        self._failures.append(_FailureRule(method.upper(), re.compile(path_regex), status, retry_after, times))

    def _injected_failure(self, record: RecordedRequest) -> web.Response | None:
        for rule in self._failures:
            if rule.method == record.method and rule.path.fullmatch(record.path):
                rule.times -= 1
                if rule.times <= 0:
                    self._failures.remove(rule)
                return rule.response()
        return None

    # ------------------------------------------------------------------ inspecting requests

    def find_requests(
        self,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> list[RecordedRequest]:
        """Answered requests matching all given criteria (``path`` as a regex, whole-path match)."""
        pattern = re.compile(path) if path is not None else None
        return [
            request
            for request in self.requests
            if request.status is not None
            and (method is None or request.method == method.upper())
            and (pattern is None or pattern.fullmatch(request.path))
            and (predicate is None or predicate(request))
        ]

    async def wait_for_request(
        self,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
        timeout: float = 10.0,
    ) -> RecordedRequest:
        """The earliest answered request matching the criteria of :meth:`find_requests`.

        Requests already recorded count, so there is no race with a bot that answers
        before the test starts waiting. Raises AssertionError listing what was recorded
        if nothing matches within ``timeout``.
        """

        def first_match() -> RecordedRequest | None:
            matches = self.find_requests(predicate, method=method, path=path)
            return matches[0] if matches else None

        try:
            return await self._wait(first_match, timeout)
        except asyncio.TimeoutError:
            seen = "\n".join(f"  {r.method} {r.path} -> {r.status}" for r in self.requests) or "  (none)"
            wanted = f"{method or '*'} {path or '*'}"
            raise AssertionError(f"no request matched {wanted} within {timeout}s; recorded:\n{seen}") from None

    def interaction_responses(self, token: str) -> list[RecordedRequest]:
        """The callback, follow-ups and edits the bot sent for the interaction with ``token``."""
        return [request for request in self.requests if token in request.path.split("/")]

    @property
    def unrouted_requests(self) -> list[RecordedRequest]:
        """Requests no fake endpoint handles: the fake needs extending, or the bot went astray."""
        return [request for request in self.requests if not request.routed]

    async def _wait(self, condition: Callable[[], Any], timeout: float) -> Any:
        async with self._changed:
            return await asyncio.wait_for(self._changed.wait_for(condition), timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

