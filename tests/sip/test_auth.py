"""Digest authentication: RFC 7616 vectors, challenge parsing, client/server round trips."""

from __future__ import annotations

import base64
import contextlib
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softswitch.sip.auth import (
    AuthResult,
    Challenge,
    DigestServer,
    authorization,
    authorization_username,
    choose_challenge,
    ha1,
    parse_auth_header,
)
from softswitch.sip.errors import SipError, SipParseError
from softswitch.sip.uri import SipUri

# RFC 7616 section 3.9.1
RFC_USER = "Mufasa"
RFC_PASSWORD = "Circle of Life"
RFC_REALM = "http-auth@example.org"
RFC_URI = "/dir/index.html"
RFC_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
RFC_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
RFC_RESPONSES = {
    "MD5": "8ca523f5e9506fed4657c9700eebdbec",
    "SHA-256": "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
}

REALM = "switch.example"
KEY = b"k" * 32
USERS = {"101": "secret101", 'we"ird\\user': "pa:ss"}
# the Request-URI of answer()'s default requests
URI = SipUri.parse("sip:switch.example")


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def lookup(username: str, algorithm: str) -> str | None:
    password = USERS.get(username)
    return None if password is None else ha1(username, REALM, password, algorithm)


def params_of(header: str) -> dict[str, str]:
    [(scheme, params)] = parse_auth_header(header)
    assert scheme == "Digest"
    return params


def answer(
    server_header: str | Challenge,
    *,
    username: str = "101",
    password: str = "secret101",
    method: str = "REGISTER",
    uri: str = "sip:switch.example",
    nc: int = 1,
) -> str:
    """101's Authorization for a challenge (a header as the server sent it, or parsed)."""
    parsed = Challenge.parse(server_header) if isinstance(server_header, str) else server_header
    return authorization(
        parsed,
        method=method,
        uri=uri,
        username=username,
        password=password,
        nc=nc,
    )


# --- RFC 7616 example ------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_rfc7616_example_response(algorithm: str) -> None:
    challenge = Challenge.parse(
        f'Digest realm="{RFC_REALM}", qop="auth, auth-int", algorithm={algorithm}, '
        f'nonce="{RFC_NONCE}", opaque="{RFC_OPAQUE}"'
    )
    header = authorization(
        challenge,
        method="GET",
        uri=RFC_URI,
        username=RFC_USER,
        password=RFC_PASSWORD,
        nc=1,
        cnonce=RFC_CNONCE,
    )
    params = params_of(header)
    assert params["response"] == RFC_RESPONSES[algorithm]
    assert params["username"] == RFC_USER
    assert params["realm"] == RFC_REALM
    assert params["uri"] == RFC_URI
    assert params["algorithm"] == algorithm
    assert params["nc"] == "00000001"
    assert params["qop"] == "auth"
    assert params["cnonce"] == RFC_CNONCE
    assert params["opaque"] == RFC_OPAQUE
    # qop, nc and algorithm are tokens in the grammar: never quoted.
    assert "qop=auth" in header and "nc=00000001" in header and f"algorithm={algorithm}," in header


def test_ha1_is_hash_of_user_realm_password() -> None:
    text = f"{RFC_USER}:{RFC_REALM}:{RFC_PASSWORD}".encode()
    assert ha1(RFC_USER, RFC_REALM, RFC_PASSWORD, "MD5") == hashlib.md5(text).hexdigest()
    assert ha1(RFC_USER, RFC_REALM, RFC_PASSWORD, "sha-256") == hashlib.sha256(text).hexdigest()
    assert ha1(RFC_USER, RFC_REALM, RFC_PASSWORD, "MD5-sess") == hashlib.md5(text).hexdigest()
    with pytest.raises(SipError):
        ha1("u", "r", "p", "SHA-512-256")


def test_md5_sess_folds_nonce_and_cnonce_into_ha1() -> None:
    challenge = Challenge(realm="r", nonce="N", algorithm="MD5-sess", qop=["auth"])
    params = params_of(
        authorization(
            challenge, method="INVITE", uri="sip:b@h", username="u", password="p", nc=2, cnonce="C"
        )
    )
    session_key = md5(f"{md5('u:r:p')}:N:C")
    expected = md5(f"{session_key}:N:00000002:C:auth:{md5('INVITE:sip:b@h')}")
    assert params["response"] == expected
    assert params["algorithm"] == "MD5-sess"


