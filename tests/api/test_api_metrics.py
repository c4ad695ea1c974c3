"""/metrics through the real app (create_app on a started Runtime): the token, the
listener's own app, and what the collector reads at scrape time (registrations, trunks,
the dialer's queue) and the API latency histogram's route templates."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from api.app import create_app
from api.latency import RouteLatency
from api.metrics import metrics_app
from softswitch.campaigns.model import Campaign, CampaignStatus, new_campaign_id, new_token
from softswitch.config import Config, MetricsConfig
from softswitch.metrics.calls import MAX_CAUSES, OTHER_CAUSE, cause_label
from softswitch.store import Binding
from softswitchd.runtime import Runtime
from tests.switch_harness import switch_config

TOKEN = "a-metrics-token-0123456789"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


@pytest.fixture
async def make_runtime(tmp_path: Path, ports) -> AsyncIterator[Callable[[MetricsConfig], Runtime]]:
    started: list[Runtime] = []

    async def make(metrics: MetricsConfig) -> Runtime:
        config: Config = switch_config(
            tmp_path / f"r{len(started)}",
            ports.port(),
            29700,
            trunks=[{"name": "carrier", "host": "127.0.0.1:9", "register": False}],
            accounts={"account_1": "secret-one"},
        )
        config.metrics = metrics
        runtime = Runtime(config, announce=lambda line: None)
        await runtime.start()
        started.append(runtime)
        return runtime

    yield make  # type: ignore[misc]
    for runtime in started:
        await runtime.stop()


def client(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_the_token_is_asked_and_checked(make_runtime) -> None:
    runtime = await make_runtime(MetricsConfig(token=TOKEN))
    async with client(create_app(runtime.api_context())) as http:
        missing = await http.get("/metrics")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        for wrong in (f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer "):
            response = await http.get("/metrics", headers={"Authorization": wrong})
            assert response.status_code == 401, wrong
            assert response.json()["error"]["message"] == "invalid metrics token"
        ok = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        assert ok.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert value(parse(ok.text), "softswitch_calls_active", direction="inbound") == 0


async def test_off_by_default_and_listener_only_without_a_token(make_runtime) -> None:
    off = await make_runtime(MetricsConfig())
    assert off.metrics is None
    async with client(create_app(off.api_context())) as http:
        assert (await http.get("/metrics")).status_code == 404
    # a listener and no token: the API port still does not serve it, the listener does
    listen = await make_runtime(MetricsConfig(listen="127.0.0.1:9464"))
    assert listen.metrics is not None
    async with client(create_app(listen.api_context())) as http:
        assert (await http.get("/metrics")).status_code == 404
    async with client(metrics_app(listen.metrics, listen.config.metrics)) as http:
        response = await http.get("/metrics")
        assert response.status_code == 200
        assert (await http.get("/api/numbers")).status_code == 404  # /metrics alone


async def test_state_read_at_scrape_time(make_runtime) -> None:
    runtime = await make_runtime(MetricsConfig(token=TOKEN))
    store = runtime.store
    now = time.time()
    for aor, transport in (("101", "UDP"), ("102", "UDP"), ("102", "TLS")):
        store.put_binding(
            Binding(
                aor,
                f"sip:{aor}@127.0.0.1;transport={transport}",
                now + 60,
                "c",
                1,
                transport,
                "h",
                1,
            )
        )
    store.put_binding(Binding("101", "sip:old@127.0.0.1", now - 1, "c", 1, "TCP", "h", 1))
    manager = runtime.campaigns
    cid = new_campaign_id()
    campaign = manager.create(
        Campaign(
            id=cid,
            account_id="account_1",
            name="queued",
            token=new_token("account_1", cid),
            status=CampaignStatus.PAUSED,  # nothing dialed: the queue stays as it is
        )
    )
    manager.add_phones(campaign, [{"phone": "15550001"}, {"phone": "15550002"}], None)
    async with client(create_app(runtime.api_context())) as http:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        await http.get("/api/numbers/555")  # no account: 401, timed by its template
        await http.get("/no/such/path")
        samples = parse((await http.get("/metrics", headers=auth)).text)
    assert value(samples, "softswitch_registrations", transport="udp") == 2
    assert value(samples, "softswitch_registrations", transport="tls") == 1
    assert value(samples, "softswitch_registrations", transport="tcp") == 0  # expired
    assert value(samples, "softswitch_trunk_state", trunk="carrier", state="ip-auth") == 1
    assert value(samples, "softswitch_trunk_state", trunk="carrier", state="registered") == 0
    assert value(samples, "softswitch_dialer_queue_depth", campaign=cid) == 2
    assert value(samples, "softswitch_dialer_calls_active", campaign=cid) == 0
    assert value(samples, "softswitch_webhook_backlog") == 0  # the runtime's outbox, empty
    count = "softswitch_api_request_duration_seconds_count"
    assert value(samples, count, method="GET", route="/api/numbers/{number}", status="4xx") == 1
    assert value(samples, count, method="GET", route="unmatched", status="4xx") == 1
    assert not [key for key in samples if ("route", "/api/numbers/555") in key[1]]

    assert runtime.metrics is not None
    runtime.metrics.collector.webhook_backlog = lambda: 7
    assert value(parse(runtime.metrics.render().decode()), "softswitch_webhook_backlog") == 7


def test_hang_up_causes_are_a_bounded_label_set() -> None:
    seen: set[str] = set()
    assert cause_label("failure: [Errno 111] refused", seen) == "failure"
    assert cause_label("", seen) == "unknown"
    for i in range(MAX_CAUSES * 2):
        cause_label(f"cause {i}", seen)
    assert len(seen) == MAX_CAUSES
    assert cause_label("one more", seen) == OTHER_CAUSE
    assert cause_label("failure: another text", seen) == "failure"  # known ones stay


async def test_latency_of_a_failing_handler_and_a_wrong_method() -> None:
    async def broken(request):
        raise RuntimeError("boom")

    registry = CollectorRegistry()
    histogram = Histogram("t_seconds", "t", ["method", "route", "status"], registry=registry)
    app = Starlette(
        routes=[Route("/calls/{name}", broken, methods=["GET"])],
        middleware=[Middleware(RouteLatency, histogram=histogram)],
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.get("/calls/SIP-101")).status_code == 500
        assert (await http.post("/calls/SIP-102")).status_code == 405
    count = "t_seconds_count"
    assert (
        registry.get_sample_value(
            count, {"method": "GET", "route": "/calls/{name}", "status": "5xx"}
        )
        == 1
    )
    assert (
        registry.get_sample_value(
            count, {"method": "POST", "route": "/calls/{name}", "status": "4xx"}
        )
        == 1
    )
