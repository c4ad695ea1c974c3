"""Session timers (RFC 4028) and UPDATE (RFC 3311) against sipp, through the running switch.

baresip 1.0 (libre) has no session timers (no Session-Expires anywhere in libre), so the
timed side of each call is a sipp scenario; the other leg is a baresip phone, whose 200
carries no Session-Expires, so that leg runs untimed. The intervals are seconds, not the
RFC's 90 s floor: `[sip] min_se` allows that for tests (the switch warns when it is set).
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest

from tests.e2e.phones import registered
from tests.peers.process import wait_until
from tests.peers.sipp import Sipp, run_sipp, start_sipp
from tests.switch_harness import ip_trunk

pytestmark = pytest.mark.peers

SCENARIOS = Path(__file__).parent / "scenarios"
INTERVAL = 4  # seconds; the side that does not refresh hangs up at 4 - 4/3 = 2.67 s
TIMERS = {"session_expires": INTERVAL, "min_se": 2}
ACCOUNT = "account_1"


def behind_trunk(factory, port: int, name: str, sip: dict = TIMERS):
    """A switch (``switch_factory`` or ``server_factory``) whose trunk ``name`` is the sipp
    at ``port``; calls from that address count as coming from it: no digest challenge."""
    return factory(trunks=[ip_trunk(name, port)], sip=sip)


def far_end(tmp_path, ports, scenario: str, **keys: str) -> Sipp:
    """The carrier's side of one call: a sipp UAS running ``scenario``, started."""
    return start_sipp(
        tmp_path, str(SCENARIOS / scenario), port=ports.port(), calls=1, keys=keys, timeout=30
    )


def timed_caller(tmp_path, harness, port: int, scenario: str, **options) -> Sipp:
    """sipp at the trunk's ``port`` calling 102 with a timer of INTERVAL s, started."""
    return start_sipp(
        tmp_path,
        str(SCENARIOS / scenario),
        remote=harness.config.sip.listen,
        service="102",
        port=port,
        keys={"se": str(INTERVAL)},
        timeout=30,
        **options,
    )


def dial_the_carrier(caller, harness) -> None:
    caller.dial(f"sip:5550001@{harness.config.sip.listen}")
    caller.wait_call_established()


def hang_up(caller, far: Sipp):
    """The caller hangs up; the far end's run, which must have ended well."""
    caller.hangup()
    caller.wait_call_closed()
    result = far.wait()
    assert result.ok, result.describe()
    return result


def causes(caplog) -> list[str]:
    return re.findall(r"state=hungup cause='([^']*)'", caplog.text)


def test_a_caller_refreshing_with_update_keeps_its_call_past_the_interval(
    tmp_path, ports, switch_factory, phone_factory, caplog
):
    uac_port = ports.port()
    harness = behind_trunk(switch_factory, uac_port, "peer")
    callee = registered(phone_factory, harness, "102")
    with caplog.at_level(logging.INFO, logger="softswitch"):
        started = time.monotonic()
        # an UPDATE every 1.5 s, four times: 6 s, past the interval
        caller = timed_caller(tmp_path, harness, uac_port, "uac_timer_update.xml", duration_ms=1500)
        result = caller.wait()
        took = time.monotonic() - started
        callee.wait_call_closed()
    assert result.ok, result.describe()  # a BYE from the switch would be unexpected there
    assert took >= 6, took
    messages = result.messages()
    # the 200 granted our interval with us refreshing, and required timer; so did each UPDATE's
    assert f"X-Granted: {INTERVAL};refresher=uac timer" in messages
    assert f"X-Granted: {' '.join([f'{INTERVAL};refresher=uac'] * 4)}" in messages
    assert "session timer expired" not in caplog.text
    assert causes(caplog) == ["normal clearing", "normal clearing"]
    assert harness.call(lambda: len(harness.switch.channels)) == 0


def test_a_caller_that_stops_refreshing_is_hung_up_on_both_legs(
    tmp_path, ports, switch_factory, phone_factory, caplog
):
    uac_port = ports.port()
    harness = behind_trunk(switch_factory, uac_port, "peer")
    callee = registered(phone_factory, harness, "102")
    with caplog.at_level(logging.INFO, logger="softswitch"):
        caller = timed_caller(tmp_path, harness, uac_port, "uac_timer_silent.xml")
        callee.wait_call_established()
        answered = time.monotonic()
        closed = callee.wait_call_closed(timeout=15)
        took = time.monotonic() - answered
        result = caller.wait()  # it got our BYE and answered it
    assert result.ok, result.describe()
    assert closed.reason is not None and "audio error" not in closed.reason, closed
    assert 2.0 <= took <= 4.5, took  # 4 s minus a third of it (RFC 4028 10)
    assert causes(caplog) == ["session timer expired", "session timer expired"]
    assert "no session refresh within the 4 s session interval" in caplog.text
    assert harness.call(lambda: len(harness.switch.channels)) == 0


