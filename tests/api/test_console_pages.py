"""The console's pages and buttons over HTTP (httpx, in-process, a real switch and
store): what each page shows of the logged-in account only, the CDR filters and
charts, recordings, campaign controls, voicemail, and the bad input of each."""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from softswitch.campaigns.manager import CampaignManager
from softswitch.campaigns.model import Campaign, new_campaign_id, new_token
from softswitch.store.cdrs import Cdr
from softswitch.store.lists import Contact, ListKind
from tests.api.console_env import ConsoleEnv, console_env_at
from tests.peers.audio import make_tone_wav


@pytest.fixture
async def console_env(tmp_path, ports, rtp_ports) -> AsyncIterator[ConsoleEnv]:
    async with console_env_at(tmp_path, ports, rtp_ports) as env:
        yield env


def at(day: str, hour: int) -> float:
    return float(calendar.timegm(date.fromisoformat(day).timetuple()) + hour * 3600 + 60)


def cdr(account: str, when: float, status: str, customer: str, **fields) -> Cdr:
    answered = status == "ANSWER"
    return Cdr(
        account_id=account,
        request_id=fields.pop("request_id", "0123456789"),
        call_direction="outbound-api",
        destination_context="click2call",
        caller_id="15168148111",
        agent_number="101",
        customer_number=customer,
        dialed_number=customer,
        call_date=when,
        answer=when + 2 if answered else None,
        end=when + 30,
        call_duration=30.0,
        billsec=28.0 if answered else 0.0,
        call_status="ANSWERED" if answered else "NO ANSWER",
        dial_status=status,
        **fields,
    )


def ids_listed(html: str) -> list[str]:
    return re.findall(r'<a href="/console/cdrs/(\d+)">', html)


async def test_cdrs_filtered_by_date_number_and_status_with_charts(console_env: ConsoleEnv):
    store = console_env.cdrs
    mine = [
        store.insert(cdr("account_1", at("2026-03-02", 9), "ANSWER", "5551001")),
        store.insert(cdr("account_1", at("2026-03-02", 9), "BUSY", "5551002")),
        store.insert(cdr("account_1", at("2026-03-03", 14), "NOANSWER", "5551001")),
        store.insert(cdr("account_1", at("2026-03-20", 10), "ANSWER", "5551003")),
    ]
    store.insert(cdr("account_2", at("2026-03-02", 9), "ANSWER", "5551001"))
    await console_env.login()
    client = console_env.client

    page = await client.get("/console/cdrs", params={"from": "2026-03-01", "to": "2026-03-07"})
    assert page.status_code == 200
    assert ids_listed(page.text) == [str(mine[2]), str(mine[1]), str(mine[0])]  # newest first
    # calls per hour: two hours had calls (one with 2 calls, 1 answered); 1 of 3 answered
    assert page.text.count('<rect class="calls"') == 2
    assert "2026-03-02 09:00 UTC: 2 calls, 1 answered" in page.text
    assert "2026-03-03 14:00 UTC: 1 calls, 0 answered" in page.text
    assert "33% overall" in page.text
    assert "2026-03-02: 50% of 2 answered" in page.text

    by_number = await client.get(
        "/console/cdrs", params={"from": "2026-03-01", "to": "2026-03-31", "number": "+5551001"}
    )
    assert ids_listed(by_number.text) == [str(mine[2]), str(mine[0])]
    by_status = await client.get(
        "/console/cdrs", params={"from": "2026-03-01", "to": "2026-03-31", "status": "answer"}
    )
    assert ids_listed(by_status.text) == [str(mine[3]), str(mine[0])]
    # by default: the last 7 days, where nothing happened
    assert ids_listed((await client.get("/console/cdrs")).text) == []

    for params, message in (
        ({"from": "2026-13-01"}, "is not a date"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "must not be before"),
        ({"from": "2026-01-01", "to": "2026-03-01"}, "at most 31 days"),
        ({"number": "55-51"}, "is not digits"),
        ({"status": "LOST"}, "is not one of"),
    ):
        bad = await client.get("/console/cdrs", params=params)
        assert bad.status_code == 400 and message in bad.text, params


