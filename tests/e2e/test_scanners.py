"""Hostile traffic from the real scanners (Debian's sipvicious) and forged requests.

Every tool here targets the switch on 127.0.0.1 and nothing else, binds a free local
port of its own (-P) and runs under a timeout. The switch keeps its defaults: 10 failed
digests a minute, a ban of 300 s.
"""

from __future__ import annotations

import re
import socket
import statistics
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from softswitch.sip.auth import authorization, choose_challenge
from softswitch.sip.message import Response
from softswitch.sip.parser import parse_message
from tests.peers.baresip import BaresipAccount
from tests.peers.fixtures import require_programs
from tests.peers.sipp import run_sipp, start_sipp
from tests.switch_harness import ip_trunk

# bounded soaks: run in the slow group (tools/test runs it after the main suite)
pytestmark = [pytest.mark.peers, pytest.mark.slow]

HOST = "127.0.0.1"
INTERNATIONAL = "+493012345678"  # an outside number: routed to the trunk
EXTENSIONS = {"101": "pw101", "102": "pw102", "103": "pw103"}


@pytest.fixture(autouse=True)
def _sipvicious() -> None:
    require_programs("svmap", "svwar", "svcrack")


# svcrack sends whenever its socket is quiet for 5 ms. Once the whole address is banned
# every answer is a 403 with no challenge to spend a password on, so it keeps asking at
# up to 200 requests a second until stopped: right at the flood limit, and whether that
# ban (a silent drop) fires too became a race. Paced at 50 a second the scanner meets the
# auth defences alone; test_sip_flood.py covers the flood ban.
SVCRACK_PACE = ("-t", "0.02")


def scanner(tool: str, target_port: int, local_port: int, *args: str, timeout: float = 60.0):
    """Run one sipvicious tool against the switch on loopback, bounded in time.

    A tool that waits on and on for an answer it can use (svcrack once the address is
    banned) is stopped at ``timeout``; what it printed so far is returned.
    """
    argv = [tool, "-p", str(target_port), "-b", HOST, "-P", str(local_port), "-x", HOST]
    if tool == "svcrack":
        argv += SVCRACK_PACE
    argv += [*args, HOST]
    try:
        result = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as stopped:
        return _text(stopped.stdout) + _text(stopped.stderr) + f"\n[stopped after {timeout}s]"
    return _text(result.stdout) + _text(result.stderr)


def _text(data: bytes | str | None) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""


def auth_failures(caplog: pytest.LogCaptureFixture) -> int:
    return sum(record.getMessage().startswith("auth failed") for record in caplog.records)


def flood_bans(caplog: pytest.LogCaptureFixture) -> int:
    return sum(
        record.getMessage().startswith("flood:") and "banned" in record.getMessage()
        for record in caplog.records
    )


def table_rows(output: str) -> list[list[str]]:
    """The cells of the result table the tools print (| a | b |), header row included."""
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in output.splitlines()
        if line.startswith("|")
    ]


