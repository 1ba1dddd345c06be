"""Which destinations a workflow may reach: IP literal parsing and the access policy.

Refused unless allowed: anything that is not globally routable (private, loopback, link-local
incl. 169.254.169.254 cloud metadata, unique-local, site-local ``fec0::/10``, CGNAT,
documentation, reserved, 0.0.0.0) and multicast; IPv4-mapped IPv6 (``::ffff:127.0.0.1``)
outright; and IPv6 that *embeds* an IPv4 address — 6to4 (``2002::/16``), Teredo
(``2001::/32``) and NAT64 (``64:ff9b::/96``) — is judged by the IPv4 address it carries, since a
relay would deliver it there. ``allow_private`` lifts the rule; ``allowlist`` entries lift it per
destination: ``host``, ``host:port`` (exact URL host), an IP or a CIDR (matched against the
resolved address).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from pilot.outbound.errors import DestinationBlocked

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")


def parse_ip_literal(host: str) -> IPAddress | None:
    """Parse ``host`` as an IP the way ``inet_aton``/browsers do, or return None for a name.

    Accepts ``[v6]``, dotted quads and the legacy forms with 1-4 parts, each decimal, octal
    (leading 0) or hex (0x): ``2130706433``, ``0x7f.1``, ``127.1``, ``0177.0.0.01``.
    """
    h = host.strip().rstrip(".")
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    if ":" in h:
        try:
            return ipaddress.IPv6Address(h.split("%", 1)[0])
        except ValueError:
            return None
    parts = h.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        try:
            if part.lower().startswith("0x"):
                values.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part, 8))
            else:
                if not part.isdigit():
                    return None
                values.append(int(part, 10))
        except ValueError:
            return None
    # The last part fills the remaining bytes: a.b.c.d / a.b.(16 bits) / a.(24 bits) / (32 bits).
    *head, last = values
    if any(v > 255 for v in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    number = last
    for i, v in enumerate(head):
        number |= v << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    if ip.teredo is not None:
        return "Teredo", ip.teredo[1]
    if ip in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` may not be reached by a workflow, or None if it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        if ip in _SITE_LOCAL:
            return "a site-local address"
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            kind, inner = embedded
            reason = blocked_reason(inner)
            if reason is not None:
                return f"a {kind} address embedding {inner}, {reason}"
            return None
    for attr, label in (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address (cloud metadata lives here)"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private network address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(ip, attr):
            return label
    if not ip.is_global:
        return "a non-public address"
    return None


class AccessPolicy:
    """Decides whether ``host:port`` (as written in the URL) at address ``ip`` may be reached."""

    def __init__(self, *, allow_private: bool = False, allowlist: Iterable[str] = ()) -> None:
        self.allow_private = allow_private
        self._hosts: set[str] = set()
        self._host_ports: set[tuple[str, int]] = set()
        self._networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for raw in allowlist:
            self._add(raw.strip().lower())

    def _add(self, entry: str) -> None:
        if not entry:
            return
        try:
            self._networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            return
        except ValueError:
            pass
        host, sep, port = entry.rpartition(":")
        if sep and port.isdigit() and host and (not host.count(":") or host.startswith("[")):
            self._host_ports.add((host.strip("[]").rstrip("."), int(port)))
        else:
            self._hosts.add(entry.strip("[]").rstrip("."))

    def host_allowed(self, host: str, port: int) -> bool:
        """The URL's host (or host:port) is explicitly allow-listed."""
        h = host.lower().strip("[]").rstrip(".")
        return h in self._hosts or (h, port) in self._host_ports

    def check(self, host: str, port: int, ip: IPAddress) -> None:
        """Raise :class:`DestinationBlocked` unless the destination is allowed."""
        if self.allow_private or self.host_allowed(host, port):
            return
        if any(ip in net for net in self._networks if net.version == ip.version):
            return
        reason = blocked_reason(ip)
        if reason is not None:
            bare = host.strip("[]")
            target = f"[{bare}]:{port}" if ":" in bare else f"{bare}:{port}"
            shown = target if str(ip) == bare else f"{target} ({ip})"
            raise DestinationBlocked(
                f"outbound request to {shown} refused: {reason}; "
                "allow it with PILOT_HTTP_ALLOWLIST or PILOT_HTTP_ALLOW_PRIVATE"
            )
