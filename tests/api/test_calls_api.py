"""The JAICP Calls API over HTTP (Starlette app in-process, manual clock)."""

from __future__ import annotations

import asyncio
import re
import threading
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette

from api.calls import routes
from softswitch.campaigns.clock import ManualClock
from softswitch.campaigns.manager import CampaignManager
from softswitch.campaigns.model import Campaign, CampaignStatus, new_campaign_id, new_token
from softswitch.store import Store
from softswitch.store.engine import Dialect

START = datetime(2024, 3, 4, 12, tzinfo=UTC).timestamp()
DAY = 24 * 3600


@pytest.fixture
def store(store_url: str):
    s = Store(store_url)
    yield s
    s.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def manager(store: Store, clock: ManualClock) -> CampaignManager:
    return CampaignManager(store.db, clock)


def new_campaign(manager: CampaignManager, account: str = "acc1", **fields) -> Campaign:
    cid = new_campaign_id()
    fields.setdefault("status", CampaignStatus.IN_PROCESS)
    return manager.create(
        Campaign(
            id=cid,
            account_id=account,
            name=fields.pop("name", cid),
            token=new_token(account, cid),
            **fields,
        )
    )


@pytest.fixture
def campaign(manager: CampaignManager) -> Campaign:
    return new_campaign(manager)


@pytest.fixture
async def client(manager: CampaignManager):
    app = Starlette(routes=routes(None, manager))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as c:
        yield c


def url(campaign: Campaign, tail: str = "") -> str:
    return f"/api/calls/campaign/{campaign.token}{tail}"


def jobs_of(manager: CampaignManager, campaign: Campaign) -> int:
    return len(manager.jobs.of_campaign(campaign.id))


# -- tokens -------------------------------------------------------------------------------


def test_token_format(campaign: Campaign) -> None:
    assert re.fullmatch(r"acc1\.CM[0-9a-f]{10}\.[0-9a-f]{24}", campaign.token)


async def test_bad_and_unknown_tokens(client, campaign, manager) -> None:
    r = await client.get("/api/calls/campaign/not-a-token/status")
    assert r.status_code == 401 and r.json()["type"] == "token.invalid"
    account, cid, secret = campaign.token.split(".")
    r = await client.get(f"/api/calls/campaign/{account}.{cid}.{'0' * 24}/status")
    assert r.status_code == 401
    # an unknown campaign, or another account's, is refused like a wrong secret: without
    # the right token nobody learns whether a campaign exists
    r = await client.get(f"/api/calls/campaign/{account}.CM0000000000.{secret}/status")
    assert r.status_code == 401 and r.json()["type"] == "token.invalid"
    r = await client.get(f"/api/calls/campaign/other.{cid}.{secret}/status")
    assert r.status_code == 401 and r.json()["type"] == "token.invalid"
    r = await client.post("/api/calls/campaign/x.y.z/addPhones", json=[{"phone": "1"}])
    assert r.status_code == 401
    assert jobs_of(manager, campaign) == 0


# -- addPhones ----------------------------------------------------------------------------


async def test_add_phones_returns_job_ids(client, campaign, manager) -> None:
    body = [
        {
            "phone": "79123456789",
            "payload": {"name": "Alex", "age": 34},
            "allowedTime": {
                "mon": [
                    {"localTimeFrom": "10:00", "localTimeTo": "11:30"},
                    {"localTimeFrom": "13:00", "localTimeTo": "14:30"},
                ],
                "default": [{"localTimeFrom": "10:00", "localTimeTo": "18:00"}],
            },
            "retryIntervalInMinutes": 120,
            "maxAttempts": 0,
            "gmtZone": "-05:00",
        },
        {"phone": 16500000000, "dialerPriority": 2},
    ]
    r = await client.post(
        url(campaign, "/addPhones"), json=body, headers={"Idempotence-Key": "d5f41bd4"}
    )
    assert r.status_code == 200, r.text
    ids = r.json()
    assert len(ids) == 2 and all(isinstance(i, int) for i in ids)
    first = manager.jobs.get(ids[0])
    assert first.payload == {"name": "Alex", "age": 34}
    assert first.retry_interval == 120 * 60 and first.gmt_zone == "-05:00"
    # 12:00 UTC Monday is 07:00 at -05:00; Monday's first interval opens 10:00 local
    assert first.next_at == datetime(2024, 3, 4, 15, tzinfo=UTC).timestamp()
    assert manager.jobs.get(ids[1]).priority == 2


