"""Music on hold: one frame per tick for every listener, the generated default, a folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from media.moh import DEFAULT_FILE, MusicOnHold, load_music
from media.pcm import FRAME, RATE
from media.tones import HOLD_MUSIC_HZ, hold_music
from media.wav import AudioError, parse_wav, wav_bytes


def dominant(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    spectrum[0] = 0
    return float(np.argmax(spectrum) * RATE / len(samples))


def test_the_default_music_is_a_melody_whose_strongest_tone_is_the_pad() -> None:
    music = hold_music()
    assert len(music) == RATE * 32 // 10
    assert abs(dominant(music) - HOLD_MUSIC_HZ) < 5
    # not one steady tone: the second strongest frequency (the note) changes every 400 ms
    notes = set()
    for start in range(0, len(music), 3200):
        spectrum = np.abs(np.fft.rfft(music[start : start + 3200].astype(np.float64)))
        spectrum[abs(np.fft.rfftfreq(3200, 1 / RATE) - HOLD_MUSIC_HZ) < 20] = 0
        notes.add(round(float(np.argmax(spectrum)) * RATE / 3200))
    assert len(notes) >= 5


def test_every_listener_reads_the_same_frame_at_a_tick_and_the_loop_wraps() -> None:
    moh = MusicOnHold(np.arange(FRAME * 3, dtype=np.int16))
    assert moh.frames == 3
    assert np.array_equal(moh.frame(1), moh.frame(4))
    assert np.array_equal(moh.frame(2), np.arange(FRAME * 2, FRAME * 3))
    with pytest.raises(ValueError):
        moh.frame(0)[0] = 1  # shared by every listener: read only


def test_empty_audio_is_refused() -> None:
    with pytest.raises(AudioError):
        MusicOnHold(np.zeros(0, dtype=np.int16))


async def test_the_default_is_written_once_in_the_data_folder(tmp_path: Path) -> None:
    moh = await load_music(None, tmp_path / "data")
    path = tmp_path / "data" / DEFAULT_FILE
    samples, rate = parse_wav(path.read_bytes())
    assert rate == RATE and abs(dominant(samples) - HOLD_MUSIC_HZ) < 5
    assert np.array_equal(moh.frame(0), samples[:FRAME])
    path.write_bytes(wav_bytes(np.full(FRAME, 1000, dtype=np.int16)))  # the user's edit
    again = await load_music(None, tmp_path / "data")
    assert again.frames == 1 and again.frame(0)[0] == 1000


async def test_a_folder_plays_its_files_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "b.wav").write_bytes(wav_bytes(np.full(FRAME, 2, dtype=np.int16)))
    (tmp_path / "a.wav").write_bytes(wav_bytes(np.full(FRAME, 1, dtype=np.int16)))
    (tmp_path / "notes.txt").write_text("not audio")
    moh = await load_music(tmp_path, None)
    assert [int(moh.frame(n)[0]) for n in range(3)] == [1, 2, 1]


async def test_a_folder_without_audio_or_with_a_broken_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="no audio file"):
        await load_music(tmp_path, None)
    (tmp_path / "x.wav").write_bytes(b"RIFF nonsense")
    with pytest.raises(AudioError):
        await load_music(tmp_path, None)
