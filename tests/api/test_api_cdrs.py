"""CDR queries (by date with paging, by request id) and statistics, in the spec's shapes."""

from __future__ import annotations

from calendar import timegm
from datetime import datetime

import pytest

from softswitch.store.cdrs import CdrStore
from tests.api.conftest import ACCOUNT_2, on_both_engines

# the store behind the API: every test of api_env here on SQLite and on PostgreSQL
api_store = on_both_engines

SPEC_ROW_KEYS = [
    "account_id",
    "agent_number",
    "answer",
    "billsec",
    "call_date",
    "call_direction",
    "call_duration",
    "call_status",
    "caller_id",
    "customer_number",
    "destination_context",
    "dial_status",
    "dialed_number",
    "dtmf_inputs",
    "end",
    "id",
    "recording_name",
    "request_id",
    "transcript",
    "uniqueid",
]


def ts(text: str) -> float:
    return float(timegm(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").timetuple()))


async def test_cdr_row_shape_matches_the_spec(api_env, make_cdr) -> None:
    api_env.cdrs.insert(
        make_cdr(
            request_id="b5e66bf36f",
            call_date=ts("2023-07-07 06:08:09"),
            answer=ts("2023-07-07 06:08:09"),
            end=ts("2023-07-07 06:08:16"),
        )
    )
    status, body = await api_env.call(
        "POST", "/api/get_cdr_by_request_id", {"request_id": "b5e66bf36f"}
    )
    assert status == 200 and body["response"]["message"] == "cdr found"
    assert body["response"]["success"] == "true"
    [row] = body["response"]["result"]
    assert list(row) == SPEC_ROW_KEYS
    assert row["answer"] == "Fri, 07 Jul 2023 06:08:09 GMT"
    assert row["end"] == "Fri, 07 Jul 2023 06:08:16 GMT"
    assert row["billsec"] == 7.26955 and isinstance(row["id"], int)
    assert row["account_id"] == "account_1"


async def test_by_date_with_paging(api_env, make_cdr) -> None:
    start = ts("2023-06-12 23:00:00")
    # one call an hour from 2023-06-12 23:00 to 2023-06-18 22:00 UTC
    api_env.cdrs.insert_many(
        [make_cdr(request_id=f"{i:010x}", call_date=start + 3600 * i) for i in range(144)]
    )
    api_env.cdrs.insert_many([make_cdr(account_id="account_2", call_date=start + 7200)])
    query = {"start_call_date": "2023-06-13", "end_call_date": "2023-06-17"}
    status, body = await api_env.call(
        "POST", "/api/get_cdr_by_date", {**query, "record_count": "1000"}
    )
    rows = body["response"]["result"]
    assert len(rows) == 5 * 24  # 13th 00:00 .. 17th 23:00 inclusive
    assert rows[0]["call_date"] == "Tue, 13 Jun 2023 00:00:00 GMT"
    assert rows[-1]["call_date"] == "Sat, 17 Jun 2023 23:00:00 GMT"
    assert all(r["account_id"] == "account_1" for r in rows)
    status, body = await api_env.call(
        "POST", "/api/get_cdr_by_date", {**query, "record_count": "5", "offset": "1"}
    )
    page = body["response"]["result"]
    assert [r["id"] for r in page] == [r["id"] for r in rows[1:6]]
    # the default page is 1000 rows from offset 0
    status, body = await api_env.call("POST", "/api/get_cdr_by_date", query)
    assert len(body["response"]["result"]) == 120
    # past the end: nothing found
    status, body = await api_env.call("POST", "/api/get_cdr_by_date", {**query, "offset": 500})
    assert status == 404 and body["response"]["message"] == "cdr not found"
    # with a time of day the end is exact to the second
    status, body = await api_env.call(
        "POST",
        "/api/get_cdr_by_date",
        {"start_call_date": "2023-06-13 10:00:00", "end_call_date": "2023-06-13 12:00:00"},
    )
    assert [r["call_date"][17:25] for r in body["response"]["result"]] == [
        "10:00:00",
        "11:00:00",
        "12:00:00",
    ]
    status, body = await api_env.call(
        "POST",
        "/api/get_cdr_by_date",
        {"start_call_date": "2023-06-17", "end_call_date": "2023-06-13"},
    )
    assert status == 400 and body["response"]["message"].startswith("end_call_date:")


async def test_statistics_shape_and_scope(api_env, make_cdr) -> None:
    statuses = ["ANSWER"] * 5 + ["BUSY"] * 2 + ["NOANSWER", "CANCEL", "CHANUNAVAIL", "CONGESTION"]
    for status in statuses:
        api_env.cdrs.insert(make_cdr(dial_status=status))
    api_env.cdrs.insert(make_cdr(account_id="account_2", dial_status="BUSY"))
    status, body = await api_env.call("GET", "/api/get_cdr_statistics")
    assert body == {
        "response": {
            "result": {
                "answer_calls": [5],
                "busy_calls": [2],
                "cancel_calls": [1],
                "chanunavail_calls": [1],
                "congestion_calls": [1],
                "noanswer_calls": [1],
                "total_calls": [11],
            },
            "success": "true",
        }
    }
    status, body = await api_env.call("GET", "/api/get_cdr_statistics", headers=ACCOUNT_2)
    assert body["response"]["result"]["busy_calls"] == [1]
    assert body["response"]["result"]["total_calls"] == [1]


def test_store_counts_per_campaign_and_transcripts(api_env, make_cdr) -> None:
    store = CdrStore(api_env.switch.store.db)  # a second repository on the same tables
    cdr_id = store.insert(
        make_cdr(campaign_id="CMcc0cb33a01", dial_status="DND", is_dnd=True, list_id="LS50f6ec70b7")
    )
    store.insert(make_cdr(campaign_id="CMcc0cb33a01", dial_status="ANSWER"))
    store.insert(make_cdr(dial_status="ANSWER"))
    counts = store.statistics("account_1", "CMcc0cb33a01")
    assert counts["dnd_calls"] == 1 and counts["answer_calls"] == 1 and counts["total_calls"] == 2
    assert store.statistics("account_1")["total_calls"] == 3
    store.set_transcript(cdr_id, "agent: hello")
    got = store.get(cdr_id)
    assert got is not None and got.transcript == "agent: hello" and got.is_dnd is True
    assert [c.id for c in store.by_campaign("account_1", "CMcc0cb33a01")][0] == cdr_id
    assert store.by_campaign("account_2", "CMcc0cb33a01") == []


def test_a_row_and_its_count_land_together(api_env, make_cdr) -> None:
    from softswitch.store.engine import Dialect, IntegrityError

    db = api_env.switch.store.db
    # make the count fail after the row went in: the row must go too
    if db.dialect is Dialect.SQLITE:
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON cdr_counts WHEN NEW.dial_status = 'X'"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    else:
        db.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF NEW.dial_status = 'X' THEN RAISE check_violation USING MESSAGE = 'refused';"
            " END IF; RETURN NEW; END $$"
        )
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON cdr_counts FOR EACH ROW"
            " EXECUTE FUNCTION refuse()"
        )
    with pytest.raises(IntegrityError):
        api_env.cdrs.insert(make_cdr(dial_status="X"))
    assert db.execute("SELECT COUNT(*) FROM cdrs").fetchone()[0] == 0
    api_env.cdrs.insert(make_cdr())
    assert api_env.cdrs.statistics("account_1")["total_calls"] == 1


