"""softswitch.campaigns.builder: a campaign from a client's request, checked in order."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from softswitch.campaigns.builder import CampaignBuilder, CampaignRequest, retry_statuses
from softswitch.campaigns.errors import CampaignError, ErrorKind
from softswitch.campaigns.manager import CampaignManager
from softswitch.campaigns.model import DEFAULT_RETRY_ON, Campaign
from softswitch.store import Store
from softswitch.store.flows import FlowStore
from softswitch.store.lists import Contact, ListKind

ACCOUNT = "account_1"
STEPS = [
    {"type": "say", "text": "Hello {field1}"},
    {"type": "gather", "num_digits": 1, "branches": {"1": [{"type": "set_result", "value": "y"}]}},
]


class VoiceChecked(Exception):
    """What the fake voice check raises: shows where in the order it ran."""


@pytest.fixture
def flows(store: Store) -> FlowStore:
    return FlowStore(store.db)


@pytest.fixture
def builder(manager: CampaignManager, flows: FlowStore) -> CampaignBuilder:
    return CampaignBuilder(manager, flows)


@pytest.fixture
def upload(tmp_path: Path) -> Callable[[str, str], Path]:
    return lambda name, field: tmp_path / name


def request(**fields: Any) -> CampaignRequest:
    values: dict[str, Any] = {
        "account_id": ACCOUNT,
        "name": " spring sale ",
        "campaign_type": 0,
        "caller_id": "15168148111",
        "start_date": "2024-03-05 09:00:00",
        "end_date": "2024-03-05 20:00",
        "time_zone": " Asia/Kolkata ",
        "announcement_text": "Your balance is due",
    }
    values.update(fields)
    return CampaignRequest(**values)


def no_voice() -> dict[str, str]:
    return {}


def refuse_voice() -> dict[str, str]:
    raise VoiceChecked


def refusal(builder: CampaignBuilder, upload: Any, req: CampaignRequest) -> CampaignError:
    with pytest.raises(CampaignError) as caught:
        builder.build(req, no_voice, upload)
    return caught.value


def test_builds_the_campaign_without_storing_it(
    builder: CampaignBuilder, manager: CampaignManager, upload: Any
) -> None:
    campaign = builder.build(
        request(max_retries=2, retry_time=30.0, retry_on="busy|no answer", repeat=3),
        lambda: {"voice": "Matthew"},
        upload,
    )
    assert campaign.id.startswith("CM") and len(campaign.id) == 12
    assert campaign.token.startswith(f"{ACCOUNT}.{campaign.id}.")
    assert (campaign.name, campaign.time_zone) == ("spring sale", "Asia/Kolkata")
    # 09:00 and 20:00 in Kolkata (+05:30)
    assert campaign.start_at == datetime(2024, 3, 5, 3, 30, tzinfo=UTC).timestamp()
    assert campaign.end_at == datetime(2024, 3, 5, 14, 30, tzinfo=UTC).timestamp()
    assert campaign.retry_on == ("BUSY", "NOANSWER")
    assert (campaign.max_retries, campaign.retry_time, campaign.repeat) == (2, 30.0, 3)
    assert campaign.voice == {"voice": "Matthew"}
    assert campaign.flow is None and campaign.dynamic_announcement
    assert manager.campaigns.get(campaign.id) is None


def test_the_name_must_be_free(
    builder: CampaignBuilder, manager: CampaignManager, upload: Any, make_campaign: Any
) -> None:
    make_campaign(ACCOUNT, name="spring sale")
    error = refusal(builder, upload, request())
    assert error.message == "campaign_name: a campaign with this name already exists"
    # another account may use it
    builder.build(request(account_id="account_2"), no_voice, upload)


def test_lists_must_be_the_accounts(
    builder: CampaignBuilder, manager: CampaignManager, upload: Any
) -> None:
    theirs = manager.lists.create("account_2", "theirs", ListKind.CONTACTS, 0.0)
    error = refusal(builder, upload, request(list_id=theirs.id))
    assert (error.kind, error.message) == (ErrorKind.NOT_FOUND, f"list_id: {theirs.id} not found")
    dnd = manager.lists.create(ACCOUNT, "mine", ListKind.DND, 0.0)
    # a DND list is not a contact list
    error = refusal(builder, upload, request(list_id=dnd.id))
    assert error.message == f"list_id: {dnd.id} not found"
    error = refusal(builder, upload, request(dnd_list_id="DN0000000000"))
    assert (error.kind, error.field) == (ErrorKind.NOT_FOUND, "dnd_list_id")
    assert builder.build(request(dnd_list_id=dnd.id), no_voice, upload).dnd_list_id == dnd.id


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone: "),
        ({"start_date": "tomorrow"}, "campaign_start_date: 'tomorrow' must look like"),
        ({"end_date": "2024-03-05 09:00:00"}, "campaign_end_date: must be after"),
        (
            {"start_date": "2024-03-01 09:00:00", "end_date": "2024-03-04 17:29:59"},
            "campaign_end_date: is in the past",  # the clock is 2024-03-04 12:00 UTC
        ),
        ({"retry_on": "NOANSWER,SOMETIMES"}, "retry_on_statuses: 'SOMETIMES' is not one of"),
        ({"announcement_text": "  "}, "announcement_text: required when dynamic"),
        ({"dynamic_announcement": False}, "recorded_filename: required when dynamic"),
        ({"campaign_type": 1, "flow": [{"type": "say"}]}, "step 0"),
    ],
)
def test_refusals(builder: CampaignBuilder, upload: Any, fields: dict, message: str) -> None:
    error = refusal(builder, upload, request(**fields))
    assert error.kind is ErrorKind.INVALID
    assert error.message.startswith(message), error.message


def test_the_voice_is_checked_after_the_dates_and_before_the_flow(
    builder: CampaignBuilder, upload: Any
) -> None:
    with pytest.raises(CampaignError, match="campaign_end_date"):
        builder.build(request(end_date="2020-01-01 00:00:00"), refuse_voice, upload)
    with pytest.raises(VoiceChecked):
        builder.build(request(campaign_type=1, flow_id="FL0000000000"), refuse_voice, upload)


def test_a_recorded_announcement_must_be_uploaded(
    builder: CampaignBuilder, upload: Any, tmp_path: Path
) -> None:
    req = request(dynamic_announcement=False, recorded_filename="hello.wav")
    error = refusal(builder, upload, req)
    assert (error.kind, error.message) == (
        ErrorKind.NOT_FOUND,
        "recorded_filename: hello.wav is not in the upload area",
    )
    (tmp_path / "hello.wav").write_bytes(b"RIFF")
    assert builder.build(req, no_voice, upload).recorded_filename == "hello.wav"


def test_type_1_takes_a_stored_flow_or_its_steps(
    builder: CampaignBuilder, flows: FlowStore, upload: Any
) -> None:
    error = refusal(builder, upload, request(campaign_type=1, flow_id="FL0000000000"))
    assert (error.kind, error.message) == (ErrorKind.NOT_FOUND, "flow_id: FL0000000000 not found")
    stored = flows.create(ACCOUNT, "ivr", STEPS, 0.0)
    built = builder.build(request(campaign_type=1, flow_id=stored.id), no_voice, upload)
    assert built.flow == STEPS
    # someone else's flow is not found
    error = refusal(
        builder, upload, request(account_id="account_2", campaign_type=1, flow_id=stored.id)
    )
    assert error.kind is ErrorKind.NOT_FOUND
    assert builder.build(request(campaign_type=1, flow=STEPS), no_voice, upload).flow == STEPS
    # a type 0 campaign ignores a flow
    assert builder.build(request(name="t0", flow=STEPS), no_voice, upload).flow is None


def test_every_contact_needs_the_fields_the_flow_uses(
    builder: CampaignBuilder, manager: CampaignManager, upload: Any
) -> None:
    contacts = manager.lists.create(ACCOUNT, "people", ListKind.CONTACTS, 0.0)
    manager.lists.add(
        contacts.id,
        [Contact("a", "919979270001", {"field1": "A"}), Contact("b", "919979270002")],
    )
    req = request(list_id=contacts.id, campaign_type=1, flow=STEPS)
    error = refusal(builder, upload, req)
    assert error.message == "announcement uses {field1} but contact 919979270002 has no such field"
    # phone and contact_name come with every call
    text = "Hello {contact_name}, this is for {phone}"
    campaign: Campaign = builder.build(
        request(list_id=contacts.id, announcement_text=text), no_voice, upload
    )
    assert campaign.list_id == contacts.id


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("", DEFAULT_RETRY_ON),
        (" , ;", DEFAULT_RETRY_ON),
        ([], DEFAULT_RETRY_ON),
        ("NOANSER, busy", ("NOANSWER", "BUSY")),
        ("no  answer|NO_ANSWER;cancel", ("NOANSWER", "CANCEL")),
        (["congestion", "CHANUNAVAIL", "congestion"], ("CONGESTION", "CHANUNAVAIL")),
        ("machine, noanswer", ("MACHINE", "NOANSWER")),
    ],
)
def test_retry_statuses(given: str | list[str], expected: tuple[str, ...]) -> None:
    assert retry_statuses(given) == expected


def test_retry_statuses_name_the_choices() -> None:
    with pytest.raises(CampaignError) as caught:
        retry_statuses(["ANSWER"])
    assert caught.value.message == (
        "retry_on_statuses: 'ANSWER' is not one of NOANSWER, BUSY, CHANUNAVAIL, CONGESTION,"
        " CANCEL, MACHINE"
    )
