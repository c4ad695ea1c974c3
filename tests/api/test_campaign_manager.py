"""The CPaaS campaign manager endpoints (lists, DND lists, campaigns, campaign CDRs)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

import api.calls
from softswitch.campaigns.dialer import Dialer, DialRequest
from softswitch.campaigns.manager import CampaignManager
from softswitch.campaigns.model import CampaignStatus, JobStatus
from softswitch.outcome import CallOutcome
from tests.api.conftest import ACCOUNT_2, on_both_engines

# the store behind the API: every test of api_env here on SQLite and on PostgreSQL
api_store = on_both_engines

FAR = {"campaign_start_date": "2020-01-01 00:00:00", "campaign_end_date": "2099-12-31 20:00:00"}


def uploads(env) -> Path:
    path = Path(env.config.media.uploads_dir) / "account_1"
    path.mkdir(parents=True, exist_ok=True)
    return path


async def new_list(env, name: str = "my_campaign_list", contacts: list | None = None) -> str:
    status, body = await env.call("POST", "/api/create_campaign_list", {"list_name": name})
    assert status == 200, body
    list_id = body["response"]["list_id"]
    if contacts:
        status, body = await env.call(
            "POST", "/api/add_contact_to_list", {"list_id": list_id, "contacts": contacts}
        )
        assert status == 200, body
    return list_id


async def new_dnd(env, numbers: list[str], name: str = "dnd") -> str:
    status, body = await env.call("POST", "/api/create_campaign_dnd_list", {"dnd_list_name": name})
    assert status == 200, body
    dnd_id = body["response"]["dnd_list_id"]
    status, body = await env.call(
        "POST",
        "/api/add_dnd_contact_to_list",
        {
            "dnd_list_id": dnd_id,
            "dnd_contacts": [{"dnd_contact_name": "x", "dnd_contact_number": n} for n in numbers],
        },
    )
    assert status == 200, body
    return dnd_id


CONTACTS = [
    {
        "contact_name": "ankit",
        "contact_number": "919979270001",
        "contact_fields": {"field1": "Ankit", "field2": "Jayswal", "field3": "500"},
    },
    {
        "contact_name": "abc",
        "contact_number": "918000680002",
        "contact_fields": {"field1": "abc", "field2": "xyz", "field3": 100},
    },
]


def campaign_body(list_id_: str, **extra) -> dict:
    body = {
        "list_id": list_id_,
        "campaign_name": "test_broadcast",
        "campaign_type": "0",
        "campaign_caller_id": "15168148111",
        "dynamic_announcement": "1",
        "recorded_filename": "",
        "announcement_text": "Dear, {field1} , {field2}, Your due balance is,, {field3},, INR only",
        "time_zone": "Asia/Kolkata",
        "repeat": "2",
        "max_retries": "1",
        "retry_time": "60",
        "calls_per_minute": "10",
        "voice": "Matthew",
        "volume": "soft",
        "rate": "slow",
        "pitch": "medium",
        **FAR,
    }
    body.update(extra)
    return body


# -- lists ------------------------------------------------------------------------------------


async def test_lists_and_contacts(api_env) -> None:
    list_id = await new_list(api_env)
    assert re.fullmatch(r"LS[0-9a-f]{10}", list_id)
    status, body = await api_env.call(
        "POST", "/api/add_contact_to_list", {"list_id": list_id, "contacts": CONTACTS}
    )
    assert (status, body) == (
        200,
        {"response": {"message": "(2) contacts imported successfully", "success": "true"}},
    )
    manager = CampaignManager(api_env.switch.store.db)
    stored = manager.lists.contacts(list_id)
    assert [c.number for c in stored] == ["919979270001", "918000680002"]
    assert stored[1].fields == {"field1": "abc", "field2": "xyz", "field3": "100"}
    status, body = await api_env.call(
        "POST", "/api/create_campaign_list", {"list_name": "my_campaign_list"}
    )
    assert status == 400 and "already exists" in body["response"]["message"]
    # another account neither sees nor fills the list
    status, body = await api_env.call(
        "POST",
        "/api/add_contact_to_list",
        {"list_id": list_id, "contacts": CONTACTS},
        headers=ACCOUNT_2,
    )
    assert status == 404
    status, body = await api_env.call(
        "POST",
        "/api/add_contact_to_list",
        {"list_id": list_id, "contacts": [{"contact_name": "x", "contact_number": "12ab"}]},
    )
    assert status == 400 and "contacts.0.contact_number" in body["response"]["message"]
    status, body = await api_env.call(
        "POST", "/api/add_contact_to_list", {"list_id": "LS000", "contacts": CONTACTS}
    )
    assert status == 400 and "list_id" in body["response"]["message"]


async def test_typographic_quotes_from_the_document(api_env) -> None:
    raw = "{\u201clist_name\u201d:\u201dmy_first_list\u2033}"
    status, body = await api_env.call("POST", "/api/create_campaign_list", raw)
    assert status == 200 and body["response"]["list_id"].startswith("LS")


async def test_dnd_lists(api_env) -> None:
    dnd_id = await new_dnd(api_env, ["919979270001", "+91 80006 80002"])
    assert re.fullmatch(r"DN[0-9a-f]{10}", dnd_id)
    manager = CampaignManager(api_env.switch.store.db)
    assert [c.number for c in manager.lists.contacts(dnd_id)] == ["919979270001", "918000680002"]
    status, body = await api_env.call(
        "POST", "/api/create_campaign_dnd_list", {"dnd_list_name": "dnd"}
    )
    assert status == 400
    # a contact list id is not a DND list id
    list_id = await new_list(api_env)
    status, _ = await api_env.call(
        "POST",
        "/api/add_dnd_contact_to_list",
        {"dnd_list_id": list_id, "dnd_contacts": [{"dnd_contact_number": "1234"}]},
    )
    assert status == 400


async def test_csv_import_with_header(api_env) -> None:
    list_id = await new_list(api_env)
    (uploads(api_env) / "contacts_dynamic_announcement.csv").write_text(
        "contact_name,contact_number,field1,field2,field3\n"
        "ankit,919979270001,Ankit,Jayswal,500\n\n"
        "abc,918000680002,abc,xyz,100\n"
    )
    status, body = await api_env.call(
        "POST",
        "/api/import_broadcast_contacts_csv",
        {"list_id": list_id, "csv_name": "contacts_dynamic_announcement.csv"},
    )
    assert (status, body["response"]["message"]) == (200, "(2) contacts imported successfully")
    contacts = CampaignManager(api_env.switch.store.db).lists.contacts(list_id)
    assert contacts[0].name == "ankit"
    assert contacts[0].fields == {"field1": "Ankit", "field2": "Jayswal", "field3": "500"}


async def test_csv_import_without_header(api_env) -> None:
    list_id = await new_list(api_env)
    (uploads(api_env) / "plain.csv").write_text("ankit,919979270001,Ankit\nabc,918000680002,abc\n")
    status, body = await api_env.call(
        "POST", "/api/import_broadcast_contacts_csv", {"list_id": list_id, "csv_name": "plain.csv"}
    )
    assert status == 200
    contacts = CampaignManager(api_env.switch.store.db).lists.contacts(list_id)
    assert [(c.name, c.number, c.fields) for c in contacts] == [
        ("ankit", "919979270001", {"field1": "Ankit"}),
        ("abc", "918000680002", {"field1": "abc"}),
    ]


async def test_csv_with_bad_rows_is_refused_whole(api_env) -> None:
    list_id = await new_list(api_env)
    (uploads(api_env) / "bad.csv").write_text(
        "contact_name,contact_number\nok,919979270001\nbad,91997927XXXX\nempty,\nok2,918000680002\n"
    )
    status, body = await api_env.call(
        "POST", "/api/import_broadcast_contacts_csv", {"list_id": list_id, "csv_name": "bad.csv"}
    )
    assert status == 400
    message = body["response"]["message"]
    assert "nothing imported" in message and "line 3" in message and "line 4" in message
    assert CampaignManager(api_env.switch.store.db).lists.count(list_id) == 0


async def test_csv_missing_or_unsafe_names(api_env) -> None:
    list_id = await new_list(api_env)
    status, _ = await api_env.call(
        "POST",
        "/api/import_broadcast_contacts_csv",
        {"list_id": list_id, "csv_name": "nothere.csv"},
    )
    assert status == 404
    status, body = await api_env.call(
        "POST",
        "/api/import_broadcast_contacts_csv",
        {"list_id": list_id, "csv_name": "../../etc/passwd.csv"},
    )
    assert status == 400 and "csv_name" in body["response"]["message"]


async def test_dnd_csv_import(api_env) -> None:
    dnd_id = await new_dnd(api_env, ["1000"])
    (uploads(api_env) / "dnd_contacts.csv").write_text(
        "dnd_contact_name,dnd_contact_number\nankit,919979270001\nabc,918000680002\n"
    )
    status, body = await api_env.call(
        "POST",
        "/api/import_dnd_contacts_csv",
        {"dnd_list_id": dnd_id, "dnd_csv_name": "dnd_contacts.csv"},
    )
    assert (status, body["response"]["message"]) == (200, "(2) DND contacts imported successfully")
    (uploads(api_env) / "numbers.csv").write_text("919979270003\n919979270004\n")
    status, body = await api_env.call(
        "POST",
        "/api/import_dnd_contacts_csv",
        {"dnd_list_id": dnd_id, "dnd_csv_name": "numbers.csv"},
    )
    assert status == 200
    assert CampaignManager(api_env.switch.store.db).lists.count(dnd_id) == 5


# -- campaigns ----------------------------------------------------------------------------------


async def test_create_campaign_type_0_dynamic(api_env) -> None:
    list_id = await new_list(api_env, contacts=CONTACTS)
    dnd_id = await new_dnd(api_env, ["918000680002"])
    status, body = await api_env.call(
        "POST", "/api/create_campaign", campaign_body(list_id, dnd_list_id=dnd_id)
    )
    assert status == 200, body
    campaign_id = body["response"]["campaign_id"]
    assert re.fullmatch(r"CM[0-9a-f]{10}", campaign_id)
    assert body["response"]["token"].startswith(f"account_1.{campaign_id}.")
    manager = CampaignManager(api_env.switch.store.db)
    campaign = manager.campaigns.get(campaign_id)
    assert (campaign.repeat, campaign.max_retries, campaign.retry_time) == (2, 1, 60.0)
    assert campaign.voice == {
        "voice": "Matthew",
        "volume": "soft",
        "rate": "slow",
        "pitch": "medium",
    }
    # 2023-style local dates in Asia/Kolkata (+05:30)
    assert campaign.start_at == 1577817000.0
    jobs = manager.jobs.of_campaign(campaign_id)
    assert [(j.phone, j.payload["field1"], j.contact_name) for j in jobs] == [
        ("919979270001", "Ankit", "ankit"),
        ("918000680002", "abc", "abc"),
    ]
    assert all(j.max_attempts == 2 and j.source == "list" for j in jobs)
    status, body = await api_env.call(
        "POST", "/api/create_campaign", campaign_body(list_id, dnd_list_id=dnd_id)
    )
    assert status == 400 and "campaign_name" in body["response"]["message"]


async def test_the_spec_body_with_copy_paste_quotes(api_env) -> None:
    list_id = await new_list(api_env, contacts=CONTACTS)
    raw = (
        "{\u201clist_id\u201d:\u201d"
        + list_id
        + "\u2033,\u201dcampaign_name\u201d:\u201dtest_broadcast_campaign\n"
        "_test_volume\u201d,\u201dcampaign_type\u201d:\u201d0\u2033,\u201dcampaign_caller_id\u201d:\u201d15168148111\u2033,"
        "\u201ddynamic_announcement\u201d:\u201d1\u2033,\u201drecorded_filename\u201d:\u201d\u201d,"
        "\u201dannouncement_text\u201d:\u201dDear, {field1} , {field2}, "
        "Your due balance is,, {field3},,INR only\u201d,"
        "\u201dcampaign_start_date\u201d:\u201d2023-09-25 14:05:00\u2033,"
        "\u201dcampaign_end_date\u201d:\u201d2099-09-26\n"
        "20:00:00\u2033,\u201dtime_zone\u201d:\u201dAsia/Kolkata\u201d,\u201drepeat\u201d:\u201d2\u2033,"
        "\u201dmax_retries\u201d:\u201d1\u2033,\u201dretry_time\u201d:\u201d60\u2033,\u201dcalls_per_min\n"
        "ute\u201d:\u201d10\u2033,\u201dvoice\u201d:\u201dMatthew\u201d}"
    )
    status, body = await api_env.call("POST", "/api/create_campaign", raw)
    assert status == 200, body


async def test_create_campaign_checks(api_env) -> None:
    list_id = await new_list(api_env, contacts=CONTACTS)
    cases = [
        ({"announcement_text": "Hello {field9}"}, 400, "field9"),
        ({"announcement_text": ""}, 400, "announcement_text"),
        ({"dynamic_announcement": "0"}, 400, "recorded_filename"),
        ({"dynamic_announcement": "0", "recorded_filename": "nothere.wav"}, 404, "upload area"),
        ({"time_zone": "Mars/Base"}, 400, "time_zone"),
        ({"campaign_end_date": "2019-01-01 00:00:00"}, 400, "campaign_end_date"),
        ({"campaign_start_date": "tomorrow"}, 400, "campaign_start_date"),
        ({"campaign_type": "2"}, 400, "campaign_type"),
        ({"retry_on_statuses": "NOANSWER,SOMETIMES"}, 400, "retry_on_statuses"),
        ({"voice": "Nobody"}, 400, "voice"),
        ({"rate": "warp"}, 400, "rate"),
        ({"pitch": "sky-high"}, 400, "pitch"),
        ({"list_id": "LS0000000000"}, 404, "list_id"),
        ({"dnd_list_id": "DN0000000000"}, 404, "dnd_list_id"),
        ({"campaign_type": "1", "flow_id": "FL0000000000"}, 404, "flow_id"),
        ({"campaign_type": "1", "flow": [{"type": "say"}]}, 400, "step 0"),
        ({"calls_per_minute": "0"}, 400, "calls_per_minute"),
    ]
    for extra, status_code, needle in cases:
        status, body = await api_env.call(
            "POST", "/api/create_campaign", campaign_body(list_id, **extra)
        )
        assert status == status_code, (extra, body)
        assert needle in body["response"]["message"], (extra, body)
    assert CampaignManager(api_env.switch.store.db).campaigns.of_account("account_1") == []


async def test_create_campaign_recorded_and_type_1(api_env) -> None:
    from tests.peers.audio import make_tone_wav

    list_id = await new_list(api_env, contacts=CONTACTS)
    make_tone_wav(uploads(api_env) / "quality_training-8khz.wav", 440, 1.0)
    status, body = await api_env.call(
        "POST",
        "/api/create_campaign",
        campaign_body(
            list_id,
            campaign_name="recorded",
            dynamic_announcement="0",
            recorded_filename="quality_training-8khz.wav",
            announcement_text="",
            repeat="3",
        ),
    )
    assert status == 200, body
    # type 1 without a flow: the announcement, then a key press as the result
    status, body = await api_env.call(
        "POST",
        "/api/create_campaign",
        campaign_body(
            list_id,
            campaign_name="survey",
            campaign_type="1",
            announcement_text="Press 1, {field1}",
            retry_on_statuses="NOANSER, BUSY",
        ),
    )
    assert status == 200, body
    manager = CampaignManager(api_env.switch.store.db)
    survey = manager.campaigns.get(body["response"]["campaign_id"])
    assert survey.retry_on == ("NOANSWER", "BUSY")
    assert survey.context == "local_call_campaign_type_1"
    # type 1 with a stored flow
    steps = [
        {"type": "say", "text": "Hello {field1}"},
        {
            "type": "gather",
            "num_digits": 1,
            "branches": {"1": [{"type": "set_result", "value": "yes"}]},
        },
    ]
    from softswitch.store.flows import FlowStore

    stored = FlowStore(api_env.switch.store.db).create("account_1", "ivr", steps, 0.0)
    status, body = await api_env.call(
        "POST",
        "/api/create_campaign",
        campaign_body(list_id, campaign_name="ivr", campaign_type="1", flow_id=stored.id),
    )
    assert status == 200, body
    assert manager.campaigns.get(body["response"]["campaign_id"]).flow[0]["type"] == "say"
    status, body = await api_env.call(
        "POST",
        "/api/create_campaign",
        campaign_body(list_id, campaign_name="inline", campaign_type="1", flow=steps),
    )
    assert status == 200, body


async def test_details_read_back_the_dates_as_given_in_the_campaign_zone(api_env) -> None:
    list_id = await new_list(api_env, contacts=CONTACTS)
    status, body = await api_env.call(
        "POST",
        "/api/create_campaign",
        campaign_body(
            list_id,
            campaign_start_date="2030-07-11 09:00:00",
            campaign_end_date="2030-07-12 20:00:00",
            time_zone="Asia/Kolkata",
        ),
    )
    assert status == 200, body
    _, body = await api_env.call("GET", "/api/get_campaign_details")
    (row,) = body["response"]["result"]
    # as in the spec's example: the wall-clock times sent, with the spec's "GMT" label
    assert row["campaign_start_date"] == "Thu, 11 Jul 2030 09:00:00 GMT"
    assert row["campaign_end_date"] == "Fri, 12 Jul 2030 20:00:00 GMT"
    assert row["time_zone"] == "Asia/Kolkata"


async def test_details_stop_and_calls_api_token(api_env) -> None:
    list_id = await new_list(api_env, contacts=CONTACTS)
    status, body = await api_env.call(
        "POST",
        "/api/create_campaign",
        campaign_body(list_id, campaign_end_date="2099-07-12 20:00:00", time_zone="UTC"),
    )
    campaign_id, token = body["response"]["campaign_id"], body["response"]["token"]
    status, body = await api_env.call("GET", "/api/get_campaign_details")
    assert status == 200 and body["response"]["message"] == "campaign found"
    (row,) = body["response"]["result"]
    assert row["campaign_id"] == campaign_id and row["token"] == token
    assert row["campaign_end_date"] == "Sun, 12 Jul 2099 20:00:00 GMT"
    assert row["campaign_start_date"] == "Wed, 01 Jan 2020 00:00:00 GMT"
    assert (
        row["calls_per_minute"],
        row["campaign_type"],
        row["max_retries"],
        row["repeat_announcement_count"],
        row["retry_time"],
    ) == ("10", "0", "1", "2", "60")
    assert row["campaign_status"] == "0"  # planned: no dialer has picked it up
    status, _ = await api_env.call("GET", "/api/get_campaign_details", headers=ACCOUNT_2)
    assert status == 404

    # the token drives the same campaign through the Calls API
    app = Starlette(routes=api.calls.routes(api_env.ctx))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://calls.test"
    ) as calls:
        r = await calls.get(f"/api/calls/campaign/{token}/status")
        assert r.json() == "planned"
        r = await calls.post(
            f"/api/calls/campaign/{token}/addPhones", json=[{"phone": "12125550100"}]
        )
        assert r.status_code == 200
        info = (await calls.get(f"/api/calls/campaign/{token}")).json()
        assert info["shortReport"]["totalNumbers"] == 3

    status, body = await api_env.call(
        "POST", "/api/stop_campaign", {"campaign_id": campaign_id}, headers=ACCOUNT_2
    )
    assert status == 404
    status, body = await api_env.call("POST", "/stop_campaign", {"campaign_id": f" {campaign_id} "})
    assert (status, body) == (
        200,
        {"response": {"message": " campaign stopped successfully", "success": "true"}},
    )
    status, body = await api_env.call("POST", "/api/stop_campaign", {"campaign_id": campaign_id})
    assert status == 200
    manager = CampaignManager(api_env.switch.store.db)
    assert manager.campaigns.get(campaign_id).status is CampaignStatus.FINISHED
    assert {j.status for j in manager.jobs.of_campaign(campaign_id)} == {JobStatus.NOT_DONE}
    status, body = await api_env.call("GET", "/api/get_campaign_details")
    assert body["response"]["result"][0]["campaign_status"] == "3"


async def test_campaign_cdrs_and_statistics_with_dnd(api_env, make_cdr) -> None:
    list_id = await new_list(api_env, contacts=CONTACTS)
    dnd_id = await new_dnd(api_env, ["918000680002"])
    status, body = await api_env.call(
        "POST", "/api/create_campaign", campaign_body(list_id, dnd_list_id=dnd_id)
    )
    campaign_id = body["response"]["campaign_id"]
    status, body = await api_env.call(
        "POST", "/api/get_cdr_by_campaign_id", {"campaign_id": campaign_id}
    )
    assert status == 404  # nothing dialed yet

    dialed: list[str] = []

    async def place_call(request: DialRequest) -> CallOutcome:
        dialed.append(request.number)
        api_env.cdrs.insert(
            make_cdr(
                request_id=request.request_id,
                call_direction="outbound-campaign",
                destination_context=request.context,
                agent_number="",
                customer_number="",
                dialed_number=request.number,
                campaign_id=request.campaign.id,
                list_id=request.list_id,
            )
        )
        return CallOutcome(True, 200, "ANSWER", 1.0, 20.0, answered_at=5.0)

    manager = CampaignManager(api_env.switch.store.db)
    dialer = Dialer(manager, place_call, cdrs=api_env.cdrs)
    await dialer.start()
    for _ in range(100):
        if {j.status for j in manager.jobs.of_campaign(campaign_id)} <= {
            JobStatus.NOT_DONE,
            JobStatus.LONG_CALL_WITH_NO_RESULT,
        }:
            break
        await asyncio.sleep(0.01)
    await dialer.stop()
    assert dialed == ["919979270001"]

    status, body = await api_env.call(
        "POST", "/api/get_cdr_by_campaign_id", {"campaign_id": campaign_id}
    )
    assert status == 200
    rows = body["response"]["result"]
    by_number = {r["dialed_number"]: r for r in rows}
    dnd = by_number["918000680002"]
    assert (dnd["dial_status"], dnd["is_dnd"], dnd["list_id"]) == ("DND", "1", list_id)
    assert dnd["answer"] == "Thu, 01 Jan 1970 00:00:00 GMT" and dnd["billsec"] is None
    assert dnd["call_direction"] == "outbound-campaign"
    assert dnd["destination_context"] == "local_call_campaign_type_0"
    # as the spec shows: campaign rows carry no request_id (a dialer attempt's is internal)
    assert {r["request_id"] for r in rows} == {""}
    assert by_number["919979270001"]["is_dnd"] == "0"
    status, body = await api_env.call(
        "POST", "/api/get_campaign_cdr_statistics", {"campaign_id": campaign_id}
    )
    assert status == 200
    assert body["response"]["result"] == {
        "answer_calls": [1],
        "busy_calls": [0],
        "cancel_calls": [0],
        "chanunavail_calls": [0],
        "congestion_calls": [0],
        "dnd_calls": [1],
        "noanswer_calls": [0],
        "total_calls": [2],
    }
    status, _ = await api_env.call(
        "POST", "/api/get_campaign_cdr_statistics", {"campaign_id": campaign_id}, headers=ACCOUNT_2
    )
    assert status == 404


async def test_authentication_required(api_env) -> None:
    status, body = await api_env.call(
        "POST", "/api/create_campaign_list", {"list_name": "x"}, headers={}
    )
    assert status == 401
    status, body = await api_env.call(
        "GET", "/api/get_campaign_details", headers={"account": "account_1", "auth": "wrong"}
    )
    assert status == 401


@pytest.mark.parametrize(
    "path",
    ["/api/get_cdr_by_campaign_id", "/api/get_campaign_cdr_statistics", "/api/stop_campaign"],
)
async def test_unknown_campaign(api_env, path) -> None:
    status, body = await api_env.call("POST", path, {"campaign_id": "CM0000000000"})
    assert status == 404 and body["response"]["success"] == "false"
