"""Extensions managed at run time over a real store: checks naming the field, nothing
half written, the store as the source of truth when the config file differs."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from softswitch.extension_admin import ExtensionAdmin, Neighbours, credentials
from softswitch.extensions import provision_extensions
from softswitch.field_error import FieldError, Refusal
from softswitch.store import Binding, Store
from softswitch.store.call_features import CallFeatures, CallFeatureStore
from softswitch.store.extension_settings import ExtensionSettings, ExtensionSettingsStore
from tests.switch_harness import switch_config

REALM = "softswitch"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "s.db")


def admin(store: Store, *, dids: set[str] = frozenset(), rooms: set[str] = frozenset(),
          boxes: bool = False) -> ExtensionAdmin:  # fmt: skip
    return ExtensionAdmin(
        store,
        REALM,
        Neighbours(
            did=lambda n: n in dids,
            room=lambda n: n in rooms,
            account=lambda a: a == "account_1",
            voicemail_box=lambda n, a: boxes,
        ),
    )


def test_add_keeps_only_the_digests_and_reset_changes_them(store: Store) -> None:
    service = admin(store)
    record, password = service.add("103", {"name": "Reception", "transports": ["tls"]})
    stored = store.extension("103")
    assert stored is not None and stored.source == "api"
    assert stored.ha1_md5 == credentials("103", password, REALM, "api").ha1_md5
    assert password not in repr(store.db.execute("SELECT * FROM extensions").fetchall())
    assert record.settings.transports == ["TLS"]
    assert service.record("103").settings.name == "Reception"
    new = service.reset("103")
    assert new != password
    assert store.extension("103").ha1_md5 == credentials("103", new, REALM, "api").ha1_md5


def test_remove_takes_settings_bindings_and_features_with_it(store: Store) -> None:
    service = admin(store)
    service.add("103", {"max_devices": 2})
    features = CallFeatureStore(store.db)
    features.put("103", CallFeatures(dnd=True))
    store.put_binding(
        Binding(
            "103", "sip:103@127.0.0.1:5070", time.time() + 600, "c", 1, "UDP", "127.0.0.1", 5070
        )
    )
    service.remove("103")
    assert store.extension("103") is None
    assert service.settings.get("103") is None
    assert store.bindings("103") == []
    assert features.get("103") == CallFeatures()
    with pytest.raises(FieldError) as gone:
        service.remove("103")
    assert gone.value.refusal is Refusal.NOT_FOUND


@pytest.mark.parametrize(
    ("number", "changes", "field", "refusal"),
    [
        ("*72", {}, "number", Refusal.CONFLICT),  # a feature code
        ("*97", {}, "number", Refusal.CONFLICT),  # voicemail access
        ("15550100", {}, "number", Refusal.CONFLICT),  # a DID
        ("800", {}, "number", Refusal.CONFLICT),  # a conference room
        ("10a", {}, "number", Refusal.INVALID),
        ("101", {}, "number", Refusal.CONFLICT),  # exists
        ("104", {"codecs": ["G729"]}, "codecs", Refusal.INVALID),
        ("104", {"transports": ["sctp"]}, "transports", Refusal.INVALID),
        ("104", {"max_devices": 0}, "max_devices", Refusal.INVALID),
        ("104", {"max_devices": True}, "max_devices", Refusal.INVALID),
        ("104", {"outside_caller_id": "call me"}, "outside_caller_id", Refusal.INVALID),
        ("104", {"account": "nobody"}, "account", Refusal.INVALID),
        ("104", {"voicemail": True}, "voicemail", Refusal.INVALID),  # no voicemail here
        ("104", {"colour": "red"}, "colour", Refusal.INVALID),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    store: Store, number: str, changes: dict[str, object], field: str, refusal: Refusal
) -> None:
    service = admin(store, dids={"15550100"}, rooms={"800"})
    service.add("101", {})
    before = store.db.execute("SELECT COUNT(*) FROM extensions").fetchone()[0]
    with pytest.raises(FieldError) as refused:
        service.add(number, changes)
    assert refused.value.field == field and refused.value.refusal is refusal
    assert str(refused.value).startswith(f"{field}: ")
    assert store.db.execute("SELECT COUNT(*) FROM extensions").fetchone()[0] == before
    settings = store.db.execute("SELECT COUNT(*) FROM extension_settings").fetchone()[0]
    assert settings == before


def test_update_checks_then_writes(store: Store) -> None:
    service = admin(store, boxes=True)
    service.add("103", {})
    with pytest.raises(FieldError, match="^codecs: "):
        service.update("103", {"name": "Desk", "codecs": ["speex"]})
    assert service.record("103").settings.name == ""  # nothing of the refused change
    record = service.update("103", {"codecs": ["pcma"], "voicemail": True, "account": "account_1"})
    assert record.settings == ExtensionSettings(
        codecs=["PCMA"], voicemail=True, account="account_1"
    )


def test_the_store_wins_over_a_changed_config_file_and_says_so(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    config = switch_config(tmp_path, 5060, 20000, extensions={"101": "pw101"})
    config.extensions[0].name = "Desk"
    provision_extensions(store, config, lambda line: None)
    admin(store).add("103", {})  # made at run time
    settings = ExtensionSettingsStore(store.db)
    assert settings.get("101") == ExtensionSettings(name="Desk")
    changed = switch_config(tmp_path, 5060, 20000, extensions={"101": "other", "102": "pw102"})
    with caplog.at_level(logging.WARNING, logger="softswitch.extensions"):
        provision_extensions(store, changed, lambda line: None)
    assert store.extension("101").ha1_md5 == credentials("101", "pw101", REALM, "config").ha1_md5
    assert settings.get("101").name == "Desk"
    assert store.extension("102") is not None  # missing ones are seeded
    assert store.extension("103") is not None  # not in the file: kept
    [warning] = [r.getMessage() for r in caplog.records]
    assert "extension 101" in warning and "password, name" in warning


def test_default_extensions_only_for_an_empty_store(tmp_path: Path, store: Store) -> None:
    config = switch_config(tmp_path, 5060, 20000)
    config.extensions = []
    config.default_extensions = True
    shown: list[str] = []
    provision_extensions(store, config, shown.append)
    assert [e.number for e in store.extensions()] == ["101", "102"] and len(shown) == 2
    admin(store).remove("102")
    provision_extensions(store, config, shown.append)  # a restart: 102 stays removed
    assert [e.number for e in store.extensions()] == ["101"] and len(shown) == 2
