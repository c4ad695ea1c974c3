"""softswitch/voicemail/service.py: the box owner's operations and the transcript,
on a real store and real WAV files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from media.clock import MediaClock
from media.tts import Tts
from softswitch.config import from_dict
from softswitch.store import Store
from softswitch.store.voicemail import VoicemailStore
from softswitch.voicemail.service import Voicemail, VoicemailError
from tests.peers.audio import make_tone_wav


class SecondsTranscriber:
    """A transcriber (media.asr protocol) that says how long the audio is."""

    def transcribe(self, samples: np.ndarray, rate: int = 8000, words=None) -> str:
        return f"{len(samples) / 8000:.1f} seconds"


def service(tmp_path: Path) -> Voicemail:
    config = from_dict(
        {
            "voicemail": {"dir": str(tmp_path / "vm"), "transcribe": True},
            "media": {"transcriber": f"{__name__}:SecondsTranscriber"},
            "extensions": [{"number": "102", "password": "p", "voicemail": True}],
        },
        {},
    )
    tts = Tts(tmp_path / "prompts", allow_online=False)
    return Voicemail(config, VoicemailStore(Store(":memory:").db), tts, MediaClock())


def leave(vm: Voicemail, seconds: float) -> int:
    folder = vm.boxes.get("102").folder
    folder.mkdir(parents=True, exist_ok=True)
    make_tone_wav(folder / "m.wav", 440.0, seconds)
    return vm.store.add_message("102", "101", 1.0, seconds, "m.wav").id


async def test_transcript_is_stored_with_the_message(tmp_path: Path) -> None:
    vm = service(tmp_path)
    message = vm.message("102", leave(vm, 1.5))
    await vm.transcribe(message)
    assert vm.message("102", message.id).transcript == "1.5 seconds"


async def test_owner_operations_tell_the_watchers_and_refuse_unknowns(tmp_path: Path) -> None:
    vm = service(tmp_path)
    told: list[tuple[str, int, int]] = []
    vm.watch(lambda ext, counts: told.append((ext, counts.new, counts.old)))
    first = leave(vm, 1.0)
    vm.mark_heard("102", first)
    assert told == [("102", 0, 1)]
    path = vm.path(vm.message("102", first))
    vm.delete("102", first)
    assert told[-1] == ("102", 0, 0) and not path.exists()
    with pytest.raises(VoicemailError):
        vm.delete("102", first)
    with pytest.raises(VoicemailError):
        vm.messages("101")
    assert not vm.owned_by("acme", "102")  # no account configured: nobody's