def test_no_qop_uses_rfc2069_form() -> None:
    challenge = Challenge.parse('Digest realm="asterisk", nonce="abc123"')
    header = authorization(
        challenge, method="INVITE", uri="sip:200@pbx", username="u", password="p", nc=1
    )
    params = params_of(header)
    assert params["response"] == md5(f"{md5('u:asterisk:p')}:abc123:{md5('INVITE:sip:200@pbx')}")
    assert "qop" not in params and "nc" not in params and "cnonce" not in params
    assert "opaque" not in params


def test_random_cnonce_differs_between_calls() -> None:
    challenge = Challenge(realm="r", nonce="n", qop=["auth"])
    first = params_of(
        authorization(challenge, method="M", uri="u", username="a", password="b", nc=1)
    )
    second = params_of(
        authorization(challenge, method="M", uri="u", username="a", password="b", nc=1)
    )
    assert first["cnonce"] != second["cnonce"]
    assert len(first["cnonce"]) >= 16


def test_quoted_string_escaping_round_trips() -> None:
    challenge = Challenge(realm='we "quote" \\ here', nonce='n"x', qop=["auth"], opaque="o\\p")
    header = authorization(
        challenge, method="REGISTER", uri='sip:a"b@h', username='us"er\\', password="p", nc=1
    )
    params = params_of(header)
    assert params["realm"] == 'we "quote" \\ here'
    assert params["nonce"] == 'n"x'
    assert params["username"] == 'us"er\\'
    assert params["uri"] == 'sip:a"b@h'
    assert params["opaque"] == "o\\p"


def test_nc_is_eight_hex_digits() -> None:
    challenge = Challenge(realm="r", nonce="n", qop=["auth"])
    params = params_of(
        authorization(
            challenge, method="M", uri="u", username="a", password="b", nc=0x1AB, cnonce="c"
        )
    )
    assert params["nc"] == "000001ab"
    with pytest.raises(SipError):
        authorization(challenge, method="M", uri="u", username="a", password="b", nc=0)


# --- challenge parsing -----------------------------------------------------


def test_parse_any_order_unquoted_and_commas_inside_quotes() -> None:
    challenge = Challenge.parse(
        'Digest  qop="auth,auth-int" ,algorithm=sha-256,stale=TRUE,'
        'opaque="a, b=c", nonce=abc/def+==, realm="Some, Realm"'
    )
    assert challenge == Challenge(
        realm="Some, Realm",
        nonce="abc/def+==",
        algorithm="SHA-256",
        qop=["auth", "auth-int"],
        opaque="a, b=c",
        stale=True,
    )


def test_parse_defaults_and_scheme_case() -> None:
    challenge = Challenge.parse('digest realm="r",nonce="n"')
    assert challenge.algorithm == "MD5"
    assert challenge.qop == []
    assert challenge.opaque is None
    assert challenge.stale is False


def test_parse_whitespace_around_equals_and_line_folding() -> None:
    challenge = Challenge.parse('Digest realm = "r" ,\r\n\tnonce= "n", stale = false, qop=auth')
    assert (challenge.realm, challenge.nonce, challenge.stale, challenge.qop) == (
        "r",
        "n",
        False,
        ["auth"],
    )


@pytest.mark.parametrize(
    "bad",
    [
        "",
        'Basic realm="x"',
        'Digest realm="unterminated',
        'Digest nonce="n"',
        'Digest realm="r"',
        "Digest =x",
        'Digest realm="r", nonce="n", @@@',
    ],
)
def test_parse_rejects_malformed(bad: str) -> None:
    with pytest.raises(SipParseError):
        Challenge.parse(bad)


def test_parse_several_challenges_in_one_value() -> None:
    items = parse_auth_header('Basic realm="b", Digest realm="d", nonce="n", algorithm=SHA-256')
    assert [scheme for scheme, _ in items] == ["Basic", "Digest"]
    assert Challenge.parse('Basic realm="b", Digest realm="d", nonce="n"').realm == "d"


