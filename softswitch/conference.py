"""A conference room: its participants mixed each media tick, each hearing all but itself.

The room owns one `media.mixer.Mixer` (who is in, who is muted) and preallocated
matrices the mix is computed in: the tick copies each leg's decoded frame into its row,
mixes in place and sends each row back, so a room allocates per tick no more than a
bridge does (the decoded frames). Joins and leaves are announced to everyone with a
short chime; with a recorder the mix everybody hears goes to one WAV.

Wideband: while any participant's codec is 16 kHz (G.722, Opus) the room mixes at
16 kHz (320-sample rows; G.711 participants' frames are upsampled, and the session
downsamples what they hear), so wideband phones hear each other wideband; otherwise at
8 kHz as before. The recording's rate is the room's at its first tick, when its first
participant has joined (16 kHz for a room of wideband phones, 8 kHz for G.711 ones as
before), and stays for the file: a mix at the other rate later is resampled for it.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from media.clock import MediaClock
from media.mixer import Mixer
from media.pcm import FRAME, RATE
from media.prompt import to_frames
from media.recorder import WavWriter
from media.resample import Downsampler, Upsampler
from media.session import RtpSession
from media.tones import chime

from .channel import Channel, ChannelEvent, ChannelState

log = logging.getLogger("softswitch.conference")

# int32 like the mix they are added to: no cast per tick
JOIN_TONE = to_frames(chime((600.0, 900.0))).astype(np.int32)
LEAVE_TONE = to_frames(chime((900.0, 600.0))).astype(np.int32)
WIDE = 2 * FRAME  # a 20 ms frame at 16 kHz


def _widened(tone: np.ndarray) -> np.ndarray:
    up = Upsampler()
    wide = np.stack([up(row.astype(np.int16)) for row in tone]).astype(np.int32)
    wide.flags.writeable = False
    return wide


JOIN_TONE_WIDE = _widened(JOIN_TONE)
LEAVE_TONE_WIDE = _widened(LEAVE_TONE)
JOIN_TONE.flags.writeable = False
LEAVE_TONE.flags.writeable = False


class RoomFull(Exception):
    """The room has max_participants already."""


@dataclass(eq=False, slots=True)
class Participant:
    id: str  # "P1", "P2", ... unique in the process
    channel: Channel
    room: str  # the room's number
    joined_at: float = field(default_factory=time.time)
    muted: bool = False

    @property
    def number(self) -> str:
        """The caller's number (an extension's, or the number dialed into the room)."""
        return self.channel.endpoint.number


_ids = itertools.count(1)


class Room:
    """One live conference. `join`/`leave`/`mute`/`kick`; the clock calls `tick`."""

    def __init__(
        self,
        number: str,
        clock: MediaClock,
        *,
        max_participants: int,
        recording: WavWriter | None = None,
        on_empty: Callable[[Room], None] | None = None,
    ) -> None:
        self.number = number
        self.clock = clock
        self.max_participants = max_participants
        self.recording = recording
        self.on_empty = on_empty
        self.mixer = Mixer()
        self._members: dict[str, Participant] = {}
        self.width = FRAME  # samples per mixed frame: FRAME (8 kHz) or WIDE (16 kHz)
        self._said, self._heard, self._everyone = self._matrices(FRAME)
        # the mix at the recording's rate when the room's width is not it
        self._to_recording: Downsampler | Upsampler | None = None
        # rebuilt when membership changes, read by every tick
        self._rtps: tuple[RtpSession, ...] = ()
        self._said_rows: tuple[np.ndarray, ...] = ()
        self._heard_rows: tuple[np.ndarray, ...] = ()
        self._said_n = self._said[:0]
        self._heard_n = self._heard[:0]
        self._tone: np.ndarray | None = None
        self._tone_at = 0
        self.ticking = False
        self.closed = False

    # -- membership -----------------------------------------------------------

    @property
    def participants(self) -> list[Participant]:
        return list(self._members.values())

    def __len__(self) -> int:
        return len(self._members)

    def participant(self, participant_id: str) -> Participant | None:
        return self._members.get(participant_id)

    def join(self, channel: Channel, *, muted: bool = False) -> Participant:
        """Mix ``channel`` (answered, media negotiated) into the room; RoomFull if full."""
        if self.closed:
            raise RoomFull(f"conference {self.number} is closed")
        if len(self._members) >= self.max_participants:
            raise RoomFull(f"conference {self.number} is full")
        member = Participant(f"P{next(_ids)}", channel, self.number, muted=muted)
        self._members[member.id] = member
        self.mixer.add(member, muted=muted)
        channel.listen_digits(None)  # keys pressed in a conference go nowhere

        def on_event(event: ChannelEvent) -> None:
            if event.state == ChannelState.HUNGUP:
                self.leave(member)

        channel.add_listener(on_event)
        self._rebuild()
        self._chime(JOIN_TONE)
        if not self.ticking:
            self.ticking = True
            self.clock.add(self.tick)
        log.info("conference %s: %s joined as %s", self.number, channel.name, member.id)
        return member

    def leave(self, member: Participant) -> None:
        """Take ``member`` out of the mix (its call goes on); no error if already out."""
        if self._members.pop(member.id, None) is None:
            return
        self.mixer.remove(member)
        self._rebuild()
        log.info("conference %s: %s left", self.number, member.channel.name)
        if self._members:
            self._chime(LEAVE_TONE)
            return
        self.close()
        if self.on_empty is not None:
            self.on_empty(self)

    async def kick(self, member: Participant) -> None:
        """Out of the room and hung up (BYE)."""
        self.leave(member)
        await member.channel.hangup("kicked from conference")

    def mute(self, member: Participant, muted: bool = True) -> None:
        """A muted participant hears the room; nobody hears it."""
        member.muted = muted
        if member.id in self._members:
            self.mixer.update(member, muted=muted)

    def close(self) -> None:
        """Stop mixing and finish the recording (participants are not hung up)."""
        self.closed = True
        if self.ticking:
            self.ticking = False
            self.clock.remove(self.tick)
        if self.recording is not None:
            self.recording.close()

    def _rebuild(self) -> None:
        members = tuple(self._members.values())
        assert members == self.mixer.parties  # both in join order: row i is party i
        n = len(members)
        self._rtps = tuple(m.channel.rtp for m in members)
        wide = any(rtp.rate > 8000 for rtp in self._rtps)
        width = WIDE if wide else FRAME
        if width != self.width:
            log.info("conference %s mixes at %d kHz", self.number, 16 if wide else 8)
            self.width = width
            self.mixer.resize(width)
            # contiguous at each width: mixing a strided view would allocate per tick
            self._said, self._heard, self._everyone = self._matrices(width)
            self._tone = None  # a chime in progress was made for the other rate
        self._retune_recording()
        self._said_n = self._said[:n]
        self._heard_n = self._heard[:n]
        self._said_rows = tuple(self._said_n)
        self._heard_rows = tuple(self._heard_n)

    def _retune_recording(self) -> None:
        recording = self.recording
        if recording is None or recording.closed:
            return
        if recording.frames == 0:  # nothing mixed yet: the room now sets the file's rate
            recording.set_rate(self.width * RATE // FRAME)
        wide_file = recording.rate > RATE
        if (self.width == WIDE) == wide_file:
            self._to_recording = None
        elif self._to_recording is None or isinstance(self._to_recording, Upsampler) != wide_file:
            self._to_recording = Upsampler() if wide_file else Downsampler()

    def _matrices(self, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        size = self.max_participants
        return (
            np.zeros((size, width), dtype=np.int32),
            np.zeros((size, width), dtype=np.int16),
            np.zeros(width, dtype=np.int16),
        )

    def _chime(self, tone: np.ndarray) -> None:
        if self.width == WIDE:
            tone = JOIN_TONE_WIDE if tone is JOIN_TONE else LEAVE_TONE_WIDE
        self._tone = tone
        self._tone_at = 0

    # -- media ----------------------------------------------------------------

    def tick(self, _tick_no: int) -> None:
        copyto = np.copyto
        width = self.width
        for rtp, row in zip(self._rtps, self._said_rows, strict=True):
            frame = rtp.read_frame()
            if frame is None:
                row.fill(0)
            else:
                if frame.shape[0] != width:  # a G.711 party in a wideband room
                    frame = rtp.wide(frame)
                copyto(row, frame)  # half the cost of row[:] = frame, no temporary
        tone = self._tone
        common = None
        if tone is not None:
            common = tone[self._tone_at]
            self._tone_at += 1
            if self._tone_at == len(tone):
                self._tone = None
        recording = self.recording
        everyone = self._everyone if recording is not None else None
        self.mixer.mix_into(self._said_n, self._heard_n, common=common, everyone=everyone)
        for rtp, row in zip(self._rtps, self._heard_rows, strict=True):
            rtp.write_frame(row)
        if recording is not None:
            down = self._to_recording
            recording.write(self._everyone if down is None else down(self._everyone))
