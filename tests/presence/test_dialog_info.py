"""The RFC 4235 body: well-formed, in the dialog-info namespace, full state, the
dialog's identifiers and state, and whatever a URI holds escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from softswitch.presence.dialog_info import CONTENT_TYPE, NAMESPACE, dialog_info
from softswitch.presence.lines import Line, LineState, Role

NS = f"{{{NAMESPACE}}}"


def line(state: LineState, role: Role = Role.RECIPIENT, **kw: str) -> Line:
    values = {
        "id": "SIP/102-00000001",
        "call_id": "abc@host",
        "local_tag": "phone",
        "remote_tag": "switch",
        "local": "sip:102@127.0.0.1:5060",
        "remote": "sip:101@127.0.0.1",
    }
    values.update(kw)
    return Line(
        values["id"],
        state,
        role,
        values["call_id"],
        values["local_tag"],
        values["remote_tag"],
        values["local"],
        values["remote"],
    )


def test_idle_extension_is_an_empty_full_document() -> None:
    root = ET.fromstring(dialog_info("sip:102@pbx", 0, ()))
    assert root.tag == f"{NS}dialog-info"
    assert root.attrib == {"version": "0", "state": "full", "entity": "sip:102@pbx"}
    assert list(root) == []
    assert CONTENT_TYPE == "application/dialog-info+xml"


def test_each_dialog_with_its_identifiers_state_and_parties() -> None:
    body = dialog_info(
        "sip:102@pbx",
        7,
        (line(LineState.CONFIRMED), line(LineState.EARLY, Role.INITIATOR, id="SIP/102-2")),
    )
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(body)
    assert root.get("version") == "7"
    first, second = root.findall(f"{NS}dialog")
    assert first.attrib == {
        "id": "SIP/102-00000001",
        "call-id": "abc@host",
        "local-tag": "phone",
        "remote-tag": "switch",
        "direction": "recipient",
    }
    assert first.findtext(f"{NS}state") == "confirmed"
    assert first.findtext(f"{NS}local/{NS}identity") == "sip:102@127.0.0.1:5060"
    assert first.findtext(f"{NS}remote/{NS}identity") == "sip:101@127.0.0.1"
    assert second.get("direction") == "initiator" and second.findtext(f"{NS}state") == "early"


def test_unknown_tags_are_left_out_and_markup_is_escaped() -> None:
    hostile = line(
        LineState.TRYING,
        local_tag="",
        call_id='a"b<c>&d',
        remote='sip:"x"@h;p=<&>',
    )
    root = ET.fromstring(dialog_info('sip:1@h"', 1, (hostile,)))
    [element] = root.findall(f"{NS}dialog")
    assert "local-tag" not in element.attrib
    assert element.get("call-id") == 'a"b<c>&d'
    assert element.findtext(f"{NS}remote/{NS}identity") == 'sip:"x"@h;p=<&>'
    assert root.get("entity") == 'sip:1@h"'
