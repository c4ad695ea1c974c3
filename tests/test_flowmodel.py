import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softswitch.flowmodel import Flow, FlowError, Gather, Say, destinations, parse_flow

OTP = [
    {"type": "say", "text": "Your code is {otp}", "spell": ["otp"], "voice": "Raveena", "repeat": 2}
]


def test_otp_flow_needs_otp():
    flow = parse_flow(OTP)
    assert isinstance(flow.steps[0], Say)
    assert flow.fields() == {"otp"}
    assert flow.steps[0].voice_params.gender == "female"


def test_gather_defines_its_variable_for_later_steps():
    flow = parse_flow(
        [
            {
                "type": "gather",
                "name": "choice",
                "num_digits": 1,
                "prompt": {"type": "say", "text": "Hello {first_name}, press 1"},
                "branches": {
                    "1": [
                        {"type": "set_result", "value": "yes {choice}"},
                        {"type": "report", "header": "Answer", "value": "{choice}", "order": 1},
                    ]
                },
                "default": [{"type": "redial", "minutes": 10, "priority": 1}],
            },
            {"type": "say", "text": "You chose {choice}"},
            {"type": "hangup"},
        ]
    )
    assert isinstance(flow.steps[0], Gather)
    assert flow.fields() == {"first_name"}


def test_round_trip_through_json():
    source = [
        {"type": "play", "file": "welcome.wav", "repeat": 3},
        {"type": "gather", "branches": {"1": [{"type": "transfer", "number": "102"}]}},
        {"type": "pause", "seconds": 1.5},
    ]
    flow = parse_flow(source)
    assert parse_flow(flow.to_json()).to_json() == flow.to_json()
    assert flow.to_json()[0] == {"type": "play", "file": "welcome.wav", "repeat": 3}


@pytest.mark.parametrize(
    "data, message",
    [
        ({}, "flow: must be a list of steps"),
        ([], "flow: has no steps"),
        ([{"type": "dance"}], "step 0: unknown step type"),
        ([{"text": "hi"}], "step 0: unknown step type"),
        ([{"type": "hangup"}, {"type": "say"}], "step 1 text: Field required"),
        ([{"type": "say", "text": "hi", "voice": "Nobody"}], "step 0: unknown voice"),
        ([{"type": "say", "text": "hi", "rate": "ludicrous"}], "step 0: "),
        ([{"type": "say", "text": "{a b}"}], "step 0 text: invalid template"),
        ([{"type": "set_result", "value": "x {"}], "step 0 value: invalid template"),
        ([{"type": "report", "header": "h", "value": "{bad"}], "step 0 value: invalid template"),
        ([{"type": "say", "text": "hi", "colour": "red"}], "step 0 colour: Extra inputs"),
        ([{"type": "gather", "branches": {"x": []}}], "step 0 branches: branch key 'x'"),
        ([{"type": "play", "file": "../etc/passwd"}], "step 0 file:"),
        ([{"type": "transfer", "number": "sip:evil@x"}], "step 0 number:"),
        ([{"type": "pause", "seconds": 0}], "step 0 seconds:"),
        ([{"type": "redial", "minutes": 5, "priority": 9}], "step 0 priority:"),
    ],
)
def test_bad_flows_name_step_and_field(data, message):
    with pytest.raises(FlowError) as error:
        parse_flow(data)
    assert str(error.value).startswith(message)


def test_nesting_is_bounded():
    step: dict = {"type": "hangup"}
    for _ in range(8):
        step = {"type": "gather", "branches": {"1": [step]}}
    with pytest.raises(FlowError, match="nested deeper"):
        parse_flow([step])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "text",
                    "value",
                    "number",
                    "branches",
                    "seconds",
                    "say",
                    "gather",
                    "1",
                    "minutes",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_is_a_flow_or_a_flow_error(data):
    try:
        assert isinstance(parse_flow(data), Flow)
    except FlowError as exc:
        assert str(exc)


def test_an_unknown_type_is_told_every_step_type() -> None:
    with pytest.raises(FlowError) as caught:
        parse_flow([{"type": "dance"}])
    assert str(caught.value) == (
        "step 0: unknown step type; expected one of say, play, gather, record, transfer, "
        "dial, set_result, report, redial, pause, hangup, menu, route, hours, listen"
    )


IVR = [
    {
        "type": "hours",
        "hours": {
            "time_zone": "Europe/Berlin",
            "open": [{"days": ["mon", "fri"], "start": "08:30", "end": "18:00"}],
            "holidays": ["2026-12-25"],
        },
        "open": [
            {
                "type": "menu",
                "prompt": {"type": "say", "text": "Hello {caller}, press 1 for sales"},
                "options": {
                    "1": "ring_group:sales",
                    "0": [{"type": "route", "to": "number:+4930123"}],
                },
                "invalid": [{"type": "say", "text": "Sorry"}, {"type": "hangup"}],
            }
        ],
        "closed": [{"type": "route", "to": "voicemail:101"}],
    }
]


