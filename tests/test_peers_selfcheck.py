"""The peer fixtures work on their own, without our switch: real baresip, kamailio,
sipp and pyVoIP talking to each other on 127.0.0.1."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from tests.peers.audio import (
    active,
    band_energy_ratio,
    dominant_frequency,
    make_tone_wav,
    read_wav,
    rms,
)
from tests.peers.fixtures import *  # noqa: F401,F403  (the lead's conftest may import them too)
from tests.peers.kamailio import Kamailio, KamailioConfig
from tests.peers.ports import PortPicker, port_is_free
from tests.peers.process import PeerError

pytestmark = pytest.mark.peers


def _heard(path) -> np.ndarray:
    """The audible part of a recording (calls start and end with silence)."""
    return active(path)


# -- helpers that need no peer --------------------------------------------------------------


def test_tone_wav_round_trip(tmp_path):
    path = make_tone_wav(tmp_path / "t.wav", 1000, 0.5)
    samples, rate = read_wav(path)
    assert rate == 8000 and len(samples) == 4000 and samples.dtype == np.int16
    assert dominant_frequency(path) == pytest.approx(1000, abs=5)
    assert rms(path) == pytest.approx(0.3 * 32767 / np.sqrt(2), rel=0.02)
    assert band_energy_ratio(path, 1000) > 0.95


def test_port_picker_hands_out_disjoint_aligned_blocks():
    picker = PortPicker()
    blocks = [picker.baresip_block() for _ in range(5)]
    singles = [picker.port() for _ in range(5)]
    assert all(b % 10 == 0 for b in blocks)
    used = [p for b in blocks for p in range(b, b + 10)] + singles
    assert len(used) == len(set(used))
    assert all(port_is_free(p) for p in singles)


# -- kamailio ---------------------------------------------------------------------------------


def test_kamailio_config_is_valid(tmp_path, peer_ports):
    kam = Kamailio(
        tmp_path / "k",
        KamailioConfig(
            port=peer_ports.port(),
            users={"a": "b"},
            trusted=["127.0.0.1", "127.0.0.1:5099"],
            static_routes={"": "127.0.0.1:5060", "44": "127.0.0.1:5070"},
            trunk_routes={"10": "a"},
            open_relay=True,
        ),
    )
    kam.check_config()
    assert 'lookup("location", "sip:a@127.0.0.1")' in kam.cfg_path.read_text()


def test_kamailio_stop_leaves_no_process(kamailio_factory):
    kam = kamailio_factory()
    group = kam.process.pid
    os.killpg(group, 0)  # running: the group exists
    kam.stop()
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)


# -- baresip through kamailio ---------------------------------------------------------------


def test_two_baresips_talk_through_kamailio(kamailio, baresip_factory):
    alice = baresip_factory("alice", "alice-pw", kamailio, tone_hz=440)
    bob = baresip_factory("bob", "bob-pw", kamailio, tone_hz=1000)
    alice.wait_registered()
    bob.wait_registered()
    assert kamailio.registered("alice") and kamailio.registered("bob")

    alice.dial(kamailio.uri("bob"))
    bob.wait_incoming()
    alice.wait_call_established()
    bob.wait_call_established()
    alice.send_dtmf("159#")
    assert bob.wait_dtmf("159#") == "159#"
    time.sleep(2.0)  # let ~2 s of audio flow both ways
    alice.hangup()

    assert alice.wait_call_closed().reason is None  # we hung up
    assert bob.wait_call_closed().reason == "Connection reset by peer"  # got the BYE
    bob_heard = _heard(bob.last_recording("dec"))
    alice_heard = _heard(alice.last_recording("dec"))
    assert len(bob_heard) > 8000 and len(alice_heard) > 8000  # > 1 s each way
    assert dominant_frequency(bob_heard) == pytest.approx(440, abs=10)
    assert dominant_frequency(alice_heard) == pytest.approx(1000, abs=10)
    assert band_energy_ratio(bob_heard, 440) > 0.8


def test_baresip_manual_answer_and_caller_cancel(kamailio, baresip_factory):
    alice = baresip_factory("alice", "alice-pw", kamailio)
    bob = baresip_factory("bob", "bob-pw", kamailio, answermode="manual")
    alice.wait_registered()
    bob.wait_registered()

    alice.dial(kamailio.uri("bob"))
    incoming = bob.wait_incoming()
    assert incoming.fields["peer"].startswith("sip:alice@")
    assert alice.wait_progress().fields["code"] in ("100", "180")
    alice.hangup()  # still ringing: a CANCEL
    assert alice.wait_call_closed().reason is None
    assert bob.wait_call_closed().reason is not None


def test_baresip_call_to_unregistered_user_gets_404(kamailio, baresip_factory):
    alice = baresip_factory("alice", "alice-pw", kamailio)
    alice.wait_registered()
    alice.dial(kamailio.uri("nobody"))
    with pytest.raises(PeerError, match="404 Not Found"):
        alice.wait_call_established()
    assert alice.wait_call_closed().reason == "404 Not Found"


def test_baresip_wrong_password_fails_registration(kamailio, baresip_factory):
    carol = baresip_factory("carol", "not-her-password", kamailio)
    failed = carol.wait_register_failed()
    assert "401" in failed.fields["reason"] or "403" in failed.fields["reason"]
    assert not kamailio.registered("carol")


def test_baresips_call_directly_without_registrar(baresip_factory):
    alice = baresip_factory("alice", tone_hz=440)
    bob = baresip_factory("bob", tone_hz=1000)
    alice.dial(bob.contact_uri)
    alice.wait_call_established()
    bob.wait_call_established()
    time.sleep(1.5)
    bob.hangup()
    assert alice.wait_call_closed().reason == "Connection reset by peer"
    bob.wait_call_closed()
    assert dominant_frequency(_heard(alice.last_recording("dec"))) == pytest.approx(1000, abs=10)


# -- sipp -------------------------------------------------------------------------------------


def test_sipp_builtin_uac_against_builtin_uas(sipp):
    uas = sipp.background("uas", calls=3, timeout=15)
    result = sipp.run("uac", uas.address, calls=3, rate=10, timeout=10)
    assert result.ok, result.describe()
    assert result.successful == 3
    server = uas.wait()
    assert server.ok and server.successful == 3, server.describe()


def test_sipp_scenarios_against_each_other(sipp):
    uas = sipp.background("uas_answer", duration_ms=200, timeout=10)
    result = sipp.run("uac_auth_call", uas.address, service="bob", duration_ms=300, timeout=8)
    assert result.ok, result.describe()
    assert uas.wait().ok

    uas = sipp.background(
        "uas_auth_challenge", keys={"authuser": "trunk", "authpass": "s3cret"}, timeout=10
    )
    result = sipp.run("uac_auth_call", uas.address, auth=("trunk", "s3cret"), timeout=8)
    assert result.ok, result.describe()
    assert uas.wait().ok

    uas = sipp.background(
        "uas_auth_challenge", keys={"authuser": "trunk", "authpass": "s3cret"}, timeout=10
    )
    result = sipp.run("uac_auth_call", uas.address, auth=("trunk", "wrong"), timeout=8)
    assert result.failed == 1  # 403 after the wrong answer
    assert "403 Forbidden" in result.errors
    uas.stop()

    uas = sipp.background("uas_ring_forever", timeout=10)
    result = sipp.run("uac_cancel", uas.address, duration_ms=200, timeout=8)
    assert result.ok, result.describe()
    assert uas.wait().ok


def test_sipp_calls_through_kamailio(kamailio_factory, sipp, peer_ports):
    uas_port = peer_ports.port()
    trusted_port = peer_ports.port()
    kam = kamailio_factory(
        trusted=[f"127.0.0.1:{trusted_port}"], static_routes={"7": f"127.0.0.1:{uas_port}"}
    )

    uas = sipp.background("uas_answer", port=uas_port, timeout=10)
    result = sipp.run(
        "uac_auth_call", kam, service="700", auth=("alice", "alice-pw"), duration_ms=200, timeout=8
    )
    assert result.ok, result.describe()
    assert uas.wait().ok
    assert kam.log_lines("PROXY-CHALLENGE") and kam.log_lines("AUTHENTICATED alice")

    uas = sipp.background("uas_ring_forever", port=uas_port, timeout=10)
    result = sipp.run(
        "uac_cancel", kam, service="701", auth=("alice", "alice-pw"), duration_ms=200, timeout=8
    )
    assert result.ok, result.describe()
    assert uas.wait().ok

    # kamailio's transaction layer absorbs the retransmitted INVITE.
    uas = sipp.background("uas_answer", port=uas_port, timeout=10)
    result = sipp.run("uac_retransmit", kam, service="702", port=trusted_port, timeout=8)
    assert result.ok, result.describe()
    assert uas.wait().ok

    uas = sipp.background("uas_busy", port=uas_port, timeout=10)
    result = sipp.run("uac_auth_call", kam, service="703", auth=("alice", "alice-pw"), timeout=8)
    assert result.failed == 1 and "486 Busy Here" in result.errors
    assert uas.wait().ok

    result = sipp.run("uac_auth_call", kam, service="999", auth=("alice", "alice-pw"), timeout=8)
    assert result.failed == 1 and "404 Not Found" in result.errors


def test_sipp_register_malformed_against_kamailio(kamailio, sipp, peer_ports):
    port = peer_ports.port()
    result = sipp.run(
        "uac_register", kamailio, service="dave", auth=("dave", "dave-pw"), port=port, timeout=5
    )
    assert result.ok, result.describe()
    assert kamailio.contacts("dave") == [f"sip:dave@127.0.0.1:{port};transport=UDP"]

    result = sipp.run(
        "uac_register",
        kamailio,
        service="dave",
        auth=("dave", "dave-pw"),
        port=port,
        keys={"expires": "0"},
        timeout=5,
    )
    assert result.ok, result.describe()
    assert not kamailio.registered("dave")

    result = sipp.run("uac_register", kamailio, service="dave", auth=("dave", "wrong"), timeout=5)
    assert result.failed == 1

    result = sipp.run("uac_malformed", kamailio, timeout=5)
    assert result.ok, result.describe()


# -- pyVoIP -----------------------------------------------------------------------------------


def test_pyvoip_registers_and_answers_a_baresip_call(
    kamailio_factory, baresip_factory, pyvoip_factory, tmp_wav
):
    # pyVoIP cannot parse baresip's empty "Supported:" header: let kamailio drop it.
    kam = kamailio_factory(strip_empty_supported=True)
    carol = pyvoip_factory("carol", "carol-pw", kam, play_wav=tmp_wav(1000))
    alice = baresip_factory("alice", "alice-pw", kam, tone_hz=440)
    carol.wait_registered()
    alice.wait_registered()
    assert kam.registered("carol")

    alice.dial(kam.uri("carol"))
    incoming = carol.wait_event("incoming")
    carol.wait_event("answered")
    alice.wait_call_established()
    time.sleep(2.0)
    alice.hangup()
    alice.wait_call_closed()
    ended = carol.wait_event("ended")
    assert ended["call_id"] == incoming["call_id"]

    carol_heard = _heard(ended["recording"])
    alice_heard = _heard(alice.last_recording("dec"))
    assert len(carol_heard) > 8000 and len(alice_heard) > 8000
    assert dominant_frequency(carol_heard) == pytest.approx(440, abs=10)
    assert dominant_frequency(alice_heard) == pytest.approx(1000, abs=10)

    carol.stop()  # de-registers on the way out
    assert not kam.registered("carol")


def test_baresip_hangs_up_when_its_microphone_file_ends(baresip_factory):
    alice = baresip_factory("alice", seconds=1.0)
    bob = baresip_factory("bob", ctrl_tcp=True)
    alice.dial(bob.contact_uri)
    alice.wait_call_established()
    assert alice.wait_call_closed().reason == "audio error: end of file"
    assert bob.wait_call_closed().reason == "Connection reset by peer"
    response = bob.ctrl("callstat")
    assert response["ok"] is True
