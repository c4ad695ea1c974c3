"""A campaign end to end: lists and DND through the CPaaS API, the dialer calling real
phones behind kamailio, reports through the JAICP Calls API, CDRs through the CPaaS API."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.campaigns import open_now
from tests.peers.baresip import BaresipAccount
from tests.peers.kamailio import Kamailio, KamailioConfig, customer_trunk
from tests.peers.process import wait_until

pytestmark = pytest.mark.peers

HEADERS = {"account": "account_1", "auth": "secret-one"}
PRESSES = "5551001"  # answers and presses 1
SILENT = "5551002"  # answers, presses nothing
BUSY = "5551003"  # rejects with 486
NOBODY = "5551004"  # not registered: the carrier says 404
BLOCKED = "5551005"  # on the DND list


@pytest.fixture
def carrier(tmp_path, ports):
    users = {"trunkuser": "trunkpass", PRESSES: "pw1", SILENT: "pw2", BUSY: "pw3"}
    kam = Kamailio(tmp_path / "kamailio", KamailioConfig(port=ports.port(), users=users))
    kam.start()
    yield kam
    kam.stop()


def api(server, path: str, body: dict | None = None, method: str = "POST") -> dict:
    response = httpx.request(method, server.url + path, json=body, headers=HEADERS, timeout=30)
    return response.json()


def test_campaign_against_real_phones(carrier, server_factory, phone_factory):
    server = server_factory(trunks=[customer_trunk(carrier)])
    carrier.wait_registered("trunkuser")
    phones = {}
    for number, password, mode in (
        (PRESSES, "pw1", "auto"),
        (SILENT, "pw2", "auto"),
        (BUSY, "pw3", "manual"),
    ):
        phones[number] = phone_factory(
            BaresipAccount(number, password, registrar=carrier.address, answermode=mode),
            tone_hz=300.0,
        )
        phones[number].wait_registered()

    list_id = api(server, "/api/create_campaign_list", {"list_name": "e2e"})["response"]["list_id"]
    contacts = [
        {
            "contact_name": f"c{n[-1]}",
            "contact_number": n,
            "contact_fields": {"field1": f"customer {n[-1]}"},
        }
        for n in (PRESSES, SILENT, BUSY, NOBODY, BLOCKED)
    ]
    added = api(server, "/api/add_contact_to_list", {"list_id": list_id, "contacts": contacts})
    assert added["response"]["success"] == "true", added
    dnd_id = api(server, "/api/create_campaign_dnd_list", {"dnd_list_name": "blocked"})["response"][
        "dnd_list_id"
    ]
    api(
        server,
        "/api/add_dnd_contact_to_list",
        {
            "dnd_list_id": dnd_id,
            "dnd_contacts": [{"dnd_contact_name": "no calls", "dnd_contact_number": BLOCKED}],
        },
    )
    created = api(
        server,
        "/api/create_campaign",
        open_now(
            list_id,
            "e2e survey",
            "1",
            dnd_list_id=dnd_id,
            calls_per_minute="120",
            flow=[
                {
                    "type": "gather",
                    "num_digits": 1,
                    "timeout": 6,
                    "prompt": {"type": "say", "text": "Hello {field1}, press one to confirm."},
                    "branches": {
                        "1": [
                            {"type": "set_result", "value": "confirmed"},
                            {"type": "report", "header": "answer", "value": "{digits}", "order": 1},
                        ]
                    },
                },
                {"type": "say", "text": "Goodbye"},
            ],
        ),
    )
    assert created["response"]["success"] == "true", created
    campaign_id, token = created["response"]["campaign_id"], created["response"]["token"]

    # the phones: one presses 1, one listens, one rejects
    busy = phones[BUSY]
    busy.wait_incoming(timeout=30)
    busy.command("/hangup")
    presses = phones[PRESSES]
    presses.wait_call_established(timeout=30)
    time.sleep(1.5)
    presses.send_dtmf("1")
    phones[SILENT].wait_call_established(timeout=30)

    def report():
        rows = httpx.post(
            f"{server.url}/api/calls/campaign/{token}/callJob/getReport",
            json={"phones": [PRESSES, SILENT, BUSY, NOBODY, BLOCKED]},
            timeout=10,
        ).json()
        statuses = {r["phone"]: r["jobStatus"] for r in rows}
        finished = all(s not in ("planned", "inProcess", "onRetry") for s in statuses.values())
        return finished and len(statuses) == 5 and rows

    rows = {r["phone"]: r for r in wait_until(report, 60, what="every job resolved")}
    assert rows[PRESSES]["jobStatus"] == "longCallWithResult"
    assert rows[PRESSES]["callResult"] == "confirmed"
    assert rows[SILENT]["jobStatus"] == "longCallWithNoResult"
    assert rows[BUSY]["jobStatus"] == "noAnswer"
    assert rows[NOBODY]["jobStatus"] == "nonexistentNumber"
    # a DND number is never called: the job ends notDone without an attempt
    assert (rows[BLOCKED]["jobStatus"], rows[BLOCKED]["attemptsCount"]) == ("notDone", 0)
    assert rows[PRESSES]["attemptsCount"] == 1

    cdrs = api(server, "/api/get_cdr_by_campaign_id", {"campaign_id": campaign_id})
    by_number = {c["dialed_number"]: c for c in cdrs["response"]["result"]}
    assert by_number[PRESSES]["dial_status"] == "ANSWER"
    assert by_number[PRESSES]["dtmf_inputs"] == "1"
    assert by_number[BUSY]["dial_status"] == "BUSY"
    assert by_number[NOBODY]["dial_status"] == "CHANUNAVAIL"
    assert by_number[BLOCKED]["dial_status"] == "DND"
    assert by_number[BLOCKED]["is_dnd"] == "1"
    assert all(c["destination_context"] == "local_call_campaign_type_1" for c in by_number.values())
    # nobody on the DND list was ever called: its only CDR is the DND row
    assert [
        c["dial_status"] for c in cdrs["response"]["result"] if c["dialed_number"] == BLOCKED
    ] == ["DND"]
