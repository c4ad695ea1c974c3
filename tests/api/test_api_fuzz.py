"""Random bodies against every endpoint: always the spec's envelope, never a 500."""

from __future__ import annotations

import json
import random
from typing import Any

FIELDS = [
    "agent_number",
    "caller_id",
    "destination_number",
    "recording_option",
    "transcript",
    "time_zone",
    "scheduled_at",
    "request_id",
    "customer_number",
    "otp",
    "announce_template_id",
    "repeat",
    "voice",
    "volume",
    "rate",
    "pitch",
    "language_code",
    "tts_engine_type",
    "channel",
    "modify_type",
    "transfer_to",
    "start_call_date",
    "end_call_date",
    "record_count",
    "offset",
    "text",
    "template_name",
    "flow_name",
    "flow",
]
ENDPOINTS = [
    ("POST", "/api/click2call"),
    ("POST", "/api/callback"),
    ("PATCH", "/api/callback"),
    ("DELETE", "/api/callback"),
    ("POST", "/api/outbound_call"),
    ("POST", "/api/modify_call"),
    ("POST", "/api/get_cdr_by_date"),
    ("POST", "/api/get_cdr_by_request_id"),
    ("POST", "/api/announce_templates"),
    ("DELETE", "/api/announce_templates"),
    ("POST", "/api/flows"),
    ("PUT", "/api/flows/FL0123456789"),
]
NASTY = [
    "",
    " ",
    "on",
    "off",
    "both",
    "9999-12-31",
    "2023-06-13",
    "2023-02-30 25:61:61",
    "Asia/Kolkata",
    "../../etc/passwd",
    "{otp}",
    "{",
    "}",
    "\u201c",
    "\x00",
    "é" * 50,
    "AN0123456789",
    "0123456789",
    "SIP/101-0000023c",
    "-1",
    "1e9",
    "NaN",
    "1" * 40,
    "Etc/GMT+14",
    "2099-01-01 00:00:00",
    "x" * 5000,
]


def value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 2 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 3, 2**63, 10**30])
    if kind == 3:
        return rng.choice([0.5, -0.0, 1e308])
    if kind in (4, 5):
        return rng.choice(NASTY)
    if kind in (6, 7):
        return [value(rng, depth + 1) for _ in range(rng.randrange(3))]
    return {
        rng.choice(FIELDS + ["type", "x"]): value(rng, depth + 1) for _ in range(rng.randrange(3))
    }


def bases(template_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """A valid body per endpoint: mutations of these reach past the first missing field."""
    c2c = {
        "agent_number": "101",
        "caller_id": "15168148111",
        "destination_number": "102",
        "recording_option": "off",
        "transcript": "off",
    }
    return {
        ("POST", "/api/click2call"): c2c,
        ("POST", "/api/callback"): {
            **c2c,
            "time_zone": "Asia/Kolkata",
            "scheduled_at": "2099-01-01 10:00:00",
        },
        ("PATCH", "/api/callback"): {
            "request_id": "0123456789",
            "agent_number": "102",
            "scheduled_at": "2099-01-02 10:00:00",
        },
        ("DELETE", "/api/callback"): {"request_id": "0123456789"},
        ("POST", "/api/outbound_call"): {
            "customer_number": "102",
            "otp": "1987",
            "announce_template_id": template_id,
            "repeat": "1",
            "caller_id": "15168148111",
            "voice": "Joanna",
        },
        ("POST", "/api/modify_call"): {
            "channel": "SIP/101-0000023c",
            "modify_type": "0",
            "transfer_to": "102",
        },
        ("POST", "/api/get_cdr_by_date"): {
            "start_call_date": "2023-06-13",
            "end_call_date": "2023-06-17",
            "record_count": "5",
            "offset": "1",
        },
        ("POST", "/api/get_cdr_by_request_id"): {"request_id": "0123456789"},
        ("POST", "/api/announce_templates"): {"text": "Code {otp}", "template_name": "t"},
        ("DELETE", "/api/announce_templates"): {"announce_template_id": "AN0123456789"},
        ("POST", "/api/flows"): {"flow_name": "f", "flow": [{"type": "say", "text": "hi"}]},
        ("PUT", "/api/flows/FL0123456789"): {"flow_name": "f", "flow": [{"type": "hangup"}]},
    }


async def test_random_bodies_get_an_envelope_never_a_crash(api_env) -> None:
    rng = random.Random(20230707)
    _, made = await api_env.call("POST", "/api/announce_templates", {"text": "Code {otp}"})
    valid = bases(made["response"]["announce_template_id"])
    endpoints = list(valid)
    seen: set[int] = set()
    for i in range(600):
        method, path = endpoints[i % len(endpoints)]
        body = dict(valid[(method, path)])
        for _ in range(rng.randrange(1, 3)):
            action = rng.random()
            key = rng.choice(list(body) if body and action < 0.8 else FIELDS)
            if action < 0.15:
                body.pop(key, None)
            else:
                body[key] = value(rng)
        raw = json.dumps(body, ensure_ascii=False)
        if rng.random() < 0.05:  # some broken JSON too
            raw = raw[: rng.randrange(len(raw) + 1)]
        status, answer = await api_env.call(method, path, raw)
        assert status in (200, 400, 404, 409), (method, path, raw, answer)
        assert set(answer) == {"response"} and answer["response"]["success"] in ("true", "false")
        assert (status == 200) == (answer["response"]["success"] == "true")
        seen.add(status)
    assert {200, 400, 404} <= seen
