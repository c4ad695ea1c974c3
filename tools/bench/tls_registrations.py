"""N phones registered over SIP/TLS: the switch's idle CPU and memory per registered phone.

Starts the switch (`softswitch serve`) with a TLS listener and N extensions, then a small
asyncio client opens N TLS connections (verifying the switch's self-signed certificate),
registers each extension with digest auth, and keeps every connection open sending an
RFC 5626 double-CRLF keepalive every --keepalive seconds (spread over the interval).
Measured on the switch process only: resident memory before and after the registrations,
and CPU over an idle window with no phones and with all N registered.

    .venv/bin/python tools/bench/tls_registrations.py --phones 1000 --idle 30
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import secrets
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from softswitch.sip.auth import authorization, choose_challenge  # noqa: E402
from softswitch.sip.message import Request, Response  # noqa: E402
from softswitch.sip.parser import parse_message  # noqa: E402
from tools.bench.call_setup import cpu_seconds, free_port, wait_healthy  # noqa: E402

FIRST = 200000  # extension numbers FIRST .. FIRST+N-1


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def write_config(work: Path, phones: int, sip_port: int, tls_port: int, api_port: int) -> Path:
    lines = [
        "[sip]",
        f'listen = "127.0.0.1:{sip_port}"',
        f'tls_listen = "127.0.0.1:{tls_port}"',
        "max_expires = 3600",
        # one client address registers every phone: no brute-force ban for its 401s
        "auth_failures_per_minute = 1000000",
        "[rtp]",
        'address = "127.0.0.1"',
        "[api]",
        f'listen = "127.0.0.1:{api_port}"',
        "[store]",
        f'path = "{work / "db.sqlite"}"',
    ]
    for i in range(phones):
        lines += ["[[extensions]]", f'number = "{FIRST + i}"', f'password = "pw{FIRST + i}"']
    config = work / "switch.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


class Phone:
    """One TLS connection that registers one extension and then only keeps alive."""

    def __init__(self, number: int, tls_port: int, context: ssl.SSLContext) -> None:
        self.number = number
        self.tls_port = tls_port
        self.context = context
        self.writer: asyncio.StreamWriter | None = None
        self.reader: asyncio.StreamReader | None = None
        self.pings = 0  # the switch's OPTIONS keepalives answered

    async def register(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            "127.0.0.1", self.tls_port, ssl=self.context, server_hostname="127.0.0.1"
        )
        local = self.writer.get_extra_info("sockname")[1]
        call_id = secrets.token_hex(8)
        response = await self._exchange(self._register(local, call_id, 1, None))
        if response.status == 401:
            challenge = choose_challenge(response.headers.get_all("WWW-Authenticate"))
            value = authorization(
                challenge,
                method="REGISTER",
                uri=f"sip:127.0.0.1:{self.tls_port}",
                username=str(self.number),
                password=f"pw{self.number}",
                nc=1,
                cnonce=secrets.token_hex(8),
            )
            response = await self._exchange(self._register(local, call_id, 2, value))
        if response.status != 200:
            raise RuntimeError(f"{self.number}: {response.status} {response.reason}")

    def _register(self, local: int, call_id: str, cseq: int, auth: str | None) -> bytes:
        user = self.number
        lines = [
            f"REGISTER sip:127.0.0.1:{self.tls_port} SIP/2.0",
            f"Via: SIP/2.0/TLS 127.0.0.1:{local};branch=z9hG4bK{secrets.token_hex(8)};rport",
            "Max-Forwards: 70",
            f"From: <sip:{user}@127.0.0.1>;tag={call_id[:8]}",
            f"To: <sip:{user}@127.0.0.1>",
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} REGISTER",
            f"Contact: <sip:{user}@127.0.0.1:{local};transport=tls>",
            "Expires: 3600",
        ]
        if auth:
            lines.append(f"Authorization: {auth}")
        lines.append("Content-Length: 0")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def _exchange(self, data: bytes) -> Response:
        assert self.writer is not None and self.reader is not None
        self.writer.write(data)
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 10)
        message = parse_message(head)
        assert isinstance(message, Response)
        return message

    def keepalive(self) -> None:
        if self.writer is not None and not self.writer.is_closing():
            self.writer.write(b"\r\n\r\n")

    async def answer_pings(self) -> None:
        """Answer the switch's OPTIONS pings (its NAT keepalive / qualify) as a phone does;
        a phone that left them unanswered would be marked unreachable."""
        assert self.writer is not None and self.reader is not None
        while True:
            try:
                head = await self.reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            head = head.lstrip(b"\r\n")  # keepalive pongs (CRLF) before a message
            if not head:
                continue
            message = parse_message(head)
            if isinstance(message, Request) and message.method == "OPTIONS":
                self.writer.write(message.make_response(200).to_bytes())
                self.pings += 1


async def keepalives(phones: list[Phone], interval: float, stop: asyncio.Event) -> int:
    """Each phone's double-CRLF every ``interval`` seconds, spread evenly; returns how many."""
    sent = 0
    step = interval / max(len(phones), 1)
    while not stop.is_set():
        for phone in phones:
            if stop.is_set():
                break
            phone.keepalive()
            sent += 1
            await asyncio.sleep(step)
    return sent