async def test_duplicates_inside_one_request(client, campaign, manager) -> None:
    body = [
        {"phone": "79123456789", "payload": {"Name": "Alex"}},
        {"phone": "79123456789", "payload": {"Name": "Alex"}},
        {"phone": "9991112223330"},
        {"phone": "9991112223330"},
        {"phone": "79123456789", "payload": {"Name": "Bob"}},
    ]
    r = await client.post(url(campaign, "/addPhones"), json=body)
    assert r.status_code == 400
    assert r.json() == {
        "type": "phone.duplicated",
        "phone": "9991112223330",
        "message": "",
        "phonesDuplicates": ["9991112223330", "79123456789"],
    }
    assert jobs_of(manager, campaign) == 0
    # same phone, different payloads: not duplicates
    r = await client.post(
        url(campaign, "/addPhones"),
        json=[
            {"phone": "79123456789", "payload": {"Name": "Alex"}},
            {"phone": "79123456789", "payload": {"Name": "Bob"}},
            {"phone": "79123456789"},
        ],
    )
    assert r.status_code == 200 and len(r.json()) == 3


async def test_no_key_twice_within_24h_is_an_error_then_allowed(
    client, campaign, manager, clock
) -> None:
    body = [{"phone": "16500000000", "payload": {"a": 1}}]
    first = await client.post(url(campaign, "/addPhones"), json=body)
    assert first.status_code == 200
    clock._now += DAY - 1
    again = await client.post(url(campaign, "/addPhones"), json=body)
    assert again.status_code == 400
    assert again.json()["type"] == "phone.duplicated"
    assert again.json()["phonesDuplicates"] == ["16500000000"]
    assert jobs_of(manager, campaign) == 1
    clock._now += 2
    later = await client.post(url(campaign, "/addPhones"), json=body)
    assert later.status_code == 200 and later.json() != first.json()
    assert jobs_of(manager, campaign) == 2


async def test_same_key_returns_the_same_ids_and_expires_after_24h(
    client, campaign, manager, clock
) -> None:
    body = [{"phone": "16500000000"}, {"phone": "16500000001"}]
    headers = {"Idempotence-Key": "k-1"}
    first = await client.post(url(campaign, "/addPhones"), json=body, headers=headers)
    clock._now += DAY - 1
    again = await client.post(url(campaign, "/addPhones"), json=body, headers=headers)
    assert again.status_code == 200 and again.json() == first.json()
    assert jobs_of(manager, campaign) == 2
    clock._now += 2
    expired = await client.post(url(campaign, "/addPhones"), json=body, headers=headers)
    assert expired.status_code == 200 and set(expired.json()).isdisjoint(first.json())
    assert jobs_of(manager, campaign) == 4


async def test_different_keys_or_one_missing_create_new_jobs(client, campaign, manager) -> None:
    body = [{"phone": "16500000000"}]
    a = await client.post(url(campaign, "/addPhones"), json=body, headers={"Idempotence-Key": "a"})
    b = await client.post(url(campaign, "/addPhones"), json=body, headers={"Idempotence-Key": "b"})
    c = await client.post(url(campaign, "/addPhones"), json=body)
    assert [r.status_code for r in (a, b, c)] == [200, 200, 200]
    assert len({r.json()[0] for r in (a, b, c)}) == 3


