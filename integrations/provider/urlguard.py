"""The SSRF guard: Tributary calls only public addresses unless TRIBUTARY_ALLOW_PRIVATE_URLS
is on.

Callback URLs and provider sites are typed in by users. Unguarded, a URL could make the
server call its own admin, a database on the private network or a cloud metadata service
that hands out credentials. URLs are checked when they are saved (a clear validation error)
and again before every request, because a hostname can resolve elsewhere later. Sessions from
``guarded_session`` also check the address each new connection actually reached, which closes
the gap between the check and the connect (DNS rebinding). Redirects are never followed by
the callers, so a public URL cannot hand the request on to a private one.

Their connections also read every answer against one deadline (``core.http``), so that
``core.http.bounded_request`` bounds the whole attempt however slowly a server sends.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from core.http import DeadlineHTTPResponse

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SETTING = "TRIBUTARY_ALLOW_PRIVATE_URLS"
METADATA_HOSTS = {"metadata.google.internal", "metadata.goog", "metadata"}
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, ...
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
}
CARRIER_GRADE_NAT = ipaddress.ip_network("100.64.0.0/10")
# IPv6 prefixes that carry an IPv4 address in their last 32 bits.
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class UnsafeURL(ValueError):
    """A URL, or the address it reached, is not one Tributary may call."""


def private_allowed() -> bool:
    return bool(getattr(settings, SETTING, False))


def address_kind(address: IPAddress) -> str | None:
    """What kind of address ``address`` is when it may not be called (``"private"``), or
    None for a public address. IPv6 forms that embed an IPv4 address are judged by that
    address too."""
    for candidate in (*_embedded_ipv4(address), address):
        kind = _kind(candidate)
        if kind:
            return kind
    return None


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour]
    if address.teredo:
        found.append(address.teredo[0])
    compatible = address in IPV4_COMPATIBLE and not (address.is_loopback or address.is_unspecified)
    if address in NAT64 or compatible:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [item for item in found if item is not None]


def _kind(address: IPAddress) -> str | None:
    checks = [
        (address in METADATA_ADDRESSES, "cloud metadata"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address in CARRIER_GRADE_NAT, "carrier-grade NAT"),
        (address.is_multicast, "multicast"),
        (address.is_unspecified, "unspecified"),
        (address.is_reserved, "reserved"),
        (address.is_private, "private"),
        (not address.is_global, "non-public"),
    ]
    return next((kind for matches, kind in checks if matches), None)


def _refusal(what: str, kind: str) -> str:
    article = "an" if kind[0] in "aeiou" else "a"
    return (
        f"{what} is {article} {kind} address; Tributary does not call {kind} addresses "
        f"unless {SETTING} is on"
    )


def url_problems(url: str) -> list[str]:
    """What makes ``url`` unsafe to call, one readable sentence each; empty when it may be
    called (always, while TRIBUTARY_ALLOW_PRIVATE_URLS is on). A hostname that does not
    resolve is not a problem here: the request itself will fail and say so."""
    if private_allowed():
        return []
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return ["it is not a valid URL"]
    if parts.scheme not in ("http", "https") or not host:
        return ["it must be an absolute http(s) URL"]
    host = host.rstrip(".").lower()
    if host in METADATA_HOSTS:
        return [_refusal(host, "cloud metadata")]
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        kind = address_kind(literal)
        return [_refusal(host, kind)] if kind else []
    problems = []
    for address in resolve(host, port or (443 if parts.scheme == "https" else 80)):
        kind = address_kind(address)
        if kind:
            problems.append(_refusal(f"{host} resolves to {address}, which", kind))
    return problems


def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    addresses = []
    for _family, _type, _proto, _name, sockaddr in answers:
        address = _parse(str(sockaddr[0]))
        if address is not None and address not in addresses:
            addresses.append(address)
    return addresses


def _parse(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # A zone (fe80::1%eth0) does not change what kind of address it is.
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        address = ipaddress.IPv6Address(text.split("%", 1)[0])
    return address


def check_url(url: str, *, purpose: str) -> None:
    """Raise UnsafeURL naming ``purpose`` ("the callback URL") when ``url`` may not be
    called."""
    problems = url_problems(url)
    if problems:
        raise UnsafeURL(f"Refused to call {purpose}: {problems[0]}.")


# Connections ------------------------------------------------------------------------


def _check_peer(sock: socket.socket, host: str) -> None:
    if private_allowed():
        return
    try:
        peer = _parse(str(sock.getpeername()[0]))
    except OSError:
        peer = None
    kind = address_kind(peer) if peer is not None else None
    if kind:
        sock.close()
        raise UnsafeURL(f"Refused to call {host}: {_refusal(f'it reached {peer}, which', kind)}.")


class _GuardedHTTPConnection(HTTPConnection):
    response_class = DeadlineHTTPResponse

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(sock, self.host)
        return sock


class _GuardedHTTPSConnection(HTTPSConnection):
    response_class = DeadlineHTTPResponse

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(sock, self.host)
        return sock


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """Checks the address every new connection reached, after the connect and before a
    byte is sent, and reads answers against a deadline. Through a proxy, the proxy is what
    is reached and it is not checked."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }


def guarded_session() -> requests.Session:
    session = requests.Session()
    adapter = GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