def test_choose_prefers_sha256_and_skips_unsupported() -> None:
    values = [
        'Digest realm="r", nonce="1", algorithm=MD5, qop="auth"',
        'Digest realm="r", nonce="2", algorithm=SHA-512-256, qop="auth"',
        'Digest realm="r", nonce="3", algorithm=SHA-256, qop="auth"',
        'Basic realm="r"',
        'Digest realm="broken',
    ]
    assert choose_challenge(values).nonce == "3"
    assert choose_challenge(values[:2]).nonce == "1"


def test_choose_skips_auth_int_only_and_sess_without_qop() -> None:
    values = [
        'Digest realm="r", nonce="1", algorithm=SHA-256, qop="auth-int"',
        'Digest realm="r", nonce="2", algorithm=SHA-256-sess',
        'Digest realm="r", nonce="3", algorithm=MD5-sess, qop="auth"',
    ]
    chosen = choose_challenge(values)
    assert (chosen.nonce, chosen.algorithm) == ("3", "MD5-sess")


def test_choose_raises_when_nothing_usable() -> None:
    with pytest.raises(SipError):
        choose_challenge(['Digest realm="r", nonce="n", algorithm=SHA-512-256', 'Basic realm="x"'])
    with pytest.raises(SipError):
        choose_challenge([])


# --- server ----------------------------------------------------------------


def make_server(clock: FakeClock | None = None, **kwargs: object) -> DigestServer:
    return DigestServer(REALM, KEY, nonce_ttl=60.0, clock=clock or FakeClock(), **kwargs)  # type: ignore[arg-type]


def test_server_challenges_sha256_then_md5_with_one_nonce() -> None:
    server = make_server()
    sha_ch, md5_ch = [Challenge.parse(value) for value in server.challenges()]
    assert (sha_ch.algorithm, md5_ch.algorithm) == ("SHA-256", "MD5")
    assert sha_ch.realm == md5_ch.realm == REALM
    assert sha_ch.qop == md5_ch.qop == ["auth"]
    assert sha_ch.nonce == md5_ch.nonce
    assert not sha_ch.stale
    assert all(Challenge.parse(v).stale for v in server.challenges(stale=True))
    assert server.challenges()[0] != server.challenges()[0]  # fresh nonce each time


def test_server_algorithms_are_configurable() -> None:
    # baresip 1.0 refuses to register when any challenge is not MD5: ("MD5",) serves it.
    server = DigestServer(REALM, KEY, clock=FakeClock(), algorithms=("md5",))
    [only] = server.challenges()
    assert Challenge.parse(only).algorithm == "MD5"
    assert server.verify("REGISTER", answer(only), lookup, request_uri=URI).ok
    for bad in [(), ("SHA-512-256",), ("MD5-sess",)]:
        with pytest.raises(SipError):
            DigestServer(REALM, KEY, algorithms=bad)


@pytest.mark.parametrize("index,algorithm", [(0, "SHA-256"), (1, "MD5")])
def test_round_trip_both_algorithms(index: int, algorithm: str) -> None:
    server = make_server()
    header = answer(server.challenges()[index])
    assert params_of(header)["algorithm"] == algorithm
    assert server.verify("REGISTER", header, lookup, request_uri=URI) == AuthResult(
        True, "101", False, "ok"
    )


def test_round_trip_via_choose_challenge_and_escaped_username() -> None:
    server = make_server()
    challenge = choose_challenge(server.challenges())
    assert challenge.algorithm == "SHA-256"
    header = authorization(
        challenge,
        method="INVITE",
        uri="sip:200@switch.example",
        username='we"ird\\user',
        password="pa:ss",
        nc=1,
    )
    result = server.verify(
        "INVITE", header, lookup, request_uri=SipUri.parse("sip:200@switch.example")
    )
    assert result.ok and result.username == 'we"ird\\user'


def test_lookup_receives_base_algorithm() -> None:
    server = make_server()
    seen: list[tuple[str, str]] = []

    def recording(username: str, algorithm: str) -> str | None:
        seen.append((username, algorithm))
        return lookup(username, algorithm)

    nonce = Challenge.parse(server.challenges()[0]).nonce
    sess = Challenge(realm=REALM, nonce=nonce, algorithm="SHA-256-sess", qop=["auth"])
    header = authorization(
        sess, method="INVITE", uri="sip:x@y", username="101", password="secret101", nc=1
    )
    assert server.verify("INVITE", header, recording, request_uri=SipUri.parse("sip:x@y")).ok
    assert seen == [("101", "SHA-256")]


