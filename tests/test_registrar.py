"""The registrar over real UDP, with our own UA as the registering client."""

from __future__ import annotations

import pytest

from softswitch.extensions import make_extension
from softswitch.identity import AuthGuard, ExtensionAuthenticator
from softswitch.registrar import Registrar
from softswitch.sip.address import Address
from softswitch.sip.auth import DigestServer, authorization, choose_challenge
from softswitch.sip.transaction import Timers
from softswitch.sip.transport import Peer
from softswitch.sip.ua import Credentials, UserAgent
from softswitch.sip.uri import SipUri
from softswitch.store import Store

FAST = Timers(t1=0.05, t2=0.2, t4=0.2)
REALM = "test"


@pytest.fixture
async def registrar(store_url):
    store = Store(store_url)
    for number in ("101", "102"):
        store.put_extension(make_extension(number, f"pw{number}", REALM, "config"))
    server = UserAgent("127.0.0.1", 0, lambda st: None, timers=FAST)
    digest = DigestServer(REALM, b"k" * 32, algorithms=("SHA-256", "MD5"))
    auth = ExtensionAuthenticator(store, digest, AuthGuard(3, ban_seconds=60))
    reg = Registrar(store, auth, server, min_expires=60, max_expires=600)
    server.on_request = reg.handle
    await server.start()
    client = UserAgent("127.0.0.1", 0, lambda st: None, timers=FAST)
    await client.start()
    yield reg, server, client, store
    await client.stop()
    await server.stop()
    store.close()


async def register(
    server,
    client,
    user="101",
    password="pw101",
    contacts=None,
    expires=None,
    cseq=1,
    call_id="reg-1",
    aor_user=None,
):
    aor = SipUri("sip", aor_user or user, "127.0.0.1", server.port)
    request = client.new_request(
        "REGISTER",
        SipUri("sip", None, "127.0.0.1", server.port),
        Address(aor),
        Address(aor),
        call_id=call_id,
        cseq=cseq,
        contact_user=user,
    )
    if contacts is not None:
        request.headers.remove("Contact")
        for contact in contacts:
            request.headers.add("Contact", contact)
    if expires is not None:
        request.headers.add("Expires", str(expires))
    creds = Credentials(user, password) if password is not None else None
    return await client.request(request, Peer("UDP", "127.0.0.1", server.port), creds)


async def test_challenge_then_register_with_sha256(registrar):
    reg, server, client, _ = registrar
    challenge = await register(server, client, password=None)
    assert challenge.status == 401
    algorithms = " ".join(challenge.headers.get_all("WWW-Authenticate"))
    assert "SHA-256" in algorithms and "MD5" in algorithms
    ok = await register(server, client, expires=300)
    assert ok.status == 200
    (contact,) = ok.contacts
    assert int(contact.params["expires"]) in (299, 300)
    (binding,) = reg.contacts("101")
    assert binding.source_port == client.port and binding.transport == "UDP"


async def test_several_contacts_star_removal_and_expiry_rules(registrar):
    reg, server, client, _ = registrar
    ok = await register(
        server,
        client,
        contacts=["<sip:101@127.0.0.1:7001>;expires=120", "<sip:101@127.0.0.1:7002>"],
        expires=9999,
    )
    assert ok.status == 200
    expiries = sorted(int(c.params["expires"]) for c in ok.contacts)
    assert expiries[0] in (119, 120) and expiries[1] in (599, 600)  # capped at max_expires
    brief = await register(server, client, contacts=["<sip:101@127.0.0.1:7003>;expires=5"], cseq=10)
    assert brief.status == 423 and brief.headers.get("Min-Expires") == "60"
    bad_star = await register(server, client, contacts=["*"], expires=60, cseq=20)
    assert bad_star.status == 400
    removed = await register(server, client, contacts=["*"], expires=0, cseq=30)
    assert removed.status == 200 and removed.contacts == []
    assert reg.contacts("101") == []


