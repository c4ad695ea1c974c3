"""/api/announce_templates and /api/flows: validation when saved, per-account scope."""

from __future__ import annotations

import pytest

from tests.api.conftest import ACCOUNT_2, on_both_engines

# the store behind the API: every test of api_env here on SQLite and on PostgreSQL
api_store = on_both_engines

FLOW = [
    {"type": "say", "text": "Hello {name}, press 1 to confirm", "voice": "Matthew"},
    {
        "type": "gather",
        "num_digits": 1,
        "timeout": 5,
        "name": "choice",
        "branches": {"1": [{"type": "set_result", "value": "confirmed"}]},
        "default": [{"type": "hangup"}],
    },
]


async def test_templates(api_env) -> None:
    status, body = await api_env.call(
        "POST", "/api/announce_templates", {"template_name": "otp", "text": "Your OTP is {otp}"}
    )
    assert status == 200
    template_id = body["response"]["announce_template_id"]
    assert template_id.startswith("AN") and len(template_id) == 12
    status, body = await api_env.call("GET", "/api/announce_templates")
    assert body["response"]["result"] == [
        {"announce_template_id": template_id, "template_name": "otp", "text": "Your OTP is {otp}"}
    ]
    status, body = await api_env.call("GET", "/api/announce_templates", headers=ACCOUNT_2)
    assert body["response"]["result"] == []
    status, body = await api_env.call(
        "GET", f"/api/announce_templates?announce_template_id={template_id}", headers=ACCOUNT_2
    )
    assert status == 404
    status, body = await api_env.call(
        "DELETE",
        "/api/announce_templates",
        {"announce_template_id": template_id},
        headers=ACCOUNT_2,
    )
    assert status == 404
    status, body = await api_env.call(
        "DELETE", "/api/announce_templates", {"announce_template_id": template_id}
    )
    assert status == 200
    status, body = await api_env.call("GET", "/api/announce_templates")
    assert body["response"]["result"] == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("Your code", "text: must contain the {otp} variable"),
        ("Dear {name}, your code is {otp}", "text: unknown variable(s) name"),
        ("Broken {otp", "text: "),
        ("", "text: "),
    ],
)
async def test_template_text_is_checked(api_env, text, message) -> None:
    status, body = await api_env.call("POST", "/api/announce_templates", {"text": text})
    assert status == 400 and body["response"]["message"].startswith(message), body
    status, body = await api_env.call("GET", "/api/announce_templates")
    assert body["response"]["result"] == []


async def test_flow_crud(api_env) -> None:
    status, body = await api_env.call("POST", "/api/flows", {"flow_name": "confirm", "flow": FLOW})
    assert status == 200, body
    flow_id = body["response"]["flow_id"]
    status, body = await api_env.call("GET", f"/api/flows/{flow_id}")
    stored = body["response"]["result"]
    assert stored["flow_name"] == "confirm" and stored["variables"] == ["name"]
    assert stored["flow"][0]["text"] == FLOW[0]["text"]
    status, _ = await api_env.call("GET", f"/api/flows/{flow_id}", headers=ACCOUNT_2)
    assert status == 404
    status, body = await api_env.call("POST", "/api/flows", {"flow_name": "confirm", "flow": FLOW})
    assert status == 409
    status, body = await api_env.call(
        "PUT", f"/api/flows/{flow_id}", {"flow_name": "bye", "flow": [{"type": "hangup"}]}
    )
    assert status == 200
    status, body = await api_env.call("GET", "/api/flows")
    assert [(f["flow_name"], f["flow"]) for f in body["response"]["result"]] == [
        ("bye", [{"type": "hangup"}])
    ]
    status, body = await api_env.call("DELETE", f"/api/flows/{flow_id}", headers=ACCOUNT_2)
    assert status == 404
    status, body = await api_env.call("DELETE", f"/api/flows/{flow_id}")
    assert status == 200
    status, body = await api_env.call("GET", "/api/flows")
    assert body["response"]["result"] == []


@pytest.mark.parametrize(
    "flow, fragment",
    [
        ([{"type": "say"}], "text"),
        ([{"type": "dance"}], "type"),
        ([{"type": "say", "text": "hi", "voice": "Nobody"}], "voice"),
        ([FLOW[0], {"type": "gather", "num_digits": "many"}], "num_digits"),
        ("not a list", "flow: "),
    ],
)
async def test_invalid_flows_are_refused_when_saved(api_env, flow, fragment) -> None:
    status, body = await api_env.call("POST", "/api/flows", {"flow_name": "x", "flow": flow})
    message = body["response"]["message"]
    assert status == 400 and message.startswith("flow") and fragment in message, message
    status, body = await api_env.call("GET", "/api/flows")
    assert body["response"]["result"] == []
