"""Listen steps saved through the CPaaS API: refused with the field named, in the API's
error shape; a good one is kept."""

from __future__ import annotations

LISTEN = {
    "type": "listen",
    "prompt": {"type": "say", "text": "Will you attend?"},
    "choices": [{"name": "yes", "phrases": ["yes", "sure"]}],
}


async def test_bad_listen_steps_are_refused_naming_the_field(api_env) -> None:
    cases = [
        ({"choices": []}, "flow: step 0: choices: must not be empty unless digits or number"),
        (
            {"choices": [{"name": "yes", "phrases": ["yes", "blorptastic"]}]},
            "flow: step 0 choices [0] phrases: words the recognizer does not know: blorptastic",
        ),
        ({"no_input_timeout": 600}, "flow: step 0 no_input_timeout: Input should be less"),
    ]
    for change, message in cases:
        status, body = await api_env.call(
            "POST", "/api/flows", {"flow_name": "survey", "flow": [{**LISTEN, **change}]}
        )
        assert status == 400, body
        assert body["response"]["success"] == "false"
        assert body["response"]["message"].startswith(message), body


async def test_a_listen_step_is_saved(api_env) -> None:
    status, body = await api_env.call(
        "POST", "/api/flows", {"flow_name": "survey", "flow": [{**LISTEN, "digits": 4}]}
    )
    assert status == 200, body