async def test_out_of_order_cseq_is_refused(registrar):
    _, server, client, _ = registrar
    assert (await register(server, client, cseq=50, call_id="same")).status == 200
    assert (await register(server, client, cseq=10, call_id="same")).status == 500


async def test_cannot_register_someone_elses_extension(registrar):
    reg, server, client, _ = registrar
    response = await register(server, client, user="101", password="pw101", aor_user="102")
    assert response.status == 403
    assert reg.contacts("102") == []


async def test_wrong_passwords_ban_that_extension_from_that_source_only(registrar):
    reg, server, client, _ = registrar
    statuses = [
        (await register(server, client, password="nope", call_id=f"x{i}")).status for i in range(4)
    ]
    assert statuses[:2] == [401, 401]
    assert statuses[-1] == 403
    # even the right password is refused while the ban lasts (a final answer: To tag)
    refused = await register(server, client, call_id="good")
    assert refused.status == 403 and refused.to_addr.tag
    # a neighbour behind the same NAT (same address) still registers
    ok = await register(server, client, user="102", password="pw102", call_id="n", expires=300)
    assert ok.status == 200
    assert [b.aor for b in reg.contacts("102")] == ["102"]


async def test_unknown_users_get_the_whole_source_banned(registrar):
    _, server, client, _ = registrar
    statuses = [
        (await register(server, client, user=f"9{i:02}", password="x", call_id=f"u{i}")).status
        for i in range(4)
    ]
    assert statuses[:2] == [401, 401]
    assert statuses[-1] == 403
    assert (await register(server, client, user="102", password="pw102", call_id="n")).status == 403


async def test_credentials_for_another_request_uri_get_400_and_count_as_failures(registrar):
    _, server, client, _ = registrar
    challenge = choose_challenge(
        (await register(server, client, password=None)).headers.get_all("WWW-Authenticate")
    )
    statuses = []
    for i in range(4):
        aor = SipUri("sip", "101", "127.0.0.1", server.port)
        request = client.new_request(
            "REGISTER",
            SipUri("sip", None, "127.0.0.1", server.port),
            Address(aor),
            Address(aor),
            call_id=f"elsewhere-{i}",
            cseq=1,
            contact_user="101",
        )
        # right password, computed for another Request-URI (a replayed Authorization)
        value = authorization(
            challenge,
            method="REGISTER",
            uri="sip:127.0.0.2",
            username="101",
            password="pw101",
            nc=i + 1,
        )
        request.headers.add("Authorization", value)
        response = await client.request(request, Peer("UDP", "127.0.0.1", server.port))
        statuses.append(response.status)
    assert statuses == [400, 400, 403, 403]


async def test_unknown_user_learns_nothing(registrar):
    _, server, client, _ = registrar
    response = await register(server, client, user="999", password="whatever")
    assert response.status == 401


async def test_bindings_survive_a_restart(registrar, store_url):
    _, server, client, _ = registrar
    assert (await register(server, client, expires=300)).status == 200
    reopened = Store(store_url)
    assert [b.aor for b in reopened.bindings("101")] == ["101"]
    reopened.close()


async def test_new_bindings_are_announced_refreshes_are_not(registrar):
    reg, server, client, _ = registrar
    announced = []
    reg.on_new_binding = announced.append
    assert (await register(server, client, expires=300)).status == 200
    assert [b.contact for b in announced] == [f"sip:101@127.0.0.1:{client.port}"]
    assert (await register(server, client, expires=300, cseq=5)).status == 200  # refresh
    assert len(announced) == 1
    await register(server, client, contacts=["<sip:101@127.0.0.1:7001>"], expires=60, cseq=6)
    assert [b.contact for b in announced][1:] == ["sip:101@127.0.0.1:7001"]
    await register(server, client, contacts=["<sip:101@127.0.0.1:7001>"], expires=0, cseq=7)
    assert len(announced) == 2  # a removal is no new binding
