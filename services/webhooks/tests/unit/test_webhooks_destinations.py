from ipaddress import ip_address

import pytest

from fieldstone.webhooks.domain.destinations import parse_networks, refusal_reason


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.5.4", "private"),
        ("192.168.0.10", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1", "link-local"),
        ("100.64.0.1", "cgnat"),
        ("100.127.255.254", "cgnat"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("192.0.2.10", "private"),  # documentation range
        ("2001:db8::1", "private"),
    ],
)
def test_non_public_addresses_are_refused(address: str, reason: str) -> None:
    assert refusal_reason(ip_address(address)) == reason


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "100.128.0.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal_reason(ip_address(address)) is None


def test_allow_list_lets_an_operator_open_a_range() -> None:
    allowed = parse_networks("127.0.0.0/8, 10.20.0.0/16")
    assert refusal_reason(ip_address("127.0.0.1"), allowed) is None
    assert refusal_reason(ip_address("::ffff:127.0.0.1"), allowed) is None
    assert refusal_reason(ip_address("10.20.3.4"), allowed) is None
    assert refusal_reason(ip_address("10.21.3.4"), allowed) == "private"
    assert refusal_reason(ip_address("::1"), allowed) == "loopback"


def test_parse_networks() -> None:
    assert parse_networks("") == ()
    assert [str(n) for n in parse_networks(" ::1/128 ,127.0.0.0/8,")] == ["::1/128", "127.0.0.0/8"]
    with pytest.raises(ValueError):
        parse_networks("not-a-cidr")
