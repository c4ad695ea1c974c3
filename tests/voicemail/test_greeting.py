"""softswitch/voicemail/greeting.py: the recorded greeting, else the configured WAV,
else the text spoken by the real speech engine."""

from __future__ import annotations

from pathlib import Path

from media.tts import Tts
from softswitch.store import Store
from softswitch.store.voicemail import BoxRecord, VoicemailStore
from softswitch.voicemail.box import VoicemailBox
from softswitch.voicemail.greeting import Speaker, greeting_audio
from tests.peers.audio import dominant_frequency, make_tone_wav


async def test_recorded_then_configured_then_spoken(tmp_path: Path) -> None:
    store = VoicemailStore(Store(":memory:").db)
    speaker = Speaker(Tts(tmp_path / "prompts", allow_online=False))
    folder = tmp_path / "vm" / "102"
    folder.mkdir(parents=True)
    configured = make_tone_wav(tmp_path / "configured.wav", 600.0, 1.0)
    box = VoicemailBox("102", folder, "", str(configured))
    store.put_box(BoxRecord("102", "", ""))
    assert abs(dominant_frequency(await greeting_audio(box, store, speaker)) - 600.0) < 15
    make_tone_wav(folder / "greeting-1.wav", 900.0, 1.0)
    store.set_greeting("102", "greeting-1.wav")
    assert abs(dominant_frequency(await greeting_audio(box, store, speaker)) - 900.0) < 15
    spoken = await greeting_audio(VoicemailBox("102", tmp_path / "x", "", ""), store, speaker)
    assert len(spoken) > 8000  # the default text, spoken by flite: seconds of speech


async def test_unreadable_files_fall_back_to_speech(tmp_path: Path) -> None:
    store = VoicemailStore(Store(":memory:").db)
    speaker = Speaker(Tts(tmp_path / "prompts", allow_online=False))
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF nonsense")
    box = VoicemailBox("102", tmp_path, "Hello.", str(broken))
    audio = await greeting_audio(box, store, speaker)
    assert len(audio) > 2000
