import time

from softswitch.store import Binding, Extension, Store


def binding(contact: str, expires_at: float, cseq: int = 1) -> Binding:
    return Binding("101", contact, expires_at, "cid", cseq, "UDP", "127.0.0.1", 5062)


def test_bindings_survive_reopening(store_url):
    store = Store(store_url)
    now = time.time()
    store.put_extension(Extension("101", "a" * 32, "b" * 64, "config"))
    store.put_binding(binding("sip:101@127.0.0.1:5062", now + 60))
    store.put_binding(binding("sip:101@127.0.0.1:5063", now - 1))  # already expired
    store.close()
    again = Store(store_url)
    assert again.extension("101").ha1_sha256 == "b" * 64
    assert [b.contact for b in again.bindings("101", now)] == ["sip:101@127.0.0.1:5062"]
    assert again.purge_expired_bindings(now) == 1


def test_binding_upsert_and_removal(store_url):
    store = Store(store_url)
    now = time.time()
    store.put_binding(binding("sip:a@h", now + 10))
    store.put_binding(binding("sip:a@h", now + 100, cseq=2))
    (only,) = store.bindings("101", now)
    assert only.cseq == 2 and only.expires_in(now) == 100
    store.delete_binding("101", "sip:a@h")
    assert store.bindings("101", now) == []


def test_meta_and_extension_pruning(store_url):
    store = Store(store_url)
    store.set_meta("k", "v")
    assert store.get_meta("k") == "v" and store.get_meta("nope") is None
    for n in ("101", "102"):
        store.put_extension(Extension(n, "x", "y", "config"))
    store.delete_extensions_except(["102"], "config")
    assert [e.number for e in store.extensions()] == ["102"]
