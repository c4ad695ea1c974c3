"""softswitch/voicemail/summary.py: RFC 3842 message-summary bodies."""

from softswitch.store.voicemail import MessageCounts
from softswitch.voicemail.summary import message_summary


def parse(body: bytes) -> dict[str, str]:
    lines = body.decode().split("\r\n")
    assert lines[-1] == ""  # every line ends in CRLF
    return dict(line.split(": ", 1) for line in lines[:-1])


def test_new_messages_light_the_lamp():
    body = parse(message_summary("sip:102@example.com", MessageCounts(2, 1)))
    assert body == {
        "Messages-Waiting": "yes",
        "Message-Account": "sip:102@example.com",
        "Voice-Message": "2/1",
    }


def test_only_old_messages_turn_it_off():
    body = parse(message_summary("sip:102@h", MessageCounts(0, 3)))
    assert body["Messages-Waiting"] == "no" and body["Voice-Message"] == "0/3"
    assert parse(message_summary("sip:102@h", MessageCounts(0, 0)))["Voice-Message"] == "0/0"
