"""/docs in a real browser (Debian's chromium driven by Playwright), as a user meets it:
the page renders every family, Authorize takes the CPaaS `account` and `auth`, and
"Try it out" on an operation sends them and shows the server's real answer."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def browser() -> Any:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def test_authorize_and_try_a_call(server_factory: Any, browser: Any) -> None:
    server = server_factory()
    page = browser.new_page()
    external: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith(server.url) else external.append(r.url),
    )
    page.goto(server.url + "/docs")
    page.get_by_text("softswitch API").first.wait_for(timeout=15_000)
    for tag in ("CPaaS", "Calls API", "Admin"):
        assert page.locator(f"#operations-tag-{tag.replace(' ', '_')}").count() == 1, tag

    page.locator("button.authorize").first.click()
    dialog = page.locator(".modal-ux")
    credentials = {"account": "account_1", "auth": "secret-one"}
    for name, value in credentials.items():  # one form per header scheme
        form = dialog.locator(".auth-container").filter(has_text=f"{name} (apiKey)")
        form.locator("input").fill(value)
        form.locator("button.authorize").click()
    dialog.locator("button.btn-done").first.click()

    operation = page.locator("#operations-CPaaS-get_api_get_live_call_statistics")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    answer = operation.locator(".live-responses-table tbody .response-col_status").first
    answer.wait_for(timeout=15_000)
    assert answer.inner_text().strip() == "200"
    body = operation.locator(".live-responses-table tbody").inner_text()
    assert "live_calls_c2c" in body and '"success": "true"' in body
    assert external == []  # nothing but our own server: works offline
