"""Which speech engines this machine can run (media.engines), against the real programs
and packages installed here and against PATHs and modules made to lack them."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from media.engines import Feature, check_engines, transcriber_status, tts_status


def bin_dir(tmp_path: Path, *programs: str) -> str:
    """A PATH holding only `programs` (links to the real ones)."""
    directory = tmp_path / "bin"
    directory.mkdir(exist_ok=True)
    for program in programs:
        real = shutil.which(program)
        assert real is not None, f"{program} is needed by this test"
        (directory / program).symlink_to(real)
    return str(directory)


@pytest.mark.parametrize("engine", ["flite", "espeak-ng", "gtts"])
def test_installed_tts_engine_is_ok(engine: str) -> None:
    status = tts_status(engine)
    assert status.ok, status.problem
    assert (status.feature, status.engine) == (Feature.TTS, engine)
    assert str(status) == f"tts engine {engine}: ok"


def test_missing_tts_binary_names_it_and_the_fallback(tmp_path: Path) -> None:
    path = bin_dir(tmp_path, "sox", "flite")
    status = tts_status("espeak-ng", path=path)
    assert not status.ok
    assert status.problem == (
        "espeak-ng is not installed (no 'espeak-ng' on the given path); speech falls back to flite"
    )
    assert str(status).startswith("tts engine espeak-ng cannot run: espeak-ng is not installed")
    assert tts_status("flite", path=path).ok


def test_missing_tts_binary_without_fallback(tmp_path: Path) -> None:
    status = tts_status("flite", path=bin_dir(tmp_path, "sox"))
    assert status.problem is not None
    assert status.problem.startswith("flite is not installed")
    assert status.problem.endswith("no other speech engine is installed")


def test_no_sox_means_no_engine_speaks(tmp_path: Path) -> None:
    status = tts_status("flite", path=bin_dir(tmp_path, "flite", "espeak-ng"))
    assert status.problem is not None
    assert status.problem.startswith("sox is not installed")
    assert "every engine's speech is converted by sox" in status.problem


def test_gtts_needs_ffmpeg(tmp_path: Path) -> None:
    status = tts_status("gtts", path=bin_dir(tmp_path, "sox", "flite"))
    assert status.problem is not None
    assert status.problem.startswith("ffmpeg is not installed")
    assert tts_status("gtts", path=bin_dir(tmp_path, "ffmpeg")).ok


def test_gtts_needs_its_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gtts", None)  # what an absent package looks like
    status = tts_status("gtts", path=bin_dir(tmp_path, "sox", "ffmpeg", "flite"))
    assert status.problem == (
        "the gTTS package is not installed (pip install gTTS); speech falls back to flite"
    )


def test_unknown_tts_engine() -> None:
    status = tts_status("festival")
    assert status.problem == "unknown engine; choose one of flite, espeak-ng, gtts"


def test_pocketsphinx_with_its_model_is_ok() -> None:
    status = transcriber_status("pocketsphinx")
    assert status.ok, status.problem
    assert (status.feature, status.engine) == (Feature.TRANSCRIBER, "pocketsphinx")


def test_pocketsphinx_without_its_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POCKETSPHINX_PATH", str(tmp_path / "no-model"))
    status = transcriber_status("pocketsphinx")
    assert status.problem == "pocketsphinx's model is incomplete: no hmm, lm, dict file"


def test_pocketsphinx_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pocketsphinx", None)
    status = transcriber_status("pocketsphinx")
    assert status.problem == "the pocketsphinx package is not installed (pip install pocketsphinx)"


def test_configured_transcriber_module_missing() -> None:
    status = transcriber_status("nosuch.module:Thing")
    assert status.problem == "cannot import nosuch.module: No module named 'nosuch'"
    assert str(status) == (
        "transcriber engine nosuch.module:Thing cannot run: "
        "cannot import nosuch.module: No module named 'nosuch'"
    )


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on sys.path for transcriber modules written by the test."""
    directory = tmp_path / "plugins"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    return directory


def test_configured_transcriber_class_is_looked_at_not_built(plugins: Path) -> None:
    (plugins / "asr_plugin_ok.py").write_text(
        "class Recognizer:\n"
        "    def __init__(self):\n"
        "        raise AssertionError('a start-up check must not load the model')\n"
        "    def transcribe(self, samples, rate=8000, words=None):\n"
        "        return ''\n"
    )
    assert transcriber_status("asr_plugin_ok:Recognizer").ok


def test_configured_transcriber_without_transcribe(plugins: Path) -> None:
    (plugins / "asr_plugin_bad.py").write_text("class Recognizer:\n    pass\nVALUE = 3\n")
    status = transcriber_status("asr_plugin_bad:Recognizer")
    assert status.problem == "Recognizer has no transcribe(samples, rate, words) method"
    assert transcriber_status("asr_plugin_bad:Missing").problem == "asr_plugin_bad has no Missing"
    assert transcriber_status("asr_plugin_bad:VALUE").problem == (
        "VALUE has no transcribe(samples, rate, words) method"
    )


def test_configured_transcriber_module_that_fails_to_import(plugins: Path) -> None:
    (plugins / "asr_plugin_broken.py").write_text("raise RuntimeError('no GPU')\n")
    status = transcriber_status("asr_plugin_broken:Recognizer")
    assert status.problem == "importing asr_plugin_broken failed: RuntimeError: no GPU"


@pytest.mark.parametrize("name", ["whisper", ":Thing", "module:"])
def test_transcriber_name_neither_builtin_nor_module_class(name: str) -> None:
    status = transcriber_status(name)
    assert status.problem == (
        "unknown transcriber; built-in: pocketsphinx, or give 'package.module:Class'"
    )


def test_check_engines_reports_both(tmp_path: Path) -> None:
    tts, transcriber = check_engines(
        "espeak-ng", "nosuch.module:Thing", path=bin_dir(tmp_path, "sox", "flite")
    )
    assert (tts.feature, tts.engine, tts.ok) == (Feature.TTS, "espeak-ng", False)
    assert (transcriber.feature, transcriber.ok) == (Feature.TRANSCRIBER, False)