async def test_one_cdr_and_its_recording(console_env: ConsoleEnv):
    root = Path(console_env.ctx.config.media.recordings_dir)
    for account, name in (("account_1", "abc.wav"), ("account_2", "theirs.wav")):
        (root / account).mkdir(parents=True, exist_ok=True)
        make_tone_wav(root / account / name, 440.0, 1.0)
    now = time.time()
    own = console_env.cdrs.insert(cdr("account_1", now, "ANSWER", "102", recording_name="abc.wav"))
    other = console_env.cdrs.insert(cdr("account_2", now, "ANSWER", "102"))
    await console_env.login()
    client = console_env.client

    page = await client.get(f"/console/cdrs/{own}")
    assert page.status_code == 200
    assert 'src="/console/recordings/abc.wav"' in page.text
    assert (await client.get(f"/console/cdrs/{other}")).status_code == 404
    assert (await client.get("/console/cdrs/x1")).status_code == 404

    inline = await client.get("/console/recordings/abc.wav")
    assert inline.status_code == 200 and inline.content[:4] == b"RIFF"
    assert inline.headers["content-type"] == "audio/wav"
    assert inline.headers["content-disposition"].startswith("inline")
    part = await client.get("/console/recordings/abc.wav", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100  # seekable in <audio>
    download = await client.get("/console/recordings/abc.wav?download=1")
    assert download.headers["content-disposition"].startswith("attachment")
    for name in ("theirs.wav", "..%2Faccount_2%2Ftheirs.wav", "abc.txt", "missing.wav"):
        assert (await client.get(f"/console/recordings/{name}")).status_code == 404, name


async def test_campaign_progress_pause_resume_and_stop(console_env: ConsoleEnv):
    manager = CampaignManager(console_env.ctx.store.db)
    now = time.time()
    contacts = manager.lists.create("account_1", "leads", ListKind.CONTACTS, now)
    manager.lists.add(contacts.id, [Contact(f"c{i}", f"555100{i}") for i in range(5)])
    campaign_id = new_campaign_id()
    manager.create(
        Campaign(
            id=campaign_id,
            account_id="account_1",
            name="Spring sale",
            token=new_token("account_1", campaign_id),
            list_id=contacts.id,
            calls_per_minute=6.0,
            max_simultaneous=3,
        )
    )
    jobs = [j.id for j in manager.jobs.of_campaign(campaign_id)]
    db = console_env.ctx.store.db
    for job_id, status in zip(jobs, ("longCallWithResult", "noAnswer", "inProcess"), strict=False):
        db.execute("UPDATE jobs SET status = ? WHERE id = ?", [status, job_id])
    theirs = new_campaign_id()
    manager.create(
        Campaign(id=theirs, account_id="account_2", name="Theirs", token=new_token("a", theirs))
    )
    token = await console_env.login()

    page = await console_env.client.get("/console/campaigns")
    assert "Spring sale" in page.text and "Theirs" not in page.text
    assert "2 planned · 1 in process · 1 done · 1 failed (of 5)" in page.text
    assert "6 calls/min, at most 3 at once" in page.text
    assert page.text.count('<rect class="done"') == 1

    base = f"/console/campaigns/{campaign_id}"
    paused = await console_env.act(base + "/pause", token)
    assert paused.json() == {"ok": True, "message": "campaign Spring sale: paused"}
    again = await console_env.act(base + "/pause", token)
    assert again.json()["ok"] is True  # pausing a paused campaign changes nothing
    assert (await console_env.act(base + "/resume", token)).json()["message"].endswith("inProcess")
    stopped = await console_env.act(base + "/stop", token)
    assert stopped.json()["message"] == "campaign Spring sale: finished"
    refused = await console_env.act(base + "/resume", token)
    assert refused.status_code == 400 and "not paused" in refused.json()["message"]
    # another account's campaign, or none at all, is not found; no token, no change
    assert (await console_env.act(f"/console/campaigns/{theirs}/stop", token)).status_code == 404
    assert (await console_env.act("/console/campaigns/CMnope/stop", token)).status_code == 404
    assert (await console_env.act(f"/console/campaigns/{theirs}/stop", None)).status_code == 403
    assert manager.get(theirs, "account_2").status.value == "planned"


async def test_phones_and_trunks_of_the_account_only(console_env: ConsoleEnv):
    await console_env.login()
    phones = await console_env.client.get("/console/phones")
    assert 'data-extension="101"' in phones.text and "Front desk" in phones.text
    assert "not registered" in phones.text
    assert 'data-extension="103"' not in phones.text  # account_2's
    trunks = await console_env.client.get("/console/trunks")
    assert 'data-trunk="carrier"' in trunks.text and "ip-auth" in trunks.text
    assert 'data-trunk="other"' not in trunks.text  # nobody's


async def test_voicemail_play_mark_and_delete(console_env: ConsoleEnv):
    vm = console_env.switch.voicemail
    assert vm is not None
    lamps: list[tuple[str, int, int]] = []
    vm.watch(lambda ext, counts: lamps.append((ext, counts.new, counts.old)))
    ids = []
    for number in ("102", "103"):
        box = vm.boxes.get(number)
        box.folder.mkdir(parents=True, exist_ok=True)
        make_tone_wav(box.folder / "m.wav", 500.0, 1.0)
        ids.append(vm.store.add_message(number, "0612345678", 1700000000.0, 1.0, "m.wav").id)
    mine, theirs = ids
    token = await console_env.login()
    client = console_env.client

    page = await client.get("/console/voicemail")
    assert 'data-box="102"' in page.text and 'data-box="103"' not in page.text
    assert f'src="/console/voicemail/102/{mine}/audio"' in page.text
    audio = await client.get(f"/console/voicemail/102/{mine}/audio")
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    assert (await client.get(f"/console/voicemail/103/{theirs}/audio")).status_code == 404

    heard = await console_env.act(f"/console/voicemail/102/{mine}/heard", token, heard="true")
    assert heard.json() == {"ok": True, "message": f"message {mine} marked heard"}
    assert lamps == [("102", 0, 1)]  # the phone's lamp was told
    bad = await console_env.act(f"/console/voicemail/102/{mine}/heard", token, heard="maybe")
    assert bad.status_code == 400
    assert (
        await console_env.act(f"/console/voicemail/103/{theirs}/delete", token)
    ).status_code == 404
    deleted = await console_env.act(f"/console/voicemail/102/{mine}/delete", token)
    assert deleted.json()["ok"] is True
    gone = await console_env.act(f"/console/voicemail/102/{mine}/delete", token)
    assert gone.status_code == 404
    assert vm.messages("103")  # account_2's message untouched


async def test_call_buttons_refuse_bad_input(console_env: ConsoleEnv):
    token = await console_env.login()
    for fields, message in (
        ({"agent_number": "abc", "destination_number": "102", "caller_id": "1"}, "agent_number"),
        (
            {"agent_number": "101", "destination_number": "999", "caller_id": "15168148111"},
            "not a local extension",
        ),
        ({"agent_number": "101", "destination_number": "102"}, "caller_id: field required"),
    ):
        response = await console_env.act("/console/live/click2call", token, **fields)
        assert response.status_code == 400 and message in response.json()["message"], fields
    for fields, message in (
        ({"channel": "SIP/101-1", "modify_type": "7"}, "modify_type"),
        ({"channel": "SIP/101-1", "modify_type": "0"}, "transfer_to"),
        ({"modify_type": "2"}, "channel: field required"),
    ):
        response = await console_env.act("/console/live/modify", token, **fields)
        assert response.status_code == 400 and message in response.json()["message"], fields
    # the live page renders its (empty) table and the event stream's address
    page = await console_env.client.get("/console/live")
    assert "No live calls." in page.text and 'data-events="/console/live/events"' in page.text


async def test_what_callers_and_clients_wrote_is_shown_as_text(console_env: ConsoleEnv):
    hostile = '<img src=x onerror="alert(1)">'
    console_env.cdrs.insert(
        cdr("account_1", time.time(), "ANSWER", "5551001", request_id=hostile, transcript=hostile)
    )
    await console_env.login()
    listing = await console_env.client.get("/console/cdrs")
    one = re.search(r'<a href="/console/cdrs/(\d+)">', listing.text)
    assert one is not None
    page = await console_env.client.get(f"/console/cdrs/{one.group(1)}")
    for html in (listing.text, page.text):
        assert "<img" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page.text