async def run(args: argparse.Namespace, switch: subprocess.Popen, cert: Path, port: int) -> None:
    pid = switch.pid
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(args.idle)
    idle_empty = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
    rss_before = rss_kib(pid)

    context = ssl.create_default_context(cafile=str(cert))
    phones = [Phone(FIRST + i, port, context) for i in range(args.phones)]
    gate = asyncio.Semaphore(args.concurrency)

    async def one(phone: Phone) -> None:
        async with gate:
            await phone.register()

    started = time.monotonic()
    await asyncio.gather(*(one(p) for p in phones))
    took = time.monotonic() - started
    await asyncio.sleep(2)  # let the switch settle (store writes, GC)

    answering = [asyncio.create_task(p.answer_pings()) for p in phones]
    stop = asyncio.Event()
    sender = asyncio.create_task(keepalives(phones, args.keepalive, stop))
    cpu1, t1 = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(args.idle)
    idle_full = (cpu_seconds(pid) - cpu1) / (time.monotonic() - t1)
    stop.set()
    sent = await sender
    rss_after = rss_kib(pid)
    for phone in phones:
        if phone.writer is not None:
            phone.writer.close()
    for task in answering:
        task.cancel()
    await asyncio.gather(*answering, return_exceptions=True)
    pings = sum(p.pings for p in phones)

    n = args.phones
    print(f"phones registered over TLS: {n} in {took:.1f} s ({n / took:.0f}/s)")
    print(f"keepalives sent during the idle window: {sent} (every {args.keepalive:g} s each)")
    print(f"the switch's OPTIONS keepalives answered in that window: {pings}")
    print(f"switch idle CPU, no phones:     {idle_empty * 100:.2f} % of one core")
    print(f"switch idle CPU, {n} phones: {idle_full * 100:.2f} % of one core")
    per_phone_cpu = (idle_full - idle_empty) / n * 1e6
    print(f"  per registered phone:         {per_phone_cpu:.1f} us of CPU per second")
    print(f"switch RSS: {rss_before / 1024:.1f} MiB -> {rss_after / 1024:.1f} MiB")
    print(f"  per registered phone:         {(rss_after - rss_before) / n:.1f} KiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=1000)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of each idle window")
    parser.add_argument("--keepalive", type=float, default=25.0, help="seconds per phone")
    parser.add_argument("--concurrency", type=int, default=50, help="registrations in flight")
    args = parser.parse_args()

    # two sockets per phone across client and switch: raise the descriptor limit
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, args.phones * 2 + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    work = Path(tempfile.mkdtemp(prefix="bench-tls-"))
    sip_port, tls_port, api_port = free_port(), free_port(), free_port()
    config = write_config(work, args.phones, sip_port, tls_port, api_port)
    with open(work / "switch.log", "w") as log:
        switch = subprocess.Popen(
            [sys.executable, "-m", "softswitchd", "serve", "--config", str(config)]
            + ["--log-level", "WARNING"],
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=log,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
    try:
        wait_healthy(api_port, timeout=60)
        asyncio.run(run(args, switch, work / "tls-certificate.pem", tls_port))
    finally:
        switch.terminate()
        switch.wait(20)


if __name__ == "__main__":
    main()