def _reference(
    rows: list[tuple[str, float, int]],
    account: str,
    start: float,
    end: float,
    limit: int,
    offset: int,
) -> list[int]:
    inside = sorted(
        (date, cid) for acc, date, cid in rows if acc == account and start <= date < end
    )
    return [cid for _, cid in inside[offset : offset + limit]]


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.sampled_from(["a", "b"]), st.integers(0, 30)),
        st.tuples(st.just("next"), st.sampled_from(["a", "b"]), st.integers(1, 4)),
        st.tuples(st.just("jump"), st.sampled_from(["a", "b"]), st.integers(0, 12)),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_OPS)
def test_paging_equals_offset_semantics_while_cdrs_arrive(ops) -> None:
    from softswitch.store import Store
    from softswitch.store.cdrs import Cdr

    db = Store(":memory:").db
    writer, reader = CdrStore(db), CdrStore(db)  # as in the server: separate repositories
    rows: list[tuple[str, float, int]] = []
    position = {"a": 0, "b": 0}
    start, end = 5.0, 25.0

    def cdr(account: str, date: float) -> Cdr:
        return Cdr(
            account_id=account,
            request_id="0123456789",
            call_direction="outbound-api",
            destination_context="click2call",
            caller_id="1",
            agent_number="101",
            customer_number="102",
            dialed_number="102",
            call_date=date,
            answer=None,
            end=None,
            call_duration=None,
            billsec=None,
            call_status=None,
            dial_status="NOANSWER",
        )

    for _ in range(20):
        date = float(_ % 30)
        rows.append(("a", date, writer.insert(cdr("a", date))))
    for op, account, value in ops:
        if op == "insert":
            rows.append((account, float(value), writer.insert(cdr(account, float(value)))))
            continue
        offset = position[account] if op == "next" else value
        limit = value if op == "next" else 3
        got = [c.id for c in reader.by_date(account, start, end, limit, offset)]
        assert got == _reference(rows, account, start, end, limit, offset), (op, offset, limit)
        position[account] = offset + len(got)
