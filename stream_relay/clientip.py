"""The client's IP address: the connection's peer, or what a trusted reverse proxy says it forwarded."""

from __future__ import annotations

import ipaddress

from stream_relay.lru import Lru

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: Address, proxies: tuple[Network, ...]) -> bool:
    return any(address in network for network in proxies)


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


class ClientIps:
    """`client_ip` for one set of trusted proxies, remembering its answers.

    A client sends the same peer address and header with every request, and parsing addresses is not
    cheap. Keys and answers are plain strings, which the garbage collector never has to scan.
    """

    def __init__(self, proxies: tuple[Network, ...], capacity: int) -> None:
        self._proxies = proxies
        self._known: Lru[str, str] = Lru(capacity)

    def __call__(self, peer: str | None, forwarded_for: str | None) -> str:
        key = f"{peer}|{forwarded_for}"
        known = self._known.get(key)
        if known is None:
            known = client_ip(peer, forwarded_for, self._proxies)
            self._known.put(key, known)
        return known
