"""Seeded damage to SIP messages, for the fuzzer that sends them to a running server.

Each mutator takes a message (bytes) and a random.Random and returns damaged bytes:
bit flips, truncations, duplicated/removed/swapped lines, huge or many headers, bad
Content-Length values, bytes spliced in, or plain random bytes. The same seed gives
the same messages, so a crash found once is found again.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator, Sequence

Mutator = Callable[[bytes, random.Random], bytes]

_CONTENT_LENGTH_RE = re.compile(rb"^(content-length|l)[ \t]*:[^\r\n]*", re.I | re.M)
_NASTY = [
    b"\x00",
    b"\xff\xfe",
    b"\r",
    b"\n",
    b"\r\n\r\n",
    b":",
    b";",
    b"<",
    b">",
    b'"',
    b"\\",
    b"%",
    b"%00",
    b"[",
    b"]",
    b"@",
    b",",
    b" ",
    b"\t",
    b"=",
    b"sip:",
    b"-1",
    b"99999999999999999999",
    b"\xc3\x28",
]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\r\n")


def flip_bits(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def duplicate_line(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    lines[i:i] = [lines[i]] * rng.randint(1, 3)
    return b"\r\n".join(lines)


def remove_line(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    del lines[rng.randrange(len(lines))]
    return b"\r\n".join(lines)


def swap_lines(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return b"\r\n".join(lines)


def huge_header(data: bytes, rng: random.Random) -> bytes:
    """One header line of 1 to 70 KB (over UDP it is cut to a datagram)."""
    lines = _lines(data)
    name = rng.choice([b"Subject", b"Via", b"To", b"Contact", b"X-Big", b"Route"])
    value = bytes(rng.choice(b"abc;=,<>:@ ") for _ in range(64)) * rng.randint(16, 1100)
    lines.insert(rng.randint(1, max(1, len(lines) - 2)), name + b": " + value)
    return b"\r\n".join(lines)


def many_headers(data: bytes, rng: random.Random) -> bytes:
    lines = _lines(data)
    extra = [b"Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%d" % (i, i) for i in range(500)]
    if rng.random() < 0.5:
        extra = [b"X-H%d: %d" % (i, i) for i in range(rng.randint(100, 3000))]
    lines[1:1] = extra
    return b"\r\n".join(lines)


def bad_content_length(data: bytes, rng: random.Random) -> bytes:
    value = rng.choice(
        [b"-1", b"-999", b"99999999", b"4294967296", b"1e3", b"abc", b"", b"0x10", b" 5 5"]
        + [str(rng.randint(0, 5000)).encode()]
    )
    replaced = _CONTENT_LENGTH_RE.sub(b"Content-Length: " + value, data, count=1)
    if rng.random() < 0.3:  # and a second, conflicting one
        replaced = replaced.replace(b"\r\n", b"\r\nContent-Length: 7\r\n", 1)
    return replaced


def splice(data: bytes, rng: random.Random) -> bytes:
    """Nasty bytes spliced in at a few places (NULs, CRs, separators, huge numbers)."""
    out = data
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(out) + 1)
        out = out[:i] + rng.choice(_NASTY) + out[i + rng.randint(0, 3) :]
    return out


def random_bytes(data: bytes, rng: random.Random) -> bytes:
    return rng.randbytes(rng.randint(1, 2000))


def repeat_body(data: bytes, rng: random.Random) -> bytes:
    """The message twice in one (a second start line where a body or header should be)."""
    return data + data[: rng.randrange(len(data) + 1)]


MUTATORS: tuple[Mutator, ...] = (
    flip_bits,
    flip_bits,
    truncate,
    duplicate_line,
    remove_line,
    swap_lines,
    huge_header,
    many_headers,
    bad_content_length,
    bad_content_length,
    splice,
    splice,
    random_bytes,
    repeat_body,
)


def mutated(seeds: Sequence[bytes], rng: random.Random) -> Iterator[bytes]:
    """Endless damaged messages: a seed with one to three mutations (now and then none)."""
    while True:
        data = rng.choice(seeds)
        if rng.random() < 0.03:
            yield data  # a valid one now and then keeps the server's state machines busy
            continue
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            data = rng.choice(MUTATORS)(data, rng)
        yield data