async def test_keys_are_scoped_to_the_account(client, campaign, manager) -> None:
    sibling = new_campaign(manager, "acc1")
    stranger = new_campaign(manager, "acc2")
    body = [{"phone": "16500000000"}]
    headers = {"Idempotence-Key": "shared"}
    first = await client.post(url(campaign, "/addPhones"), json=body, headers=headers)
    # another campaign of the same account: the key already stands for the first request
    same = await client.post(url(sibling, "/addPhones"), json=body, headers=headers)
    assert same.json() == first.json() and jobs_of(manager, sibling) == 0
    other = await client.post(url(stranger, "/addPhones"), json=body, headers=headers)
    assert other.status_code == 200 and other.json() != first.json()
    assert jobs_of(manager, stranger) == 1


async def test_concurrent_identical_requests_create_one_job(client, campaign, manager) -> None:
    body = [{"phone": str(16500000000 + i)} for i in range(2500)]
    responses = await asyncio.gather(
        *[
            client.post(url(campaign, "/addPhones"), json=body, headers={"Idempotence-Key": "same"})
            for _ in range(4)
        ]
    )
    assert all(r.status_code == 200 for r in responses)
    assert len({tuple(r.json()) for r in responses}) == 1
    assert jobs_of(manager, campaign) == 2500


