"""Engines chosen by name in the config: a built-in one, or any class named
``"package.module:Class"``, so a site can plug in a better engine without touching us.

The transcriber (media.asr) and the recognizer (media.recognizer) are both picked this
way; each names its own error type and the methods a class must have.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TypeVar

__all__ = ["load_engine"]

T = TypeVar("T")


def load_engine(
    name: str,
    builtin: Mapping[str, Callable[[], T]],
    protocol: type[T],
    *,
    kind: str,
    methods: str,
    error: type[Exception],
) -> T:
    """The engine called ``name``. ``protocol`` must be runtime-checkable: a loaded
    class is instantiated and checked against it; ``methods`` says in the error what the
    check wanted, and ``kind`` names the engine ("transcriber", "recognizer")."""
    factory = builtin.get(name)
    if factory is not None:
        return factory()
    module_name, _, attr = name.partition(":")
    if not module_name or not attr:
        raise error(
            f"unknown {kind} {name!r}; built-in: {', '.join(builtin)}, "
            "or give 'package.module:Class'"
        )
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise error(f"cannot load {kind} {name!r}: {exc}") from None
    instance = cls()
    if not isinstance(instance, protocol):
        raise error(f"{name} has no {methods}")
    return instance
