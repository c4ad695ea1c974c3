"""Headers: names, compact forms, list headers, changes (RFC 3261 7.3, 20)."""

from __future__ import annotations

import pytest

from softswitch.sip.headers import Headers, canonical_name

# --- Headers ----------------------------------------------------------------------------


def test_headers_case_insensitive_and_ordered() -> None:
    h = Headers([("via", "SIP/2.0/UDP a"), ("X-Custom", "1"), ("CALL-ID", "abc")])
    assert h.get("VIA") == "SIP/2.0/UDP a"
    assert h.get("call-id") == "abc"
    assert h.get("i") == "abc"  # compact form looks up the same header
    assert "x-custom" in h and "X-CUSTOM" in h and "Nope" not in h
    assert h.items() == [("Via", "SIP/2.0/UDP a"), ("X-Custom", "1"), ("Call-ID", "abc")]
    assert h.get("Missing") is None and h.get("Missing", "d") == "d"


@pytest.mark.parametrize(
    ("compact", "canonical"),
    [
        ("i", "Call-ID"), ("m", "Contact"), ("f", "From"), ("t", "To"), ("v", "Via"),
        ("l", "Content-Length"), ("c", "Content-Type"), ("k", "Supported"), ("s", "Subject"),
        ("e", "Content-Encoding"), ("o", "Event"), ("r", "Refer-To"), ("b", "Referred-By"),
        ("u", "Allow-Events"), ("x", "Session-Expires"), ("y", "Identity"),
    ],
)  # fmt: skip
def test_compact_forms_normalised(compact: str, canonical: str) -> None:
    assert canonical_name(compact) == canonical
    assert canonical_name(compact.upper()) == canonical
    h = Headers([(compact, "v")])
    assert h.items() == [(canonical, "v")]
    assert h.get(canonical) == "v"


@pytest.mark.parametrize(
    "name",
    ["WWW-Authenticate", "CSeq", "Call-ID", "Max-Forwards", "MIME-Version", "RAck", "RSeq",
     "Proxy-Authorization", "SIP-ETag", "P-Asserted-Identity", "Record-Route", "User-Agent"],
)  # fmt: skip
def test_well_known_names_get_canonical_case(name: str) -> None:
    assert canonical_name(name.upper()) == name
    assert canonical_name(name.lower()) == name


def test_unknown_names_keep_their_case() -> None:
    h = Headers([("X-SoMe-Thing", "1")])
    assert h.items() == [("X-SoMe-Thing", "1")]
    assert h.get("x-some-thing") == "1"


def test_get_all_splits_list_headers_only() -> None:
    h = Headers()
    h.add("Contact", '"Desk, left" <sip:a@x;p=1,2>;q=1, <sip:b@y>')
    h.add("m", "<sip:c@z>")
    h.add("WWW-Authenticate", 'Digest realm="a", nonce="b", algorithm=MD5')
    h.add("WWW-Authenticate", 'Digest realm="a", nonce="c", algorithm=SHA-256')
    h.add("Date", "Sat, 13 Nov 2010 23:29:00 GMT")
    h.add("User-Agent", "Phone/1.0 (a, b)")
    h.add("X-Unknown", "a, b")
    assert h.get_all("Contact") == ['"Desk, left" <sip:a@x;p=1,2>;q=1', "<sip:b@y>", "<sip:c@z>"]
    assert h.get("Contact") == '"Desk, left" <sip:a@x;p=1,2>;q=1'
    assert h.get_all("www-authenticate") == [
        'Digest realm="a", nonce="b", algorithm=MD5',
        'Digest realm="a", nonce="c", algorithm=SHA-256',
    ]
    assert h.get_all("Date") == ["Sat, 13 Nov 2010 23:29:00 GMT"]
    assert h.get_all("User-Agent") == ["Phone/1.0 (a, b)"]
    assert h.get_all("X-Unknown") == ["a, b"]
    assert h.get_all("Nope") == []


def test_set_add_prepend_remove() -> None:
    h = Headers([("Via", "v1"), ("From", "f"), ("Via", "v2"), ("Route", "r1")])
    h.prepend("Via", "v0")
    assert [v for n, v in h.items() if n == "Via"] == ["v0", "v1", "v2"]
    assert h.items()[0] == ("Via", "v0")
    h.prepend("Record-Route", "rr")  # none yet: goes first
    assert h.items()[0] == ("Record-Route", "rr")
    h.set("via", "only")  # replaces all, at the position of the first
    assert h.items() == [("Record-Route", "rr"), ("Via", "only"), ("From", "f"), ("Route", "r1")]
    h.set("Expires", "60")
    assert h.items()[-1] == ("Expires", "60")
    h.remove("ROUTE")
    assert "Route" not in h
    h.add("Route", "r2")
    assert h.get_all("Route") == ["r2"]
    assert len(h) == 5


def test_copy_is_independent() -> None:
    h = Headers([("Via", "a")])
    c = h.copy()
    c.add("Via", "b")
    assert h.get_all("Via") == ["a"]
    assert c.get_all("Via") == ["a", "b"]
    assert h != c and h == Headers([("v", "a")])


def test_header_injection_is_refused() -> None:
    h = Headers()
    with pytest.raises(ValueError):
        h.add("Subject", "hi\r\nVia: evil")
    with pytest.raises(ValueError):
        h.set("Bad Name", "x")
