"""schemathesis against the whole running process (tests/server_harness.py): every
operation of /openapi.json, both spec APIs, the extra endpoints and the admin API, with
bounded generated requests; no 5xx, and every answer matches its documented status,
media type and schema. ``-m slow`` runs the same with many more examples.

The server is seeded as a client would leave it (a campaign, lists, a template, a flow,
a room, a ring group and a number, a callback, CDRs with a recording, a voicemail
message, a webhook URL on a closed local port and a click2call whose events failed to
reach it, a phone registered from a socket that never answers and a call ringing it, so
the admin API's status and live calls list them), and half the generated requests are
steered to those real ids (path parameters and body keys), so the replies' success
schemas are checked too, not only the 404 of an id that does not exist."""

from __future__ import annotations

import os
import random
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from softswitch.admin_tokens import create_admin_token
from softswitch.store import Binding
from softswitch.store.admin_tokens import AdminTokenStore
from softswitch.store.cdrs import Cdr, CdrStore
from tests.peers.audio import make_tone_wav
from tests.peers.process import wait_until
from tests.server_harness import ServerHarness
from tests.switch_harness import switch_config

ACCOUNT = {"account": "account_1", "auth": "secret-one"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# a few per operation keep the main suite's run short; the slow group runs many
EXAMPLES = int(os.environ.get("SOFTSWITCH_SCHEMATHESIS_EXAMPLES", "5"))
# the seeded ringing call's media (RTCP interval jitter, softswitch.sip.invite's
# retransmit back-off) draws on the global `random` in the server's thread while
# hypothesis draws a case here: not our strategies' doing, so not worth a warning
pytestmark = pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")


@dataclass
class Live:
    server: ServerHarness
    headers: dict[str, str]
    paths: dict[str, str] = field(default_factory=dict)  # path parameter -> a real value
    keys: dict[str, Any] = field(default_factory=dict)  # body key -> a real value


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["response"]
    return body


def seed(server: ServerHarness, tmp: Path, hook: str, silent: int) -> Live:
    """What a client would have made, through the API where one makes it; ``hook``: a
    webhook URL nothing listens on; ``silent``: a UDP port that reads and never answers."""
    assert server.switch is not None
    store = server.switch.store
    admin = create_admin_token(AdminTokenStore(store.db))
    api = httpx.Client(base_url=server.url, headers=ACCOUNT)
    _ok(api.put("/api/webhooks/settings", json={"status_callback": hook}))
    # 101 is not registered: the call is initiated and completed at once, its two
    # events are tried at the closed port and marked failed (retry_for: 1 s)
    _ok(
        api.post(
            "/api/click2call",
            json={"agent_number": "101", "destination_number": "102", "caller_id": "15168148111"},
        )
    )
    list_id = _ok(api.post("/api/create_campaign_list", json={"list_name": "l"}))["list_id"]
    dnd = _ok(api.post("/api/create_campaign_dnd_list", json={"dnd_list_name": "d"}))
    _ok(
        api.post(
            "/api/add_contact_to_list",
            json={"list_id": list_id, "contacts": [{"contact_number": "15551230001"}]},
        )
    )
    campaign = _ok(
        api.post(
            "/api/create_campaign",
            json={
                "list_id": list_id,
                "campaign_name": "schema",
                "campaign_type": "0",
                "campaign_caller_id": "15168148111",
                "announcement_text": "hello",
                "campaign_start_date": "2030-01-01 09:00:00",
                "campaign_end_date": "2030-01-02 18:00:00",
            },
        )
    )
    token = campaign["token"]
    jobs = api.post(f"/api/calls/campaign/{token}/addPhones", json=[{"phone": "15551230002"}])
    template = _ok(api.post("/api/announce_templates", json={"text": "Your code is {otp}"}))
    flow = _ok(api.post("/api/flows", json={"flow_name": "f", "flow": [{"type": "hangup"}]}))
    _ok(api.post("/api/conferences", json={"room": "800", "name": "sales"}))
    _ok(api.post("/api/ring_groups", json={"id": "sales", "members": ["101"]}))
    _ok(api.post("/api/numbers", json={"number": "15550100", "destination": "ring_group:sales"}))
    callback = _ok(
        api.post(
            "/api/callback",
            json={
                "agent_number": "101",
                "caller_id": "15168148111",
                "destination_number": "102",
                "time_zone": "UTC",
                "scheduled_at": time.strftime(
                    "%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 30 * 86400)
                ),
            },
        )
    )
    _ok(api.post("/api/upload", files={"file": ("contacts.csv", b"contact_number\n15551230003\n")}))

    recordings = Path(server.config.media.recordings_dir) / "account_1"
    recordings.mkdir(parents=True, exist_ok=True)
    make_tone_wav(recordings / "rec.wav", 440.0, 0.2)
    cdr = dict(
        account_id="account_1",
        request_id=callback["request_id"],
        call_direction="outbound-api",
        destination_context="click2call",
        caller_id="15168148111",
        agent_number="101",
        customer_number="102",
        dialed_number="102",
        call_date=1688710079.0,
        answer=1688710081.0,
        end=1688710096.0,
        call_duration=17.0311,
        billsec=7.26955,
        call_status="ANSWERED",
        dial_status="ANSWER",
        recording_name="rec.wav",
    )
    cdrs = CdrStore(store.db)
    cdrs.insert(Cdr(**cdr))
    unanswered = cdr | {"answer": None, "billsec": None, "call_status": None, "request_id": ""}
    cdrs.insert(Cdr(**unanswered, campaign_id=campaign["campaign_id"], list_id=list_id))

    def failed() -> bool:
        deliveries = _ok(api.get("/api/webhooks/deliveries", params={"status": "failed"}))
        return any(d["attempts"] for d in deliveries["result"])

    wait_until(failed, 15, what="a webhook event tried and failed")
    # 103 registered from a socket that never answers: the click2call rings it (INVITE
    # retransmitted) while the operations run
    contact = f"sip:103@127.0.0.1:{silent}"
    store.put_binding(
        Binding("103", contact, time.time() + 3600, "c", 1, "UDP", "127.0.0.1", silent, "seed")
    )
    ringing = _ok(
        api.post(
            "/api/click2call",
            json={"agent_number": "103", "destination_number": "102", "caller_id": "15168148111"},
        )
    )
    bearer = {"Authorization": f"Bearer {admin.token}"}
    admin_api = httpx.Client(base_url=server.url, headers=bearer)

    def listed() -> bool:
        channels = admin_api.get("/api/admin/calls").json()["calls"]
        return [c["request_id"] for c in channels] == [ringing["request_id"]]

    wait_until(listed, 5, what="the call ringing 103 listed")
    assert admin_api.get("/api/admin/status").json()["phones"][0]["number"] == "103"

    voicemail = server.switch.voicemail
    assert voicemail is not None
    box = voicemail.boxes.get("102")
    box.folder.mkdir(parents=True, exist_ok=True)
    make_tone_wav(box.folder / "m.wav", 500.0, 0.2)
    message = voicemail.store.add_message("102", "101", 1700000000.0, 0.2, "m.wav")

    return Live(
        server,
        {**ACCOUNT, "Authorization": f"Bearer {admin.token}"},
        paths={
            "token": token,
            "room": "800",
            "group_id": "sales",
            "flow_id": flow["flow_id"],
            "name": "rec.wav",
            "extension": "102",
            "message_id": str(message.id),
            "number": "15550100",
        },
        keys={
            "request_id": callback["request_id"],
            "campaign_id": campaign["campaign_id"],
            "list_id": list_id,
            "dnd_list_id": dnd["dnd_list_id"],
            "announce_template_id": template["announce_template_id"],
            "flow_id": flow["flow_id"],
            "csv_name": "contacts.csv",
            "dnd_csv_name": "contacts.csv",
            "ids": jobs.json(),
            "status_callback": hook,
        },
    )


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, ports: Any, rtp_ports: Any) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("openapi")
    sip_port, rtp_first = ports.port(), rtp_ports.block(100)
    config = switch_config(
        tmp,
        sip_port,
        rtp_first,
        api_port=ports.port(),
        extensions={"101": "pw101", "102": "pw102", "103": "pw103"},
        extension_options={"102": {"voicemail": True, "account": "account_1"}},
        trunks=[{"name": "carrier", "host": "127.0.0.1:9", "register": False, "prefixes": [""]}],
        accounts={"account_1": "secret-one", "account_2": "secret-two"},
        # generated tokens are wrong by the hundred: no ban, or the rest would be 429s
        api_limits={"failures_per_source": 0, "failures_per_account": 0},
        webhooks={"retry_for": 1, "backoff_first_ms": 100, "backoff_max": 1},
    )
    hook_port = ports.port()  # nothing listens there
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    server = ServerHarness(config)
    server.start()
    try:
        yield seed(server, tmp, f"http://127.0.0.1:{hook_port}/hook", silent.getsockname()[1])
    finally:
        server.stop()
        silent.close()
        ports.release(hook_port)
        ports.release(sip_port)
        rtp_ports.release(rtp_first, 100)


