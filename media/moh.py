"""Music on hold: one shared source that every held leg gets the same frame from.

The audio is decoded once (media.prompt) and cut into frames (`MusicOnHold`); the frame
of a tick is chosen by the media clock's tick number. `MohSource` sends it each tick to
every leg listening, in one loop: 500 held calls cost 500 encodes and sends, and no
per-call player, position, decoder or clock callback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from media.clock import MediaClock
from media.pcm import Samples
from media.prompt import load_audio_async, to_frames
from media.session import RtpSession
from media.tones import hold_music
from media.wav import AudioError, wav_bytes

DEFAULT_FILE = "music-on-hold.wav"  # written in the data folder at first start
PATTERNS = ("*.wav", "*.mp3", "*.ogg", "*.flac")


class MusicOnHold:
    """A loop of 20 ms frames; ``frame(tick)`` is what every held leg hears at that tick."""

    def __init__(self, audio: Samples) -> None:
        if len(audio) == 0:
            raise AudioError("music on hold has no audio")
        self._frames = to_frames(audio)
        self._frames.flags.writeable = False  # handed out as views to every listener
        self._count = len(self._frames)

    def frame(self, tick_no: int) -> Samples:
        frame: Samples = self._frames[tick_no % self._count]
        return frame

    @property
    def frames(self) -> int:
        return self._count


def default_file(data_dir: Path) -> Path:
    """The generated default (made now if missing)."""
    path = data_dir / DEFAULT_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_bytes(wav_bytes(hold_music()))
    return path


async def load_music(
    moh_dir: Path | None, data_dir: Path | None, ffmpeg: str = "ffmpeg"
) -> MusicOnHold:
    """Every audio file of ``moh_dir`` in name order, one after the other; without a
    folder the generated default (kept in ``data_dir``; only in memory without one).
    AudioError when the folder holds nothing playable."""
    if moh_dir is None:
        if data_dir is None:
            return MusicOnHold(hold_music())
        files = [default_file(data_dir)]
    else:
        files = sorted({p for pattern in PATTERNS for p in moh_dir.glob(pattern)})
        if not files:
            raise AudioError(f"media.moh_dir {str(moh_dir)!r} holds no audio file")
    parts = [await load_audio_async(path, ffmpeg) for path in files]
    return MusicOnHold(np.concatenate(parts))


class MohSource:
    """The music on hold playing on the media clock to every leg added: one frame per
    tick, the same for all, sent in one loop (no per-call callback, player or decoder).

    The clock callback is on only while someone listens.
    """

    def __init__(self, music: MusicOnHold, clock: MediaClock) -> None:
        self.music = music
        self.clock = clock
        self._listeners: dict[RtpSession, None] = {}  # insertion-ordered set
        self._writers: tuple[Callable[[Samples], None], ...] = ()

    def add(self, rtp: RtpSession) -> None:
        if rtp in self._listeners:
            return
        if not self._listeners:
            self.clock.add(self.tick)
        self._listeners[rtp] = None
        self._writers = tuple(r.write_frame for r in self._listeners)

    def remove(self, rtp: RtpSession) -> None:
        if self._listeners.pop(rtp, 0) is not None:
            return
        self._writers = tuple(r.write_frame for r in self._listeners)
        if not self._listeners:
            self.clock.remove(self.tick)

    def __len__(self) -> int:
        return len(self._listeners)

    def __contains__(self, rtp: object) -> bool:
        return rtp in self._listeners

    def tick(self, tick_no: int) -> None:
        frame = self.music.frame(tick_no)
        for write in self._writers:
            write(frame)
