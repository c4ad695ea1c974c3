"""Local extensions at start: the store is the source of truth, the config file seeds it.

An ``[[extensions]]`` entry whose number the store does not have is added (with its
settings); one the store has already is left as the store has it, and when the file
says otherwise (another password, name, account, ...) a warning names what differs:
extensions are changed while the switch runs (admin API, `softswitch extensions`), and
a restart must not undo that. Extensions missing from the file stay. A store with no
extension at all and no ``[[extensions]]`` gets 101 and 102 with generated passwords,
shown once (only their hashes are kept).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import fields

from .config import Config, ExtensionConfig
from .extension_admin import credentials, new_password
from .store import Store
from .store.call_features import CallFeatures, CallFeatureStore
from .store.extension_settings import ExtensionSettings, ExtensionSettingsStore

log = logging.getLogger("softswitch.extensions")

DEFAULT_NUMBERS = ("101", "102")


def configured_settings(ext: ExtensionConfig) -> ExtensionSettings:
    """The settings an ``[[extensions]]`` entry gives (transports upper case)."""
    return ExtensionSettings(
        name=ext.name,
        account=ext.account,
        outside_caller_id=ext.outside_caller_id,
        max_devices=ext.max_devices,
        codecs=[c.upper() for c in ext.codecs],
        transports=[t.upper() for t in ext.transports],
        voicemail=ext.voicemail,
    )


def provision_extensions(store: Store, config: Config, announce: Callable[[str], None]) -> None:
    """Seed the store from the configuration (see the module's docstring)."""
    realm = config.sip.realm
    settings = ExtensionSettingsStore(store.db)
    if config.default_extensions:
        if store.extensions():
            return
        for number in DEFAULT_NUMBERS:
            password = new_password()
            settings.create(credentials(number, password, realm, "generated"), ExtensionSettings())
            announce(
                f"extension {number} password: {password}  (shown once; only its hash is kept)"
            )
        return
    for ext in config.extensions:
        wanted = configured_settings(ext)
        made = credentials(ext.number, ext.password, realm, "config")
        existing = store.extension(ext.number)
        if existing is None:
            settings.create(made, wanted)
            continue
        differs = [] if existing.ha1_md5 == made.ha1_md5 else ["password"]
        stored = settings.get(ext.number)
        if stored is None:  # kept by a version without settings: the file's are the first
            settings.put(ext.number, wanted)
        else:
            differs += [
                f.name
                for f in fields(ExtensionSettings)
                if getattr(stored, f.name) != getattr(wanted, f.name)
            ]
        if differs:
            log.warning(
                "extension %s: the config file's %s differ(s) from the store's; the store's"
                " are kept (the store is the source of truth: change them with"
                " `softswitch extensions` or /api/admin/extensions)",
                ext.number,
                ", ".join(differs),
            )


def seed_call_features(features: CallFeatureStore, config: Config) -> None:
    """First values of the configured extensions' forwarding and DND (kept once set:
    the phone's feature codes and the admin API change them). A removed extension's
    settings go with it (softswitch.store.extension_settings)."""
    for ext in config.extensions:
        features.seed(
            ext.number,
            CallFeatures(
                ext.forward_always,
                ext.forward_busy,
                ext.forward_no_answer,
                ext.no_answer_timeout,
                ext.dnd,
            ),
        )
