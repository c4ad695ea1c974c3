"""The live page's event stream over a real server (uvicorn, real sockets): it sends
the table at once, says when the session expired, and never holds up a shutdown."""

from __future__ import annotations

import re
import threading
import time

import httpx

from api.console.security import COOKIE

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def login(client: httpx.Client) -> None:
    token = TOKEN.search(client.get("/").text)
    assert token is not None
    response = client.post(
        "/console/login",
        data={"account": "account_1", "auth": "secret-one", "csrf_token": token.group(1)},
    )
    assert response.status_code == 303


def first_event(lines) -> tuple[str, str]:
    event = ""
    for line in lines:
        if line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: ") and event:
            return event, line[len("data: ") :]
    raise AssertionError("the stream ended without an event")


def test_event_stream_sends_the_table_and_ends_with_the_server(server_factory):
    server = server_factory()
    with httpx.Client(base_url=server.url, timeout=10) as client:
        login(client)
        with client.stream("GET", "/console/live/events") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            event, data = first_event(lines)
            assert event == "calls" and '"count": 0' in data and "No live calls." in data
            # the switch stops while a browser still listens: the stream ends, and the
            # server's shutdown is not held up by it
            done = threading.Event()
            started = time.monotonic()
            threading.Thread(target=lambda: (server.stop(), done.set()), daemon=True).start()
            for _ in lines:
                pass
            # the stream ended by itself: uvicorn would wait on it for ever, and the
            # harness cancels the server only after 5 s
            assert time.monotonic() - started < 4
            assert done.wait(15), "the server did not stop"


def test_event_stream_of_an_expired_session(server_factory):
    server = server_factory()
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get("/console/live/events").status_code == 401
        login(client)
        # the session goes away (idle, old, or logged out elsewhere) while streaming
        with client.stream("GET", "/console/live/events") as stream:
            lines = stream.iter_lines()
            assert first_event(lines)[0] == "calls"
            token = TOKEN.search(client.get("/console/live").text)
            assert token is not None
            with httpx.Client(base_url=server.url, timeout=10) as other:
                other.cookies.set(COOKIE, client.cookies[COOKIE])
                other.post("/console/logout", data={"csrf_token": token.group(1)})
            assert first_event(lines)[0] == "expired"
