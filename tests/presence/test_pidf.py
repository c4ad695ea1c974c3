"""The RFC 3863 PIDF body: well-formed, namespaced, open/closed and the RPID activity
(with the ``rpid`` prefix and the empty element baresip 1.0's presence.so matches)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from softswitch.presence.lines import Activity
from softswitch.presence.pidf import CONTENT_TYPE, DATA_MODEL, NAMESPACE, RPID, pidf

PIDF = f"{{{NAMESPACE}}}"
DM = f"{{{DATA_MODEL}}}"
R = f"{{{RPID}}}"
# what baresip 1.0 modules/presence/subscriber.c searches the body for
BARESIP_BASIC = re.compile(rb"<basic[ \t]*>([^<]+)</basic[ \t]*>")
BARESIP_BUSY = re.compile(rb"<rpid:on-the-phone[ \t]*/>")


def read(body: bytes) -> tuple[str, list[str], str, str]:
    """(basic, activities, tuple note, person note)"""
    root = ET.fromstring(body)
    assert root.tag == f"{PIDF}presence" and root.get("entity") == "sip:103@pbx"
    person = root.find(f"{DM}person")
    assert person is not None
    activities = [a.tag for a in person.findall(f"{R}activities/*")]
    return (
        root.findtext(f"{PIDF}tuple/{PIDF}status/{PIDF}basic") or "",
        activities,
        root.findtext(f"{PIDF}tuple/{PIDF}note") or "",
        person.findtext(f"{DM}note") or "",
    )


def test_available() -> None:
    body = pidf("sip:103@pbx", True, Activity.AVAILABLE)
    assert read(body) == ("open", [], "Available", "Available")
    assert BARESIP_BASIC.search(body).group(1) == b"open"
    assert not BARESIP_BUSY.search(body)
    assert CONTENT_TYPE == "application/pidf+xml"


def test_ringing_and_in_a_call_are_on_the_phone() -> None:
    for activity, note in ((Activity.RINGING, "Ringing"), (Activity.ON_THE_PHONE, "On the phone")):
        body = pidf("sip:103@pbx", True, activity)
        assert read(body) == ("open", [f"{R}on-the-phone"], note, note)
        assert BARESIP_BUSY.search(body)


def test_unregistered_is_closed_unless_in_a_call() -> None:
    assert read(pidf("sip:103@pbx", False, Activity.AVAILABLE)) == (
        "closed",
        [],
        "Unavailable",
        "Unavailable",
    )
    assert read(pidf("sip:103@pbx", False, Activity.ON_THE_PHONE))[:2] == (
        "open",
        [f"{R}on-the-phone"],
    )