# positive: requests the document allows; negative: requests it does not (each must be
# refused with a documented 4xx, never a 5xx)
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


@pytest.mark.parametrize("mode", MODES, ids=str)
def test_every_operation_answers_as_documented(live: Live, mode: GenerationMode) -> None:
    fuzz(live, EXAMPLES, mode)


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES, ids=str)
def test_every_operation_answers_as_documented_at_length(live: Live, mode: GenerationMode) -> None:
    fuzz(live, 150, mode)


def steer(case: Any, live: Live) -> None:
    """Every other case (decided by its content, so a replay is the same) names the
    seeded objects instead of generated ids.

    A generated trunk host is always replaced by a loopback one: the switch resolves a
    trunk's host when it is saved (a DNS query to the machine's resolver) and registers
    to it, and no test may send a packet off loopback."""
    if case.operation.path.startswith("/api/admin/trunks") and isinstance(case.body, dict):
        host = case.body.get("host")
        if isinstance(host, str) and not host.startswith("127."):
            case.body["host"] = "127.0.0.1:9"
    if random.Random(repr((case.path_parameters, case.body, case.query))).random() < 0.5:
        return
    params = case.path_parameters or {}
    for name in params:
        if name in live.paths:
            params[name] = live.paths[name]
    if case.operation.path.startswith("/api/admin/"):
        params["number"] = "101"
    if isinstance(case.body, dict):
        for key in case.body.keys() & live.keys.keys():
            case.body[key] = live.keys[key]


def fuzz(live: Live, examples: int, mode: GenerationMode) -> None:
    document = httpx.get(live.server.url + "/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=live.server.url)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 70  # both APIs, the extra endpoints, admin
    # deletions last, so the seeded objects are there for everything else
    operations.sort(key=lambda op: op.method.upper() == "DELETE")

    for operation in operations:

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            steer(case, live)
            case.call_and_validate(headers=live.headers, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:  # negative: nothing in the operation can be made invalid
            assert mode is GenerationMode.NEGATIVE, operation.label
        except Exception as exc:  # every operation's first failure, not just the first
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
