"""Outbound HTTP only to vetted addresses, pinned after the check (webhooks now, LTI JWKS and services later).

A destination's host is resolved once and every address it resolves to is checked: loopback, private,
link-local and other addresses that are not public are refused unless an operator allowed their network.
The connection then goes to the checked address itself, with the original Host header and TLS server
name, so DNS cannot send it somewhere else between the check and the connection.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

import httpx

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
Resolver = Callable[[str, int], Sequence[str]]
"""Host name and port → the addresses it resolves to (as text); raises OSError when it resolves to none."""

SHARED_SPACE = IPv4Network("100.64.0.0/10")
DOCUMENTATION = tuple(
    ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20")
)
BENCHMARKING = (IPv4Network("198.18.0.0/15"), IPv6Network("2001:2::/48"))
NAT64 = IPv6Network("64:ff9b::/96")
IPV4_COMPATIBLE = IPv6Network("::/96")
LOOPBACK_NAMES = (IPv4Address("127.0.0.1"), IPv6Address("::1"))


class OutboundRefused(ValueError):
    """The destination is not one the server may call: its URL, or an address its host is or resolves to."""


class OutboundUnresolvable(OutboundRefused):
    """The destination's host resolves to no address (a DNS failure may pass; a refused address does not)."""


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """Comma-separated CIDRs (`10.20.0.0/16, fd00::/8`); ValueError naming the first one that is not one."""
    networks: list[IPNetwork] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ip_network(item))
        except ValueError as exc:
            raise ValueError(f"{item!r} is not an IP network in CIDR form such as 10.20.0.0/16 ({exc})") from exc
    return tuple(networks)


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses `socket.getaddrinfo` gives for a TCP connection to host:port, in its order."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def address_class(ip: IPAddress) -> str | None:
    """Why an address is not a public one ("a loopback address"), or None for a public address."""
    if isinstance(ip, IPv6Address):
        if ip.ipv4_mapped is not None:  # it is that IPv4 address
            problem = address_class(ip.ipv4_mapped)
            return f"an IPv4-mapped address of {ip.ipv4_mapped}, {problem}" if problem else None
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            kind, ipv4 = embedded
            problem = address_class(ipv4)
            if problem:
                return f"{kind} address embedding {ipv4}, {problem}"
        if ip.is_site_local:
            return "a site-local address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip in SHARED_SPACE:
        return "a shared address space (carrier-grade NAT) address"
    if any(ip in network for network in DOCUMENTATION):
        return "a documentation address"
    if any(ip in network for network in BENCHMARKING):
        return "a benchmarking address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "a non-public address"
    return None


def _embedded_ipv4(ip: IPv6Address) -> tuple[str, IPv4Address] | None:
    """The IPv4 address an IPv6 address carries (6to4, Teredo client, NAT64, IPv4-compatible) with its kind."""
    if ip.sixtofour is not None:
        return "a 6to4", ip.sixtofour
    if ip.teredo is not None:
        return "a Teredo", ip.teredo[1]
    if ip in NAT64:
        return "a NAT64", IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in IPV4_COMPATIBLE and int(ip) > 1:
        return "an IPv4-compatible", IPv4Address(int(ip))
    return None


def _is_localhost_name(host: str) -> bool:
    """`localhost` and its subdomains, any case, with or without the final dot (RFC 6761: always loopback)."""
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


@dataclass(frozen=True)
class Destination:
    """A vetted destination: its URL and the checked address the connection goes to."""

    url: httpx.URL
    address: IPAddress

    @property
    def server_name(self) -> str:
        """The name the TLS certificate is checked against (and sent as SNI): the URL's own host."""
        return self.url.raw_host.decode("ascii")

    @property
    def pinned_url(self) -> httpx.URL:
        """The URL with its host replaced by the checked address."""
        return self.url.copy_with(host=str(self.address))


@dataclass(frozen=True)
class OutboundPolicy:
    """Which destinations outbound calls may reach: public addresses, and those inside the allowed networks."""

    allow: tuple[IPNetwork, ...] = ()
    resolver: Resolver = field(default=system_resolver, compare=False)

    def allowed(self, ip: IPAddress) -> bool:
        mapped = ip.ipv4_mapped if isinstance(ip, IPv6Address) else None
        return any(ip in network or (mapped is not None and mapped in network) for network in self.allow)

    def vet(self, url: str | httpx.URL, purpose: str = "destination") -> Destination:
        """Parse the URL, resolve its host and check every address; OutboundRefused says why in plain words."""
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise OutboundRefused(f"{purpose} URL is not a valid URL ({exc})") from exc
        if parsed.scheme not in ("http", "https"):
            raise OutboundRefused(f"{purpose} URL must start with http:// or https://")
        if parsed.userinfo:
            raise OutboundRefused(f"{purpose} URL must not hold a user name or password")
        if not parsed.raw_host:
            raise OutboundRefused(f"{purpose} URL has no host")
        host = parsed.raw_host.decode("ascii")
        addresses = self._resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80), purpose)
        for ip in addresses:
            problem = None if self.allowed(ip) else address_class(ip)
            if problem:
                verb = "is" if str(ip) == host else "resolves to"
                raise OutboundRefused(f"{purpose} host {verb} {ip}, {problem}")
        return Destination(parsed, addresses[0])

    def _resolve(self, host: str, port: int, purpose: str) -> list[IPAddress]:
        if _is_localhost_name(host):
            return list(LOOPBACK_NAMES)
        try:
            found = self.resolver(host, port)
        except OSError as exc:
            raise OutboundUnresolvable(f"{purpose} host {host} does not resolve ({exc.strerror or exc})") from exc
        addresses = list(dict.fromkeys(ip_address(address) for address in found))
        if not addresses:
            raise OutboundUnresolvable(f"{purpose} host {host} does not resolve")
        return addresses

    def client(self, purpose: str, timeout_s: float = 10.0, verify: ssl.SSLContext | bool = True) -> httpx.Client:
        """An httpx client whose every request is vetted and pinned; redirects are not followed, and no
        proxy from the environment is used (it would connect instead of us)."""
        return httpx.Client(
            transport=PinnedTransport(self, purpose, verify),
            timeout=timeout_s,
            follow_redirects=False,
            trust_env=False,
        )


class PinnedTransport(httpx.BaseTransport):
    """Vets each request's URL and connects to the checked address, keeping the Host header and the TLS
    server name (and so the certificate check) of the original host."""

    def __init__(self, policy: OutboundPolicy, purpose: str, verify: ssl.SSLContext | bool = True) -> None:
        self._policy = policy
        self._purpose = purpose
        # one request per connection: the pool is keyed by address, and a TLS connection checked for one
        # host name must not carry a request for another name that resolves to the same address
        self._transport = httpx.HTTPTransport(verify=verify, limits=httpx.Limits(max_keepalive_connections=0))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            destination = self._policy.vet(request.url, self._purpose)
        except OutboundUnresolvable as exc:  # as a name that does not resolve is for any httpx client
            raise httpx.ConnectError(str(exc), request=request) from exc
        pinned = httpx.Request(
            request.method,
            destination.pinned_url,
            headers=request.headers,  # Host stays the original host
            stream=request.stream,
            extensions={**request.extensions, "sni_hostname": destination.server_name},
        )
        return self._transport.handle_request(pinned)

    def close(self) -> None:
        self._transport.close()
