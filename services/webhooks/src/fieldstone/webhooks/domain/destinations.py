"""Which network addresses webhooks may be sent to (the SSRF policy; no I/O).

Anything that is not a public unicast address is refused unless an operator allow-list
names it; the local stack and the tests allow loopback explicitly.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

CGNAT = ip_network("100.64.0.0/10")  # shared address space, not covered by is_private on 3.11
NAT64 = ip_network("64:ff9b::/96")


def parse_networks(cidrs: str) -> tuple[Network, ...]:
    """`"127.0.0.0/8, ::1/128"` -> networks; raises ValueError on a malformed entry."""
    return tuple(ip_network(part.strip()) for part in cidrs.split(",") if part.strip())


def _embedded_ipv4(address: Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address really reaches (::ffff:10.0.0.1 is 10.0.0.1)."""
    if not isinstance(address, IPv6Address):
        return None
    if address in NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address.ipv4_mapped or address.sixtofour


def refusal_reason(address: Address, allowed: tuple[Network, ...] = ()) -> str | None:
    """Why `address` may not be connected to, or None when it may."""
    address = _embedded_ipv4(address) or address
    if any(address in network for network in allowed if network.version == address.version):
        return None
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("cgnat", address in CGNAT),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        # Documentation, benchmarking, 6to4 relays and the like: nothing public lives there.
        ("non-global", not address.is_global),
    )
    return next((reason for reason, hit in checks if hit), None)