def test_ivr_steps_round_trip_and_list_their_destinations():
    flow = parse_flow(IVR)
    assert flow.fields() == {"caller"}
    again = parse_flow(json.loads(json.dumps(flow.to_json())))
    assert again.to_json() == flow.to_json()
    assert flow.to_json()[0]["hours"]["holidays"] == ["2026-12-25"]
    assert [(where, str(d)) for where, d in destinations(flow.steps)] == [
        ("step 0 [0] options 1", "ring_group:sales"),
        ("step 0 [0] [0] to", "number:+4930123"),
        ("step 0 [0] to", "voicemail:101"),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            [
                {
                    "type": "menu",
                    "prompt": {"type": "say", "text": "x"},
                    "options": {"12": "extension:1"},
                }
            ],
            "step 0 options: option key '12' is not one key",
        ),
        (
            [{"type": "menu", "prompt": {"type": "say", "text": "x"}, "options": {}}],
            "step 0 options: Dictionary should have at least 1 item",
        ),
        (
            [{"type": "menu", "prompt": {"type": "record"}, "options": {"1": "extension:1"}}],
            "step 0 prompt",
        ),
        ([{"type": "route", "to": "queue:1"}], "step 0 to: 'queue:1': kind must be one of"),
        (
            [{"type": "hours", "hours": {"time_zone": "Atlantis", "open": []}}],
            "step 0 hours time_zone: unknown time zone 'Atlantis'",
        ),
        (
            [
                {
                    "type": "hours",
                    "hours": {
                        "time_zone": "UTC",
                        "open": [
                            {"days": ["mon"], "start": "09:00", "end": "12:00"},
                            {"days": ["mon"], "start": "11:00", "end": "13:00"},
                        ],
                    },
                }
            ],
            "step 0 hours: open[1] overlaps open[0] on mon",
        ),
    ],
)
def test_bad_ivr_steps_name_step_and_field(data, message):
    with pytest.raises(FlowError) as error:
        parse_flow(data)
    assert str(error.value).startswith(message), str(error.value)


SURVEY_LISTEN = {
    "type": "listen",
    "name": "answer",
    "prompt": {"type": "say", "text": "Will you attend, {first_name}? Say yes or no."},
    "choices": [
        {"name": "yes", "phrases": ["Yes", "yeah", "sure"], "key": "1", "steps": []},
        {"name": "no", "phrases": ["no thanks", "nope"], "key": "2"},
    ],
    "digits": 4,
    "then": [{"type": "report", "header": "Code", "value": "{answer}"}],
    "no_match": [{"type": "set_result", "value": "unclear: {answer_text}"}],
}


def test_listen_step_defines_its_variables_and_round_trips():
    flow = parse_flow(
        [SURVEY_LISTEN, {"type": "report", "header": "Heard", "value": "{answer_confidence}"}]
    )
    assert flow.fields() == {"first_name"}
    again = parse_flow(json.loads(json.dumps(flow.to_json())))
    assert again.to_json() == flow.to_json()
    [step] = again.steps[:1]
    # phrases are normalized as the recognizer will compare them
    assert step.expectations().choices[0] == ("yes", ("yes", "yeah", "sure"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"choices": [], "digits": 0},
            "step 0: choices: must not be empty unless digits or number is set",
        ),
        (
            {"choices": [{"name": "yes", "phrases": []}]},
            "step 0 choices [0] phrases: List should have at least 1 item after validation, not 0",
        ),
        (
            {"choices": [{"name": "yes", "phrases": ["yes", "absolutely blorptastic"]}]},
            "step 0 choices [0] phrases: words the recognizer does not know: blorptastic",
        ),
        (
            {"choices": [{"name": "a", "phrases": ["yes"]}, {"name": "a", "phrases": ["no"]}]},
            "step 0 choices: choice names must differ",
        ),
        ({"no_input_timeout": 0.1}, "step 0 no_input_timeout: Input should be greater than"),
        ({"max_speech": 120}, "step 0 max_speech: Input should be less than or equal to 60"),
        ({"end_silence_ms": 50}, "step 0 end_silence_ms: Input should be greater than"),
        ({"confidence": 1.5}, "step 0 confidence: Input should be less than or equal to 1"),
        ({"choices": [{"name": "yes", "phrases": ["yes"], "key": "12"}]}, "step 0 choices [0] key"),
    ],
)
def test_bad_listen_steps_name_the_field(change, message):
    with pytest.raises(FlowError) as caught:
        parse_flow([{**SURVEY_LISTEN, **change}])
    assert str(caught.value).startswith(message)