def test_wrong_password() -> None:
    server = make_server()
    header = answer(server.challenges()[0], password="nope")
    result = server.verify("REGISTER", header, lookup, request_uri=URI)
    assert (result.ok, result.stale, result.reason) == (False, False, "wrong response")


def test_wrong_method_fails() -> None:
    server = make_server()
    header = answer(server.challenges()[0], method="REGISTER")
    assert not server.verify("INVITE", header, lookup, request_uri=URI).ok


def test_unknown_user() -> None:
    server = make_server()
    result = server.verify(
        "REGISTER", answer(server.challenges()[0], username="999"), lookup, request_uri=URI
    )
    assert (result.ok, result.username, result.reason) == (False, "999", "unknown user")


def test_credentials_for_another_request_uri_are_a_bad_request() -> None:
    """RFC 7616 3.4.6: a digest for INVITE sip:102@... proves nothing about a call elsewhere."""
    server = make_server()
    challenge = server.challenges()[0]
    elsewhere = SipUri.parse("sip:+493012345678@switch.example")
    for password in ("secret101", "wrong"):
        header = answer(challenge, method="INVITE", uri="sip:102@switch.example", password=password)
        result = server.verify("INVITE", header, lookup, request_uri=elsewhere)
        # the same answer whatever the password: a 400 is no password oracle
        assert (result.ok, result.bad_request, result.username) == (False, True, "101")
        assert result.reason == "uri does not match the Request-URI"
    unknown = answer(challenge, method="INVITE", uri="sip:102@switch.example", username="999")
    assert server.verify("INVITE", unknown, lookup, request_uri=elsewhere).bad_request
    right = answer(challenge, method="INVITE", uri="sip:102@switch.example", nc=2)
    assert server.verify(
        "INVITE", right, lookup, request_uri=SipUri.parse("sip:102@switch.example")
    ).ok


def verify_with_uri(credentials_uri: str, request_uri: str) -> AuthResult:
    """An INVITE to ``request_uri`` whose credentials name ``credentials_uri``, verified."""
    server = make_server()
    header = answer(server.challenges()[0], method="INVITE", uri=credentials_uri)
    return server.verify("INVITE", header, lookup, request_uri=SipUri.parse(request_uri))


@pytest.mark.parametrize(
    ("credentials_uri", "request_uri"),
    [
        ("sip:102@switch.example", "sip:102@switch.example"),
        ("SIP:102@Switch.EXAMPLE", "sip:102@switch.example"),
        ("sip:102@switch.example;transport=UDP;lr", "sip:102@switch.example;lr;transport=udp"),
        ("sip:%31%30%32@switch.example", "sip:102@switch.example"),
        ("sip:102@switch.example;ob", "sip:102@switch.example"),  # only in one: ignored
        (" sip:102@127.0.0.1:5060 ", "sip:102@127.0.0.1:5060"),
        # the server's URI, as sipp (no -auth_uri) and pyVoIP 1.6 hash it: no destination
        ("sip:127.0.0.1:5060", "sip:5550001@127.0.0.1:5060"),
        ("sip:switch.example;transport=UDP", "sip:102@switch.example"),
        ("sip:switch.example;transport=UDP", "sip:switch.example"),
    ],
)
def test_digest_uri_compares_as_a_uri(credentials_uri: str, request_uri: str) -> None:
    assert verify_with_uri(credentials_uri, request_uri).ok


