"""api.calls.errors: the JAICP error body and status of each campaign error."""

from __future__ import annotations

import json

import pytest

from api.calls.errors import RequestError, campaign_error, request_error
from softswitch.campaigns.errors import CampaignError, ErrorKind


@pytest.mark.parametrize(
    ("kind", "type_", "status"),
    [
        (ErrorKind.INVALID, "request.invalid", 400),
        (ErrorKind.NOT_FOUND, "campaign.not.found", 404),
        (ErrorKind.BAD_TOKEN, "token.invalid", 401),
        (ErrorKind.CLOSED, "campaign.finished", 400),
        (ErrorKind.NOT_PAUSED, "campaign.notPaused", 400),
    ],
)
def test_every_kind_has_a_type_and_status(kind: ErrorKind, type_: str, status: int) -> None:
    response = campaign_error(CampaignError("no", kind))
    assert response.status_code == status
    assert json.loads(response.body) == {"type": type_, "message": "no"}


def test_the_field_follows_the_message() -> None:
    response = campaign_error(CampaignError("[0].phone is required", field="[0].phone"))
    assert response.body == (
        b'{"type":"request.invalid","message":"[0].phone is required","field":"[0].phone"}'
    )


def test_duplicates_name_the_latest_first() -> None:
    response = campaign_error(CampaignError("", ErrorKind.DUPLICATED, duplicates=["2", "1"]))
    assert response.status_code == 400
    assert response.body == (
        b'{"type":"phone.duplicated","message":"","phone":"2","phonesDuplicates":["2","1"]}'
    )


def test_request_errors() -> None:
    response = request_error(RequestError("request body too large (limit 9 bytes)", 413))
    assert response.status_code == 413
    assert json.loads(response.body) == {
        "type": "request.invalid",
        "message": "request body too large (limit 9 bytes)",
    }
    response = request_error(RequestError("bad key", field="Idempotence-Key"))
    assert (response.status_code, json.loads(response.body)["field"]) == (400, "Idempotence-Key")
