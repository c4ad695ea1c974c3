"""IPv6 dual stack: a switch listening on the wildcard (0.0.0.0, the default) takes
phones over IPv6 too. A phone registered over IPv6 (on ::1) and one over IPv4 (on
127.0.0.1) call each other and each hears the other's tone; a phone whose SIP is IPv4
but whose SDP offers IPv6 media (a second softphone stack) is answered in IPv6.
Only loopback addresses are used: ::1 and 127.0.0.1."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import pytest

from media import families as families_module
from tests.e2e.phones import far_and_local_phones
from tests.e2e.talk import assert_heard, talk_and_hang_up
from tests.peers.audio import band_energy_ratio, dominant_frequency, make_tone_wav
from tests.peers.baresip import Baresip, BaresipAccount
from tests.peers.linphone import Linphonec
from tests.peers.sipp import run_sipp, start_sipp
from tests.sip.no_ipv6 import without_ipv6
from tests.switch_harness import ip_trunk

pytestmark = pytest.mark.peers

V6_TONE = 700.0
V4_TONE = 1200.0


def _phones(switch_factory, phone_factory):
    harness, v6, v4 = far_and_local_phones(
        switch_factory, phone_factory, "[::1]", V6_TONE, V4_TONE, host="::1", sip_trace=True
    )
    port = harness.config.sip_host_port[1]
    sources = harness.call(lambda: harness.switch.registrar.contacts("101")[0].source_host)
    assert sources == "::1"  # registered over IPv6
    return harness, port, v6, v4


def _rtp_families(harness) -> dict[str, socket.AddressFamily]:
    return harness.call(lambda: {ch.endpoint.name: ch.rtp.family for ch in harness.switch.channels})


def _assert_ipv6_phone_saw_only_ipv6(phone: Baresip) -> None:
    """What the switch sent the IPv6 phone (Via, Contact, SDP o= and c=) names ::1."""
    trace = phone.log_text()
    assert "127.0.0.1" not in trace
    assert re.search(r"^Contact: <sip:[^>]*@?\[::1\]:\d+", trace, re.M | re.I)
    assert re.search(r"^c=IN IP6 ::1\s*$", trace, re.M)
    assert re.search(r"^o=\S+ \d+ \d+ IN IP6 ::1\s*$", trace, re.M)
    assert not re.search(r"^c=IN IP4", trace, re.M)


def _assert_clean(caplog: pytest.LogCaptureFixture) -> None:
    assert "Traceback" not in caplog.text and "socket family mismatch" not in caplog.text
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


def test_ipv6_phone_calls_ipv4_phone(switch_factory, phone_factory, caplog) -> None:
    harness, port, v6, v4 = _phones(switch_factory, phone_factory)
    v6.dial(f"sip:102@[::1]:{port}")
    v4.wait_incoming()
    families = _rtp_families(harness)
    assert families == {"101": socket.AF_INET6, "102": socket.AF_INET}
    talk_and_hang_up(v6, v4)
    assert_heard(v4, V6_TONE)
    assert_heard(v6, V4_TONE)
    _assert_ipv6_phone_saw_only_ipv6(v6)
    _assert_clean(caplog)


def test_ipv4_phone_calls_ipv6_phone(switch_factory, phone_factory, caplog) -> None:
    harness, port, v6, v4 = _phones(switch_factory, phone_factory)
    v4.dial(f"sip:101@127.0.0.1:{port}")
    v6.wait_incoming()
    # the outgoing offer to the phone registered over IPv6 is IPv6
    advertised = harness.call(
        lambda: {ch.endpoint.name: ch.advertised for ch in harness.switch.channels}
    )
    assert advertised == {"101": "::1", "102": "127.0.0.1"}
    assert _rtp_families(harness) == {"101": socket.AF_INET6, "102": socket.AF_INET}
    talk_and_hang_up(v6, v4)  # the IPv6 phone's BYE reaches the switch's IPv6 Contact
    assert_heard(v4, V6_TONE)
    assert_heard(v6, V4_TONE)
    _assert_ipv6_phone_saw_only_ipv6(v6)
    _assert_clean(caplog)


def test_ipv4_signaling_with_ipv6_media_is_answered_in_ipv6(
    tmp_path, ports, switch_factory, phone_factory, caplog
) -> None:
    """The second softphone stack of the issue: SIP over IPv4, c=IN IP6 in its SDP. The
    switch answers from an IPv6 RTP socket; sipp echoes what it gets, so the IPv4 phone
    hearing its own tone proves audio went both ways over the IPv6 leg."""
    uac_port, media_port = ports.port(), ports.port()
    harness = switch_factory(
        listen_host="0.0.0.0",
        trunks=[ip_trunk("stack", uac_port)],
    )
    port = harness.config.sip_host_port[1]
    callee = phone_factory(
        BaresipAccount("102", "pw102", registrar=f"127.0.0.1:{port}"), tone_hz=V4_TONE
    )
    callee.wait_registered()
    caller = start_sipp(
        tmp_path,
        str(Path(__file__).parent / "scenarios" / "uac_ipv6_media_call.xml"),
        remote=f"127.0.0.1:{port}",
        service="102",
        port=uac_port,
        media_port=media_port,
        duration_ms=4000,
        rtp_echo=True,
        timeout=20,
        extra_args=("-mi", "::1"),
    )
    callee.wait_call_established()
    inbound = harness.call(
        lambda: [
            (ch.rtp.family, ch.advertised, ch.media and ch.media.address)
            for ch in harness.switch.channels
            if ch.direction == "inbound"
        ]
    )
    assert inbound == [(socket.AF_INET6, "::1", "::1")]
    result = caller.wait()
    assert result.ok, result.describe()  # got 200 with c=IN IP6 ::1, BYE answered
    callee.wait_call_closed()
    assert_heard(callee, V4_TONE)  # out to sipp over IPv6 and echoed back
    _assert_clean(caplog)


def test_a_machine_without_ipv6_works_as_before(
    tmp_path, ports, switch_factory, phone_factory, monkeypatch, caplog
) -> None:
    """IPv6 forced away (every IPv6 bind fails as on a kernel without it): the switch
    listens and calls over IPv4 as before, and an IPv6 media offer is refused with 488."""
    without_ipv6(monkeypatch)
    monkeypatch.setattr(families_module, "can_bind", lambda address: ":" not in address)
    uac_port = ports.port()
    harness = switch_factory(
        listen_host="0.0.0.0",
        trunks=[ip_trunk("stack", uac_port)],
    )
    port = harness.config.sip_host_port[1]
    assert harness.call(lambda: harness.switch.ua.transport.families) == ("IPv4",)
    assert harness.call(lambda: harness.switch.rtp_families.describe()) == "IPv4"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("::1", port), timeout=2).close()
    a = phone_factory(
        BaresipAccount("101", "pw101", registrar=f"127.0.0.1:{port}"), tone_hz=V6_TONE
    )
    b = phone_factory(
        BaresipAccount("102", "pw102", registrar=f"127.0.0.1:{port}"), tone_hz=V4_TONE
    )
    a.wait_registered()
    b.wait_registered()
    caller = run_sipp(
        tmp_path,
        str(Path(__file__).parent / "scenarios" / "uac_ipv6_media.xml"),
        remote=f"127.0.0.1:{port}",
        service="102",
        port=uac_port,
        media_port=ports.port(),
        timeout=15,
    )
    assert caller.ok, caller.describe()  # 488 Not Acceptable Here, as before
    a.dial(f"sip:102@127.0.0.1:{port}")
    b.wait_incoming()
    talk_and_hang_up(a, b)
    assert_heard(b, V6_TONE)
    assert_heard(a, V4_TONE)
    assert "Traceback" not in caplog.text and "socket family mismatch" not in caplog.text


def test_linphone_over_ipv6_calls_an_ipv4_phone(
    tmp_path, ports, switch_factory, phone_factory, caplog
) -> None:
    """A second softphone stack (liblinphone, not baresip's libre) registered over IPv6:
    its IPv6 offer is answered in IPv6, and the call with an IPv4 phone has audio both
    ways."""
    harness = switch_factory(listen_host="0.0.0.0")
    port = harness.config.sip_host_port[1]
    callee = phone_factory(
        BaresipAccount("102", "pw102", registrar=f"127.0.0.1:{port}"), tone_hz=V4_TONE
    )
    workdir = tmp_path / "linphone"
    workdir.mkdir()
    linphone = Linphonec(
        workdir,
        "101",
        "pw101",
        f"[::1]:{port}",
        ports.block(10),
        make_tone_wav(workdir / "mic.wav", V6_TONE, 30),
        host="::1",
    ).start()
    try:
        callee.wait_registered()
        linphone.wait_registered()
        linphone.call(f"sip:102@[::1]:{port}")
        callee.wait_incoming()
        linphone.wait_connected()
        inbound = harness.call(
            lambda: [
                (ch.rtp.family, ch.advertised)
                for ch in harness.switch.channels
                if ch.direction == "inbound"
            ]
        )
        assert inbound == [(socket.AF_INET6, "::1")]
        callee.wait_call_established()
        time.sleep(3)
        linphone.hang_up()
        linphone.wait_ended()
        callee.wait_call_closed()
        time.sleep(0.5)
    finally:
        linphone.stop()
    assert_heard(callee, V6_TONE)
    heard = linphone.record_wav
    assert abs(dominant_frequency(heard) - V4_TONE) < 15
    assert band_energy_ratio(heard, V4_TONE) > 0.5
    _assert_clean(caplog)


@pytest.mark.parametrize("answering", ["::1", "127.0.0.1"])
def test_an_extension_on_both_families_rings_both_and_the_answering_one_talks(
    switch_factory, phone_factory, caplog, answering: str
) -> None:
    """Extension 102 registered from an IPv4 desk phone and an IPv6 softphone: each fork
    is offered media of its own family, the answering fork's RTP session is kept and the
    other one closed (no RTP port left in use once the call is over)."""
    harness = switch_factory(listen_host="0.0.0.0")
    port = harness.config.sip_host_port[1]
    caller = phone_factory(
        BaresipAccount("101", "pw101", registrar=f"127.0.0.1:{port}"), tone_hz=V4_TONE
    )
    devices = {
        host: phone_factory(
            BaresipAccount("102", "pw102", registrar=f"{uri}:{port}", answermode="manual"),
            tone_hz=tone,
            host=host,
            sip_trace=True,
        )
        for host, uri, tone in (("::1", "[::1]", V6_TONE), ("127.0.0.1", "127.0.0.1", 900.0))
    }
    for device in (caller, *devices.values()):
        device.wait_registered()
    caller.dial(f"sip:102@127.0.0.1:{port}")
    for device in devices.values():
        device.wait_incoming()
    assert (
        harness.call(lambda: harness.switch.ports.in_use) == 3
    )  # the caller's leg, one per family for 102
    devices[answering].accept()
    talk_and_hang_up(caller, devices[answering])
    assert_heard(devices[answering], V4_TONE)
    assert_heard(caller, V6_TONE if answering == "::1" else 900.0)
    assert re.search(r"^c=IN IP6 ::1\s*$", devices["::1"].log_text(), re.M)
    assert re.search(r"^c=IN IP4 127.0.0.1\s*$", devices["127.0.0.1"].log_text(), re.M)
    assert harness.call(lambda: harness.switch.ports.in_use) == 0
    _assert_clean(caplog)


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_ipv6_phone_over_a_stream_transport_calls_ipv4_phone(
    switch_factory, phone_factory, caplog, transport: str
) -> None:
    """TCP and TLS listen on the IPv6 wildcard too (TLS: tls_listen 0.0.0.0): a phone
    registered over either on ::1 calls and is reached over its own connection."""
    harness = switch_factory(listen_host="0.0.0.0", sip={"tls_listen": "0.0.0.0:0"})
    port = harness.config.sip_host_port[1]
    stream_port = (
        harness.call(lambda: harness.switch.ua.transport.tls_port) if transport == "tls" else port
    )
    certificate, _ = harness.config.tls_files
    v6 = phone_factory(
        BaresipAccount("101", "pw101", registrar=f"[::1]:{stream_port}", transport=transport),
        tone_hz=V6_TONE,
        host="::1",
        extra_config={"sip_cafile": str(certificate)},
    )
    v4 = phone_factory(
        BaresipAccount("102", "pw102", registrar=f"127.0.0.1:{port}"), tone_hz=V4_TONE
    )
    assert v6.wait_registered().fields["transport"] == transport.upper()
    v4.wait_registered()
    binding = harness.call(lambda: harness.switch.registrar.contacts("101")[0])
    assert (binding.source_host, binding.transport) == ("::1", transport.upper())
    v4.dial(f"sip:101@127.0.0.1:{port}")
    v6.wait_incoming()
    talk_and_hang_up(v4, v6)  # the BYE to 101 goes over its IPv6 connection
    assert_heard(v4, V6_TONE)
    assert_heard(v6, V4_TONE)
    _assert_clean(caplog)
