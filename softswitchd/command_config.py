"""What the commands that work on the store directly share: the configuration (for the
store's path) and how they print a creation time."""

from __future__ import annotations

import datetime
import sys

from softswitch.config import Config, ConfigError, load


def config_or_exit(path: str | None) -> Config | None:
    """The configuration, or None after printing why it cannot be read (exit status 2)."""
    try:
        return load(path)
    except ConfigError as exc:
        print(f"softswitch: configuration error: {exc}", file=sys.stderr)
        return None


def created(timestamp: float) -> str:
    return (
        f"created {datetime.datetime.fromtimestamp(timestamp, datetime.UTC):%Y-%m-%d %H:%M:%S} UTC"
    )
