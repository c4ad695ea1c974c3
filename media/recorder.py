"""Call recording to WAV, written incrementally so a crash loses at most a second.

`WavWriter` appends 16-bit PCM to a WAV file through a raw file descriptor:
samples are buffered in memory and, at least once per second of audio, the
data is appended and the whole 44-byte header (with the sizes so far) is
rewritten in one `pwrite`. The data reaches the kernel at every flush, so a
killed process (even SIGKILL) leaves a file that is valid up to its last
flush; if it died between the data write and the header write, the header
lags and `repair_wav` (run by `repair_directory` at start-up) fixes it. No
fsync: it protects against power loss, not against a crash of the process,
and 1,000 fsyncs a second would cost more than the whole media path.

`CallRecorder` records a two-party call once per media tick: the agent leg,
the customer leg, and the mixed call (mono mix, or stereo with the agent on
the left and the customer on the right). It keeps each leg's frames as bytes
and does the mixing and the writing once per second on 8,000-sample blocks,
so a tick costs two small copies; recorders flush at staggered ticks so a
thousand calls started together do not all write in the same tick.

Rates: a recorder writes every file at one rate, 8 kHz or 16 kHz, chosen by whoever
starts it (the call's legs' codecs). A leg's frame at the other rate (a G.711 leg in a
16 kHz recording, a leg re-INVITEd to another codec mid-recording) is converted by the
recorder's own streaming resampler for that leg, so the file's rate never changes and
the sessions' converters (which other listeners use) are not shared.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import zlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from media.pcm import FRAME, INT16_MAX, INT16_MIN, RATE, SAMPLE_BYTES, Samples, saturate
from media.resample import Downsampler, Upsampler
from media.wav import HEADER_SIZE, wav_header

__all__ = [
    "CallRecorder",
    "RecordingOption",
    "RecordingFiles",
    "WavWriter",
    "repair_directory",
    "repair_wav",
]

log = logging.getLogger(__name__)


class RecordingOption(StrEnum):
    """Which legs a call's recording holds (the CPaaS API's recording_option)."""

    BOTH = "both"
    AGENT = "agent"
    CUSTOMER = "customer"
    OFF = "off"

    @classmethod
    def parse(cls, value: str) -> RecordingOption:
        """ValueError naming the choices for anything else (a stored callback's option)."""
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(cls)
            raise ValueError(f"recording_option must be one of {choices}") from None


_MAX_DATA = 0xFFFFFFFF - HEADER_SIZE


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class WavWriter:
    """Incremental 16-bit PCM WAV file; valid on disk after every flush."""

    __slots__ = (
        "path",
        "channels",
        "rate",
        "flush_frames",
        "_fd",
        "_pending",
        "_pending_frames",
        "_written_bytes",
        "_frames",
        "_next_flush",
    )

    def __init__(
        self, path: Path, channels: int = 1, rate: int = RATE, *, flush_seconds: float = 1.0
    ) -> None:
        if channels < 1:
            raise ValueError("channels must be at least 1")
        self.path = Path(path)
        self.channels = channels
        self.rate = rate
        self.flush_frames = max(1, int(rate * flush_seconds))
        # The first flush comes early by a per-file amount, so that writers opened
        # in the same tick (a conference, a campaign burst) do not all write together.
        self._next_flush = 1 + zlib.crc32(self.path.name.encode()) % self.flush_frames
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self._pending: list[bytes] = []
        self._pending_frames = 0
        self._written_bytes = 0
        self._frames = 0
        _write_all(self._fd, wav_header(0, rate=rate, channels=channels))

    @property
    def frames(self) -> int:
        """Sample frames written so far (one sample per channel each), buffered ones included."""
        return self._frames

    @property
    def duration(self) -> float:
        return self._frames / self.rate

    @property
    def closed(self) -> bool:
        return self._fd is None

    def set_rate(self, rate: int) -> None:
        """Change the file's sample rate while it holds no samples yet (a conference
        room's recording takes the rate of the room its first participant makes)."""
        if self._frames:
            raise ValueError(f"{self.path}: the rate of a file with samples is fixed")
        if rate == self.rate or self._fd is None:
            return
        self.flush_frames = max(1, self.flush_frames * rate // self.rate)  # same seconds
        self.rate = rate
        os.pwrite(self._fd, wav_header(0, rate=rate, channels=self.channels), 0)

    def write(self, samples: NDArray[np.integer]) -> None:
        """Append int16 samples: shape (n,) for mono, (n, channels) interleaved otherwise.

        Writing after close() is ignored: a media tick may still be in flight when
        the call that owns the recording is torn down.
        """
        if self._fd is None:
            return
        samples = np.asarray(samples)
        if (
            samples.ndim == 1
            and self.channels == 1
            or samples.ndim == 2
            and samples.shape[1] == self.channels
        ):
            n = samples.shape[0]
        else:
            raise ValueError(f"samples of shape {samples.shape} for a {self.channels}-channel file")
        if samples.dtype != np.int16:
            if not np.issubdtype(samples.dtype, np.integer):
                raise ValueError(f"samples must be integers, not {samples.dtype}")
            samples = np.clip(samples, INT16_MIN, INT16_MAX)
        if n == 0:
            return
        self._pending.append(samples.astype("<i2", copy=False).tobytes())
        self._pending_frames += n
        self._frames += n
        if self._pending_frames >= self._next_flush:
            self.flush()

    def flush(self) -> None:
        """Append the buffered samples and rewrite the header with the new sizes."""
        if self._fd is None or not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_frames = 0
        self._next_flush = self.flush_frames
        if self._written_bytes + len(data) > _MAX_DATA:
            raise OSError(f"{self.path}: WAV file would exceed 4 GiB")
        _write_all(self._fd, data)
        self._written_bytes += len(data)
        # One pwrite for both sizes: a kill lands before or after it, never between.
        os.pwrite(
            self._fd, wav_header(self._written_bytes, rate=self.rate, channels=self.channels), 0
        )

    def close(self) -> None:
        if self._fd is None:
            return
        try:
            self.flush()
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WavWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # A writer dropped without close() still leaves a complete file behind.
        if getattr(self, "_fd", None) is not None:
            with contextlib.suppress(OSError):
                self.close()


def repair_wav(path: Path) -> bool:
    """Make the RIFF and data sizes match the file after an unclean stop.

    The data chunk is taken to run to the end of the file (less any partial
    sample frame, which is cut off). Returns True if the file was changed,
    False if it was already consistent or is not a WAV file we can repair.
    """
    path = Path(path)
    with open(path, "r+b") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return False
        riff_size = struct.unpack_from("<I", head, 4)[0]
        pos, block_align = 12, 0
        while pos + 8 <= size:
            f.seek(pos)
            chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
            if chunk_id == b"fmt ":
                fmt = f.read(min(chunk_size, 16))
                if len(fmt) < 14:
                    return False
                block_align = struct.unpack_from("<H", fmt, 12)[0]
            elif chunk_id == b"data":
                break
            pos += 8 + chunk_size + (chunk_size & 1)
        else:
            return False  # no data chunk header: nothing was recorded we could save
        if block_align < 1:
            return False
        data_start = pos + 8
        if riff_size == size - 8 and data_start + chunk_size <= size:
            return False
        data_bytes = min(size - data_start, 0xFFFFFFFF - data_start)
        data_bytes -= data_bytes % block_align
        f.truncate(data_start + data_bytes)
        f.seek(4)
        f.write(struct.pack("<I", data_start - 8 + data_bytes))
        f.seek(pos + 4)
        f.write(struct.pack("<I", data_bytes))
    return True


def repair_directory(directory: Path) -> list[Path]:
    """Repair every WAV file under `directory` (recursively); the ones changed."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    repaired: list[Path] = []
    for path in sorted(directory.rglob("*.wav")):
        try:
            if path.is_file() and repair_wav(path):
                repaired.append(path)
        except OSError as exc:
            log.warning("cannot repair %s: %s", path, exc)
    return repaired


@dataclass(slots=True)
class RecordingFiles:
    mixed: Path | None
    agent: Path | None
    customer: Path | None


class CallRecorder:
    """Records a two-party call; `feed()` once per 20 ms tick, `close()` at the end.

    option: "both" writes the mixed call (`NAME.wav`, stereo agent-left/customer-right
    when `stereo`) and, with `legs`, each leg alone (`NAME-agent.wav`,
    `NAME-customer.wav`); "agent" or "customer" writes that leg alone; "off" writes
    nothing. `rate` is the files' rate (8000, or 16000 for a call with a wideband
    leg; `frame` defaults to 20 ms of it); a fed frame of the other rate is resampled
    to it. Recording starts at construction and stops at close(), so it can
    cover any part of a call; files that exist already are never overwritten
    (the name gets a -2, -3 ... suffix). Every tick adds exactly one frame to
    every file, silence for a leg that sent nothing, so durations are exact to
    the frame.
    """

    __slots__ = (
        "option",
        "stereo",
        "frame",
        "rate",
        "files",
        "_agent_w",
        "_customer_w",
        "_mixed_w",
        "_agent",
        "_customer",
        "_agent_rs",
        "_customer_rs",
        "_flush_ticks",
        "_next_flush",
        "_pending",
        "_ticks",
        "_closed",
    )

    def __init__(
        self,
        directory: Path,
        name: str,
        option: str = "both",
        stereo: bool = False,
        *,
        legs: bool = True,
        rate: int = RATE,
        frame: int | None = None,
        flush_seconds: float = 1.0,
    ) -> None:
        if rate not in (RATE, 2 * RATE):
            raise ValueError(f"recording rate must be {RATE} or {2 * RATE}, not {rate}")
        if option not in RecordingOption._value2member_map_:
            raise ValueError(
                f"recording option must be one of {', '.join(RecordingOption)}, not {option!r}"
            )
        self.option = option
        self.stereo = stereo
        self.frame = frame if frame is not None else FRAME * rate // RATE
        self.rate = rate
        # per leg: the converter of frames at the other rate, made on the first one
        self._agent_rs: Upsampler | Downsampler | None = None
        self._customer_rs: Upsampler | Downsampler | None = None
        self._ticks = 0
        self._pending = 0
        self._closed = False
        self._agent: list[bytes] = []
        self._customer: list[bytes] = []
        want_mixed = option == "both"
        want_agent = option == "agent" or (option == "both" and legs)
        want_customer = option == "customer" or (option == "both" and legs)
        directory = Path(directory)
        base = _free_name(directory, name, ("", "-agent", "-customer")) if option != "off" else name
        mixed = directory / f"{base}.wav" if want_mixed else None
        agent = directory / f"{base}-agent.wav" if want_agent else None
        customer = directory / f"{base}-customer.wav" if want_customer else None
        self.files = RecordingFiles(mixed, agent, customer)
        self._mixed_w = WavWriter(mixed, 2 if stereo else 1, rate) if mixed else None
        self._agent_w = WavWriter(agent, 1, rate) if agent else None
        self._customer_w = WavWriter(customer, 1, rate) if customer else None
        # A tick is at most a frame: flush_ticks - 1 frames is the most a crash can lose.
        self._flush_ticks = max(1, round(flush_seconds * rate / self.frame))
        # Stagger the first flush by name so that recorders started in the same
        # tick spread their disk writes over a second's worth of ticks.
        self._next_flush = 1 + zlib.crc32(base.encode()) % self._flush_ticks

    @property
    def duration(self) -> float:
        """Seconds recorded so far (ticks fed x frame length)."""
        return self._ticks * self.frame / self.rate

    @property
    def closed(self) -> bool:
        return self._closed

    def feed(self, agent: Samples | None, customer: Samples | None) -> None:
        """One tick: what the agent said and what the customer said (None = silence)."""
        if self._closed or self.option == "off":
            return
        n = self.frame
        if self._mixed_w is not None or self._agent_w is not None:
            if agent is not None and agent.shape[0] != n:
                if self._agent_rs is None:
                    self._agent_rs = _converter(agent.shape[0], n)
                agent = self._agent_rs(agent)
            self._agent.append(_frame_bytes(agent, n))
        if self._mixed_w is not None or self._customer_w is not None:
            if customer is not None and customer.shape[0] != n:
                if self._customer_rs is None:
                    self._customer_rs = _converter(customer.shape[0], n)
                customer = self._customer_rs(customer)
            self._customer.append(_frame_bytes(customer, n))
        self._ticks += 1
        self._pending += 1
        if self._pending >= self._next_flush:
            self.flush()

    def flush(self) -> None:
        """Mix and write what was fed since the last flush."""
        if self._pending == 0:
            return
        self._pending = 0
        self._next_flush = self._flush_ticks
        agent = np.frombuffer(b"".join(self._agent), dtype=np.int16) if self._agent else None
        customer = (
            np.frombuffer(b"".join(self._customer), dtype=np.int16) if self._customer else None
        )
        self._agent.clear()
        self._customer.clear()
        if self._agent_w is not None and agent is not None:
            self._agent_w.write(agent)
            self._agent_w.flush()
        if self._customer_w is not None and customer is not None:
            self._customer_w.write(customer)
            self._customer_w.flush()
        if self._mixed_w is not None and agent is not None and customer is not None:
            if self.stereo:
                both = np.empty((len(agent), 2), dtype=np.int16)
                both[:, 0] = agent
                both[:, 1] = customer
                self._mixed_w.write(both)
            else:
                mixed = agent.astype(np.int32)
                mixed += customer
                self._mixed_w.write(saturate(mixed))
            self._mixed_w.flush()

    def close(self) -> RecordingFiles:
        """Stop recording; the files written (None for those the option left out)."""
        if not self._closed:
            try:
                self.flush()
            finally:
                self._closed = True
                for writer in (self._mixed_w, self._agent_w, self._customer_w):
                    if writer is not None:
                        writer.close()
        return self.files


def _converter(have: int, want: int) -> Upsampler | Downsampler:
    """The resampler taking a `have`-sample frame to `want` samples. A recorder has one
    rate and frames come at 8 or 16 kHz, so a leg's direction never changes."""
    return Upsampler() if have < want else Downsampler()


def _frame_bytes(frame: NDArray[np.integer] | None, n: int) -> bytes:
    if frame is None:
        return bytes(SAMPLE_BYTES * n)
    if frame.dtype != np.int16:
        frame = np.clip(frame, INT16_MIN, INT16_MAX).astype(np.int16)
    if len(frame) > n:  # not a 20 ms frame of either rate: keep the file's timing
        frame = frame[:n]
    data = frame.tobytes()
    return data if len(frame) == n else data + bytes(SAMPLE_BYTES * (n - len(frame)))


def _free_name(directory: Path, name: str, suffixes: tuple[str, ...]) -> str:
    """`name`, or `name-2`, `name-3`... the first for which no file exists yet."""
    candidate, k = name, 1
    while any((directory / f"{candidate}{s}.wav").exists() for s in suffixes):
        k += 1
        candidate = f"{name}-{k}"
    return candidate
