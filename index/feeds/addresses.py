"""Which addresses a feed url may reach: public ones only, checked on the addresses actually connected to.

The check lives in a resolver handed to aiohttp's connector, so the addresses checked are
the very ones the socket connects to (no second lookup an attacker's DNS could answer
differently), for the first request and every redirect alike. Hosts written as IP
addresses skip resolvers, so `check_url` checks those itself.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Iterable

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from ..ingest.untrusted import short

ALLOWED_SCHEMES = ("http", "https")
# Networks Python's ipaddress counts as global that a feed may not reach all the same: 6to4 wraps
# any IPv4 address (2002:7f00:1:: is 127.0.0.1 to a host with a 6to4 relay), and 192.0.0.0/24
# holds protocol assignments (NAT64 discovery, DS-Lite, TURN anycast), none of them a news site.
_REFUSED_NETWORKS = (
    (ipaddress.ip_network("2002::/16"), "6to4"),
    (ipaddress.ip_network("192.0.0.0/24"), "protocol-assignment"),
)


class BlockedAddressError(OSError):
    """A url points at the host's own network (or is not http(s)); the message says why."""


class AddressPolicy:
    """Public unicast addresses only, unless private ones are allowed, all of them or some networks."""

    def __init__(self, allow_private: bool, allowed_networks: Iterable[str] = ()):
        self.allow_private = allow_private
        self._allowed = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]

    def refusal(self, address: str) -> str | None:
        """Why an IP address may not be fetched, or None if it may."""
        if self.allow_private:
            return None
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if any(ip in network for network in self._allowed):
            return None
        return _non_public_reason(ip)


def _non_public_reason(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    for network, kind in _REFUSED_NETWORKS:
        if ip in network:
            return f"a {kind} address"
    for kind, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("non-global", not ip.is_global),
    ):
        if flag:
            return f"a {kind} address"
    return None


def check_url(url: URL, policy: AddressPolicy) -> None:
    """Refuse a url that is not http(s), or whose host is written as a non-public IP address.

    Raises:
        BlockedAddressError: with the reason.
    """
    if url.scheme not in ALLOWED_SCHEMES:
        raise BlockedAddressError(
            f"only http and https urls are fetched, not {short(url.scheme or 'a relative', 20)} url {short(url)}"
        )
    if not url.host:
        raise BlockedAddressError(f"{short(url)} has no host")
    try:
        reason = policy.refusal(url.host)
    except ValueError:
        return  # a name: the resolver checks what it resolves to
    if reason:
        raise BlockedAddressError(f"{short(url.host)} is {reason}; only public addresses are fetched")


class PublicOnlyResolver(AbstractResolver):
    """Resolves with the system resolver and refuses a name if any of its addresses is not public."""

    def __init__(self, policy: AddressPolicy):
        self._resolver = ThreadedResolver()
        self._policy = policy

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        for result in results:
            reason = self._policy.refusal(result["host"])
            if reason:
                raise BlockedAddressError(f"{short(host)} resolves to {result['host']}, {reason}; only public addresses are fetched")
        return results

    async def close(self) -> None:
        await self._resolver.close()
