"""The web console in a real browser: Debian's chromium driven by Playwright.

A person logs in, starts a click2call between two baresip phones from the live-calls
page, watches it appear, get transferred and end (the page's event stream) through the
rows' Record, Transfer and Hang up buttons, opens its CDR and plays the recording, and
looks at the other pages (the Webhooks page set to a real receiver's URL).
Screenshots land in the test's tmp dir and in ``artifacts/console/`` at the top of the
tree (ignored by git), whether the test passes or fails.
"""

from __future__ import annotations

import http.server
import shutil
import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from softswitch.campaigns.model import Campaign, new_campaign_id, new_token
from softswitch.store.lists import Contact, ListKind
from tests.peers.baresip import BaresipAccount
from tests.peers.process import wait_until
from tests.peers.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.peers

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "console"
LOGIN = {"account": "account_1", "auth": "secret-one"}

# A recording that the browser can load must have at least this much audio (seconds).
MIN_RECORDING = 1.0


def phone(phone_factory, server, number: str, tone_hz: float):
    port = server.config.sip_host_port[1]
    p = phone_factory(
        BaresipAccount(number, f"pw{number}", registrar=f"127.0.0.1:{port}"), tone_hz=tone_hz
    )
    p.wait_registered()
    return p


@pytest.fixture
def server(server_factory):
    return server_factory(
        extensions={"101": "pw101", "102": "pw102", "103": "pw103"},
        extension_options={
            "101": {"account": "account_1", "name": "Agent"},
            "102": {"account": "account_1", "name": "Customer"},
            "103": {"account": "account_1", "name": "Supervisor"},
        },
        trunks=[
            {
                "name": "carrier",
                "host": "127.0.0.1:9",
                "register": False,
                "prefixes": ["555"],
                "account": "account_1",
            }
        ],
    )


def planned_campaign(server) -> str:
    """A campaign of three numbers that starts tomorrow (nothing is dialed today)."""
    manager = server.runtime.campaigns
    now = time.time()

    def make() -> str:
        numbers = manager.lists.create("account_1", "autumn", ListKind.CONTACTS, now)
        manager.lists.add(numbers.id, [Contact(f"c{i}", f"555100{i}") for i in range(3)])
        campaign_id = new_campaign_id()
        manager.create(
            Campaign(
                id=campaign_id,
                account_id="account_1",
                name="Autumn",
                token=new_token("account_1", campaign_id),
                list_id=numbers.id,
                start_at=now + 86400,
            )
        )
        return campaign_id

    return server.call(make)


