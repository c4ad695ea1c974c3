"""schemathesis against the whole running process (tests/server_harness.py): every
operation of /openapi.json, both spec APIs, the extra endpoints and the admin API, with
bounded generated requests; no 5xx, and every answer matches its documented status,
media type and schema. ``-m slow`` runs the same with many more examples."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from softswitch.admin_tokens import create_admin_token
from softswitch.store.admin_tokens import AdminTokenStore
from tests.server_harness import ServerHarness
from tests.switch_harness import switch_config

ACCOUNT = {"account": "account_1", "auth": "secret-one"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# a few per operation keep the main suite's run short (about 15 s); the slow group runs many
EXAMPLES = int(os.environ.get("SOFTSWITCH_SCHEMATHESIS_EXAMPLES", "5"))


class Live:
    def __init__(self, server: ServerHarness, admin_token: str, campaign_token: str) -> None:
        self.server = server
        self.headers = {**ACCOUNT, "Authorization": f"Bearer {admin_token}"}
        self.campaign_token = campaign_token


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, ports: Any, rtp_ports: Any) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("openapi")
    sip_port, rtp_first = ports.port(), rtp_ports.block(100)
    config = switch_config(
        tmp,
        sip_port,
        rtp_first,
        api_port=ports.port(),
        extensions={"101": "pw101", "102": "pw102"},
        trunks=[{"name": "carrier", "host": "127.0.0.1:9", "register": False, "prefixes": [""]}],
        accounts={"account_1": "secret-one", "account_2": "secret-two"},
        # generated tokens are wrong by the hundred: no ban, or the rest would be 429s
        api_limits={"failures_per_source": 0, "failures_per_account": 0},
    )
    server = ServerHarness(config)
    server.start()
    try:
        assert server.switch is not None
        admin = create_admin_token(AdminTokenStore(server.switch.store.db))
        campaign = httpx.post(
            server.url + "/api/create_campaign",
            headers=ACCOUNT,
            json={
                "campaign_name": "schema",
                "campaign_type": "0",
                "campaign_caller_id": "15168148111",
                "announcement_text": "hello",
                "campaign_start_date": "2030-01-01 09:00:00",
                "campaign_end_date": "2030-01-02 18:00:00",
            },
        ).json()["response"]
        yield Live(server, admin.token, campaign["token"])
    finally:
        server.stop()
        ports.release(sip_port)
        rtp_ports.release(rtp_first, 100)


def test_every_operation_answers_as_documented(live: Live) -> None:
    fuzz(live, EXAMPLES)


@pytest.mark.slow
def test_every_operation_answers_as_documented_at_length(live: Live) -> None:
    fuzz(live, 150)


def fuzz(live: Live, examples: int) -> None:
    document = httpx.get(live.server.url + "/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=live.server.url)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 70  # both APIs, the extra endpoints, admin

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            # half the Calls API requests name the real campaign, so bodies reach it
            params = case.path_parameters or {}
            if "token" in params and params["token"][:1] < "m":
                params["token"] = live.campaign_token
            case.call_and_validate(headers=live.headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # every operation's first failure, not just the first
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
