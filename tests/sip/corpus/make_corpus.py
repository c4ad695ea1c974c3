"""Writes tests/sip/corpus/{valid,invalid}/*.sip (byte-exact, CRLF line endings).

Run from anywhere: python tests/sip/corpus/make_corpus.py.  The .sip files are
committed; this script documents how each was made and regenerates them.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent

SDP = (
    "v=0\n"
    "o=alice 2890844526 2890844526 IN IP4 192.0.2.101\n"
    "s=-\n"
    "c=IN IP4 192.0.2.101\n"
    "t=0 0\n"
    "m=audio 49172 RTP/AVP 0 101\n"
    "a=rtpmap:0 PCMU/8000\n"
    "a=rtpmap:101 telephone-event/8000\n"
)


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def msg(head: str, body: str = "", cl: str | None = "auto") -> bytes:
    """head: LF lines without the blank line; body: LF text; cl: 'auto', None, or literal."""
    b = crlf(body)
    lines = head.rstrip("\n")
    if cl == "auto":
        lines += f"\nContent-Length: {len(b)}"
    elif cl is not None:
        lines += f"\nContent-Length: {cl}"
    return crlf(lines + "\n\n") + b


COMMON = (
    "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK74bf9\n"
    "Max-Forwards: 70\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\n"
    "To: Bob <sip:bob@biloxi.example.com>\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\n"
)

valid: dict[str, bytes] = {}
invalid: dict[str, bytes] = {}

valid["basic_invite"] = msg(
    "INVITE sip:bob@biloxi.example.com SIP/2.0\n" + COMMON + "CSeq: 1 INVITE\n"
    "Contact: <sip:alice@192.0.2.101:5060;transport=udp>\n"
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\n"
    "Content-Type: application/sdp\n",
    SDP,
)

valid["compact_forms"] = msg(
    "INVITE sip:bob@biloxi.example.com SIP/2.0\n"
    "v: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bKcompact\n"
    "f: <sip:alice@atlanta.example.com>;tag=1\n"
    "t: <sip:bob@biloxi.example.com>\n"
    "i: compact-1@atlanta.example.com\n"
    "CSeq: 7 INVITE\n"
    "m: <sip:alice@192.0.2.101>\n"
    "k: timer, 100rel\n"
    "s: compact forms everywhere\n"
    "e: identity\n"
    "o: refer\n"
    "r: <sip:carol@chicago.example.com>\n"
    "b: <sip:alice@atlanta.example.com>\n"
    "u: presence, dialog\n"
    "x: 1800;refresher=uac\n"
    "y: eyJhbGciOiJFUzI1NiJ9.e30.c2ln;info=<https://cert.example.org/a.cer>\n"
    "c: application/sdp\n"
    f"l: {len(crlf(SDP))}\n",
    SDP,
    cl=None,
)

valid["case_and_spacing"] = msg(
    "OPTIONS sip:bob@biloxi.example.com SIP/2.0\n"
    "vIa :   SIP / 2.0 / udp   192.0.2.101 : 5060 ; branch = z9hG4bKspaces ; rport\n"
    "MAX-FORWARDS\t:\t70\n"
    'fRoM: "Alice Liddell"    <sip:alice@atlanta.example.com> ; tag = abc\n'
    "to:Bob   Smith<sip:bob@biloxi.example.com>\n"
    "CALL-id: spacing-1@atlanta.example.com\n"
    "cseq:   42    OPTIONS\n"
    "Subject: a folded\n"
    "   subject line\n"
    "\tcontinued with a tab\n"
    "Accept: application/sdp,\n"
    " text/plain\n"
)

valid["escaped_user"] = msg(
    "INVITE sip:%61lice%20smith%2B1@atlanta.example.com;lr SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.101;branch=z9hG4bKesc\n"
    "From: <sip:user;par=u%40example.net@example.com>;tag=e1\n"
    'To: "Escaped" <sip:%22quoted%22%3Cangle%3E%25pct@biloxi.example.com>\n'
    "Call-ID: escaped-%41@atlanta.example.com\n"
    "CSeq: 1 INVITE\n"
    "Contact: <sip:caf%C3%A9:p%40ss@192.0.2.101>\n"
    "Max-Forwards: 70\n"
)

valid["multiple_via_one_header"] = msg(
    "BYE sip:bob@192.0.2.4 SIP/2.0\n"
    "Via: SIP/2.0/UDP proxy1.example.com;branch=z9hG4bKp1, "
    "SIP/2.0/TCP proxy2.example.com:5061;branch=z9hG4bKp2,"
    "SIP/2.0/UDP 192.0.2.101;branch=z9hG4bKua\n"
    "Via: SIP/2.0/UDP origin.example.com;branch=z9hG4bKorigin;received=192.0.2.200\n"
    "Max-Forwards: 68\n"
    "From: <sip:alice@atlanta.example.com>;tag=v1\n"
    "To: <sip:bob@biloxi.example.com>;tag=v2\n"
    "Call-ID: multivia@atlanta.example.com\n"
    "CSeq: 2 BYE\n"
)

valid["ipv6"] = msg(
    "INVITE sip:[2001:db8::10]:5070 SIP/2.0\n"
    "Via: SIP/2.0/UDP [2001:db8::9:1]:5060;branch=z9hG4bKv6;received=2001:db8::9:255;rport=5060\n"
    "Max-Forwards: 70\n"
    'From: "v6" <sip:alice@[2001:db8::9:1]>;tag=6\n'
    "To: <sip:[2001:db8::10]:5070>\n"
    "Call-ID: v6@[2001:db8::9:1]\n"
    "CSeq: 1 INVITE\n"
    "Contact: <sip:alice@[2001:db8::9:1]:5060;transport=udp>\n"
    "Content-Type: application/sdp\n",
    SDP,
)

long_value = "x" * 4000
valid["unknown_headers_long_values"] = msg(
    "MESSAGE sip:bob@biloxi.example.com SIP/2.0\n" + COMMON + "CSeq: 9 MESSAGE\n"
    f"X-Very-Long: {long_value}\n"
    'X-Odd_Name.with~chars!: value, with commas, "and quotes"\n'
    "X-Empty:\n"
    "Subject:\n"
    "UnKnOwN-HeAdEr: kept as received\n"
    "User-Agent: Phone/1.0 (build 7, rev 3)\n"
    "Content-Type: text/plain\n",
    "hello, bob\n",
)

valid["quoted_display"] = msg(
    "INVITE sip:bob@biloxi.example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.101;branch=z9hG4bKq\n"
    "Max-Forwards: 70\n"
    'From: "Alice \\"the admin\\" \\\\ root, <boss>" <sip:alice@atlanta.example.com>;tag=q1\n'
    'To: "" <sip:bob@biloxi.example.com>\n'
    "Call-ID: quoted@atlanta.example.com\n"
    "CSeq: 1 INVITE\n"
    'Contact: "Desk, left" <sip:alice@192.0.2.101>;'
    '+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>";expires=3600, '
    "<sip:alice@192.0.2.102>;q=0.5\n"
)

valid["tel_uri"] = msg(
    "INVITE tel:+1-201-555-0123;phone-context=example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.101;branch=z9hG4bKtel\n"
    "Max-Forwards: 70\n"
    "From: <sip:alice@atlanta.example.com>;tag=t1\n"
    "To: <tel:+1-201-555-0123>\n"
    "Call-ID: tel@atlanta.example.com\n"
    "CSeq: 1 INVITE\n"
    "P-Asserted-Identity: <tel:+12015550100>, <sip:+12015550100@atlanta.example.com;user=phone>\n"
)

valid["response_200_ok"] = msg(
    "SIP/2.0 200 OK\n"
    "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp;received=192.0.2.3\n"
    "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK74bf9;rport=5060\n"
    "Record-Route: <sip:proxy.example.com;lr>, <sip:edge.example.com;lr;transport=tcp>\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\n"
    "To: Bob <sip:bob@biloxi.example.com>;tag=8321234356\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\n"
    "CSeq: 1 INVITE\n"
    "Contact: <sip:bob@192.0.2.4>\n"
    "Content-Type: application/sdp\n",
    SDP,
)

valid["register_star"] = msg(
    "REGISTER sip:registrar.biloxi.example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKnashds7\n"
    "Max-Forwards: 70\n"
    "To: Bob <sip:bob@biloxi.example.com>\n"
    "From: Bob <sip:bob@biloxi.example.com>;tag=456248\n"
    "Call-ID: 843817637684230@998sdasdh09\n"
    "CSeq: 1826 REGISTER\n"
    "Contact: *\n"
    "Expires: 0\n"
)

valid["extra_bytes_after_body"] = msg(
    "MESSAGE sip:bob@biloxi.example.com SIP/2.0\n" + COMMON + "CSeq: 3 MESSAGE\n"
    "Content-Type: text/plain\n",
    "0123456789TRAILING GARBAGE",
    cl="10",
)

valid["no_content_length"] = msg(
    "MESSAGE sip:bob@biloxi.example.com SIP/2.0\n" + COMMON + "CSeq: 4 MESSAGE\n"
    "Content-Type: text/plain\n",
    "the whole rest of the datagram\n",
    cl=None,
)

many_params = "".join(f";p{i}=v{i}" for i in range(60))
valid["long_call_id_many_params"] = msg(
    f"OPTIONS sip:bob@biloxi.example.com{many_params} SIP/2.0\n"
    f"Via: SIP/2.0/UDP 192.0.2.101;branch=z9hG4bK{'a' * 300}{many_params}\n"
    "Max-Forwards: 70\n"
    f"From: <sip:alice@atlanta.example.com>;tag={'t' * 200}{many_params}\n"
    "To: <sip:bob@biloxi.example.com>\n"
    f"Call-ID: {'c' * 1000}@atlanta.example.com\n"
    "CSeq: 2147483647 OPTIONS\n"
)

valid["user_reserved_chars"] = msg(
    "INVITE sip:user;x=1?&=+$,/@biloxi.example.com;maddr=192.0.2.9?Subject=hi&Priority=urgent"
    " SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.101;branch=z9hG4bKres\n"
    "Max-Forwards: 70\n"
    "From: sip:alice@atlanta.example.com;tag=addrspec\n"
    "To: sip:bob@biloxi.example.com\n"
    "Call-ID: reserved@atlanta.example.com\n"
    "CSeq: 1 INVITE\n"
)

valid["unknown_method"] = msg(
    "NEWMETHOD.x-y_z sip:bob@biloxi.example.com SIP/2.0\n" + COMMON + "CSeq: 11 NEWMETHOD.x-y_z\n"
)

valid["utf8_text"] = msg(
    "MESSAGE sip:bob@biloxi.example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.101;branch=z9hG4bKutf\n"
    "Max-Forwards: 70\n"
    'From: "Zoë Ångström 日本" <sip:zoe@atlanta.example.com>;tag=u8\n'
    "To: <sip:bob@biloxi.example.com>\n"
    "Call-ID: utf8@atlanta.example.com\n"
    "CSeq: 1 MESSAGE\n"
    "Subject: Grüße – ☎\n"
    "Content-Type: text/plain;charset=utf-8\n",
    "héllo ☺\n",
)

valid["leading_crlf"] = b"\r\n\r\n\r\n" + msg(
    "OPTIONS sip:bob@biloxi.example.com SIP/2.0\n" + COMMON + "CSeq: 5 OPTIONS\n"
)

valid["params_without_value"] = msg(
    "INVITE sip:bob@biloxi.example.com;lr;ob SIP/2.0\n"
    "Via: SIP/2.0/TCP 192.0.2.101:5060;branch=z9hG4bKnv;rport;alias\n"
    "Max-Forwards: 70\n"
    "Route: <sip:p1.example.com;lr>,<sip:p2.example.com;lr>\n"
    "Route: <sip:p3.example.com;lr>\n"
    "From: <sip:alice@atlanta.example.com>;tag=nv;flag\n"
    "To: <sip:bob@biloxi.example.com>;novalue\n"
    "Call-ID: novalue@atlanta.example.com\n"
    "CSeq: 1 INVITE\n"
    "Contact: <sip:alice@192.0.2.101;ob>;reg-id=1;+sip.ice\n"
)

valid["odd_reason_phrase"] = msg(
    "SIP/2.0 499 Totally non-standard: reason, with commas; and UTF-8 é\n"
    "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK74bf9\n"
    "From: <sip:alice@atlanta.example.com>;tag=9fxced76sl\n"
    "To: <sip:bob@biloxi.example.com>;tag=r1\n"
    "Call-ID: reason@atlanta.example.com\n"
    "CSeq: 1 INVITE\n"
)

valid["mixed_case_schemes"] = msg(
    "INVITE SIP:bob@Biloxi.Example.COM SIP/2.0\n"
    "Via: SIP/2.0/TLS client.example.com:5061;branch=z9hG4bKcase\n"
    "Max-Forwards: 70\n"
    "From: <SiPs:alice@atlanta.example.com>;TAG=upper\n"
    "To: <sip:bob@biloxi.example.com>\n"
    "Call-ID: case@atlanta.example.com\n"
    "CSeq: 1 INVITE\n"
)

valid["ack_with_authorization"] = msg(
    "ACK sip:bob@192.0.2.4 SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.101;branch=z9hG4bKack\n"
    "Max-Forwards: 70\n"
    "From: <sip:alice@atlanta.example.com>;tag=a1\n"
    "To: <sip:bob@biloxi.example.com>;tag=b1\n"
    "Call-ID: ack@atlanta.example.com\n"
    "CSeq: 1 ACK\n"
    'Authorization: Digest username="alice", realm="atlanta.example.com", '
    'nonce="84a4cc6f3082121f32b42a2187831a9e", uri="sip:bob@192.0.2.4", '
    'response="7587245234b3434cc3412213e5f113a5"\n'
    "Date: Sat, 13 Nov 2010 23:29:00 GMT\n"
)

# ---- invalid -------------------------------------------------------------------


def without(header: str, method: str = "OPTIONS") -> bytes:
    lines = [
        line
        for line in (COMMON + f"CSeq: 1 {method}\n").splitlines(keepends=True)
        if not line.lower().startswith(header.lower() + ":")
    ]
    return msg(f"{method} sip:bob@biloxi.example.com SIP/2.0\n" + "".join(lines))


invalid["missing_call_id"] = without("Call-ID")
invalid["missing_via"] = without("Via")
invalid["missing_cseq"] = without("CSeq")
invalid["missing_from"] = without("From")
invalid["missing_to"] = without("To")


def bad(
    extra: str = "",
    cseq: str = "1 OPTIONS",
    start: str = "OPTIONS sip:bob@biloxi.example.com SIP/2.0",
    body: str = "",
    cl: str | None = "auto",
    common: str = COMMON,
) -> bytes:
    return msg(f"{start}\n{common}CSeq: {cseq}\n{extra}", body, cl)


invalid["content_length_too_big"] = bad("Content-Type: text/plain\n", body="short", cl="500")
invalid["content_length_negative"] = bad(body="", cl="-1")
invalid["content_length_not_number"] = bad(cl="ten")
invalid["content_length_conflict"] = bad("Content-Length: 0\n", cl="0")
invalid["cseq_negative"] = bad(cseq="-1 OPTIONS")
invalid["cseq_not_number"] = bad(cseq="one OPTIONS")
invalid["cseq_too_large"] = bad(cseq="2147483648 OPTIONS")
invalid["cseq_method_mismatch"] = bad(cseq="1 INVITE")
invalid["cseq_without_method"] = bad(cseq="1")
invalid["version_unsupported"] = bad(start="OPTIONS sip:bob@biloxi.example.com SIP/7.0")
invalid["version_garbage"] = bad(start="OPTIONS sip:bob@biloxi.example.com SIP/2.0x")
invalid["max_forwards_not_number"] = bad(
    "Max-Forwards: seventy\n", common=COMMON.replace("Max-Forwards: 70\n", "")
)
invalid["max_forwards_negative"] = bad(
    "Max-Forwards: -1\n", common=COMMON.replace("Max-Forwards: 70\n", "")
)
invalid["unterminated_quote_from"] = bad(common=COMMON.replace("From: Alice <", 'From: "Alice <'))
invalid["unterminated_angle_to"] = bad(
    common=COMMON.replace(
        "To: Bob <sip:bob@biloxi.example.com>", "To: Bob <sip:bob@biloxi.example.com"
    )
)
invalid["two_addresses_in_to"] = bad(
    common=COMMON.replace(
        "To: Bob <sip:bob@biloxi.example.com>",
        "To: <sip:bob@biloxi.example.com>, <sip:carol@chicago.example.com>",
    )
)
invalid["two_call_ids"] = bad("Call-ID: second@atlanta.example.com\n")
invalid["space_in_request_uri"] = bad(start="OPTIONS sip:bob@biloxi.example.com; lr SIP/2.0")
invalid["missing_version"] = bad(start="OPTIONS sip:bob@biloxi.example.com")
invalid["request_uri_port_too_big"] = bad(start="OPTIONS sip:bob@biloxi.example.com:70000 SIP/2.0")
invalid["request_uri_bad_ipv6"] = bad(start="OPTIONS sip:[2001:db8:::zz]:5060 SIP/2.0")
invalid["request_uri_unknown_scheme"] = bad(start="OPTIONS nope:bob@biloxi.example.com SIP/2.0")
invalid["request_uri_bad_escape"] = bad(start="OPTIONS sip:b%G1ob@biloxi.example.com SIP/2.0")
invalid["header_line_without_colon"] = bad("This line has no colon\n")
invalid["header_name_with_space"] = bad("Bad Name: value\n")
invalid["via_bad_protocol"] = bad(common=COMMON.replace("SIP/2.0/UDP", "SIP/3.0/UDP"))
invalid["via_unterminated_quote"] = bad(
    common=COMMON.replace(";branch=z9hG4bK74bf9", ';branch="z9hG4bK74bf9')
)
invalid["via_no_host"] = bad(
    common=COMMON.replace("SIP/2.0/UDP 192.0.2.101:5060;", "SIP/2.0/UDP ;")
)
invalid["call_id_with_space"] = bad(
    common=COMMON.replace("Call-ID: 3848276298220188511@", "Call-ID: 3848 276298220188511@")
)
invalid["duplicate_tag"] = bad(common=COMMON.replace(";tag=9fxced76sl", ";tag=a;tag=b"))
invalid["no_blank_line"] = crlf(
    "OPTIONS sip:bob@biloxi.example.com SIP/2.0\n" + COMMON + "CSeq: 1 OPTIONS\n"
)
invalid["bare_cr"] = bad("Subject: a\rb\n")
invalid["not_utf8"] = bad().replace(b"From: Alice", b"From: Al\xe9\xff")
invalid["status_code_two_digits"] = msg("SIP/2.0 20 OK\n" + COMMON + "CSeq: 1 INVITE\n")
invalid["status_code_too_big"] = msg("SIP/2.0 700 Way out\n" + COMMON + "CSeq: 1 INVITE\n")
invalid["response_bad_version"] = msg("SIP/1.0 200 OK\n" + COMMON + "CSeq: 1 INVITE\n")
invalid["response_missing_via"] = msg(
    "SIP/2.0 200 OK\n" + COMMON.split("\n", 1)[1] + "CSeq: 1 INVITE\n"
)
invalid["empty"] = b""
invalid["only_crlf"] = b"\r\n\r\n"
invalid["binary_junk"] = bytes(range(256)) * 2

assert not (set(valid) & set(invalid))
for kind, table in (("valid", valid), ("invalid", invalid)):
    d = ROOT / kind
    d.mkdir(parents=True, exist_ok=True)
    for f in d.glob("*.sip"):
        f.unlink()
    for name, data in table.items():
        (d / f"{name}.sip").write_bytes(data)
print(len(valid), "valid,", len(invalid), "invalid")