@pytest.mark.parametrize(
    ("credentials_uri", "request_uri"),
    [
        ("sip:102@switch.example", "sip:103@switch.example"),
        ("sip:102@switch.example", "sips:102@switch.example"),
        ("sip:Alice@switch.example", "sip:alice@switch.example"),  # user part is exact
        ("sip:102@switch.example", "sip:102@switch.example:5060"),  # no port is not 5060
        ("sip:102@switch.example", "sip:102@other.example"),
        ("sip:102@switch.example;transport=tcp", "sip:102@switch.example"),
        ("sip:102@switch.example;user=phone", "sip:102@switch.example;user=ip"),
        ("sip:102@switch.example;maddr=192.0.2.1", "sip:102@switch.example"),
        ("sip:102@switch.example?subject=x", "sip:102@switch.example"),
        ("sip:switch.example:5070", "sip:102@switch.example"),
        ("sip:other.example", "sip:102@switch.example"),
        ("sip:switch.example?subject=x", "sip:102@switch.example"),
        ("not a uri", "sip:102@switch.example"),
        ("*", "sip:102@switch.example"),
    ],
)
def test_digest_uri_naming_another_uri_is_refused(credentials_uri: str, request_uri: str) -> None:
    result = verify_with_uri(credentials_uri, request_uri)
    assert (result.ok, result.bad_request) == (False, True)


def test_authorization_username() -> None:
    assert authorization_username('Digest username="101", realm="r"') == "101"
    assert authorization_username('Basic abc, Digest realm="r", username=102') == "102"
    assert authorization_username('Digest realm="r"') is None
    assert authorization_username('Digest username="unterminated') is None


def test_wrong_realm() -> None:
    server = make_server()
    challenge = Challenge.parse(server.challenges()[0])
    challenge.realm = "other.example"
    header = answer(challenge)
    result = server.verify("REGISTER", header, lookup, request_uri=URI)
    assert (result.ok, result.reason) == (False, "wrong realm")


def test_stale_nonce_after_ttl_only_when_digest_is_right() -> None:
    clock = FakeClock()
    server = make_server(clock)
    good = answer(server.challenges()[0])
    bad = answer(server.challenges()[0], password="nope")
    clock.now += 61
    result = server.verify("REGISTER", good, lookup, request_uri=URI)
    assert (result.ok, result.stale, result.username) == (False, True, "101")
    # A wrong password with an old nonce is not "stale": the client must not retry silently.
    assert server.verify("REGISTER", bad, lookup, request_uri=URI).stale is False


def test_nonce_from_before_a_clock_step_back_is_stale() -> None:
    clock = FakeClock()
    server = make_server(clock)
    header = answer(server.challenges()[0])
    clock.now -= 3600  # NTP stepped the clock back an hour: the nonce must not live 61 min
    result = server.verify("REGISTER", header, lookup, request_uri=URI)
    assert (result.ok, result.stale, result.reason) == (False, True, "nonce from the future")
    fresh = answer(server.challenges()[0])
    clock.now += 4  # small adjustments are tolerated
    assert server.verify("REGISTER", fresh, lookup, request_uri=URI).ok


def test_nonce_valid_until_ttl() -> None:
    clock = FakeClock()
    server = make_server(clock)
    header = answer(server.challenges()[0])
    clock.now += 59.9
    assert server.verify("REGISTER", header, lookup, request_uri=URI).ok


def test_replayed_nc_rejected_increasing_nc_accepted() -> None:
    server = make_server()
    challenge = server.challenges()[0]
    first = answer(challenge, nc=1)
    assert server.verify("REGISTER", first, lookup, request_uri=URI).ok
    replay = server.verify("REGISTER", first, lookup, request_uri=URI)
    assert (replay.ok, replay.stale, replay.reason) == (False, False, "replayed nc")
    assert server.verify("REGISTER", answer(challenge, nc=3), lookup, request_uri=URI).ok
    assert not server.verify("REGISTER", answer(challenge, nc=2), lookup, request_uri=URI).ok
    assert not server.verify("REGISTER", answer(challenge, nc=3), lookup, request_uri=URI).ok
    assert server.verify("REGISTER", answer(challenge, nc=4), lookup, request_uri=URI).ok


def test_bad_response_does_not_burn_nc() -> None:
    server = make_server()
    challenge = server.challenges()[0]
    assert not server.verify(
        "REGISTER", answer(challenge, password="x", nc=5), lookup, request_uri=URI
    ).ok
    assert server.verify("REGISTER", answer(challenge, nc=1), lookup, request_uri=URI).ok


