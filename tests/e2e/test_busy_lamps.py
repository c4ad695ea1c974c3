"""Busy lamps with real peers: baresip 1.0's presence.so watching extension 103 sees it
busy while a call rings and is talked, online again after; a sipp watcher of the
dialog package gets trying, early, confirmed and terminated in its NOTIFY bodies."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest

from tests.peers.baresip import BaresipAccount

pytestmark = pytest.mark.peers

EXTENSIONS = {"101": "pw101", "102": "pw102", "103": "pw103"}
DIALOG_NS = "{urn:ietf:params:xml:ns:dialog-info}"


def wait_for(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def register(phone_factory, port: int, number: str, **kwargs: Any):
    answermode = kwargs.pop("answermode", "auto")
    account = BaresipAccount(
        number, f"pw{number}", registrar=f"127.0.0.1:{port}", answermode=answermode
    )
    phone = phone_factory(account, **kwargs)
    phone.wait_registered()
    return phone


def watchers(harness, event: str, number: str) -> int:
    return harness.call(lambda: len(harness.switch.lamps.watchers[event].of(number)))


def test_baresip_presence_shows_the_extension_busy_then_online(switch_factory, phone_factory):
    harness = switch_factory(extensions=EXTENSIONS)
    port = harness.config.sip_host_port[1]
    caller = register(phone_factory, port, "102", tone_hz=600.0)
    callee = register(phone_factory, port, "103", tone_hz=900.0, answermode="manual")
    watcher = register(
        phone_factory,
        port,
        "101",
        extra_apps=["presence.so"],
        contacts=[f"<sip:103@127.0.0.1:{port}>;presence=p2p"],
    )
    # presence.so subscribes 1 s after start; the first NOTIFY says open (not printed)
    wait_for(lambda: watchers(harness, "presence", "103") == 1)
    caller.dial(f"sip:103@127.0.0.1:{port}")
    callee.wait_incoming()
    ringing = watcher.wait_presence("Busy")  # it rings: the lamp is busy
    assert ringing.fields["uri"] == f"sip:103@127.0.0.1:{port}"
    assert ringing.fields["old"] == "Online"
    callee.accept()
    caller.wait_call_established()
    caller.hangup()
    caller.wait_call_closed()  # (consumed: the next call's wait must not see this end)
    callee.wait_call_closed()
    assert watcher.wait_presence("Online").fields["old"] == "Busy"

    # 103 calling out is busy too
    callee.dial(f"sip:102@127.0.0.1:{port}")
    watcher.wait_presence("Busy")
    caller.wait_call_established()
    caller.hangup()
    callee.wait_call_closed()
    watcher.wait_presence("Online")
    assert harness.call(lambda: harness.switch.lamps.lines) == {}


def notify_bodies(messages: str) -> list[str]:
    """The dialog-info documents of the NOTIFYs sipp received, in order (a NOTIFY
    retransmitted on a loaded machine is logged again: each document kept once)."""
    return list(dict.fromkeys(re.findall(r"(<\?xml.*?</dialog-info>)", messages, re.S)))


def states(body: str) -> list[tuple[str, str]]:
    root = ET.fromstring(body)
    return [
        (d.get("direction") or "", d.findtext(f"{DIALOG_NS}state") or "")
        for d in root.findall(f"{DIALOG_NS}dialog")
    ]


def test_sipp_dialog_watcher_sees_early_confirmed_terminated(switch_factory, phone_factory, sipp):
    harness = switch_factory(extensions=EXTENSIONS)
    port = harness.config.sip_host_port[1]
    caller = register(phone_factory, port, "102", tone_hz=600.0)
    callee = register(phone_factory, port, "103", tone_hz=900.0, answermode="manual")
    run = sipp.background(
        "uac_subscribe_dialog.xml",
        f"127.0.0.1:{port}",
        service="103",
        auth=("101", "pw101"),
        keys={"authuser": "101"},
        timeout=30.0,
    )
    wait_for(lambda: watchers(harness, "dialog", "103") == 1)
    caller.dial(f"sip:103@127.0.0.1:{port}")
    callee.wait_incoming()
    callee.accept()
    caller.wait_call_established()
    caller.hangup()
    callee.wait_call_closed()
    result = run.wait(timeout=20)
    assert result.ok, result.describe()
    bodies = notify_bodies(result.messages())
    received = [states(b) for b in bodies]
    # the initial NOTIFY, one per change, then the unsubscribe's final one
    assert received[:5] == [
        [],
        [("recipient", "trying")],
        [("recipient", "early")],
        [("recipient", "confirmed")],
        [("recipient", "terminated")],
    ], received
    assert received[5:] == [[("recipient", "terminated")]]  # the final NOTIFY: the state again
    versions = [int(ET.fromstring(b).get("version") or -1) for b in bodies]
    assert versions == list(range(len(bodies)))
    assert watchers(harness, "dialog", "103") == 0  # unsubscribed


def test_blf_pickup_with_the_dialog_a_notify_named(switch_factory, phone_factory, sipp):
    """What a BLF key does on a ringing lamp: INVITE with Replaces naming the early
    dialog by the call-id and tags of the watcher's NOTIFY (to-tag = remote-tag, the
    switch's; from-tag = local-tag, the rung phone's)."""
    harness = switch_factory(extensions=EXTENSIONS)
    port = harness.config.sip_host_port[1]
    caller = register(phone_factory, port, "102", tone_hz=600.0)
    callee = register(phone_factory, port, "103", tone_hz=900.0, answermode="manual")
    watcher = sipp.background(
        "uac_subscribe_dialog.xml",
        f"127.0.0.1:{port}",
        service="103",
        auth=("101", "pw101"),
        keys={"authuser": "101"},
        timeout=30.0,
    )
    wait_for(lambda: watchers(harness, "dialog", "103") == 1)
    caller.dial(f"sip:103@127.0.0.1:{port}")
    callee.wait_incoming()
    log = watcher.workdir / "messages.log"

    def early_dialog() -> ET.Element | None:
        text = log.read_text(errors="replace") if log.exists() else ""
        for body in notify_bodies(text):
            for element in ET.fromstring(body).findall(f"{DIALOG_NS}dialog"):
                if element.findtext(f"{DIALOG_NS}state") == "early":
                    return element
        return None

    early = wait_for(early_dialog)
    replaces = (
        f"{early.get('call-id')};to-tag={early.get('remote-tag')};"
        f"from-tag={early.get('local-tag')};early-only"
    )
    picked = sipp.run(
        "uac_pickup_replaces.xml",
        f"127.0.0.1:{port}",
        service="103",
        auth=("101", "pw101"),
        keys={"caller": "101", "replaces": replaces},
        duration_ms=500,
    )
    assert picked.ok, picked.describe()
    caller.wait_call_established()  # 102's call, answered by the pickup
    callee.wait_call_closed()  # 103 stopped ringing (CANCEL)
    caller.wait_call_closed()  # the picker's BYE ended it
    result = watcher.wait(timeout=20)
    assert result.ok, result.describe()
    received = [states(b) for b in notify_bodies(result.messages())]
    assert received[:4] == [
        [],
        [("recipient", "trying")],
        [("recipient", "early")],
        [("recipient", "terminated")],
    ], received
