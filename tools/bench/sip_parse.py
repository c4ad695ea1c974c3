"""Throughput of the SIP message library on one core.

Prints messages per second for:
- parse + to_bytes of a typical INVITE (12 headers + SDP body) and of a 200 OK;
- parse + reading call_id, cseq, top_via, from_addr and to_addr (what the
  transaction layer does with every message).

Run: .venv/bin/python tools/bench/sip_parse.py [seconds-per-figure]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from softswitch.sip.parser import parse_message  # noqa: E402

SDP = (
    b"v=0\r\n"
    b"o=alice 2890844526 2890844526 IN IP4 192.0.2.101\r\n"
    b"s=-\r\n"
    b"c=IN IP4 192.0.2.101\r\n"
    b"t=0 0\r\n"
    b"m=audio 49172 RTP/AVP 0 8 101\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
    b"a=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-16\r\n"
    b"a=ptime:20\r\n"
    b"a=sendrecv\r\n"
)

INVITE = (
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK776asdhds;rport\r\n"
    "Max-Forwards: 70\r\n"
    'To: "Bob" <sip:bob@biloxi.example.com>\r\n'
    'From: "Alice" <sip:alice@atlanta.example.com>;tag=1928301774\r\n'
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@192.0.2.101:5060;transport=udp>\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, NOTIFY, REFER\r\n"
    "Supported: replaces, timer\r\n"
    "User-Agent: softswitch-bench/1.0\r\n"
    "Content-Type: application/sdp\r\n"
    f"Content-Length: {len(SDP)}\r\n"
    "\r\n"
).encode() + SDP

OK = (
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK776asdhds;rport=5060;received=192.0.2.101\r\n"
    'To: "Bob" <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n'
    'From: "Alice" <sip:alice@atlanta.example.com>;tag=1928301774\r\n'
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:bob@192.0.2.4:5060>\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n"
    "Server: softswitch-bench/1.0\r\n"
    "Content-Type: application/sdp\r\n"
    f"Content-Length: {len(SDP)}\r\n"
    "\r\n"
).encode() + SDP


def parse_serialize(data: bytes) -> None:
    parse_message(data).to_bytes()


def parse_access(data: bytes) -> None:
    m = parse_message(data)
    m.call_id, m.cseq, m.top_via, m.from_addr, m.to_addr  # noqa: B018


def rate(fn: Callable[[bytes], None], data: bytes, seconds: float) -> float:
    for _ in range(2000):  # warm up
        fn(data)
    best = 0.0
    for _ in range(3):
        count = 0
        start = time.perf_counter()
        deadline = start + seconds / 3
        while True:
            for _ in range(1000):
                fn(data)
            count += 1000
            now = time.perf_counter()
            if now >= deadline:
                break
        best = max(best, count / (now - start))
    return best


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    print(f"python {sys.version.split()[0]}, best of 3 runs, {seconds:.1f} s per figure")
    print(f"INVITE: {len(INVITE)} bytes, 200 OK: {len(OK)} bytes")
    figures = [
        ("INVITE parse+to_bytes", parse_serialize, INVITE),
        ("200 OK parse+to_bytes", parse_serialize, OK),
        ("INVITE parse+access", parse_access, INVITE),
        ("200 OK parse+access", parse_access, OK),
    ]
    for label, fn, data in figures:
        per_s = rate(fn, data, seconds)
        print(f"{label:24s} {per_s:10,.0f} msgs/s  ({1e6 / per_s:5.1f} us/msg)")


if __name__ == "__main__":
    main()
