"""Request bodies: JSON parsing with copy-paste repair, size cap, field-naming errors."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.cpaas.body import parse_json, repair_json, validate
from api.cpaas.models import CdrByDate, Click2CallRequest, ModifyCall, OutboundCall
from api.cpaas.responses import ApiError

SPEC_CLICK2CALL = (
    "{“agent_number”:”91997927XXXX”,”caller_id”:”15168148111″,"
    "”destination_number”:”91800068XXXX”,\n“recording_option”:”on”,”transcript”:”on”}"
)


def test_typographic_quotes_from_the_spec_are_repaired() -> None:
    data = parse_json(SPEC_CLICK2CALL.encode())
    assert data == {
        "agent_number": "91997927XXXX",
        "caller_id": "15168148111",
        "destination_number": "91800068XXXX",
        "recording_option": "on",
        "transcript": "on",
    }


def test_a_key_broken_across_lines_by_the_spec_layout_is_joined() -> None:
    text = "{“request_id”:”fd5ff6e021″,”destination_\nnumber”:”91800068XXXX”}"
    assert parse_json(text.encode()) == {
        "request_id": "fd5ff6e021",
        "destination_number": "91800068XXXX",
    }


def test_valid_json_is_never_repaired() -> None:
    # a typographic quote inside a value is content, not syntax
    body = json.dumps({"text": "say “hello”\nthen {otp}"}, ensure_ascii=False)
    assert parse_json(body.encode())["text"] == "say “hello”\nthen {otp}"


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"[1, 2]", "JSON object"),
        (b'"text"', "JSON object"),
        (b'{"a": 1', "invalid JSON"),
        (b'{"a": }', "invalid JSON"),
        (b"\xff\xfe{}", "UTF-8"),
    ],
)
def test_bodies_that_are_not_an_object_are_refused(raw: bytes, message: str) -> None:
    with pytest.raises(ApiError) as err:
        parse_json(raw)
    assert message in err.value.message and err.value.status == 400


@given(st.binary(max_size=200))
def test_any_bytes_give_an_object_or_an_api_error(raw: bytes) -> None:
    try:
        assert isinstance(parse_json(raw), dict)
    except ApiError as exc:
        assert exc.status == 400


@given(st.text(max_size=100))
def test_repair_only_touches_quotes_and_line_breaks(text: str) -> None:
    repaired = repair_json(text)
    assert "\n" not in repaired and "“" not in repaired and "″" not in repaired
    assert len(repaired) == len(text) - text.count("\n") - text.count("\r")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"caller_id": "15168148111", "destination_number": "101"}, "agent_number: field required"),
        (
            {"agent_number": 919979271234, "caller_id": "1", "destination_number": "101"},
            "agent_number: Input should be a valid string",
        ),
        (
            {
                "agent_number": "91997927XXXX",
                "caller_id": "15168148111",
                "destination_number": "101",
            },
            "agent_number: '91997927XXXX' is not a phone number",
        ),
        (
            {
                "agent_number": "101",
                "caller_id": "15168148111",
                "destination_number": "102",
                "recording_option": "sometimes",
            },
            "recording_option: Input should be",
        ),
        (
            {
                "agent_number": "101",
                "caller_id": "15168148111",
                "destination_number": "102",
                "transcript": True,
            },
            "transcript: Input should be 'on' or 'off'",
        ),
        ({"agent_number": "101", "caller_id": "", "destination_number": "102"}, "caller_id:"),
    ],
)
def test_click2call_errors_name_the_field(body: dict, field: str) -> None:
    with pytest.raises(ApiError) as err:
        validate(Click2CallRequest, body)
    assert err.value.message.startswith(field), err.value.message


def test_click2call_model_normalizes() -> None:
    body = validate(
        Click2CallRequest,
        {
            "agent_number": " +91 99792-71234 ",
            "caller_id": "15168148111",
            "destination_number": "101",
            "recording_option": "ON",
            "extra": "ignored",
        },
    )
    assert body.agent_number == "+919979271234"
    assert body.recording_option == "on" and body.transcript == "off"


def test_numbers_as_strings_or_json_numbers() -> None:
    body = validate(
        CdrByDate,
        {
            "start_call_date": "2023-06-13",
            "end_call_date": "2023-06-17",
            "record_count": "5",
            "offset": 1,
        },
    )
    assert (body.record_count, body.offset) == (5, 1)
    for bad, message in (
        ("abc", "not a whole number"),
        (True, "whole number"),
        ("0", "greater than or equal to 1"),
        ("1.5", "not a whole number"),
        ("100000", "less than or equal to 10000"),
    ):
        with pytest.raises(ApiError) as err:
            validate(
                CdrByDate,
                {
                    "start_call_date": "2023-06-13",
                    "end_call_date": "2023-06-17",
                    "record_count": bad,
                },
            )
        assert err.value.message.startswith("record_count: ") and message in err.value.message


def test_cdr_window_includes_the_whole_end_day_or_second() -> None:
    day = validate(CdrByDate, {"start_call_date": "2023-06-13", "end_call_date": "2023-06-17"})
    start, end = day.window()
    assert (start.day, end.day, end.hour) == (13, 18, 0)
    exact = validate(
        CdrByDate,
        {"start_call_date": "2023-06-13 10:00:00", "end_call_date": "2023-06-13 10:30:00"},
    )
    assert exact.window()[1].strftime("%H:%M:%S") == "10:30:01"
    with pytest.raises(ApiError, match="end_call_date: '9999-12-31' is out of range"):
        validate(CdrByDate, {"start_call_date": "2023-06-13", "end_call_date": "9999-12-31"})
    with pytest.raises(ApiError, match="start_call_date: '13/06/2023' is not a date"):
        validate(CdrByDate, {"start_call_date": "13/06/2023", "end_call_date": "2023-06-17"})


def test_outbound_call_model() -> None:
    body = {
        "customer_number": "919979271234",
        "otp": "1987",
        "announce_template_id": "AN2222314c96",
        "repeat": "2",
        "caller_id": "15168148111",
        "voice": "Raveena",
    }
    assert validate(OutboundCall, body).repeat == 2
    for key, value, message in (
        ("otp", "19 87", "otp:"),
        ("repeat", "11", "repeat:"),
        ("announce_template_id", "XX2222314c96", "announce_template_id:"),
        ("voice", 7, "voice:"),
    ):
        with pytest.raises(ApiError) as err:
            validate(OutboundCall, {**body, key: value})
        assert err.value.message.startswith(message)


def test_modify_call_model() -> None:
    body = validate(
        ModifyCall, {"channel": " PJSIP/101-0000023c", "modify_type": "0", "transfer_to": "102"}
    )
    assert body.modify_type == 0 and body.transfer_to == "102"
    with pytest.raises(ApiError, match="modify_type: Input should be 0, 1, 2 or 3"):
        validate(ModifyCall, {"channel": "x", "modify_type": "4"})