class RawClient:
    """A bare SIP client on a UDP socket: sends what we write, returns the final answer."""

    def __init__(self, port: int, switch_port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, port))
        self.sock.settimeout(5.0)
        self.port = port
        self.switch_port = switch_port
        self.count = 0

    def close(self) -> None:
        self.sock.close()

    def send(self, method: str, ruri: str, to_user: str, from_user: str, *extra: str) -> Response:
        self.count += 1
        call_id = f"raw-{self.port}-{self.count}"
        lines = [
            f"{method} {ruri} SIP/2.0",
            f"Via: SIP/2.0/UDP {HOST}:{self.port};branch=z9hG4bK-raw{self.count};rport",
            f"From: <sip:{from_user}@{HOST}>;tag=raw{self.count}",
            f"To: <sip:{to_user}@{HOST}:{self.switch_port}>",
            f"Call-ID: {call_id}",
            f"CSeq: 1 {method}",
            f"Contact: <sip:{from_user}@{HOST}:{self.port}>",
            "Max-Forwards: 70",
            *extra,
            "Content-Length: 0",
            "",
            "",
        ]
        self.sock.sendto("\r\n".join(lines).encode(), (HOST, self.switch_port))
        while True:
            message = parse_message(self.sock.recv(65535))
            if (
                isinstance(message, Response)
                and message.status >= 200
                and message.call_id == call_id
            ):
                if method == "INVITE":  # stop the switch retransmitting its answer
                    self._ack(message, ruri)
                return message

    def _ack(self, response: Response, ruri: str) -> None:
        headers = response.headers
        text = (
            f"ACK {ruri} SIP/2.0\r\n"
            f"Via: {headers.get('Via')}\r\n"
            f"From: {headers.get('From')}\r\n"
            f"To: {headers.get('To')}\r\n"
            f"Call-ID: {response.call_id}\r\n"
            f"CSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        self.sock.sendto(text.encode(), (HOST, self.switch_port))


@pytest.fixture
def raw(ports):
    clients: list[RawClient] = []

    def make(switch_port: int) -> RawClient:
        client = RawClient(ports.port(), switch_port)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def wordlist(tmp_path: Path, guesses: Iterable[str]) -> Path:
    """svcrack's dictionary: one guess a line."""
    words = tmp_path / "words.txt"
    words.write_text("\n".join(guesses) + "\n")
    return words


def as_101(challenge: Response, method: str, uri: str) -> str:
    """101's Authorization value (its right password) for ``challenge``'s offer."""
    return authorization(
        choose_challenge(challenge.headers.get_all("WWW-Authenticate")),
        method=method,
        uri=uri,
        username="101",
        password="pw101",
        nc=1,
    )


def sip_port(harness) -> int:
    return harness.config.sip_host_port[1]


def test_svmap_finds_the_switch_and_learns_only_its_name(ports, switch_factory):
    harness = switch_factory()
    port = sip_port(harness)
    output = scanner("svmap", port, ports.port())
    rows = table_rows(output)
    # found, and told the product name we chose: no version, no platform
    assert [f"{HOST}:{port}", "softswitch"] in rows, output


@pytest.mark.parametrize("method", ["REGISTER", "INVITE", "OPTIONS"])
def test_svwar_cannot_tell_an_existing_extension_from_an_unknown_one(method, ports, switch_factory):
    harness = switch_factory()
    port = sip_port(harness)
    cautious = scanner("svwar", port, ports.port(), "-m", method, "-e101,999")
    forced = scanner("svwar", port, ports.port(), "--force", "-m", method, "-e101,999")
    for output in (cautious, forced):
        found = {row[0] for row in table_rows(output)[1:]}
        # 101 exists, 999 does not: both reported or neither
        assert ("101" in found) == ("999" in found), output
    assert "found nothing" in forced, forced
    if method != "OPTIONS":
        # svwar's own sanity check gives up: a random extension is challenged too
        assert "authentication request for an unknown extension" in cautious, cautious


@pytest.mark.parametrize("method", ["REGISTER", "INVITE", "OPTIONS"])
def test_existing_and_unknown_extensions_are_answered_alike(method, switch_factory, raw):
    harness = switch_factory()
    port = sip_port(harness)
    client = raw(port)
    answers: dict[str, set[tuple[object, ...]]] = {"101": set(), "999": set()}
    times: dict[str, list[float]] = {"101": [], "999": []}
    for _ in range(15):
        for user in ("101", "999"):
            ruri = f"sip:{HOST}:{port}" if method == "REGISTER" else f"sip:{user}@{HOST}:{port}"
            started = time.perf_counter()
            response = client.send(method, ruri, user, user)
            times[user].append(time.perf_counter() - started)
            names = tuple(sorted(name.lower() for name, _ in response.headers.items()))
            answers[user].add((response.status, response.reason, names))
    assert answers["101"] == answers["999"]
    assert len(answers["101"]) == 1
    # the same code path: medians within noise (a database miss vs hit would be far less)
    gap = abs(statistics.median(times["101"]) - statistics.median(times["999"]))
    assert gap < 0.005, times


def test_svcrack_is_throttled_before_it_reaches_the_password(
    tmp_path, ports, switch_factory, phone_factory, raw, caplog
):
    harness = switch_factory(extensions=EXTENSIONS)
    port = sip_port(harness)
    guesses = [f"guess{i}" for i in range(25)] + ["pw101"] + [f"guess{i}" for i in range(25, 30)]
    words = wordlist(tmp_path, guesses)
    started = time.monotonic()
    output = scanner("svcrack", port, ports.port(), "-u101", "-d", str(words), timeout=90)
    assert time.monotonic() - started < 90
    assert "pw101" not in output and "found nothing" in output, output
    assert auth_failures(caplog) == 10  # sip.auth_failures_per_minute: the rest got 403
    # 101 is banned from this address now, even with the right password...
    client = raw(port)
    challenge = client.send("REGISTER", f"sip:{HOST}:{port}", "101", "101")
    assert challenge.status == 401  # no credentials: challenged like anyone
    value = as_101(challenge, "REGISTER", f"sip:{HOST}:{port}")
    refused = client.send("REGISTER", f"sip:{HOST}:{port}", "101", "101", f"Authorization: {value}")
    assert refused.status == 403
    # ...but its neighbours behind the same address register and call each other
    caller = phone_factory(BaresipAccount("102", "pw102", registrar=f"{HOST}:{port}"))
    callee = phone_factory(BaresipAccount("103", "pw103", registrar=f"{HOST}:{port}"))
    caller.wait_registered()
    callee.wait_registered()
    caller.dial(f"sip:103@{HOST}:{port}")
    callee.wait_call_established()
    caller.wait_call_established()
    caller.hangup()
    callee.wait_call_closed()


def test_cracking_an_unknown_extension_bans_the_address(
    tmp_path, ports, switch_factory, raw, caplog
):
    harness = switch_factory(extensions=EXTENSIONS)
    port = sip_port(harness)
    words = wordlist(tmp_path, [f"guess{i}" for i in range(15)])
    output = scanner("svcrack", port, ports.port(), "-u999", "-d", str(words), timeout=8)
    assert not table_rows(output) and auth_failures(caplog) == 10, output
    assert flood_bans(caplog) == 0  # refused by the auth ban below, not dropped as a flood
    # the whole address is refused now, whoever asks and even without credentials
    refused = raw(port).send("REGISTER", f"sip:{HOST}:{port}", "102", "102")
    assert refused.status == 403


def test_guessing_at_many_extensions_from_one_address_bans_it(
    tmp_path, ports, switch_factory, raw, caplog
):
    harness = switch_factory(extensions=EXTENSIONS, sip={"auth_address_failures_per_minute": 15})
    port = sip_port(harness)
    words = wordlist(tmp_path, [f"guess{i}" for i in range(12)])
    scanner("svcrack", port, ports.port(), "-u101", "-d", str(words), timeout=30)
    # 101 is banned from here, the address not yet: 103 is still challenged
    assert raw(port).send("REGISTER", f"sip:{HOST}:{port}", "103", "103").status == 401
    scanner("svcrack", port, ports.port(), "-u102", "-d", str(words), timeout=8)
    assert auth_failures(caplog) == 15 and flood_bans(caplog) == 0
    assert raw(port).send("REGISTER", f"sip:{HOST}:{port}", "103", "103").status == 403


def test_forged_invites_never_reach_the_trunk(tmp_path, ports, switch_factory, raw):
    far = start_sipp(tmp_path, "uas_answer.xml", port=ports.port(), calls=1, timeout=30)
    trunk_side = ports.port()  # our raw client here counts as one of the carrier's addresses
    harness = switch_factory(
        extensions=EXTENSIONS,
        trunks=[ip_trunk("carrier", far.port, inbound_from=[f"{HOST}:{trunk_side}"])],
    )
    port = sip_port(harness)
    outside = f"sip:{INTERNATIONAL}@{HOST}:{port}"
    client = raw(port)
    # a spoofed From (an extension, the carrier) without credentials: challenged
    assert client.send("INVITE", outside, INTERNATIONAL, "101").status == 401
    assert client.send("INVITE", outside, INTERNATIONAL, "carrier").status == 401
    # a forged Authorization (a nonce we never issued): challenged again
    forged = (
        f'Authorization: Digest username="101", realm="softswitch", nonce="{"A" * 48}", '
        f'uri="{outside}", response="{"0" * 32}", algorithm=MD5'
    )
    assert client.send("INVITE", outside, INTERNATIONAL, "101", forged).status == 401
    # right credentials computed for INVITE sip:102@..., replayed onto the outside number
    challenge = client.send("INVITE", f"sip:102@{HOST}:{port}", "102", "101")
    inside = as_101(challenge, "INVITE", f"sip:102@{HOST}:{port}")
    replayed = client.send("INVITE", outside, INTERNATIONAL, "101", f"Authorization: {inside}")
    assert replayed.status == 400
    # from the carrier's own address, to an outside number: no relaying back out
    carrier = RawClient(trunk_side, port)
    try:
        assert carrier.send("INVITE", outside, INTERNATIONAL, "4930999").status == 404
    finally:
        carrier.close()
    # none of it reached the trunk; a real, authenticated call to the same number does
    result = run_sipp(
        tmp_path,
        "uac_auth_call.xml",
        remote=f"{HOST}:{port}",
        service=INTERNATIONAL,
        auth=("101", "pw101"),
        port=ports.port(),
        duration_ms=300,
        timeout=15,
    )
    assert result.ok, result.describe()
    callee = far.wait()
    assert callee.ok, callee.describe()
    invites = re.findall(r"^INVITE sip:", callee.messages(), flags=re.MULTILINE)
    assert len(invites) == 1, callee.messages()


def test_a_phone_with_a_wrong_password_does_not_lock_out_its_nat_neighbour(
    tmp_path, ports, switch_factory, phone_factory
):
    harness = switch_factory(extensions=EXTENSIONS)
    port = sip_port(harness)
    # the misconfigured phone: REGISTER after REGISTER with a wrong password (sipp)
    wrong = run_sipp(
        tmp_path,
        "uac_register.xml",
        remote=f"{HOST}:{port}",
        service="103",
        auth=("103", "typo"),
        port=ports.port(),
        calls=15,
        timeout=30,
    )
    assert wrong.successful == 0
    # the honest phone on the same address still registers and is reachable
    phone = phone_factory(BaresipAccount("102", "pw102", registrar=f"{HOST}:{port}"))
    phone.wait_registered()
    assert harness.call(lambda: [b.aor for b in harness.switch.registrar.contacts("102")]) == [
        "102"
    ]
