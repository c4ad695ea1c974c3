"""/api/callback: create, move, delete, list; zones, past times, DST gaps, scoping."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from api.cpaas.callbacks import due_time
from api.cpaas.responses import ApiError
from tests.api.conftest import ACCOUNT_2, on_both_engines

# the store behind the API: every test of api_env here on SQLite and on PostgreSQL
api_store = on_both_engines


def later(zone: str = "Asia/Kolkata", **delta: float) -> str:
    return (datetime.now(ZoneInfo(zone)) + timedelta(**(delta or {"hours": 2}))).strftime(
        "%Y-%m-%d %H:%M:%S"
    )


def body(**change: str) -> dict:
    return {
        "agent_number": "101",
        "caller_id": "15168148111",
        "destination_number": "102",
        "recording_option": "off",
        "time_zone": "Asia/Kolkata",
        "scheduled_at": later(),
        **change,
    }


async def listing(api_env, headers=None) -> list[dict]:
    status, answer = await api_env.call("GET", "/api/callback", headers=headers)
    assert status == 200
    return answer["response"]["result"]


async def test_create_modify_delete(api_env) -> None:
    status, answer = await api_env.call("POST", "/api/callback", body())
    assert status == 200 and answer["response"]["success"] == "true"
    request_id = answer["response"]["request_id"]
    assert len(request_id) == 10
    [item] = await listing(api_env)
    assert item["status"] == "pending" and item["time_zone"] == "Asia/Kolkata"

    new_time = later(hours=3)
    status, answer = await api_env.call(
        "PATCH",
        "/api/callback",
        {
            "request_id": request_id,
            "agent_number": "102",
            "destination_number": "101",
            "recording_option": "on",
            "scheduled_at": new_time,
        },
    )
    assert answer == {
        "response": {
            "message": "callback data modified successfully",
            "request_id": request_id,
            "success": "true",
        }
    }
    [item] = await listing(api_env)
    assert (item["agent_number"], item["destination_number"]) == ("102", "101")
    assert item["recording_option"] == "both" and item["scheduled_at"] == new_time
    # the due time follows the stored zone
    row = api_env.switch.store.db.execute(
        "SELECT due_at FROM callbacks WHERE request_id = ?", [request_id]
    ).fetchone()
    expected = (
        datetime.strptime(new_time, "%Y-%m-%d %H:%M:%S")
        .replace(tzinfo=ZoneInfo("Asia/Kolkata"))
        .timestamp()
    )
    assert row[0] == expected

    # another account can neither see, change nor delete it
    assert await listing(api_env, ACCOUNT_2) == []
    status, _ = await api_env.call(
        "PATCH",
        "/api/callback",
        {"request_id": request_id, "agent_number": "101"},
        headers=ACCOUNT_2,
    )
    assert status == 404
    status, _ = await api_env.call(
        "DELETE", "/api/callback", {"request_id": request_id}, headers=ACCOUNT_2
    )
    assert status == 404

    status, answer = await api_env.call("DELETE", "/api/callback", {"request_id": request_id})
    assert answer == {
        "response": {
            "message": "callback request deleted successfully",
            "request_id": request_id,
            "success": "true",
        }
    }
    assert await listing(api_env) == []
    status, _ = await api_env.call("DELETE", "/api/callback", {"request_id": request_id})
    assert status == 404


@pytest.mark.parametrize(
    "change, message",
    [
        ({"scheduled_at": later(hours=-1)}, "scheduled_at: "),
        ({"scheduled_at": "2023-08-15 12:55"}, "scheduled_at: '2023-08-15 12:55' is not"),
        ({"time_zone": "Mars/Olympus"}, "time_zone: unknown time zone 'Mars/Olympus'"),
        ({"time_zone": ""}, "time_zone: "),
        ({"agent_number": "777"}, "agent_number: "),
        ({"recording_option": "maybe"}, "recording_option: "),
    ],
)
async def test_refusals_create_nothing(api_env, change, message) -> None:
    status, answer = await api_env.call("POST", "/api/callback", body(**change))
    assert status == 400 and answer["response"]["message"].startswith(message), answer
    assert await listing(api_env) == []


async def test_patch_refusals_leave_the_callback_unchanged(api_env) -> None:
    _, answer = await api_env.call("POST", "/api/callback", body())
    request_id = answer["response"]["request_id"]
    before = await listing(api_env)
    for change, status_wanted in (
        ({"time_zone": "Nowhere"}, 400),
        ({"scheduled_at": later(hours=-2)}, 400),
        ({"destination_number": "1"}, 400),
    ):
        status, _ = await api_env.call(
            "PATCH", "/api/callback", {"request_id": request_id, "agent_number": "102", **change}
        )
        assert status == status_wanted
    assert await listing(api_env) == before
    status, answer = await api_env.call(
        "PATCH", "/api/callback", {"request_id": "zz", "agent_number": "102"}
    )
    assert status == 400 and answer["response"]["message"].startswith("request_id:")


async def test_a_fired_callback_can_no_longer_change(api_env) -> None:
    _, answer = await api_env.call("POST", "/api/callback", body())
    request_id = answer["response"]["request_id"]
    api_env.switch.store.db.execute(
        "UPDATE callbacks SET status = 'done' WHERE request_id = ?", [request_id]
    )
    status, answer = await api_env.call("DELETE", "/api/callback", {"request_id": request_id})
    assert status == 409 and "done" in answer["response"]["message"]


def test_due_time_in_zones() -> None:
    now = datetime(2024, 3, 1, tzinfo=ZoneInfo("UTC")).timestamp()
    assert (
        due_time("2024-03-01 12:00:00", "Asia/Kolkata", now)
        == datetime(2024, 3, 1, 6, 30, tzinfo=ZoneInfo("UTC")).timestamp()
    )
    assert (
        due_time("2024-03-01 12:00:00", "US/Eastern", now)
        == datetime(2024, 3, 1, 17, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    )
    # 02:30 on the spring-forward night does not exist in New York
    with pytest.raises(ApiError, match="daylight saving gap"):
        due_time("2024-03-10 02:30:00", "America/New_York", now)
    with pytest.raises(ApiError, match="in the past"):
        due_time("2024-02-29 23:59:59", "UTC", now)