def test_forged_nonce_rejected() -> None:
    server = make_server()
    genuine = Challenge.parse(server.challenges()[0]).nonce
    raw = bytearray(base64.b64decode(genuine))
    raw[0] ^= 0x01  # shift the timestamp: the MAC no longer matches
    forged_nonces = [
        base64.b64encode(bytes(raw)).decode(),
        base64.b64encode(b"\x00" * 36).decode(),
        "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        "not base64!",
        genuine[:-4],
    ]
    other_key = DigestServer(REALM, b"another key", clock=FakeClock())
    forged_nonces.append(Challenge.parse(other_key.challenges()[0]).nonce)
    other_realm = DigestServer("other", KEY, clock=FakeClock())
    forged_nonces.append(Challenge.parse(other_realm.challenges()[0]).nonce)
    for nonce in forged_nonces:
        challenge = Challenge(realm=REALM, nonce=nonce, algorithm="SHA-256", qop=["auth"])
        header = answer(challenge)
        result = server.verify("REGISTER", header, lookup, request_uri=URI)
        assert (result.ok, result.stale, result.reason) == (False, False, "nonce not issued by us")


def test_pyvoip_style_md5_without_qop() -> None:
    """pyVoIP 1.6.8 takes the first challenge's nonce, hashes MD5 with its own uri, no qop."""
    server = make_server()
    first = Challenge.parse(server.challenges()[0])  # the SHA-256 one
    uri = "sip:192.0.2.1;transport=UDP"
    response = md5(
        f"{md5('101:' + first.realm + ':secret101')}:{first.nonce}:{md5('REGISTER:' + uri)}"
    )
    header = (
        f'Digest username="101",realm="{first.realm}",nonce="{first.nonce}",'
        f'uri="{uri}",response="{response}",algorithm=MD5'
    )
    assert server.verify("REGISTER", header, lookup, request_uri=SipUri.parse(uri)).ok
    # Without nc there is no counter: the nonce is good once, then re-challenge (stale).
    again = server.verify("REGISTER", header, lookup, request_uri=SipUri.parse(uri))
    assert (again.ok, again.stale) == (False, True)


def _md5_qop_response(nonce: str, uri: str, cnonce: str) -> str:
    return md5(
        f"{md5(f'101:{REALM}:secret101')}:{nonce}:00000001:{cnonce}:auth:{md5('REGISTER:' + uri)}"
    )


def test_baresip_1_0_authorization_form() -> None:
    """As captured from baresip 1.0.0 here: no algorithm parameter (MD5 implied), qop before nc."""
    server = DigestServer(REALM, KEY, clock=FakeClock(), algorithms=("MD5",))
    nonce = Challenge.parse(server.challenges()[0]).nonce
    uri = "sip:127.0.0.1:35270"
    response = _md5_qop_response(nonce, uri, "6e654639ece3a667")
    header = (
        f'Digest username="101", realm="{REALM}", nonce="{nonce}", uri="{uri}", '
        f'response="{response}", cnonce="6e654639ece3a667", qop=auth, nc=00000001'
    )
    assert server.verify("REGISTER", header, lookup, request_uri=SipUri.parse(uri)).ok


def test_sipp_3_6_authorization_form() -> None:
    """As captured from sipp 3.6 `[authentication]`: no spaces, cnonce first, algorithm last."""
    server = make_server()
    nonce = Challenge.parse(server.challenges()[1]).nonce
    uri = "sip:127.0.0.1:35270"
    response = _md5_qop_response(nonce, uri, "6b8b4567")
    header = (
        f'Digest username="101",realm="{REALM}",cnonce="6b8b4567",nc=00000001,qop=auth,'
        f'uri="{uri}",nonce="{nonce}",response="{response}",algorithm=MD5'
    )
    assert server.verify("REGISTER", header, lookup, request_uri=SipUri.parse(uri)).ok


