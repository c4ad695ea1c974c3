"""/metrics scraped as Prometheus would, during and after a real call between two
baresip phones: on the API port with the Bearer token, and on `[metrics] listen`."""

from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from softswitch.config import MetricsConfig
from tests.peers.baresip import BaresipAccount
from tests.peers.process import wait_until
from tests.server_harness import ServerHarness
from tests.switch_harness import switch_config

pytestmark = pytest.mark.peers

TOKEN = "scrape-me-7f3a9c1e5b"


@pytest.fixture
def server(tmp_path, ports, rtp_ports):
    sip_port, api_port, metrics_port = ports.port(), ports.port(), ports.port()
    rtp_first = rtp_ports.block(100)
    config = switch_config(tmp_path / "server", sip_port, rtp_first, api_port=api_port)
    config.metrics = MetricsConfig(token=TOKEN, listen=f"127.0.0.1:{metrics_port}")
    harness = ServerHarness(config)
    try:
        harness.start()
        yield harness
    finally:
        harness.stop()
        for port in (sip_port, api_port, metrics_port):
            ports.release(port)
        rtp_ports.release(rtp_first, 100)


def scrape(url: str, token: str | None = TOKEN) -> dict[tuple[str, tuple], float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(url, headers=headers, timeout=5)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, tuple], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_during_and_after_a_call_between_two_phones(server, phone_factory) -> None:
    api = f"{server.url}/metrics"
    listener = f"http://{server.config.metrics.listen}/metrics"
    assert httpx.get(api, timeout=5).status_code == 401
    wrong = httpx.get(api, headers={"Authorization": "Bearer not-the-token-at-all"}, timeout=5)
    assert wrong.status_code == 401
    assert "invalid_token" in wrong.headers["www-authenticate"]
    assert httpx.get(listener, timeout=5).status_code == 401  # a token set: asked there too

    port = server.config.sip_host_port[1]
    caller = phone_factory(BaresipAccount("101", "pw101", registrar=f"127.0.0.1:{port}"))
    callee = phone_factory(
        BaresipAccount("102", "pw102", registrar=f"127.0.0.1:{port}"), tone_hz=1000.0
    )
    caller.wait_registered()
    callee.wait_registered()
    before = scrape(api)
    assert value(before, "softswitch_registrations", transport="udp") == 2
    assert value(before, "softswitch_calls_active", direction="inbound") == 0

    caller.dial(f"sip:102@127.0.0.1:{port}")
    callee.wait_call_established()
    caller.wait_call_established()
    wait_until(
        lambda: value(scrape(api), "softswitch_rtp_packets_received_total") > 20,
        5,
        what="RTP counted",
    )
    during = scrape(listener)
    assert value(during, "softswitch_calls_active", direction="inbound") == 1
    assert value(during, "softswitch_calls_active", direction="outbound") == 1
    assert value(during, "softswitch_bridged_calls_active") == 1
    # both legs answered: the 102 leg when 102 answered, then 101's
    assert value(during, "softswitch_call_setup_seconds_count", direction="inbound") == 1
    assert value(during, "softswitch_call_setup_seconds_count", direction="outbound") == 1
    assert 0 < value(during, "softswitch_call_setup_seconds_sum", direction="inbound") < 10
    assert value(during, "softswitch_rtp_packets_sent_total") > 0
    assert (
        value(during, "softswitch_calls_total", direction="inbound", cause="normal clearing") == 0
    )

    time.sleep(0.5)
    caller.hangup()
    caller.wait_call_closed()
    callee.wait_call_closed()
    wait_until(
        lambda: value(scrape(api), "softswitch_calls_active", direction="outbound") == 0,
        5,
        what="the legs gone",
    )
    after = scrape(api)
    # 101 hung up: its leg ended by its BYE, the other leg after it
    ended = {
        labels: count
        for (name, labels), count in after.items()
        if name == "softswitch_calls_total" and count
    }
    assert sum(ended.values()) == 2
    assert value(after, "softswitch_calls_total", direction="inbound", cause="normal clearing") == 1
    assert value(after, "softswitch_calls_active", direction="inbound") == 0
    # the ended legs' RTP still counts, and only grows
    received = value(after, "softswitch_rtp_packets_received_total")
    assert received >= value(during, "softswitch_rtp_packets_received_total") > 20
    assert value(after, "softswitch_rtp_jitter_seconds_count") == 2
    # the API's own requests, by route template
    assert (
        value(
            after,
            "softswitch_api_request_duration_seconds_count",
            method="GET",
            route="/metrics",
            status="2xx",
        )
        >= 3
    )
    assert (
        value(
            after,
            "softswitch_api_request_duration_seconds_count",
            method="GET",
            route="/metrics",
            status="4xx",
        )
        == 2
    )