def test_an_interval_below_min_se_is_422_with_our_min_se(tmp_path, ports, switch_factory):
    uac_port = ports.port()
    harness = behind_trunk(
        switch_factory, uac_port, "peer", sip={"session_expires": 1800, "min_se": 120}
    )
    result = run_sipp(
        tmp_path,
        str(SCENARIOS / "uac_timer_too_small.xml"),
        remote=harness.config.sip.listen,
        service="102",
        port=uac_port,
        timeout=15,
    )
    assert result.ok, result.describe()  # it got the 422, and nothing else
    assert "X-Min-SE: 120" in result.messages()
    assert harness.call(lambda: len(harness.switch.channels)) == 0


def test_a_far_end_that_never_refreshes_is_hung_up_with_the_cause_in_the_cdr(
    tmp_path, ports, server_factory, phone_factory
):
    # the customer, across the carrier, takes the refresher's part and never refreshes
    far = far_end(tmp_path, ports, "uas_timer_silent.xml", se=str(INTERVAL))
    harness = behind_trunk(server_factory, far.port, "carrier")
    agent = registered(phone_factory, harness, "101")
    request_id = harness.run(
        harness.calls.click2call(
            account_id=ACCOUNT, agent_number="101", destination_number="5550001", caller_id="555"
        )
    )
    agent.wait_call_established()
    closed = agent.wait_call_closed(timeout=20)  # our BYE to the agent
    assert closed.reason is not None and "audio error" not in closed.reason, closed
    result = far.wait()  # and to the customer
    assert result.ok, result.describe()
    # our INVITE to the carrier offered timers (sipp echoed what it read)
    assert f"X-Offered: {INTERVAL} timer" in result.messages()
    wait_until(
        lambda: harness.call(harness.runtime.cdrs.by_request_id, ACCOUNT, request_id),
        15,
        what="CDR written",
    )
    cdr = harness.call(harness.runtime.cdrs.by_request_id, ACCOUNT, request_id)[0]
    assert (cdr.dial_status, cdr.call_status) == ("ANSWER", "ANSWERED")
    assert cdr.hangup_cause == "session timer expired"


@pytest.mark.parametrize(
    ("scenario", "refresh"),
    [
        # the carrier's 200 allows UPDATE: refreshes without SDP
        ("uas_timer_refreshed.xml", f"X-Refresh: {INTERVAL};refresher=uac body= 0"),
        # it does not: re-INVITEs repeating our SDP, answered and ACKed
        ("uas_timer_reinvite.xml", f"X-Refresh: {INTERVAL};refresher=uac sdp=m=audio"),
    ],
)
def test_the_switch_refreshes_a_leg_whose_far_end_leaves_it_the_refresh(
    tmp_path, ports, switch_factory, phone_factory, caplog, scenario, refresh
):
    # the carrier's 200 says refresher=uac: the switch, its UAC, refreshes that leg
    far = far_end(tmp_path, ports, scenario, se=str(INTERVAL))
    harness = behind_trunk(switch_factory, far.port, "carrier")
    caller = registered(phone_factory, harness, "101")
    with caplog.at_level(logging.INFO, logger="softswitch"):
        dial_the_carrier(caller, harness)
        # refreshes at 2 s and 4 s (half the interval): the far end expects exactly two
        # before the BYE, and a BYE in their place fails its run
        time.sleep(INTERVAL + 1.2)
        result = hang_up(caller, far)
    messages = result.messages()
    assert messages.count(refresh) == 2, messages
    assert "session timer expired" not in caplog.text
    assert causes(caplog) == ["normal clearing", "normal clearing"]


def test_a_422_from_the_far_end_is_retried_with_its_min_se(
    tmp_path, ports, switch_factory, phone_factory
):
    far = far_end(tmp_path, ports, "uas_timer_422.xml", min_se="6")
    harness = behind_trunk(switch_factory, far.port, "carrier")
    caller = registered(phone_factory, harness, "101")
    dial_the_carrier(caller, harness)
    result = hang_up(caller, far)
    assert "X-Retried: Session-Expires=6 Min-SE=6" in result.messages()


def test_calls_between_phones_without_session_timers_outlive_the_interval(
    switch_factory, phone_factory, caplog
):
    # baresip asks for no timer: the switch times the caller's leg itself as the refresher
    # (RFC 4028 9 lets the UAS do that), by re-INVITE (baresip's Allow has no UPDATE), and
    # the phone must keep the call; the callee's 200 grants no timer, so its leg is untimed
    harness = switch_factory(sip=TIMERS)
    caller = registered(phone_factory, harness, "101")
    callee = registered(phone_factory, harness, "102")
    with caplog.at_level(logging.DEBUG, logger="softswitch"):
        caller.dial(f"sip:102@{harness.config.sip.listen}")
        callee.wait_call_established()
        caller.wait_call_established()
        time.sleep(INTERVAL + 2.5)  # refreshes at 2, 4 and 6 s on the inbound leg
        caller.hangup()
        caller.wait_call_closed()
        callee.wait_call_closed()
    assert "session timer expired" not in caplog.text
    assert "session refresh failed" not in caplog.text
    assert "session refresh not accepted" not in caplog.text
    refreshed = re.findall(r"session refreshed by (\S+)", caplog.text)
    assert len(refreshed) >= 2, caplog.text
    assert causes(caplog) == ["normal clearing", "normal clearing"]
