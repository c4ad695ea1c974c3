"""media.plugins.load_engine: how a configured engine name becomes an engine, and the
clear errors a wrong name gets (it is read from the config file)."""

from __future__ import annotations

import re
from typing import Protocol, runtime_checkable

import pytest

from media.plugins import load_engine


@runtime_checkable
class Greeter(Protocol):
    def greet(self) -> str: ...


class English:
    def greet(self) -> str:
        return "hello"


class Mute:  # no greet(): not a Greeter
    pass


class PluginError(ValueError):
    pass


def load(name: str) -> Greeter:
    return load_engine(
        name,
        {"english": English},
        Greeter,  # type: ignore[type-abstract]  # a Protocol: checked with isinstance
        kind="greeter",
        methods="greet() method",
        error=PluginError,
    )


def test_a_builtin_name_and_a_module_class_both_load() -> None:
    assert load("english").greet() == "hello"
    assert load(f"{__name__}:English").greet() == "hello"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("french", "unknown greeter 'french'; built-in: english, or give 'package.module:Class'"),
        (":English", "unknown greeter ':English'"),
        (f"{__name__}:", "unknown greeter"),
        ("no_such_module_here:English", "cannot load greeter 'no_such_module_here:English'"),
        (f"{__name__}:Spanish", f"cannot load greeter '{__name__}:Spanish'"),
        (f"{__name__}:Mute", f"{__name__}:Mute has no greet() method"),
    ],
)
def test_a_wrong_name_is_a_clear_error_of_the_callers_kind(name: str, message: str) -> None:
    with pytest.raises(PluginError, match="^" + re.escape(message)):
        load(name)
