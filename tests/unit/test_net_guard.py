"""The outbound guard's pure parts: IP literal parsing, address classification, allow-list policy,
and the backend's resolve-and-check step (fake resolver: no DNS, no sockets)."""

from __future__ import annotations

import ipaddress

import pytest

from pilot.outbound import (
    AccessPolicy,
    DestinationBlocked,
    GuardedBackend,
    blocked_reason,
    parse_ip_literal,
)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("169.254.169.254.", "169.254.169.254"),
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("0", "0.0.0.0"),
    ],
)
def test_ip_literal_forms_are_normalised(host: str, expected: str) -> None:
    assert str(parse_ip_literal(host)) == expected


@pytest.mark.parametrize("host", ["example.com", "localhost", "1.2.3.4.5", "256.1.1.1", "0x1g.1", "08.1.1.1", "a.1"])
def test_names_and_invalid_literals_are_not_ips(host: str) -> None:
    assert parse_ip_literal(host) is None


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.0.1", "172.31.255.254", "192.168.1.1",
        "169.254.169.254", "0.0.0.0", "100.64.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255",
        "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:8.8.8.8",
    ],
)
def test_non_public_addresses_are_blocked(ip: str) -> None:
    assert blocked_reason(ipaddress.ip_address(ip)) is not None


@pytest.mark.parametrize("ip", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111"])
def test_public_addresses_pass(ip: str) -> None:
    assert blocked_reason(ipaddress.ip_address(ip)) is None


def test_metadata_reason_is_explicit() -> None:
    assert "link-local" in blocked_reason(ipaddress.ip_address("169.254.169.254"))


def test_policy_allowlist_forms() -> None:
    policy = AccessPolicy(allowlist=["127.0.0.1:8080", "internal.example", "10.0.0.0/8", "[::1]:9000"])
    lo = ipaddress.ip_address("127.0.0.1")
    policy.check("127.0.0.1", 8080, lo)  # exact host:port
    with pytest.raises(DestinationBlocked, match="loopback"):
        policy.check("127.0.0.1", 8081, lo)  # another port of the same host is not allowed
    policy.check("internal.example", 443, ipaddress.ip_address("192.168.0.5"))  # host entry, any port
    policy.check("anything", 80, ipaddress.ip_address("10.9.8.7"))  # CIDR matches the resolved address
    with pytest.raises(DestinationBlocked):
        policy.check("anything", 80, ipaddress.ip_address("192.168.0.1"))
    policy.check("::1", 9000, ipaddress.ip_address("::1"))


def test_allow_private_lifts_the_rule() -> None:
    AccessPolicy(allow_private=True).check("127.0.0.1", 80, ipaddress.ip_address("127.0.0.1"))


def _backend(records: dict[str, list[str]], **policy) -> GuardedBackend:
    async def resolver(host: str) -> list[str]:
        if host not in records:
            raise OSError(f"no such host {host}")
        return records[host]

    return GuardedBackend(AccessPolicy(**policy), resolver)


async def test_hostname_resolving_to_loopback_is_refused() -> None:
    backend = _backend({"rebind.example": ["127.0.0.1"]})
    with pytest.raises(DestinationBlocked, match=r"rebind\.example:80 \(127\.0\.0\.1\).*loopback"):
        await backend.resolve("rebind.example", 80)


async def test_any_private_record_among_public_ones_is_refused() -> None:
    backend = _backend({"mixed.example": ["93.184.216.34", "10.0.0.7"]})
    with pytest.raises(DestinationBlocked, match="private"):
        await backend.resolve("mixed.example", 443)


async def test_public_name_resolves_to_its_checked_addresses() -> None:
    backend = _backend({"public.example": ["93.184.216.34", "2606:4700:4700::1111"]})
    found = await backend.resolve("public.example", 443)
    assert [str(ip) for ip in found] == ["93.184.216.34", "2606:4700:4700::1111"]


async def test_literal_is_checked_without_dns() -> None:
    backend = _backend({})  # any lookup would raise OSError
    with pytest.raises(DestinationBlocked, match="loopback"):
        await backend.resolve("0x7f.1", 80)
    assert [str(ip) for ip in await backend.resolve("8.8.8.8", 53)] == ["8.8.8.8"]


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "169.254.169.254", "10.1.2.3", "172.16.5.4", "192.168.0.1", "[::1]", "2130706433", "0x7f.1"]
)
async def test_ssrf_targets_are_refused(host: str) -> None:
    backend = _backend({"localhost": ["127.0.0.1", "::1"]})
    with pytest.raises(DestinationBlocked):
        await backend.resolve(host, 80)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("2002:7f00:1::", "6to4 address embedding 127.0.0.1, a loopback address"),
        ("2002:a00:1::1", "6to4 address embedding 10.0.0.1, a private network address"),
        ("2002:a9fe:a9fe::", "6to4 address embedding 169.254.169.254, a link-local address"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo address embedding 127.0.0.1"),
        ("64:ff9b::a00:1", "NAT64 address embedding 10.0.0.1"),
        ("fec0::1", "a site-local address"),
        ("fed0::1", "a site-local address"),
    ],
)
def test_ipv6_that_carries_a_private_destination_is_refused(address: str, reason: str) -> None:
    assert reason in (blocked_reason(ipaddress.IPv6Address(address)) or "")


@pytest.mark.parametrize("address", ["2002:808:808::1", "64:ff9b::808:808", "2606:4700:4700::1111"])
def test_ipv6_that_carries_a_public_destination_is_allowed(address: str) -> None:
    assert blocked_reason(ipaddress.IPv6Address(address)) is None
