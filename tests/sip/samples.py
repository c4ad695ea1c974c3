"""Sample SIP text shared by the message, parser and framing tests."""

from __future__ import annotations

COMMON = (
    "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK74bf9\r\n"
    "Max-Forwards: 70\r\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
)


def request(extra: str = "", body: bytes = b"", method: str = "INVITE", cl: bool = True) -> bytes:
    head = f"{method} sip:bob@biloxi.example.com SIP/2.0\r\n{COMMON}CSeq: 1 {method}\r\n{extra}"
    if cl:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body