@pytest.fixture
def shots(tmp_path, request):
    """Where screenshots go; copied to artifacts/console/ at the end, pass or fail."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    yield folder
    target = ARTIFACTS / request.node.name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(folder, target)


@pytest.fixture
def browser():
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: ./tools/test installs it"
    with sync_playwright() as pw:
        # root in a container: chromium's sandbox cannot start
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def receiver(ports):
    r = WebhookReceiver(ports.port()).start()
    yield r
    r.stop()


def test_click2call_from_the_console_then_its_cdr_and_recording(
    server, phone_factory, browser, shots, receiver
):
    agent = phone(phone_factory, server, "101", 440.0)
    customer = phone(phone_factory, server, "102", 1000.0)
    supervisor = phone(phone_factory, server, "103", 700.0)
    campaign_id = planned_campaign(server)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(20_000)
    try:
        # log in
        page.goto(server.url + "/")
        page.screenshot(path=shots / "01-login.png")
        page.fill('input[name="account"]', LOGIN["account"])
        page.fill('input[name="auth"]', "wrong")
        page.click('button:has-text("Log in")')
        page.wait_for_selector("text=invalid account or auth")
        page.fill('input[name="account"]', LOGIN["account"])
        page.fill('input[name="auth"]', LOGIN["auth"])
        page.click('button:has-text("Log in")')
        page.wait_for_url("**/console/live")
        page.wait_for_selector("#live-state:has-text('Live')")  # the event stream is open

        # start a click2call from the live-calls page; both legs appear, answered
        page.fill('#click2call input[name="agent_number"]', "101")
        page.fill('#click2call input[name="destination_number"]', "102")
        page.fill('#click2call input[name="caller_id"]', "15168148111")
        page.select_option('#click2call select[name="recording_option"]', "both")
        page.click('#click2call button:has-text("Click2call")')
        page.wait_for_selector("#status:has-text('click2call')")
        agent.wait_call_established(timeout=15)
        customer.wait_call_established(timeout=15)
        page.wait_for_selector('#live-rows tr[data-channel^="SIP/101-"] td.state-up')
        page.wait_for_selector('#live-rows tr[data-channel^="SIP/102-"] td.state-up')
        assert page.inner_text("#live-count") == "2"
        request_id = page.get_attribute(
            '#live-rows tr[data-channel^="SIP/101-"]', "data-request-id"
        )
        assert request_id and len(request_id) == 10
        page.screenshot(path=shots / "02-live-call.png")
        time.sleep(2.5)  # some conversation for the recording

        # Record: this call is recorded already, and the button says so
        page.click('#live-rows tr[data-channel^="SIP/101-"] button:has-text("Record")')
        page.wait_for_selector("#status:has-text('call is already being recorded')")

        # Transfer: the agent hands the customer to 103 (blind) and leaves the call
        agent_row = page.locator('#live-rows tr[data-channel^="SIP/101-"]')
        agent_row.locator('input[name="transfer_to"]').fill("103")
        agent_row.locator('button:has-text("Transfer")').click()
        page.wait_for_selector("#status:has-text('blind transferred successfully')")
        agent.wait_call_closed()
        supervisor.wait_call_established(timeout=15)
        page.wait_for_selector('#live-rows tr[data-channel^="SIP/103-"] td.state-up')
        page.wait_for_selector('#live-rows tr[data-channel^="SIP/101-"]', state="detached")
        page.screenshot(path=shots / "03-live-transferred.png")
        time.sleep(1)

        # hang up with the row's button: the call ends, the table empties by itself
        page.click('#live-rows tr[data-channel^="SIP/103-"] button:has-text("Hang up")')
        page.wait_for_selector("#status:has-text('call hangup successfully')")
        supervisor.wait_call_closed()
        customer.wait_call_closed()
        page.wait_for_selector("#live-rows tr.empty")
        assert page.inner_text("#live-count") == "0"
        page.screenshot(path=shots / "04-live-ended.png")

        # its CDR, once written
        def cdr_listed() -> bool:
            page.goto(server.url + "/console/cdrs")
            return page.locator(f'#cdrs tr[data-request-id="{request_id}"]').count() == 1

        wait_until(cdr_listed, 15, what="the call's CDR on the CDR page")
        row = page.locator(f'#cdrs tr[data-request-id="{request_id}"]')
        assert "ANSWER" in row.inner_text()
        assert page.locator("#cdrs tbody tr").count() == 1  # one call, transfer and all
        assert page.locator("#calls-per-hour rect.answered").count() >= 1
        page.screenshot(path=shots / "05-cdrs.png", full_page=True)
        row.locator("a").first.click()
        page.wait_for_selector("#cdr-request-id")
        assert page.inner_text("#cdr-request-id") == request_id

        # play the recording: the browser loads and decodes it
        audio = page.evaluate(
            """async () => {
                const a = document.getElementById("recording");
                if (a.readyState < 1) {
                    await new Promise((resolve, reject) => {
                        a.addEventListener("loadedmetadata", resolve, { once: true });
                        a.addEventListener("error", () => reject(String(a.error && a.error.code)),
                                           { once: true });
                        if (a.readyState >= 1) resolve();
                    });
                }
                await a.play();
                await new Promise((resolve) => setTimeout(resolve, 700));
                return { readyState: a.readyState, duration: a.duration,
                         currentTime: a.currentTime, paused: a.paused };
            }"""
        )
        assert audio["readyState"] >= 1 and audio["duration"] > MIN_RECORDING, audio
        assert audio["currentTime"] > 0, audio  # it played
        page.screenshot(path=shots / "06-cdr-recording.png", full_page=True)

        # the other pages: the phones registered, the trunk, campaigns, voicemail
        page.goto(server.url + "/console/phones")
        for number in ("101", "102", "103"):
            row_text = page.inner_text(f'#phones tr[data-extension="{number}"]')
            assert "udp" in row_text and "yes" in row_text, row_text
        page.screenshot(path=shots / "07-phones.png")
        page.goto(server.url + "/console/trunks")
        assert page.inner_text('#trunks tr[data-trunk="carrier"] .trunk-state') == "ip-auth"
        page.screenshot(path=shots / "08-trunks.png")
        page.goto(server.url + "/console/campaigns")
        campaign = page.locator(f'tr[data-campaign="{campaign_id}"]')
        assert "3 planned" in campaign.inner_text()
        campaign.locator('button:has-text("Pause")').click()
        page.wait_for_selector("#status:has-text('campaign Autumn: paused')")
        assert campaign.locator(".campaign-status").inner_text() == "paused"
        page.screenshot(path=shots / "09-campaigns.png")
        campaign.locator('button:has-text("Resume")').click()
        page.wait_for_selector("#status:has-text('campaign Autumn: inProcess')")
        page.on("dialog", lambda dialog: dialog.accept())  # "Stop campaign Autumn?"
        campaign.locator('button:has-text("Stop")').click()
        page.wait_for_selector("#status:has-text('campaign Autumn: finished')")
        page.goto(server.url + "/console/voicemail")
        page.screenshot(path=shots / "10-voicemail.png")

        # webhooks: set a real receiver's URL (its secret shown once), then a delivery
        page.goto(server.url + "/console/webhooks")
        page.fill('#set-url input[name="status_callback"]', receiver.url("/hook"))
        page.click('#set-url button:has-text("Save")')
        page.wait_for_selector("#status:has-text('Your webhook secret')")
        assert page.inner_text("#status-callback") == receiver.url("/hook")
        server.call(server.runtime.webhooks.events.campaign_finished, "account_1", "c1", {})
        receiver.wait_for(lambda r: len(r.received("/hook")) == 1, 10, "the delivery")
        page.goto(server.url + "/console/webhooks")
        assert "delivered" in page.inner_text("#deliveries tbody tr")
        page.screenshot(path=shots / "11-webhooks.png")

        # log out: the console is closed again
        page.click('header button:has-text("Log out")')
        page.wait_for_url(server.url + "/")
        page.goto(server.url + "/console/live")
        assert page.url == server.url + "/"
    except Exception:
        page.screenshot(path=shots / "failure.png", full_page=True)
        raise


def test_another_site_cannot_act_for_a_logged_in_browser(server, browser, shots, ports):
    """A page on another origin (another port of this host: the same *site*, so the
    SameSite cookie does go along) posts the click2call form: refused, nothing dialed."""
    page = browser.new_page()
    page.set_default_timeout(10_000)
    page.goto(server.url + "/")
    page.fill('input[name="account"]', LOGIN["account"])
    page.fill('input[name="auth"]', LOGIN["auth"])
    page.click('button:has-text("Log in")')
    page.wait_for_url("**/console/live")

    evil = (
        f"<form id=f method=post action='{server.url}/console/live/click2call'>"
        "<input name=agent_number value=101><input name=destination_number value=102>"
        "<input name=caller_id value=15168148111><input name=csrf_token value=guessed>"
        "</form><script>document.getElementById('f').submit()</script>"
    )

    class Evil(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = evil.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", ports.port()), Evil)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        answers = []
        page.on(
            "response",
            lambda r: answers.append(r.status) if r.url.endswith("/click2call") else None,
        )
        page.goto(f"http://127.0.0.1:{site.server_address[1]}/")
        page.wait_for_url("**/console/live/click2call")
        page.screenshot(path=shots / "forged-request.png")
        assert answers == [403]
        assert "cross-origin request refused" in page.content()
    finally:
        site.shutdown()
        site.server_close()
    # nothing was dialed
    assert server.call(server.calls.live_calls, "account_1") == []
