"""Property-based tests of the SIP parsers (hypothesis).

- generated messages survive to_bytes -> parse_message unchanged (semantically:
  Content-Length is always written, everything else compares equal);
- whatever bytes arrive, parse_message and every view raise SipParseError or
  nothing; the same for URI/Address/Via parsers on arbitrary text;
- StreamFramer cuts any chunking of a stream into the same messages.
"""

from __future__ import annotations

import contextlib
import ipaddress
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from softswitch.sip.address import Address
from softswitch.sip.errors import SipParseError
from softswitch.sip.framing import StreamFramer
from softswitch.sip.grammar import parse_params, split_list
from softswitch.sip.headers import Headers, canonical_name
from softswitch.sip.message import Request, Response, new_branch
from softswitch.sip.parser import parse_message
from softswitch.sip.uri import SipUri
from softswitch.sip.via import Via

CORPUS = Path(__file__).parent / "corpus"
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- strategies ---------------------------------------------------------------------

TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"
LOWER_TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-.!%*_+`'~"
PARAM_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()[]/:&+$"

tokens = st.text(TOKEN_CHARS, min_size=1, max_size=12)
lower_tokens = st.text(LOWER_TOKEN_CHARS, min_size=1, max_size=10)

label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
hostnames = st.lists(label, min_size=1, max_size=4).map(".".join)
ipv4 = st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n)))
ipv6 = st.integers(0, 2**128 - 1).map(lambda n: f"[{ipaddress.IPv6Address(n).compressed}]")
hosts = st.one_of(hostnames, ipv4, ipv6)
ports = st.none() | st.integers(0, 65535)

# Users round-trip exactly when they hold no '%' and no ':' or '@' (those two
# can only be sent escaped, and reserved escapes are kept as escapes).
users = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="%:@"), min_size=1, max_size=15
)
uri_params = st.dictionaries(
    st.text(PARAM_CHARS, min_size=1, max_size=8).map(str.lower),
    st.none() | st.text(PARAM_CHARS, min_size=1, max_size=8),
    max_size=3,
)


@st.composite
def sip_uris(draw: st.DrawFn) -> SipUri:
    scheme = draw(st.sampled_from(["sip", "sips"]))
    user = draw(st.none() | users)
    password = draw(st.none() | st.text("abcdef0123456789&=+$,", max_size=6)) if user else None
    headers = draw(
        st.dictionaries(
            st.text("abcxyz", min_size=1, max_size=5), st.text("abc123", max_size=5), max_size=2
        )
    )
    return SipUri(scheme, user, draw(hosts), draw(ports), draw(uri_params), headers, password)


# tel numbers as parsed: visual separators removed (RFC 3966 5.1.1)
tel_uris = st.builds(
    lambda number, params: SipUri("tel", number, "", None, params),
    st.from_regex(r"\+?[0-9]{1,15}", fullmatch=True),
    uri_params,
)
any_uris = st.one_of(sip_uris(), tel_uris)

quoted_values = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters='"\\'), max_size=10
).map(lambda t: f'"{t}"')
header_params = st.dictionaries(
    lower_tokens,
    st.none() | st.text(TOKEN_CHARS, min_size=1, max_size=10) | quoted_values,
    max_size=3,
)
displays = st.none() | st.text(
    st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20
)


@st.composite
def addresses(draw: st.DrawFn) -> Address:
    return Address(draw(any_uris), draw(displays), draw(header_params))


@st.composite
def vias(draw: st.DrawFn) -> Via:
    params: dict[str, str | None] = {
        "branch": "z9hG4bK" + draw(st.text(TOKEN_CHARS, min_size=1, max_size=10))
    }
    if draw(st.booleans()):
        params["rport"] = draw(st.none() | st.integers(1, 65535).map(str))
    if draw(st.booleans()):
        params["received"] = draw(st.one_of(ipv4, ipv6.map(lambda h: h[1:-1])))
    host = draw(hosts)
    return Via(
        draw(st.sampled_from(["UDP", "TCP", "TLS", "WS", "SCTP"])), host, draw(ports), params
    )


printable_values = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40).map(
    lambda v: v.strip(" \t")
)
extra_names = st.text(TOKEN_CHARS, min_size=1, max_size=10).map(lambda n: "X-" + n)


@st.composite
def messages(draw: st.DrawFn) -> tuple[Request | Response, dict[str, object]]:
    via_list = draw(st.lists(vias(), min_size=1, max_size=4))
    from_addr = draw(addresses())
    to_addr = draw(addresses())
    call_id = draw(st.from_regex(r"[!-~]{1,40}", fullmatch=True))
    seq = draw(st.integers(0, 2**31 - 1))
    method = draw(
        st.sampled_from(["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER"]) | tokens
    )
    contacts = draw(st.lists(addresses(), max_size=3))
    headers = Headers()
    if draw(st.booleans()):  # several Vias in one header line, or one per line
        headers.add("Via", ", ".join(str(v) for v in via_list))
    else:
        for v in via_list:
            headers.add(draw(st.sampled_from(["Via", "v", "VIA"])), str(v))
    headers.add(draw(st.sampled_from(["From", "f"])), str(from_addr))
    headers.add(draw(st.sampled_from(["To", "t"])), str(to_addr))
    headers.add(draw(st.sampled_from(["Call-ID", "i", "call-id"])), call_id)
    headers.add("CSeq", f"{seq} {method}")
    headers.add("Max-Forwards", str(draw(st.integers(0, 255))))
    if contacts:
        headers.add(draw(st.sampled_from(["Contact", "m"])), ", ".join(str(c) for c in contacts))
    for name, value in draw(st.lists(st.tuples(extra_names, printable_values), max_size=5)):
        headers.add(name, value)
    body = draw(st.binary(max_size=300))
    if body:
        headers.add("Content-Type", "application/octet-stream")
    msg: Request | Response
    if draw(st.booleans()):
        msg = Request(method, draw(any_uris), headers, body)
    else:
        reason = draw(printable_values)
        msg = Response(draw(st.integers(100, 699)), reason, headers, body)
    expected = {
        "vias": via_list, "from": from_addr, "to": to_addr, "call_id": call_id,
        "cseq": (seq, method), "contacts": contacts,
    }  # fmt: skip
    return msg, expected


def _normal(a: Address) -> Address:
    """What parsing the rendered address gives: an empty display is no display."""
    return Address(a.uri, a.display or None, a.params)


# --- round trips ------------------------------------------------------------------------


@SETTINGS
@given(messages())
def test_generated_messages_round_trip(case: tuple[Request | Response, dict[str, object]]) -> None:
    msg, expected = case
    data = msg.to_bytes()
    parsed = parse_message(data)
    assert type(parsed) is type(msg)
    assert parsed.body == msg.body
    assert parsed.headers.get("Content-Length") == str(len(msg.body))
    parsed.headers.remove("Content-Length")
    assert parsed == msg
    assert parsed.vias == expected["vias"]
    assert parsed.top_via == expected["vias"][0]  # type: ignore[index]
    assert parsed.from_addr == _normal(expected["from"])  # type: ignore[arg-type]
    assert parsed.to_addr == _normal(expected["to"])  # type: ignore[arg-type]
    assert parsed.call_id == expected["call_id"]
    assert parsed.cseq == expected["cseq"]
    assert parsed.contacts == [_normal(c) for c in expected["contacts"]]  # type: ignore[attr-defined]
    assert parse_message(parsed.to_bytes()).to_bytes() == parsed.to_bytes()


@SETTINGS
@given(any_uris)
def test_uri_round_trip(uri: SipUri) -> None:
    assert SipUri.parse(str(uri)) == uri


@SETTINGS
@given(addresses())
def test_address_round_trip(addr: Address) -> None:
    assert Address.parse(str(addr)) == _normal(addr)


@SETTINGS
@given(vias())
def test_via_round_trip(via: Via) -> None:
    assert Via.parse(str(via)) == via


@SETTINGS
@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=20))
def test_any_user_text_is_stable_after_one_round_trip(user: str) -> None:
    assume(user)
    once = SipUri.parse(str(SipUri("sip", user, "example.com")))
    assert SipUri.parse(str(once)) == once


# --- robustness: only SipParseError ------------------------------------------------------


def _exercise(data: bytes) -> None:
    try:
        msg = parse_message(data)
    except SipParseError as exc:
        request = exc.request
        if request is not None:
            request.make_response(exc.status, exc.reason).to_bytes()
        return
    for view in ("call_id", "cseq", "from_addr", "to_addr", "vias", "top_via", "contacts",
                 "routes", "record_routes", "max_forwards", "is_star"):  # fmt: skip
        with contextlib.suppress(SipParseError):
            getattr(msg, view)
    msg.to_bytes()
    if isinstance(msg, Request):
        msg.make_response(200, to_tag="x").to_bytes()


@SETTINGS
@given(st.binary(max_size=600))
def test_random_bytes_raise_only_sip_parse_error(data: bytes) -> None:
    _exercise(data)


SEEDS = [p.read_bytes() for p in sorted((CORPUS / "valid").glob("*.sip"))]
SEEDS += [p.read_bytes() for p in sorted((CORPUS / "invalid").glob("*.sip"))][:20]

# pieces that tend to reach deep into the grammar when spliced in
INTERESTING = [
    b"\r\n", b"\r\n ", b":", b";", b",", b"<", b">", b'"', b"\\", b"%", b"%4", b"@", b"[", b"]",
    b"=", b"?", b"&", b" ", b"\t", b"\x00", b"\xff", b"\xc3", b"SIP/2.0", b"Content-Length: 9",
    b"l: 99999999999", b"CSeq: 1", b"Via: SIP/2.0/UDP [::1]", b"sip:", b"tel:", b"Contact: *",
    b"0", b"-1", b"99999999999999999999",
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        pos = draw(st.integers(0, len(data)))
        op = draw(st.integers(0, 4))
        if op == 0:  # replace a byte
            if pos < len(data):
                data[pos] = draw(st.integers(0, 255))
        elif op == 1:  # insert something meaningful
            data[pos:pos] = draw(st.sampled_from(INTERESTING))
        elif op == 2:  # delete a range
            data[pos : pos + draw(st.integers(1, 40))] = b""
        elif op == 3:  # duplicate a range
            chunk = data[pos : pos + draw(st.integers(1, 80))]
            data[pos:pos] = chunk
        else:  # truncate
            del data[pos:]
    return bytes(data)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_messages_raise_only_sip_parse_error(data: bytes) -> None:
    _exercise(data)


@SETTINGS
@given(st.text(max_size=80))
def test_value_parsers_raise_only_sip_parse_error(text: str) -> None:
    for parse in (SipUri.parse, Address.parse, Via.parse, parse_params):
        try:
            value = parse(text)
        except SipParseError:
            continue
        if isinstance(value, (SipUri, Address, Via)):
            # whatever was accepted renders to something that parses the same
            assert type(value).parse(str(value)) == value
    split_list(text)


@SETTINGS
@given(st.text('sip:tel@[]%;=?&<>",\\ abc019:.-', max_size=40))
def test_value_parsers_on_grammar_soup(text: str) -> None:
    test_value_parsers_raise_only_sip_parse_error.hypothesis.inner_test(text)  # type: ignore[attr-defined]


# --- stream framing -----------------------------------------------------------------------


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(messages(), min_size=1, max_size=4), st.data())
def test_framer_any_chunking(
    cases: list[tuple[Request | Response, dict[str, object]]], data: st.DataObject
) -> None:
    wire = [m.to_bytes() for m, _ in cases]
    stream = b"".join(data.draw(st.sampled_from([b"", b"\r\n", b"\r\n\r\n"])) + w for w in wire)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    framer = StreamFramer()
    out: list[bytes] = []
    last = 0
    for cut in [*cuts, len(stream)]:
        out.extend(framer.feed(stream[last:cut]))
        last = cut
    assert out == wire


@SETTINGS
@given(st.lists(st.binary(max_size=200) | st.sampled_from(INTERESTING), max_size=10))
def test_framer_random_input_raises_only_sip_parse_error(chunks: list[bytes]) -> None:
    framer = StreamFramer(max_size=4096)
    for chunk in chunks:
        try:
            for msg in framer.feed(chunk):
                _exercise(msg)
        except SipParseError:
            return


def test_canonical_name_is_idempotent() -> None:
    for name in ("v", "VIA", "x-foo", "WWW-AUTHENTICATE", "cseq"):
        assert canonical_name(canonical_name(name)) == canonical_name(name)
    assert new_branch() != new_branch()
