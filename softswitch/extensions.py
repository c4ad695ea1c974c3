"""Local extensions: what the config declares, or two generated ones on first start."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from .config import Config
from .sip.auth import ha1
from .store import Extension, Store
from .store.call_features import CallFeatures, CallFeatureStore

DEFAULT_NUMBERS = ("101", "102")


def make_extension(number: str, password: str, realm: str, source: str) -> Extension:
    # Only the digest HA1s are kept: the password itself is never stored.
    return Extension(
        number, ha1(number, realm, password, "MD5"), ha1(number, realm, password, "SHA-256"), source
    )


def provision_extensions(store: Store, config: Config, announce: Callable[[str], None]) -> None:
    """Bring the store's extensions in line with the configuration.

    With ``[[extensions]]`` configured, those are the extensions. Without, 101 and 102
    get generated passwords, shown once on first start (only their hashes are kept).
    """
    realm = config.sip.realm
    if not config.default_extensions:
        numbers = [e.number for e in config.extensions]
        for ext in config.extensions:
            store.put_extension(make_extension(ext.number, ext.password, realm, "config"))
        store.delete_extensions_except(numbers, "config")
        store.delete_extensions_except(numbers, "generated")
        return
    store.delete_extensions_except([], "config")
    for number in DEFAULT_NUMBERS:
        if store.extension(number) is None:
            password = secrets.token_urlsafe(12)
            store.put_extension(make_extension(number, password, realm, "generated"))
            announce(
                f"extension {number} password: {password}  (shown once; only its hash is kept)"
            )


def seed_call_features(features: CallFeatureStore, config: Config) -> None:
    """First values of the configured extensions' forwarding and DND (kept once set:
    the phone's feature codes and the admin API change them); settings of extensions
    that are gone are forgotten."""
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
    if not config.default_extensions:
        features.delete_except([e.number for e in config.extensions])
