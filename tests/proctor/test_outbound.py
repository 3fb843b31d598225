"""Outbound destinations: inside addresses refused in every spelling, the operator's allow-list, and requests
pinned to the checked address (real sockets, real TLS) so DNS cannot move them inside afterwards."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import ip_address
from pathlib import Path

import httpx
import pytest

from proctor.outbound import OutboundPolicy, OutboundRefused, OutboundUnresolvable, parse_networks
from tests.fixtures.outbound import INSIDE_HOSTS, Receiver, self_signed

PUBLIC = "93.184.215.14"
NAME = "hooks.college.example"  # not in any DNS: only the resolver a test gives knows it
LOOPBACK = parse_networks("127.0.0.0/8")


class Names:
    """A resolver whose answers a test sets (and changes), counting the look-ups."""

    def __init__(self, answers: dict[str, Sequence[str]] | None = None) -> None:
        self.answers = {name: list(found) for name, found in (answers or {}).items()}
        self.lookups = 0

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups += 1
        if host not in self.answers:
            raise OSError(-2, "Name or service not known")
        return self.answers[host]

    def point(self, host: str, *addresses: str) -> None:
        self.answers[host] = list(addresses)


@pytest.mark.parametrize(("host", "kind"), INSIDE_HOSTS)
def test_every_spelling_of_an_inside_address_is_refused(host: str, kind: str) -> None:
    expected = "not a valid URL" if host == "0177.0.0.1" else kind  # httpx itself refuses dotted octal
    with pytest.raises(OutboundRefused, match=expected) as refused:
        OutboundPolicy().vet(f"http://{host}:8000/metrics", "webhook")
    assert str(refused.value).startswith("webhook ")


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "a loopback address"),
        ("169.254.169.254", "link-local"),
        ("::ffff:169.254.169.254", "IPv4-mapped address of 169.254.169.254, a link-local"),
        ("::7f00:1", "IPv4-compatible address embedding 127.0.0.1, a loopback"),
        ("2002:7f00:1::", "6to4 address embedding 127.0.0.1, a loopback"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo address embedding 127.0.0.1, a loopback"),
        ("64:ff9b::a00:1", "NAT64 address embedding 10.0.0.1, a private"),
        ("fec0::1", "site-local"),
        ("192.0.2.1", "documentation"),
        ("2001:db8::1", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("ff02::1", "multicast"),
    ],
)
def test_a_public_looking_name_that_resolves_inside_is_refused(address: str, kind: str) -> None:
    policy = OutboundPolicy(resolver=Names({NAME: [address]}))
    with pytest.raises(OutboundRefused) as refused:
        policy.vet(f"https://{NAME}/hook", "webhook")
    message = str(refused.value)
    assert message.startswith(f"webhook host resolves to {ip_address(address)}, ") and kind in message, message


def test_every_address_a_name_resolves_to_is_checked() -> None:
    policy = OutboundPolicy(resolver=Names({NAME: [PUBLIC, "10.0.0.1"]}))
    with pytest.raises(OutboundRefused, match="resolves to 10.0.0.1, a private address"):
        policy.vet(f"https://{NAME}/hook", "webhook")


def test_a_public_destination_is_pinned_to_its_checked_address() -> None:
    destination = OutboundPolicy(resolver=Names({NAME: [PUBLIC]})).vet(f"https://{NAME}:8443/h?x=1")
    assert str(destination.address) == PUBLIC
    assert str(destination.pinned_url) == f"https://{PUBLIC}:8443/h?x=1"
    assert destination.server_name == NAME
    assert OutboundPolicy().vet("http://[2606:4700:4700::1111]/").address.version == 6


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://hooks.college.kz/", "must start with http:// or https://"),
        ("file:///etc/passwd", "must start with http:// or https://"),
        (f"http://user:secret@{PUBLIC}/", "must not hold a user name or password"),
        ("http:///hook", "has no host"),
        ("http://[::1/", "not a valid URL"),
    ],
)
def test_urls_that_are_not_plain_http_destinations_are_refused(url: str, reason: str) -> None:
    with pytest.raises(OutboundRefused, match=reason):
        OutboundPolicy(resolver=Names()).vet(url, "webhook")


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(OutboundUnresolvable, match=f"webhook host {NAME} does not resolve"):
        OutboundPolicy(resolver=Names()).vet(f"http://{NAME}/", "webhook")
    with OutboundPolicy(resolver=Names()).client("webhook") as client, pytest.raises(httpx.ConnectError):
        client.get(f"http://{NAME}/")  # at request time, a failure to connect like any other


def test_the_allow_list_lets_an_internal_network_through() -> None:
    allowed = OutboundPolicy(LOOPBACK)
    assert str(allowed.vet("http://127.0.0.1:9000/").address) == "127.0.0.1"
    assert str(allowed.vet("http://0x7f000001:9000/").address) == "127.0.0.1"
    assert str(allowed.vet("http://[::ffff:127.0.0.1]:9000/").address) == "::ffff:7f00:1"
    with pytest.raises(OutboundRefused, match="::1, a loopback"):  # localhost is ::1 too, outside the list
        allowed.vet("http://localhost:9000/")
    OutboundPolicy(parse_networks("127.0.0.0/8, ::1/128")).vet("http://localhost:9000/")
    with pytest.raises(OutboundRefused, match="10.0.0.1, a private"):
        allowed.vet("http://10.0.0.1/")


def test_allowed_networks_are_parsed_strictly() -> None:
    assert [str(n) for n in parse_networks(" 10.20.0.0/16, ,fd00:20::/64 ")] == ["10.20.0.0/16", "fd00:20::/64"]
    assert parse_networks("") == ()
    with pytest.raises(ValueError, match="'10.0.0.1/8' is not an IP network in CIDR form"):
        parse_networks("10.0.0.0/8, 10.0.0.1/8")
    with pytest.raises(ValueError, match="'intranet' is not an IP network"):
        parse_networks("intranet")


def test_the_request_goes_to_the_checked_address_with_the_original_host() -> None:
    names = Names({NAME: ["127.0.0.1"]})
    with Receiver() as receiver, OutboundPolicy(LOOPBACK, names).client("webhook", timeout_s=5) as client:
        answer = client.post(receiver.url(NAME), content=b"{}")
    assert answer.status_code == 204
    assert str(answer.request.url) == receiver.url(NAME)
    [seen] = receiver.requests
    assert (seen.method, seen.path, seen.host, seen.body) == ("POST", "/hook", f"{NAME}:{receiver.port}", b"{}")
    assert names.lookups == 1  # resolved once, by the check: the connection used the checked address


def test_a_name_that_moved_inside_is_refused_before_any_connection() -> None:
    names = Names({NAME: [PUBLIC]})
    policy = OutboundPolicy(resolver=names)
    policy.vet(f"http://{NAME}/hook", "webhook")  # public when registered
    with Receiver() as receiver, policy.client("webhook", timeout_s=5) as client:
        names.point(NAME, "127.0.0.1")  # DNS rebinding
        with pytest.raises(OutboundRefused, match="resolves to 127.0.0.1, a loopback address"):
            client.post(receiver.url(NAME), content=b"{}")
    assert receiver.requests == []


def test_tls_checks_the_certificate_against_the_original_host_name(tmp_path: Path) -> None:
    certificate = self_signed(NAME, tmp_path)
    policy = OutboundPolicy(LOOPBACK, Names({NAME: ["127.0.0.1"]}))
    with Receiver(tls=certificate.server) as receiver:
        with policy.client("webhook", timeout_s=5, verify=certificate.client) as client:
            assert client.post(receiver.url(NAME), content=b"{}").status_code == 204
        assert receiver.server_names == [NAME]  # SNI is the host name, not the address
        assert [seen.host for seen in receiver.requests] == [f"{NAME}:{receiver.port}"]
        other = self_signed("other.example", tmp_path)
        with policy.client("webhook", timeout_s=5, verify=other.client) as client:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                client.post(receiver.url(NAME), content=b"{}")
    assert len(receiver.requests) == 1


def test_a_proxy_from_the_environment_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    with Receiver() as proxy, Receiver() as receiver:
        monkeypatch.setenv("HTTP_PROXY", proxy.url(path=""))
        monkeypatch.setenv("ALL_PROXY", proxy.url(path=""))
        with OutboundPolicy(LOOPBACK).client("webhook", timeout_s=5) as client:
            assert client.get(receiver.url()).status_code == 204
    assert proxy.requests == [] and len(receiver.requests) == 1
