"""Which speech engines this machine can run: the configured text-to-speech engine and
transcriber, checked once at start-up.

A missing engine would otherwise show only later, as a prompt that cannot be spoken or a
transcript that never arrives from a call's background task. The checks look for what
each engine needs (its binaries on PATH, its Python package, the recognizer's model
files) without loading any model, so they cost milliseconds.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from media.tts_engines import ENGINE_NAMES, OFFLINE_ENGINES

__all__ = ["EngineStatus", "Feature", "check_engines", "transcriber_status", "tts_status"]

# Every synthesis goes through a sox child (media.tts): without it no engine speaks.
SOX = "sox"


class Feature(StrEnum):
    TTS = "tts"
    TRANSCRIBER = "transcriber"


@dataclass(frozen=True, slots=True)
class EngineStatus:
    feature: Feature
    engine: str
    problem: str | None = None  # why it cannot run here; None when it can

    @property
    def ok(self) -> bool:
        return self.problem is None

    def __str__(self) -> str:
        if self.problem is None:
            return f"{self.feature} engine {self.engine}: ok"
        return f"{self.feature} engine {self.engine} cannot run: {self.problem}"


@dataclass(frozen=True, slots=True)
class _Needs:
    binaries: tuple[str, ...] = ()
    package: str | None = None  # importable name
    distribution: str | None = None  # what to pip install for it


# What each engine of media.tts_engines runs.
_TTS_NEEDS: dict[str, _Needs] = {
    "flite": _Needs(binaries=("flite",)),
    "espeak-ng": _Needs(binaries=("espeak-ng",)),
    "gtts": _Needs(binaries=("ffmpeg",), package="gtts", distribution="gTTS"),
}


def check_engines(
    tts_engine: str, transcriber: str, *, path: str | None = None
) -> tuple[EngineStatus, EngineStatus]:
    """The configured TTS engine and transcriber; `path` replaces $PATH for binaries."""
    return tts_status(tts_engine, path=path), transcriber_status(transcriber)


def tts_status(engine: str, *, path: str | None = None, sox: str = SOX) -> EngineStatus:
    """Can `engine` synthesize here? When it cannot, the problem also names the offline
    engines media.tts falls back to, if any is installed."""
    needs = _TTS_NEEDS.get(engine)
    if needs is None:
        choices = ", ".join(ENGINE_NAMES)
        return EngineStatus(Feature.TTS, engine, f"unknown engine; choose one of {choices}")
    if shutil.which(sox, path=path) is None:
        problem = f"{_not_on_path(sox, path)}, and every engine's speech is converted by sox"
        return EngineStatus(Feature.TTS, engine, problem)
    missing = _missing(needs, path)
    if missing is None:
        return EngineStatus(Feature.TTS, engine)
    fallbacks = [
        name
        for name in OFFLINE_ENGINES
        if name != engine and _missing(_TTS_NEEDS[name], path) is None
    ]
    if fallbacks:
        return EngineStatus(Feature.TTS, engine, f"{missing}; speech falls back to {fallbacks[0]}")
    return EngineStatus(Feature.TTS, engine, f"{missing}; no other speech engine is installed")


def transcriber_status(name: str) -> EngineStatus:
    """Can media.asr.transcriber(`name`) be built here? A "package.module:Class" is
    imported and its class looked at, but not instantiated (that may load a model)."""
    builtin = _BUILTIN_TRANSCRIBERS.get(name)
    if builtin is not None:
        return EngineStatus(Feature.TRANSCRIBER, name, builtin())
    module_name, _, attr = name.partition(":")
    if not module_name or not attr:
        builtins = ", ".join(_BUILTIN_TRANSCRIBERS)
        problem = f"unknown transcriber; built-in: {builtins}, or give 'package.module:Class'"
        return EngineStatus(Feature.TRANSCRIBER, name, problem)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        return EngineStatus(Feature.TRANSCRIBER, name, f"cannot import {module_name}: {exc}")
    except Exception as exc:  # a broken third-party module: report it, whatever it raised
        problem = f"importing {module_name} failed: {type(exc).__name__}: {exc}"
        return EngineStatus(Feature.TRANSCRIBER, name, problem)
    cls = getattr(module, attr, None)
    if cls is None:
        return EngineStatus(Feature.TRANSCRIBER, name, f"{module_name} has no {attr}")
    if not callable(cls) or not callable(getattr(cls, "transcribe", None)):
        problem = f"{attr} has no transcribe(samples, rate, words) method"
        return EngineStatus(Feature.TRANSCRIBER, name, problem)
    return EngineStatus(Feature.TRANSCRIBER, name)


def _pocketsphinx_problem() -> str | None:
    if importlib.util.find_spec("pocketsphinx") is None:
        return "the pocketsphinx package is not installed (pip install pocketsphinx)"
    import pocketsphinx

    # The decoder's default model (the en-US one the package ships): a Config only
    # names its files; the Decoder that loads them is built on the first transcript.
    config = pocketsphinx.Config()
    absent = [key for key in ("hmm", "lm", "dict") if not Path(str(config[key])).exists()]
    if absent:
        return f"pocketsphinx's model is incomplete: no {', '.join(absent)} file"
    return None


_BUILTIN_TRANSCRIBERS = {"pocketsphinx": _pocketsphinx_problem}


def _missing(needs: _Needs, path: str | None) -> str | None:
    for binary in needs.binaries:
        if shutil.which(binary, path=path) is None:
            return _not_on_path(binary, path)
    if needs.package is not None and importlib.util.find_spec(needs.package) is None:
        name = needs.distribution
        return f"the {name} package is not installed (pip install {name})"
    return None


def _not_on_path(binary: str, path: str | None) -> str:
    where = "the given path" if path is not None else "PATH"
    return f"{binary} is not installed (no {binary!r} on {where})"