def test_qop_required_fields_and_formats() -> None:
    server = make_server()
    params = params_of(answer(server.challenges()[0]))

    def build(**changes: str | None) -> str:
        merged = {**params, **changes}
        return "Digest " + ", ".join(f'{k}="{v}"' for k, v in merged.items() if v is not None)

    assert server.verify("REGISTER", build(), lookup, request_uri=URI).ok
    cases = {
        "nc is not 8 hex digits": build(nc="1"),
        "qop without nc or cnonce": build(cnonce=None),
        "unsupported qop 'auth-int'": build(qop="auth-int"),
        "unsupported algorithm": build(algorithm="SHA-512-256"),
        "response is not hex": build(response="zz"),
        "missing uri": build(uri=None),
        "userhash not supported": build(userhash="true"),
    }
    for reason, header in cases.items():
        result = server.verify("REGISTER", header, lookup, request_uri=URI)
        assert (result.ok, result.reason) == (False, reason)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "Basic dXNlcjpwYXNz",
        "Digest",
        'Digest username="unterminated',
        "Digest ,,,,",
        "Digest username=101, realm=switch.example, nonce=\u00e9\u00e9, uri=x, response=00",
        "\x00\xff\ud800",
        "Digest response=\u0661\u0662",
    ],
)
def test_verify_malformed_is_not_ok(garbage: str) -> None:
    result = make_server().verify("REGISTER", garbage, lookup, request_uri=URI)
    assert result.ok is False and result.reason


def test_eviction_bounds_state_and_refuses_evicted_nonces_as_stale() -> None:
    clock = FakeClock()
    server = make_server(clock, max_nonces=3)
    challenges = []
    for _ in range(5):
        clock.now += 1
        challenges.append(server.challenges()[0])
    for challenge in challenges:
        assert server.verify("REGISTER", answer(challenge, nc=1), lookup, request_uri=URI).ok
    assert len(server._seen) == 3
    # The two oldest nonces lost their nc state: replaying them must not pass.
    for challenge in challenges[:2]:
        result = server.verify("REGISTER", answer(challenge, nc=1), lookup, request_uri=URI)
        assert (result.ok, result.stale) == (False, True)
    # Expired entries are swept first when room is needed.
    clock.now += 120
    fresh = []
    for _ in range(3):
        clock.now += 1
        fresh.append(server.challenges()[0])
    for challenge in fresh:
        assert server.verify("REGISTER", answer(challenge, nc=1), lookup, request_uri=URI).ok
    assert len(server._seen) == 3


# --- fuzz ------------------------------------------------------------------

_FIELDS = [
    "username",
    "realm",
    "nonce",
    "uri",
    "response",
    "algorithm",
    "qop",
    "nc",
    "cnonce",
    "opaque",
    "userhash",
    "stale",
]


@st.composite
def digest_headers(draw: st.DrawFn) -> str:
    values = st.one_of(
        st.text(max_size=30),
        st.sampled_from(
            [
                "MD5",
                "SHA-256",
                "md5-sess",
                "auth",
                "auth-int",
                "00000001",
                "true",
                REALM,
                "101",
                "ffffffff",
                "0" * 64,
            ]
        ),
    )
    parts = []
    for name in draw(st.lists(st.sampled_from(_FIELDS), max_size=12)):
        value = draw(values)
        if draw(st.booleans()):
            value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        parts.append(f"{name}={value}")
    separator = draw(st.sampled_from([", ", ",", " ", ",,"]))
    return draw(st.sampled_from(["Digest ", "digest ", "", "Basic "])) + separator.join(parts)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=200), digest_headers()))
def test_verify_never_raises(header: str) -> None:
    result = make_server().verify("INVITE", header, lookup, request_uri=URI)
    assert isinstance(result, AuthResult)
    assert not result.ok


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_challenge_parse_raises_only_sip_parse_error(text: str) -> None:
    with contextlib.suppress(SipParseError):
        Challenge.parse(text)


@settings(max_examples=200, deadline=None)
@given(
    username=st.text(min_size=1, max_size=20),
    password=st.text(max_size=20),
    uri=st.from_regex(
        r"sips?:([a-z0-9]{1,6}(%3[0-9])?@)?[a-z][a-z0-9]{0,6}(\.[a-z0-9]{1,5})?"
        r"(:[0-9]{1,4})?(;transport=(udp|TCP))?",
        fullmatch=True,
    ),
    index=st.sampled_from([0, 1]),
)
def test_round_trip_any_credentials(username: str, password: str, uri: str, index: int) -> None:
    server = make_server()
    header = authorization(
        Challenge.parse(server.challenges()[index]),
        method="INVITE",
        uri=uri,
        username=username,
        password=password,
        nc=1,
    )

    def one_user(name: str, algorithm: str) -> str | None:
        return ha1(username, REALM, password, algorithm) if name == username else None

    assert server.verify("INVITE", header, one_user, request_uri=SipUri.parse(uri)).ok
