"""Which address a leg's RTP socket binds for a peer of each IP family."""

from __future__ import annotations

from media.families import RtpFamilies, can_bind, version_of


def test_a_wildcard_serves_both_families_where_the_machine_can() -> None:
    families = RtpFamilies("0.0.0.0")
    assert families.bind_address("127.0.0.1") == "0.0.0.0"
    assert families.bind_address("::1") == "::"  # this machine has IPv6 (loopback)
    assert families.describe() == "IPv4+IPv6" and families.default == "0.0.0.0"
    assert RtpFamilies("::").binds == {6: "::", 4: "0.0.0.0"}
    assert RtpFamilies("").default == "0.0.0.0"


def test_a_machine_without_ipv6_serves_ipv4_only() -> None:
    probed: list[str] = []

    def no_ipv6(address: str) -> bool:
        probed.append(address)
        return ":" not in address

    families = RtpFamilies("0.0.0.0", probe=no_ipv6)
    assert probed == ["::"]  # the configured family is not probed: it must work
    assert families.bind_address("::1") is None
    assert families.bind_address("127.0.0.1") == "0.0.0.0"
    assert families.describe() == "IPv4"


def test_a_specific_address_serves_its_own_family() -> None:
    assert RtpFamilies("127.0.0.1").binds == {4: "127.0.0.1"}
    assert RtpFamilies("127.0.0.1").bind_address("::1") is None
    assert RtpFamilies("::1").binds == {6: "::1"}
    assert RtpFamilies("::1").bind_address("127.0.0.1") is None


def test_probe_and_versions() -> None:
    assert can_bind("127.0.0.1") and can_bind("::1")
    assert not can_bind("not-an-address")
    assert version_of("::1") == 6 and version_of("127.0.0.1") == 4
    assert version_of("phone.example.com") == 4
