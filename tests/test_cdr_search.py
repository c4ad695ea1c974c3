"""softswitch/store/cdr_search.py: the console's CDR filter and per-period counts, on a
real SQLite store."""

from __future__ import annotations

from softswitch.store import Store
from softswitch.store.cdr_search import CdrFilter, CdrSearch
from softswitch.store.cdrs import Cdr, CdrStore

DAY = 86400.0
T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC


def cdr(account: str, when: float, status: str, customer: str, caller: str = "15168148111") -> Cdr:
    return Cdr(
        account_id=account,
        request_id="0123456789",
        call_direction="outbound-api",
        destination_context="click2call",
        caller_id=caller,
        agent_number="101",
        customer_number=customer,
        dialed_number=customer,
        call_date=when,
        answer=None,
        end=None,
        call_duration=None,
        billsec=None,
        call_status=None,
        dial_status=status,
    )


def test_find_filters_by_range_number_and_status_newest_first(store_url):
    store = Store(store_url)
    cdrs = CdrStore(store.db)
    ids = [
        cdrs.insert(cdr("a", T0 + 10, "ANSWER", "5551001")),
        cdrs.insert(cdr("a", T0 + 20, "BUSY", "5552002")),
        cdrs.insert(cdr("a", T0 + DAY, "ANSWER", "5551001")),  # the end is exclusive
        cdrs.insert(cdr("b", T0 + 30, "ANSWER", "5551001")),
        cdrs.insert(cdr("a", T0 + 40, "NOANSWER", "777", caller="4455512")),
    ]
    search = CdrSearch(store.db)
    day = CdrFilter(T0, T0 + DAY)
    assert [c.id for c in search.find("a", day)] == [ids[4], ids[1], ids[0]]
    assert [c.id for c in search.find("a", CdrFilter(T0, T0 + DAY, number="555"))] == [
        ids[4],  # its caller id has 555 in it
        ids[1],
        ids[0],
    ]
    assert [c.id for c in search.find("a", CdrFilter(T0, T0 + DAY, number="1001"))] == [ids[0]]
    # "%" and "_" are no wildcards here
    assert search.find("a", CdrFilter(T0, T0 + DAY, number="5%")) == []
    assert [c.id for c in search.find("a", CdrFilter(T0, T0 + DAY, dial_status="BUSY"))] == [ids[1]]
    assert [c.id for c in search.find("a", day, limit=1)] == [ids[4]]
    assert search.get("a", ids[0]) is not None and search.get("a", ids[3]) is None
    store.close()


def test_per_period_counts_calls_and_answered(store_url):
    store = Store(store_url)
    cdrs = CdrStore(store.db)
    for when, status in ((T0 + 60, "ANSWER"), (T0 + 120, "BUSY"), (T0 + 7200, "ANSWER")):
        cdrs.insert(cdr("a", when, status, "5551001"))
    cdrs.insert(cdr("b", T0 + 60, "ANSWER", "5551001"))
    search = CdrSearch(store.db)
    window = CdrFilter(T0, T0 + DAY)
    assert search.per_period("a", window, 3600) == [(T0, 2, 1), (T0 + 7200, 1, 1)]
    assert search.per_period("a", window, 86400) == [(T0, 3, 2)]
    assert search.per_period("a", CdrFilter(T0, T0 + DAY, dial_status="BUSY"), 3600) == [(T0, 1, 0)]
    store.close()
