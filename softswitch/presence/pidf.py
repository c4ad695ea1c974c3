"""The presence event package's body (RFC 3863 PIDF with an RFC 4480 activity).

``basic`` says whether the extension can be reached (open while a device is
registered or in a call); the person's activity and a note say what it is doing. Phones and
baresip 1.0's presence module look for ``<rpid:on-the-phone/>`` with that prefix, so
the RPID namespace is always bound to ``rpid`` and the element written empty.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from .lines import Activity

EVENT = "presence"
CONTENT_TYPE = "application/pidf+xml"
NAMESPACE = "urn:ietf:params:xml:ns:pidf"
DATA_MODEL = "urn:ietf:params:xml:ns:pidf:data-model"
RPID = "urn:ietf:params:xml:ns:pidf:rpid"

_NOTES = {
    Activity.AVAILABLE: "Available",
    Activity.RINGING: "Ringing",
    Activity.ON_THE_PHONE: "On the phone",
}


def pidf(entity: str, registered: bool, activity: Activity) -> bytes:
    """`entity`: the watched extension's SIP URI."""
    busy = activity != Activity.AVAILABLE
    open_ = registered or busy  # a phone in a call is there, registered or not
    basic = "open" if open_ else "closed"
    note = _NOTES[activity] if open_ else "Unavailable"
    # RFC 4480 has no "ringing": an alerting line is on the phone too (as Asterisk says
    # it), the note tells them apart; <activities> holds at least one, so an idle line
    # has none
    activities = "    <rpid:activities><rpid:on-the-phone/></rpid:activities>\n" if busy else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<presence xmlns="{NAMESPACE}" xmlns:dm="{DATA_MODEL}" xmlns:rpid="{RPID}" '
        f"entity={quoteattr(entity)}>\n"
        '  <tuple id="line">\n'
        f"    <status><basic>{basic}</basic></status>\n"
        f"    <note>{note}</note>\n"
        "  </tuple>\n"
        '  <dm:person id="person">\n'
        f"{activities}"
        f"    <dm:note>{note}</dm:note>\n"
        "  </dm:person>\n"
        "</presence>\n"
    ).encode()
