"""What is kept of a call's audio: its recorder, the files' name in the CDR, transcripts.

A call may be recorded only to be transcribed; then the audio goes once the transcript
is in the CDR, off the media path.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from media.asr import transcriber
from media.pcm import RATE
from media.prompt import load_audio
from media.recorder import CallRecorder, RecordingFiles, RecordingOption

from ..store.cdrs import CdrStore
from ..webhooks.events import WebhookEvents
from .live import LiveCall


def recording_name(files: RecordingFiles | None) -> str:
    """The name a CDR gives for the recording: the mixed file, else the one leg."""
    if files is None:
        return ""
    path = files.mixed or files.agent or files.customer
    return path.name if path is not None else ""


def recording_rate(call: LiveCall) -> int:
    """The rate of a recording started now: 16 kHz with a wideband leg up, else 8 kHz."""
    wide = any(c.rtp.rate > RATE for c in call.live_channels())
    return 2 * RATE if wide else RATE


def remove(files: RecordingFiles) -> None:
    for path in (files.mixed, files.agent, files.customer):
        if path is not None:
            path.unlink(missing_ok=True)


class Recordings:
    def __init__(
        self,
        directory: Path,
        cdrs: CdrStore,
        events: WebhookEvents,
        *,
        transcriber_name: str,
        stereo: bool,
    ) -> None:
        self.directory = directory
        self.cdrs = cdrs
        self.events = events
        self.transcriber_name = transcriber_name
        self.stereo = stereo

    def start(self, call: LiveCall, option: RecordingOption) -> CallRecorder:
        """Record ``call`` from now on, into the account's directory.

        The files are 16 kHz when a leg of the call speaks a wideband codec now (G.722,
        Opus), else 8 kHz as G.711 calls always were; the rate then stays for the file.
        """
        call.recorder = CallRecorder(
            self.directory / call.account_id,
            call.request_id,
            option,
            stereo=self.stereo,
            rate=recording_rate(call),
        )
        return call.recorder

    async def transcribe(self, cdr_id: int, files: RecordingFiles, keep: bool) -> None:
        """Add the transcript of ``files`` to the CDR; remove them unless ``keep``."""
        try:
            await self._transcribe(cdr_id, files)
        finally:
            if not keep:  # recorded only to be transcribed: nobody asked to keep the audio
                remove(files)

    async def _transcribe(self, cdr_id: int, files: RecordingFiles) -> None:
        engine = transcriber(self.transcriber_name)
        loop = asyncio.get_running_loop()
        parts: list[str] = []
        legs = [("agent", files.agent), ("customer", files.customer)]
        if not any(path for _, path in legs):
            legs = [("call", files.mixed)]
        for label, path in legs:
            if path is None or not path.exists():
                continue
            samples = await loop.run_in_executor(None, load_audio, path)
            text = await loop.run_in_executor(None, engine.transcribe, samples)
            if text:
                parts.append(f"{label}: {text}")
        self.events.transcript_ready(self.cdrs, cdr_id, "\n".join(parts))
