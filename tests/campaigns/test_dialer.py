"""The dialer's scheduling, with a manual clock and a scripted network."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from softswitch.campaigns.clock import ManualClock
from softswitch.campaigns.dialer import INTERRUPTED, Dialer
from softswitch.campaigns.manager import CampaignManager
from softswitch.campaigns.model import CampaignStatus, JobStatus
from softswitch.store.cdrs import CdrStore
from softswitch.store.lists import Contact, ListKind
from tests.campaigns.conftest import MONDAY_NOON
from tests.campaigns.network import Behaviour, FakeNetwork

UTC = UTC


@pytest.fixture
def network(clock: ManualClock) -> FakeNetwork:
    return FakeNetwork(clock)


@pytest.fixture
async def dialer(manager: CampaignManager, network: FakeNetwork):
    d = Dialer(manager, network.place_call, cdrs=CdrStore(manager.db))
    await d.start()
    yield d
    await d.stop(grace=0)


def status(manager: CampaignManager, job_id: int) -> JobStatus:
    return manager.jobs.get(job_id).status


async def test_priority_one_before_five(manager, make_campaign, network, dialer, clock) -> None:
    campaign = make_campaign(max_simultaneous=1, calls_per_minute=0)
    manager.add_phones(
        campaign,
        [
            {"phone": "1001"},
            {"phone": "1002", "dialerPriority": 1},
            {"phone": "1003", "dialerPriority": 3},
            {"phone": "1004", "dialerPriority": 7},
            {"phone": "1005", "dialerPriority": 1},
        ],
        None,
    )
    await clock.advance(600)
    # 1 (in order added), then 3, then 5 (the out-of-range 7 counts as 5)
    assert network.numbers() == ["1002", "1005", "1003", "1001", "1004"]


async def test_custom_policy_numbers_go_first_within_their_priority(
    manager, make_campaign, network, dialer, clock
) -> None:
    campaign = make_campaign(max_simultaneous=1, calls_per_minute=0)
    manager.add_phones(
        campaign,
        [
            {"phone": "1001"},
            {"phone": "1002", "gmtZone": "+00:00"},
            {"phone": "1003", "dialerPriority": 5},
            {"phone": "1004", "dialerPriority": 9},
            {"phone": "1005", "maxAttempts": 2},
            {"phone": "1006", "dialerPriority": 4},
        ],
        None,
    )
    manager.add_phone(campaign, {"phone": "1007"}, None)
    manager.add_phone(campaign, {"phone": "1008", "gmtZone": "UTC"}, None)
    await clock.advance(600)
    # priority 4, then the priority-5 numbers with a policy of their own, then the rest
    # (an out-of-range dialerPriority is as good as none)
    assert network.numbers() == ["1006", "1002", "1003", "1005", "1008", "1001", "1004", "1007"]


async def test_pacing_keeps_dial_starts_on_the_grid(
    manager, make_campaign, network, dialer, clock
) -> None:
    campaign = make_campaign(max_simultaneous=50, calls_per_minute=30)
    manager.add_phones(campaign, [{"phone": str(2000 + i)} for i in range(40)], None)
    await clock.advance(20 * 60)
    starts = [d.at for d in network.dials]
    assert len(starts) == 40
    gaps = {round(b - a, 6) for a, b in zip(starts, starts[1:], strict=False)}
    assert gaps == {2.0}  # 30 per minute


async def test_simultaneous_cap(manager, make_campaign, network, dialer, clock) -> None:
    campaign = make_campaign(max_simultaneous=3, calls_per_minute=0)
    for i in range(10):
        network.set(str(3000 + i), Behaviour(talk=60))
    manager.add_phones(campaign, [{"phone": str(3000 + i)} for i in range(10)], None)
    await clock.advance(1)
    assert network.live == 3 and dialer.live(campaign.id) == 3
    assert dialer.started == {campaign.id: 3}  # the metrics' dial rate counts starts
    await clock.advance(3600)
    assert len(network.dials) == 10 and network.max_live == 3
    assert dialer.started == {campaign.id: 10}


async def test_global_cap_across_campaigns(manager, make_campaign, network, clock) -> None:
    d = Dialer(manager, network.place_call, max_calls=2)
    await d.start()
    try:
        for c in range(3):
            campaign = make_campaign(max_simultaneous=5, calls_per_minute=0)
            for i in range(3):
                network.set(f"4{c}0{i}", Behaviour(talk=30))
            manager.add_phones(campaign, [{"phone": f"4{c}0{i}"} for i in range(3)], None)
        await clock.advance(3600)
        assert len(network.dials) == 9 and network.max_live == 2
    finally:
        await d.stop(grace=0)


async def test_status_machine_answer_with_and_without_result(
    manager, make_campaign, network, dialer, clock
) -> None:
    campaign = make_campaign(calls_per_minute=0)
    network.set("5001", Behaviour(result="agreed", report=[("Q2", "yes", 2), ("Q1", "7", 1)]))
    network.set("5002", Behaviour())
    a, b = manager.add_phones(campaign, [{"phone": "5001"}, {"phone": "5002"}], None)
    assert status(manager, a) is JobStatus.PLANNED
    await clock.advance(1)
    assert status(manager, a) is JobStatus.IN_PROCESS
    await clock.advance(60)
    assert status(manager, a) is JobStatus.LONG_CALL_WITH_RESULT
    assert status(manager, b) is JobStatus.LONG_CALL_WITH_NO_RESULT
    job = manager.job_report(campaign, {"ids": [a]})[0]
    assert job.result == "agreed"
    assert sorted(job.report_data) == [("Q1", "7", 1), ("Q2", "yes", 2)]
    assert job.call_duration == pytest.approx(10)
    assert job.started_at == datetime(2024, 3, 4, 12, tzinfo=UTC).timestamp()
    assert job.finished_at == pytest.approx(job.started_at + 12)


async def test_retries_after_interval_then_no_answer(
    manager, make_campaign, network, dialer, clock
) -> None:
    campaign = make_campaign(calls_per_minute=0)
    network.set("6001", Behaviour("busy"), Behaviour("noanswer", ring=30))
    (job,) = manager.add_phones(
        campaign, [{"phone": "6001", "maxAttempts": 3, "retryIntervalInMinutes": 2}], None
    )
    await clock.advance(5)
    assert status(manager, job) is JobStatus.ON_RETRY
    await clock.advance(3600)
    dials = network.dials_of("6001")
    assert [d.attempt for d in dials] == [1, 2, 3]
    # each retry starts 2 minutes after the previous attempt ended
    assert dials[1].at - dials[0].at == pytest.approx(2 + 120)
    assert dials[2].at - dials[1].at == pytest.approx(30 + 120)
    assert status(manager, job) is JobStatus.NO_ANSWER
    attempts = manager.attempt_report(campaign, {"ids": [job]})
    assert [a.dial_status for a, _ in attempts] == ["BUSY", "NOANSWER", "NOANSWER"]
    assert len({a.id for a, _ in attempts}) == 3


async def test_retry_then_answer(manager, make_campaign, network, dialer, clock) -> None:
    campaign = make_campaign(calls_per_minute=0)
    network.set("6101", Behaviour("noanswer"), Behaviour(result="ok"))
    (job,) = manager.add_phones(
        campaign, [{"phone": "6101", "maxAttempts": 2, "retryIntervalInMinutes": 1}], None
    )
    await clock.advance(3600)
    assert status(manager, job) is JobStatus.LONG_CALL_WITH_RESULT
    assert manager.jobs.get(job).attempts_made == 2


async def test_campaign_retry_statuses_decide(
    manager, make_campaign, network, dialer, clock
) -> None:
    campaign = make_campaign(
        calls_per_minute=0, max_retries=2, retry_time=60, retry_on=("NOANSWER",)
    )
    network.set("6201", Behaviour("busy"))
    network.set("6202", Behaviour("noanswer"))
    busy, silent = manager.add_phones(campaign, [{"phone": "6201"}, {"phone": "6202"}], None)
    await clock.advance(3600)
    assert len(network.dials_of("6201")) == 1  # BUSY is not in retry_on_statuses
    assert len(network.dials_of("6202")) == 3  # 1 + max_retries
    assert status(manager, busy) is JobStatus.NO_ANSWER
    assert status(manager, silent) is JobStatus.NO_ANSWER


async def test_retry_on_machine_redials_a_machine_and_reports_who_answered(
    manager, make_campaign, network, dialer, clock
) -> None:
    campaign = make_campaign(
        calls_per_minute=0, max_retries=2, retry_time=60, retry_on=("NOANSWER", "MACHINE")
    )
    machine = Behaviour(talk=3, answered_by="machine_start")
    network.set("6301", machine, Behaviour(answered_by="human"))
    network.set("6302", machine)
    network.set("6303", Behaviour(answered_by="unknown"))
    first, always, unsure = manager.add_phones(
        campaign, [{"phone": "6301"}, {"phone": "6302"}, {"phone": "6303"}], None
    )
    await clock.advance(3600)
    assert len(network.dials_of("6301")) == 2  # a machine, then a person
    assert status(manager, first) is JobStatus.LONG_CALL_WITH_NO_RESULT
    attempts = manager.attempt_report(campaign, {"ids": [first]})
    assert [a.answered_by for a, _ in attempts] == ["machine_start", "human"]
    # a machine every time: 1 + max_retries attempts, then the answered call's status
    assert len(network.dials_of("6302")) == 3
    assert status(manager, always) is JobStatus.LONG_CALL_WITH_NO_RESULT
    assert len(network.dials_of("6303")) == 1  # unknown is no machine
    assert status(manager, unsure) is JobStatus.LONG_CALL_WITH_NO_RESULT


async def test_machines_are_not_retried_unless_asked(
    manager, make_campaign, network, dialer, clock
) -> None:
    campaign = make_campaign(calls_per_minute=0, max_retries=2, retry_time=60)
    network.set("6401", Behaviour(answered_by="machine_end_beep"))
    (job,) = manager.add_phones(campaign, [{"phone": "6401"}], None)
    await clock.advance(3600)
    assert len(network.dials_of("6401")) == 1
    assert status(manager, job) is JobStatus.LONG_CALL_WITH_NO_RESULT
    [(attempt, _)] = manager.attempt_report(campaign, {"ids": [job]})
    assert attempt.answered_by == "machine_end_beep"


async def test_nonexistent_numbers(manager, make_campaign, network, dialer, clock) -> None:
    campaign = make_campaign(calls_per_minute=0)
    network.set("7001", Behaviour("404"))
    carrier, invalid = manager.add_phones(
        campaign, [{"phone": "7001", "maxAttempts": 3}, {"phone": "9991112223330"}], None
    )
    await clock.advance(600)
    assert status(manager, carrier) is JobStatus.NONEXISTENT_NUMBER
    assert len(network.dials_of("7001")) == 1  # no retries for a number that does not exist
    assert status(manager, invalid) is JobStatus.NONEXISTENT_NUMBER
    assert network.dials_of("9991112223330") == []  # phonenumbers rejects it: never dialed


async def test_call_that_cannot_be_placed_is_not_done(
    manager, make_campaign, network, dialer, clock
) -> None:
    campaign = make_campaign(calls_per_minute=0)
    network.set("7101", Behaviour("error"))
    (job,) = manager.add_phones(campaign, [{"phone": "7101", "maxAttempts": 3}], None)
    await clock.advance(600)
    assert status(manager, job) is JobStatus.NOT_DONE
    assert len(network.dials_of("7101")) == 1


async def test_window_delays_the_dial(manager, make_campaign, network, dialer, clock) -> None:
    campaign = make_campaign(calls_per_minute=0)
    # noon UTC Monday = 07:00 at -05:00: the window opens at 10:00 local (15:00 UTC)
    (job,) = manager.add_phones(
        campaign,
        [
            {
                "phone": "8001",
                "gmtZone": "-05:00",
                "allowedTime": {"default": [{"localTimeFrom": "10:00", "localTimeTo": "18:00"}]},
            }
        ],
        None,
    )
    await clock.advance(3 * 3600 - 1)
    assert network.dials == []
    await clock.advance(2)
    assert [d.at for d in network.dials] == [datetime(2024, 3, 4, 15, tzinfo=UTC).timestamp()]


async def test_window_closed_while_waiting_for_a_line(
    manager, make_campaign, network, dialer, clock
) -> None:
    campaign = make_campaign(calls_per_minute=0, max_simultaneous=1)
    network.set("8101", Behaviour(talk=3600))  # holds the only line until 13:00:02
    window = {
        "allowedTime": {"default": [{"localTimeFrom": "12:00", "localTimeTo": "12:30"}]},
        "gmtZone": "UTC",
    }
    manager.add_phones(campaign, [{"phone": "8101", "dialerPriority": 1}], None)
    (late,) = manager.add_phones(campaign, [{"phone": "8102", **window}], None)
    await clock.advance(2 * 3600)
    # 8102 was due at 12:00 but the line was busy until after 12:30: tomorrow 12:00
    assert network.dials_of("8102") == []
    assert manager.jobs.get(late).next_at == datetime(2024, 3, 5, 12, tzinfo=UTC).timestamp()
    await clock.advance(24 * 3600)
    assert [d.at for d in network.dials_of("8102")] == [manager.jobs.get(late).started_at]


async def test_finish_date_passed_before_the_call(
    manager, make_campaign, network, dialer, clock
) -> None:
    campaign = make_campaign(calls_per_minute=0)
    (job,) = manager.add_phones(
        campaign, [{"phone": "8201", "finishDateTime": "2024-03-04T11:00:00Z"}], None
    )
    assert status(manager, job) is JobStatus.NOT_DONE
    await clock.advance(60)
    assert network.dials == []


async def test_pause_lets_live_calls_finish_and_starts_none(
    manager, make_campaign, network, dialer, clock
) -> None:
    campaign = make_campaign(calls_per_minute=60, max_simultaneous=10)
    for i in range(5):
        network.set(str(9000 + i), Behaviour(talk=100))
    ids = manager.add_phones(campaign, [{"phone": str(9000 + i)} for i in range(5)], None)
    await clock.advance(1.5)  # two calls started (t=0, t=1)
    assert len(network.dials) == 2
    manager.pause(manager.campaigns.get(campaign.id))
    await clock.advance(600)
    assert len(network.dials) == 2
    assert status(manager, ids[0]) is JobStatus.LONG_CALL_WITH_NO_RESULT  # finished normally
    assert status(manager, ids[4]) is JobStatus.PLANNED
    manager.resume(manager.campaigns.get(campaign.id))
    await clock.advance(600)
    assert len(network.dials) == 5


async def test_stop_ends_the_queue(manager, make_campaign, network, dialer, clock) -> None:
    campaign = make_campaign(calls_per_minute=0, max_simultaneous=1)
    network.set("9101", Behaviour(talk=100))
    network.set("9102", Behaviour("busy"))
    talking, retrying, never = manager.add_phones(
        campaign,
        [
            {"phone": "9101", "dialerPriority": 2},
            {"phone": "9102", "dialerPriority": 1, "maxAttempts": 5, "retryIntervalInMinutes": 60},
            {"phone": "9103"},
        ],
        None,
    )
    await clock.advance(50)  # 9102 busy -> onRetry; 9101 in conversation
    assert status(manager, retrying) is JobStatus.ON_RETRY
    assert status(manager, talking) is JobStatus.IN_PROCESS
    manager.stop(manager.campaigns.get(campaign.id))
    assert status(manager, never) is JobStatus.NOT_DONE
    assert status(manager, retrying) is JobStatus.NO_ANSWER
    await clock.advance(7200)
    assert status(manager, talking) is JobStatus.LONG_CALL_WITH_NO_RESULT
    assert network.numbers() == ["9102", "9101"]
    assert manager.campaigns.get(campaign.id).status is CampaignStatus.FINISHED


async def test_busy_call_during_stop_is_not_retried(
    manager, make_campaign, network, dialer, clock
) -> None:
    campaign = make_campaign(calls_per_minute=0)
    network.set("9201", Behaviour("busy", ring=20))
    (job,) = manager.add_phones(campaign, [{"phone": "9201", "maxAttempts": 4}], None)
    await clock.advance(5)
    manager.stop(manager.campaigns.get(campaign.id))
    await clock.advance(600)
    assert status(manager, job) is JobStatus.NO_ANSWER
    assert len(network.dials) == 1


async def test_cancel(manager, make_campaign, network, dialer, clock) -> None:
    campaign = make_campaign(calls_per_minute=0, max_simultaneous=1)
    network.set("9301", Behaviour(talk=100, result="agreed", report=[("topic", "price", 1)]))
    in_call, queued, other = manager.add_phones(
        campaign, [{"phone": "9301"}, {"phone": "9302"}, {"phone": "9303"}], None
    )
    await clock.advance(5)
    assert manager.cancel(campaign, {"ids": [in_call], "phones": [9302]}) == [in_call, queued]
    await clock.advance(600)
    assert network.numbers() == ["9301", "9303"]
    # the call in progress ended normally but the job stays canceled, and no retry follows
    assert status(manager, in_call) is JobStatus.CANCELED
    assert status(manager, queued) is JobStatus.CANCELED
    # ...with what that conversation produced, as its report shows
    (job,) = manager.job_report(campaign, {"ids": [in_call]})
    assert (job.status, job.result, round(job.call_duration)) == ("canceled", "agreed", 100)
    assert job.report_data and job.finished_at
    assert status(manager, other) is JobStatus.LONG_CALL_WITH_NO_RESULT
    # final jobs cannot be canceled any more
    assert manager.cancel(campaign, {"ids": [other]}) == []


async def test_redial_from_the_flow(manager, make_campaign, network, dialer, clock) -> None:
    campaign = make_campaign(calls_per_minute=0)
    network.set("9401", Behaviour(redial=(30, 1)), Behaviour(result="done"))
    (job,) = manager.add_phones(campaign, [{"phone": "9401", "dialerPriority": 4}], None)
    await clock.advance(60)
    j = manager.jobs.get(job)
    assert j.status is JobStatus.ON_RETRY and j.priority == 1
    assert j.next_at == pytest.approx(network.dials[0].at + 12 + 30 * 60)
    await clock.advance(3600)
    assert status(manager, job) is JobStatus.LONG_CALL_WITH_RESULT
    assert len(network.dials_of("9401")) == 2


async def test_redial_without_priority_keeps_it(
    manager, make_campaign, network, dialer, clock
) -> None:
    campaign = make_campaign(calls_per_minute=0)
    network.set("9501", Behaviour(redial=(5, None)), Behaviour())
    (job,) = manager.add_phones(campaign, [{"phone": "9501", "dialerPriority": 3}], None)
    await clock.advance(60)
    assert manager.jobs.get(job).priority == 3


async def test_payload_becomes_variables(manager, make_campaign, network, dialer, clock) -> None:
    campaign = make_campaign(calls_per_minute=0)
    manager.add_phones(campaign, [{"phone": "9601", "payload": {"name": "Alex", "age": 34}}], None)
    await clock.advance(1)
    assert network.dials[0].variables == {"name": "Alex", "age": "34", "phone": "9601"}


async def test_dnd_numbers_never_dialed_and_written_as_cdrs(
    manager, make_campaign, network, dialer, clock
) -> None:
    dnd = manager.lists.create("account_1", "blocked", ListKind.DND, clock.now())
    manager.lists.add(dnd.id, [Contact("ann", "9701")])
    campaign = make_campaign(calls_per_minute=0, dnd_list_id=dnd.id, caller_id="15168148111")
    blocked, fine = manager.add_phones(campaign, [{"phone": "9701"}, {"phone": "9702"}], None)
    await clock.advance(60)
    assert network.numbers() == ["9702"]
    assert status(manager, blocked) is JobStatus.NOT_DONE
    cdrs = CdrStore(manager.db).by_campaign("account_1", campaign.id)
    assert len(cdrs) == 1
    cdr = cdrs[0]
    assert (cdr.dial_status, cdr.is_dnd, cdr.dialed_number) == ("DND", True, "9701")
    assert cdr.call_direction == "outbound-campaign" and cdr.caller_id == "15168148111"
    assert cdr.destination_context == "local_call_campaign_type_1"
    assert CdrStore(manager.db).statistics("account_1", campaign.id)["dnd_calls"] == 1


async def test_planned_campaign_starts_at_its_start_and_finishes_at_its_end(
    manager, make_campaign, network, dialer, clock
) -> None:
    now = clock.now()
    campaign = make_campaign(
        status=CampaignStatus.PLANNED,
        start_at=now + 3600,
        end_at=now + 7200,
        calls_per_minute=1,
        max_simultaneous=1,
    )
    ids = manager.add_phones(campaign, [{"phone": str(9800 + i)} for i in range(100)], None)
    await clock.advance(3599)
    assert network.dials == []
    assert manager.campaigns.get(campaign.id).status is CampaignStatus.PLANNED
    await clock.advance(2)
    assert manager.campaigns.get(campaign.id).status is CampaignStatus.IN_PROCESS
    assert network.dials[0].at == now + 3600
    await clock.advance(3600)
    assert manager.campaigns.get(campaign.id).status is CampaignStatus.FINISHED
    assert len(network.dials) == 60  # one a minute for the hour it ran
    statuses = [status(manager, i) for i in ids]
    assert statuses.count(JobStatus.NOT_DONE) == 40


async def test_recovery_after_a_crash_mid_call(store, clock, make_campaign, manager) -> None:
    campaign = make_campaign(calls_per_minute=0)
    first = FakeNetwork(clock)
    first.set("9901", Behaviour(talk=3600))
    first.set("9902", Behaviour(talk=3600))
    a, b = manager.add_phones(
        campaign, [{"phone": "9901", "maxAttempts": 2}, {"phone": "9902", "maxAttempts": 1}], None
    )
    crashed = Dialer(manager, first.place_call)
    await crashed.start()
    await clock.advance(10)
    assert len(first.dials) == 2
    # the process dies: its tasks vanish without resolving anything
    crashed._stopping = True
    for task in [crashed._task, *crashed._calls]:
        task.cancel()
    await clock.settle()

    again = CampaignManager(store.db, clock)  # the restarted process
    second = FakeNetwork(clock)
    second.set("9901", Behaviour(result="ok"))
    restarted = Dialer(again, second.place_call)
    await restarted.start()
    try:
        attempts = again.attempt_report(again.campaigns.get(campaign.id), {"ids": [a, b]})
        assert [(x.job_id, x.dial_status) for x, _ in attempts] == [
            (a, INTERRUPTED),
            (b, INTERRUPTED),
        ]
        assert all(x.ended_at is not None for x, _ in attempts)
        assert status(again, b) is JobStatus.NO_ANSWER  # its one attempt was used up
        await clock.advance(3600)
        # 9901 had an attempt left: dialed once more, as attempt 2
        assert [(d.number, d.attempt) for d in second.dials] == [("9901", 2)]
        assert status(again, a) is JobStatus.LONG_CALL_WITH_RESULT
    finally:
        await restarted.stop(grace=0)


async def test_recovery_uses_the_outcome_found_for_the_attempt(
    store, clock, make_campaign, manager
) -> None:
    campaign = make_campaign(calls_per_minute=0)
    (job,) = manager.add_phones(campaign, [{"phone": "9911"}], None)
    attempt = manager.jobs.claim(job, clock.now(), "abcdef0123")
    from softswitch.outcome import CallOutcome

    def lookup(j, a):
        assert a.request_id == "abcdef0123"
        return CallOutcome(
            True,
            200,
            "ANSWER",
            a.started_at,
            a.started_at + 30,
            answered_at=a.started_at + 5,
            result="bought",
        )

    assert attempt is not None
    d = Dialer(
        CampaignManager(store.db, clock), FakeNetwork(clock).place_call, recover_outcome=lookup
    )
    assert d.recover() == 1
    j = manager.jobs.get(job)
    assert j.status is JobStatus.LONG_CALL_WITH_RESULT and j.call_duration == 25


async def test_zone_inferred_from_the_number_at_dial_time(
    manager, make_campaign, network, dialer, clock
) -> None:
    campaign = make_campaign(calls_per_minute=0, time_zone="Asia/Tokyo")
    window = {"allowedTime": {"default": [{"localTimeFrom": "10:00", "localTimeTo": "18:00"}]}}
    # New York by its area code; a Russian mobile spans zones: the campaign's (Tokyo) applies
    ny, ru = manager.add_phones(
        campaign, [{"phone": "12125550123", **window}, {"phone": "79123456789", **window}], None
    )
    await clock.advance(2 * 24 * 3600)
    by_number = {d.number: d.at for d in network.dials}
    # Monday 12:00 UTC is 07:00 in New York (EST): 10:00 EST = 15:00 UTC
    assert by_number["12125550123"] == datetime(2024, 3, 4, 15, tzinfo=UTC).timestamp()
    # 21:00 in Tokyo: Tuesday 10:00 JST = Tuesday 01:00 UTC
    assert by_number["79123456789"] == datetime(2024, 3, 5, 1, tzinfo=UTC).timestamp()
    assert status(manager, ny) is JobStatus.LONG_CALL_WITH_NO_RESULT
    assert status(manager, ru) is JobStatus.LONG_CALL_WITH_NO_RESULT


async def test_local_start_without_offset_uses_the_inferred_zone(
    manager, make_campaign, network, dialer, clock
) -> None:
    campaign = make_campaign(calls_per_minute=0)
    (job,) = manager.add_phones(
        campaign, [{"phone": "12125550123", "startDateTime": "2024-03-04T09:30:00"}], None
    )
    # 09:30 in New York (EST) = 14:30 UTC, known when the number is added
    assert manager.jobs.get(job).next_at == datetime(2024, 3, 4, 14, 30, tzinfo=UTC).timestamp()


async def test_a_now_that_rounds_up_as_a_datetime_still_dials_at_once(
    manager, make_campaign, network, dialer, clock
) -> None:
    # the window answers in microseconds: a free line at 12:00:02.0001235 comes back as
    # .000124, later than now; the next job must be dialed then, not moved by a fraction
    # of a microsecond (for such a `now`, every due job of the pass was moved)
    campaign = make_campaign(calls_per_minute=0, max_simultaneous=1)
    network.set("1001", Behaviour(talk=0.0001235))
    manager.add_phones(campaign, [{"phone": "1001"}, {"phone": "1002"}], None)
    await clock.advance(10)
    free = network.dials[0].at + 2.0001235  # rang 2 s, talked 0.0001235 s
    assert datetime.fromtimestamp(free, UTC).timestamp() > free
    assert [(d.number, d.at) for d in network.dials] == [("1001", MONDAY_NOON), ("1002", free)]
