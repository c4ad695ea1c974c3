"""The process's start-up check of its speech engines: announced at start and shown by
/health over the real HTTP API (the whole process in a ServerHarness)."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest


def health(harness) -> dict:
    response = httpx.get(f"{harness.url}/health", timeout=5)
    assert response.status_code == 200
    return response.json()


def test_installed_engines_are_ok_and_not_announced(server_factory) -> None:
    harness = server_factory()
    assert health(harness)["engines"] == {
        "tts": {"engine": "flite", "ok": True},
        "transcriber": {"engine": "pocketsphinx", "ok": True},
    }
    assert not [line for line in harness.announced if "engine" in line]


def test_missing_engines_are_announced_and_in_health(
    server_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a PATH with sox and flite but no espeak-ng, for the start-up only
    only = tmp_path / "bin"
    only.mkdir()
    for program in ("sox", "flite"):
        real = shutil.which(program)
        assert real is not None
        (only / program).symlink_to(real)
    with monkeypatch.context() as env:
        env.setenv("PATH", str(only))
        harness = server_factory(
            media={"tts_engine": "espeak-ng", "transcriber": "nosuch.module:Thing"}
        )
    body = health(harness)
    assert body["status"] == "ok"  # calls still connect: the switch itself is up
    assert body["engines"] == {
        "tts": {
            "engine": "espeak-ng",
            "ok": False,
            "reason": "espeak-ng is not installed (no 'espeak-ng' on PATH); "
            "speech falls back to flite",
        },
        "transcriber": {
            "engine": "nosuch.module:Thing",
            "ok": False,
            "reason": "cannot import nosuch.module: No module named 'nosuch'",
        },
    }
    assert [line for line in harness.announced if "engine" in line] == [
        "tts engine espeak-ng cannot run: espeak-ng is not installed (no 'espeak-ng' on PATH); "
        "speech falls back to flite",
        "transcriber engine nosuch.module:Thing cannot run: "
        "cannot import nosuch.module: No module named 'nosuch'",
    ]