def test_concurrent_processes_sharing_the_store_create_one_job(store_url, clock) -> None:
    # four connections (as four processes or nodes would have) racing on one database
    first = Store(store_url)
    setup = CampaignManager(first.db, clock)
    campaign = new_campaign(setup)
    results: list[list[int]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        store = Store(store_url)
        if store.db.dialect is Dialect.SQLITE:
            store.db.conn.execute("PRAGMA busy_timeout = 10000")
        try:
            m = CampaignManager(store.db, clock)
            barrier.wait()
            results.append(m.add_phones(campaign, [{"phone": "16500000000"}], "race"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({tuple(r) for r in results}) == 1
    assert len(setup.jobs.of_campaign(campaign.id)) == 1
    first.close()


@pytest.mark.parametrize(
    "item,where",
    [
        (
            {"phone": "1", "allowedTime": {"default": [{"localTimeFrom": "10:00"}]}},
            "[0].allowedTime.default[0].localTimeTo",
        ),
        (
            {
                "phone": "1",
                "allowedTime": {
                    "default": [
                        {"localTimeFrom": "10:00", "localTimeTo": "13:30"},
                        {"localTimeFrom": "13:00", "localTimeTo": "14:30"},
                    ]
                },
            },
            "overlap",
        ),
        ({"phone": "1", "gmtZone": "+25:00"}, "[0].gmtZone"),
        ({"phone": "1", "gmtZone": "Mars/Olympus"}, "[0].gmtZone"),
        ({"phone": "abc"}, "[0].phone"),
        ({"payload": {}}, "[0].phone is required"),
        ({"phone": "1", "allowedDays": ["mon", "someday"]}, "allowedDays[1]"),
        ({"phone": "1", "startDateTime": "soon"}, "startDateTime"),
        ({"phone": "1", "maxAttempts": "many"}, "maxAttempts"),
    ],
)
async def test_invalid_entries_are_refused_whole(client, campaign, manager, item, where) -> None:
    r = await client.post(url(campaign, "/addPhones"), json=[item])
    assert r.status_code == 400
    assert r.json()["type"] == "request.invalid" and where in r.json()["message"]
    assert jobs_of(manager, campaign) == 0


async def test_payload_is_arbitrary_data(client, campaign, manager) -> None:
    body = [
        {"phone": "79123456701", "payload": "VIP"},
        {"phone": "79123456702", "payload": [1, {"a": 2}]},
        {"phone": "79123456703", "payload": 42},
    ]
    r = await client.post(url(campaign, "/addPhones"), json=body)
    assert r.status_code == 200, r.text
    r = await client.post(url(campaign, "/callJob/getReport"), json={"ids": r.json()})
    assert [row["payload"] for row in r.json()] == ["VIP", [1, {"a": 2}], 42]
    # the same non-object payload twice in one request is a duplicate like any other
    r = await client.post(url(campaign, "/addPhones"), json=[body[0], body[0]])
    assert r.status_code == 400 and r.json()["type"] == "phone.duplicated"


async def test_crm_add_phone_takes_the_spec_example_with_an_unencoded_plus(
    client, campaign, manager
) -> None:
    # calls-api-crm-addPhone.txt: ...addPhone?phone=79123456789&gmtZone=+03:30&name=Alex
    r = await client.post(
        f"/api/crmCalls/campaign/{campaign.token}/addPhone"
        "?phone=79123456789&gmtZone=+03:30&name=Alex"
    )
    assert r.status_code == 200, r.text
    assert manager.jobs.get(int(r.text)).gmt_zone == "+03:30"


async def test_overnight_interval_is_accepted(client, campaign) -> None:
    r = await client.post(
        url(campaign, "/addPhones"),
        json=[
            {
                "phone": "1",
                "allowedTime": {"default": [{"localTimeFrom": "20:00", "localTimeTo": "03:00"}]},
            }
        ],
    )
    assert r.status_code == 200


async def test_body_must_be_an_array_of_json(client, campaign) -> None:
    r = await client.post(url(campaign, "/addPhones"), content=b"{not json")
    assert r.status_code == 400 and "invalid JSON" in r.json()["message"]
    r = await client.post(url(campaign, "/addPhones"), json={"phone": "1"})
    assert r.status_code == 400
    r = await client.post(url(campaign, "/addPhones"), json=[])
    assert r.status_code == 400


@pytest.mark.parametrize(
    "given,expected",
    [(None, 5), (1, 1), (5, 5), (7, 5), (0, 5), (-1, 5), ("2", 2), (2.5, 5), (True, 5)],
)
async def test_dialer_priority(client, campaign, manager, given, expected) -> None:
    item = {"phone": "1"} if given is None else {"phone": "1", "dialerPriority": given}
    r = await client.post(url(campaign, "/addPhones"), json=[item])
    assert manager.jobs.get(r.json()[0]).priority == expected


async def test_finished_campaign_takes_no_numbers(client, campaign, manager) -> None:
    manager.stop(campaign)
    r = await client.post(url(campaign, "/addPhones"), json=[{"phone": "1"}])
    assert r.status_code == 400 and r.json()["type"] == "campaign.finished"


# -- crmCalls ------------------------------------------------------------------------------


async def test_crm_add_phone_get_and_post(client, campaign, manager) -> None:
    crm = f"/api/crmCalls/campaign/{campaign.token}"
    r = await client.get(
        f"{crm}/addPhone", params={"phone": "79123456789", "gmtZone": "+03:30", "name": "Alex"}
    )
    assert r.status_code == 200 and r.text.isdigit()
    job = manager.jobs.get(int(r.text))
    assert job.payload == {"name": "Alex"} and job.gmt_zone == "+03:30"
    # a duplicate without a key within 24 h
    again = await client.get(f"{crm}/addPhone", params={"phone": "79123456789", "name": "Alex"})
    assert again.status_code == 400 and again.json()["type"] == "phone.duplicated"
    # POST with form parameters and the key in the header
    r1 = await client.post(
        f"{crm}/addPhone?phone=79123456780&gmtZone=%2B03:30&name=Alex",
        headers={
            "Idempotence-Key": "d5f41bd4",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    r2 = await client.post(
        f"{crm}/addPhone",
        data={"phone": "79123456780", "gmtZone": "+03:30", "name": "Alex"},
        headers={"Idempotence-Key": "d5f41bd4"},
    )
    assert r1.status_code == 200 and r1.text == r2.text
    # the GET form takes the key as a query parameter
    k1 = await client.get(f"{crm}/addPhone", params={"phone": "1", "Idempotence-Key": "q"})
    k2 = await client.get(f"{crm}/addPhone", params={"phone": "1", "Idempotence-Key": "q"})
    assert k1.text == k2.text
    assert "Idempotence-Key" not in manager.jobs.get(int(k1.text)).payload
    bad = await client.get(f"{crm}/addPhone", params={"gmtZone": "Z"})
    assert bad.status_code == 400


async def test_crm_test_add_phone_has_no_duplicate_restriction(client, campaign, manager) -> None:
    crm = f"/api/crmCalls/campaign/{campaign.token}"
    ids = [
        (await client.get(f"{crm}/test/addPhone", params={"phone": "79123456789"})).text
        for _ in range(3)
    ]
    assert len(set(ids)) == 3
    # test additions do not block a real addition either
    r = await client.get(f"{crm}/addPhone", params={"phone": "79123456789"})
    assert r.status_code == 200


# -- cancel and reports -------------------------------------------------------------------


async def test_cancel_by_phone_and_id(client, campaign, manager) -> None:
    ids = (
        await client.post(
            url(campaign, "/addPhones"), json=[{"phone": "100"}, {"phone": "200"}, {"phone": "300"}]
        )
    ).json()
    r = await client.post(
        url(campaign, "/callJob/cancel"), json={"phones": ["200"], "ids": [ids[0]]}
    )
    assert r.status_code == 200 and r.json() == [ids[0], ids[1]]
    report = (await client.post(url(campaign, "/callJob/getReport"), json={"ids": ids})).json()
    assert [row["jobStatus"] for row in report] == ["canceled", "canceled", "planned"]
    # jobs from a contact list cannot be canceled through the Calls API
    from softswitch.store.jobs import NewJob

    (list_job,) = manager.jobs.add_many(
        [
            NewJob(
                campaign.id,
                campaign.account_id,
                "400",
                {},
                "",
                False,
                5,
                START,
                "",
                {},
                1,
                60.0,
                "list",
                START,
            )
        ]
    )
    r = await client.post(url(campaign, "/callJob/cancel"), json={"ids": [list_job]})
    assert r.json() == []
    r = await client.post(url(campaign, "/callJob/cancel"), json={})
    assert r.status_code == 400


async def test_a_form_that_cannot_be_parsed_is_a_request_error(client, campaign) -> None:
    # a multipart body without a boundary was a 500 (Starlette's HTTPException)
    r = await client.post(
        url(campaign, "/addPhone").replace("/calls/", "/crmCalls/"),
        headers={"content-type": "multipart/form-data"},
        content=b"phone=15551230001",
    )
    assert r.status_code == 400
    assert r.json() == {
        "type": "request.invalid",
        "message": "invalid form body: Missing boundary in multipart.",
    }


async def test_ids_no_job_can_have_select_nothing(client, campaign) -> None:
    # found by schemathesis: an id past SQLite's 64-bit range was a 500 (OverflowError)
    ids = (await client.post(url(campaign, "/addPhones"), json=[{"phone": "100"}])).json()
    for tail in ("/callJob/cancel", "/callJob/getReport", "/callAttempt/getReport"):
        r = await client.post(url(campaign, tail), json={"ids": [2**70, -(2**70), 0, -1]})
        assert (r.status_code, r.json()) == (200, []), tail
    r = await client.post(url(campaign, "/callJob/getReport"), json={"ids": [2**64, ids[0]]})
    assert [row["id"] for row in r.json()] == ids


async def test_reports(client, campaign, manager, clock) -> None:
    ids = (
        await client.post(
            url(campaign, "/addPhones"),
            json=[{"phone": "100", "payload": {"x": "1"}}, {"phone": "200"}],
        )
    ).json()
    attempt = manager.jobs.claim(ids[0], START + 1, "0123456789")
    attempt.answered_at, attempt.ended_at = START + 5, START + 65.4
    attempt.dial_status, attempt.sip_status, attempt.result = "ANSWER", 200, "sold"
    attempt.report_data = [("b", "2", 2), ("a", "1", 1)]
    from softswitch.campaigns.model import JobStatus

    manager.jobs.finish_attempt(attempt, JobStatus.LONG_CALL_WITH_RESULT, START + 66)
    for path in ("/callJob/getReport", "/getReport"):
        rows = (await client.post(url(campaign, path), json={"phones": [100, "200"]})).json()
        assert [r["id"] for r in rows] == ids
        row = rows[0]
        assert row["jobStatus"] == "longCallWithResult"
        assert row["startedAt"] == int((START + 1) * 1000)
        assert row["finishedAt"] == int((START + 65.4) * 1000)
        assert row["callDuration"] == 60 and row["callResult"] == "sold"
        assert list(row["reportData"].items()) == [("a", "1"), ("b", "2")]
        assert row["payload"] == {"x": "1"} and row["phone"] == "100"
        assert rows[1]["jobStatus"] == "planned" and rows[1]["startedAt"] is None
    attempts = (
        await client.post(url(campaign, "/callAttempt/getReport"), json={"ids": ids})
    ).json()
    assert len(attempts) == 1
    a = attempts[0]
    assert (a["callJobId"], a["attemptNumber"], a["dialStatus"]) == (ids[0], 1, "ANSWER")
    assert a["answeredAt"] == int((START + 5) * 1000) and a["callDuration"] == 60
    assert a["jobStatus"] == "longCallWithResult"
    # an unknown id is simply absent
    rows = (await client.post(url(campaign, "/callJob/getReport"), json={"ids": [999999]})).json()
    assert rows == []


# -- campaign info and control -----------------------------------------------------------


async def test_campaign_info_and_status(client, manager, clock) -> None:
    campaign = new_campaign(
        manager,
        status=CampaignStatus.PLANNED,
        start_at=START + 3600,
        end_at=START + 7200,
        max_simultaneous=7,
        name="spring",
    )
    await client.post(url(campaign, "/addPhones"), json=[{"phone": "1"}, {"phone": "2"}])
    info = (await client.get(url(campaign))).json()
    assert info["id"] == campaign.id and info["name"] == "spring"
    assert info["status"] == "planned" and info["maxSimultaneousCalls"] == 7
    assert info["creationDate"] == int(START * 1000)
    assert info["startTime"] == int((START + 3600) * 1000)
    assert info["endTime"] == int((START + 7200) * 1000)
    assert info["shortReport"] == {
        "totalNumbers": 2,
        "processedNumbers": 0,
        "usedTalkingTime": 0.0,
        "usedAsrSeconds": 0,
        "inProcessCalls": 0,
        "retryCalls": 0,
    }
    assert (await client.get(url(campaign, "/status"))).json() == "planned"


async def test_control(client, manager, clock) -> None:
    campaign = new_campaign(manager, status=CampaignStatus.PLANNED)
    ids = (await client.post(url(campaign, "/addPhones"), json=[{"phone": "1"}])).json()
    status = lambda: client.get(url(campaign, "/status"))  # noqa: E731
    assert (await client.post(url(campaign, "/control/start"))).json() == "inProcess"
    assert (await status()).json() == "inProcess"
    assert (await client.post(url(campaign, "/control/pause"))).json() == "paused"
    assert (await status()).json() == "paused"
    r = await client.post(url(campaign, "/control/pause"))
    assert r.status_code == 200 and r.json() == "paused"
    assert (await client.post(url(campaign, "/control/resume"))).json() == "inProcess"
    assert (await client.post(url(campaign, "/control/stop"))).json() == "finished"
    assert (await status()).json() == "finished"
    report = (await client.post(url(campaign, "/callJob/getReport"), json={"ids": ids})).json()
    assert report[0]["jobStatus"] == "notDone"
    r = await client.post(url(campaign, "/control/resume"))
    assert r.status_code == 400
    r = await client.post(url(campaign, "/control/start"))
    assert r.status_code == 400
