import pytest

from media.rtp import HEADER
from media.srtp import SrtpContext, SrtpKey, SrtpSuite
from softswitch.config import from_dict
from softswitch.leg_srtp import LegSrtp, configured_mode, leg_mode, usable_key
from softswitch.sip.sdp import NegotiatedCrypto, SdpError, SessionDescription, SrtpMode
from softswitch.switch import SwitchError

OFF, OPTIONAL, MANDATORY = SrtpMode.OFF, SrtpMode.OPTIONAL, SrtpMode.MANDATORY


def test_keys_only_travel_over_tls_unless_allowed() -> None:
    assert leg_mode(OPTIONAL, "TLS", over_plain_sip=False) is OPTIONAL
    assert leg_mode(MANDATORY, "tls", over_plain_sip=False) is MANDATORY
    assert leg_mode(OPTIONAL, "UDP", over_plain_sip=False) is OFF  # falls back to plain
    with pytest.raises(SdpError, match="plain TCP") as error:
        leg_mode(MANDATORY, "TCP", over_plain_sip=False)
    assert error.value.status == 488
    assert leg_mode(MANDATORY, "UDP", over_plain_sip=True) is MANDATORY
    assert leg_mode(OFF, "TLS", over_plain_sip=True) is OFF


def test_trunk_setting_overrides_the_global_one() -> None:
    config = from_dict(
        {
            "rtp": {"srtp": "optional"},
            "trunks": [
                {"name": "a", "host": "h", "register": False, "srtp": "mandatory"},
                {"name": "b", "host": "h", "register": False},
            ],
        },
        {},
    )
    assert configured_mode(config) is OPTIONAL
    assert configured_mode(config, config.trunks[0]) is MANDATORY
    assert configured_mode(config, config.trunks[1]) is OPTIONAL


def test_usable_key() -> None:
    key = SrtpKey.generate(SrtpSuite.AES_CM_128_HMAC_SHA1_80)
    assert usable_key(key.suite, key.key_params)
    assert not usable_key("AEAD_AES_128_GCM", key.key_params)
    assert not usable_key(key.suite, "inline:short")


def test_context_kept_while_keys_are_the_same() -> None:
    leg = LegSrtp(OPTIONAL)
    assert LegSrtp().key_params == {} and leg.context(None) is None
    assert list(leg.key_params) == ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"]
    theirs = SrtpKey.generate(SrtpSuite.AES_CM_128_HMAC_SHA1_32)
    negotiated = NegotiatedCrypto(theirs.suite, leg.key_params[theirs.suite], theirs.key_params)
    context = leg.context(negotiated)
    assert context is not None and context.suite is SrtpSuite.AES_CM_128_HMAC_SHA1_32
    assert leg.context(negotiated) is context  # a re-INVITE repeating the keys
    # what the peer sends with its key decrypts with the leg's context

    ours = SrtpKey.from_key_params(theirs.suite, leg.key_params[theirs.suite])
    packet = HEADER.pack(0x80, 0, 1, 160, 9) + b"\x00" * 160
    assert context.unprotect(SrtpContext(theirs, ours).protect(packet)) == packet
    rekeyed = NegotiatedCrypto(
        theirs.suite,
        leg.key_params[theirs.suite],
        SrtpKey.generate(theirs.suite).key_params,
    )
    assert leg.context(rekeyed) is not context
    assert leg.context(None) is None  # back to plain RTP


TRUNK = {"name": "t", "host": "127.0.0.1:9", "register": False, "prefixes": ["9"]}


def test_outbound_trunk_leg_mandatory_srtp_needs_a_safe_transport(switch_factory) -> None:
    harness = switch_factory(trunks=[{**TRUNK, "srtp": "mandatory"}])
    with pytest.raises(SwitchError) as error:
        harness.run(harness.switch.originate("9123"))
    assert error.value.status == 488 and "plain UDP SIP" in error.value.reason


def test_outbound_trunk_leg_offers_savp_with_our_keys(switch_factory) -> None:
    harness = switch_factory(
        trunks=[{**TRUNK, "srtp": "mandatory"}], rtp={"srtp_over_plain_sip": True}
    )
    channel = harness.run(harness.switch.originate("9123"))
    offer = SessionDescription.parse(channel.forks[0].request.body).media[0]
    assert offer.proto == "RTP/SAVP"
    assert {c.suite: c.key_params for c in offer.crypto} == channel.srtp.key_params
    harness.run(channel.hangup())
