"""The client's IP address: the connection's peer, or what a trusted reverse proxy says it forwarded."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=65536)  # the same few addresses come back with every request; parsing them is not cheap
def _parse(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: Address, proxies: tuple[Network, ...]) -> bool:
    return any(address in network for network in proxies)


# A client sends the same peer address and header with every request: the answer is worth remembering.
@lru_cache(maxsize=65536)
def client_ip(peer: str | None, forwarded_for: str | None, proxies: tuple[Network, ...]) -> str:
    """The address to rate-limit by.

    X-Forwarded-For is read only when the peer is a trusted proxy, and then from the right: each proxy
    appends the address it received from, so the rightmost entry that is not a trusted proxy is the client
    (anything left of it could have been written by the client itself).
    """
    address = _parse(peer or "")
    if address is None:
        return peer or "unknown"
    if not forwarded_for or not _trusted(address, proxies):
        return str(address)
    for entry in reversed(forwarded_for.split(",")):
        hop = _parse(entry)
        if hop is None:
            break  # garbage written by someone: trust nothing further left
        address = hop
        if not _trusted(hop, proxies):
            break
    return str(address)
