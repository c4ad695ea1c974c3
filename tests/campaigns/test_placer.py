"""Campaign flows (types 0 and 1) and the recovery of an attempt from its CDR."""

from __future__ import annotations

import pytest

from softswitch.campaigns.dialer import Dialer
from softswitch.campaigns.model import Campaign, JobStatus
from softswitch.campaigns.placer import CdrRecovery, campaign_flow, campaign_steps
from softswitch.flowmodel import FlowError
from softswitch.store.cdrs import Cdr, CdrStore


def make(**fields) -> Campaign:
    return Campaign(id="CM0123456789", account_id="a", name="n", token="t", **fields)


def test_type_0_dynamic_announcement() -> None:
    c = make(
        campaign_type=0,
        announcement_text="Dear {field1}, you owe {field3}",
        repeat=2,
        voice={"voice": "Matthew", "rate": "slow"},
    )
    assert campaign_steps(c) == [
        {
            "type": "say",
            "text": "Dear {field1}, you owe {field3}",
            "repeat": 2,
            "voice": "Matthew",
            "rate": "slow",
        }
    ]
    assert campaign_flow(c).fields() == {"field1", "field3"}


def test_type_0_recorded_file() -> None:
    c = make(campaign_type=0, dynamic_announcement=False, recorded_filename="promo.wav", repeat=3)
    assert campaign_steps(c) == [{"type": "play", "file": "promo.wav", "repeat": 3}]


def test_type_1_default_survey_records_the_key() -> None:
    flow = campaign_flow(make(campaign_type=1, announcement_text="Press a key, {name}"))
    (gather,) = flow.steps
    assert gather.type == "gather" and gather.prompt.text == "Press a key, {name}"
    assert gather.prompt.barge_in and set(gather.branches) == set("0123456789*#")
    assert [s.type for s in gather.branches["1"]] == ["set_result", "report"]
    assert flow.fields() == {"name"}
    recorded = campaign_steps(
        make(campaign_type=1, dynamic_announcement=False, recorded_filename="q.wav")
    )
    assert [s["type"] for s in recorded] == ["play", "gather"]


def test_type_1_own_flow_and_invalid_flow() -> None:
    steps = [{"type": "say", "text": "hi"}, {"type": "hangup"}]
    assert campaign_steps(make(flow=steps)) == steps
    with pytest.raises(FlowError, match="step 0"):
        campaign_flow(make(flow=[{"type": "say"}]))


async def test_recovery_from_the_cdr(manager, make_campaign, clock) -> None:
    campaign = make_campaign(calls_per_minute=0)
    answered, unanswered, lost = manager.add_phones(
        campaign, [{"phone": "101"}, {"phone": "102", "maxAttempts": 2}, {"phone": "103"}], None
    )
    cdrs = CdrStore(manager.db)
    now = clock.now()
    claims = {
        job: manager.jobs.claim(job, now, f"{job:010d}") for job in (answered, unanswered, lost)
    }

    def cdr(job: int, status: str, answer: float | None, answered_by: str = "") -> Cdr:
        return Cdr(
            account_id=campaign.account_id,
            request_id=claims[job].request_id,
            call_direction="outbound-campaign",
            destination_context=campaign.context,
            caller_id="",
            agent_number="",
            customer_number="",
            dialed_number="x",
            call_date=now,
            answer=answer,
            end=now + 40,
            call_duration=40.0,
            billsec=30.0 if answer else 0.0,
            call_status=None,
            dial_status=status,
            campaign_id=campaign.id,
            answered_by=answered_by,
        )

    cdrs.insert(cdr(answered, "ANSWER", now + 10, "human"))
    cdrs.insert(cdr(unanswered, "NOANSWER", None))
    dialer = Dialer(manager, lambda request: None, recover_outcome=CdrRecovery(cdrs))
    assert dialer.recover() == 3
    assert manager.jobs.get(answered).status is JobStatus.LONG_CALL_WITH_NO_RESULT
    assert manager.jobs.get(answered).call_duration == 30
    assert manager.jobs.get(unanswered).status is JobStatus.ON_RETRY
    assert manager.jobs.get(lost).status is JobStatus.NO_ANSWER  # no CDR, no attempt left
    dial_statuses = [a.dial_status for a in manager.jobs.attempts([answered, unanswered, lost])]
    assert dial_statuses == ["ANSWER", "NOANSWER", "INTERRUPTED"]
    # who answered, as the CDR has it
    assert [a.answered_by for a in manager.jobs.attempts([answered])] == ["human"]
