"""Runs a call flow (softswitch.flowmodel) on an answered channel.

Speech is synthesized by `prepare()` before the call is dialed, so the callee never
waits for a synthesizer; the runner only looks prompts up. Transfer and dial steps
hand the channel to a bridge and take it back when the other party leaves.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, assert_never

import numpy as np

from media.expectations import Kind
from media.listener import ListenStatus, SpeechListener
from media.player import Player
from media.prompt import load_audio_async, silence
from media.recognizer import Recognizer
from media.recorder import WavWriter
from media.template import render
from media.tts import Tts

from .channel import Channel, ChannelState
from .channel_audio import ChannelAudio
from .destination import Destination, DestinationKind
from .flowmodel import (
    Dial,
    Flow,
    Gather,
    Hangup,
    Hours,
    Listen,
    Menu,
    Pause,
    Play,
    Record,
    Redial,
    Report,
    Route,
    Say,
    SetResult,
    Step,
    Transfer,
)

log = logging.getLogger("softswitch.flow")

# Connect the channel to a number and return when that call is over (True if it
# was answered). Provided by the call service, which owns bridges and CDR legs.
Connect = Callable[[Channel, str, float], Awaitable[bool]]
# Send the channel to a destination (a route step, a menu option) and return when that
# is over: provided for calls to an inbound number (softswitch.calls.inbound).
RouteTo = Callable[[Channel, Destination, float], Awaitable[None]]

_KEYS = "0123456789*#"
_KEY_GAP = 3.0  # s between keys typed for a listen step's digits: then they are complete


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class FlowHangup(Exception):
    """The flow asked to end the call."""


@dataclass(frozen=True, slots=True)
class SpeechInput:
    """One listen step's answer, for the CDR: what was taken and what was heard."""

    name: str  # the step's variable
    value: str  # the choice, digits or number taken; '' for no match or no input
    outcome: str  # choice | digits | number | no_match | no_input
    text: str = ""  # the recognizer's words ('' when keys answered)
    confidence: float = 0.0
    keys: str = ""  # when the caller answered with keys instead


@dataclass(slots=True)
class FlowState:
    variables: dict[str, str]
    result: str | None = None
    report_data: list[tuple[str, str, int]] = field(default_factory=list)
    redial: tuple[int, int | None] | None = None
    recordings: list[str] = field(default_factory=list)
    transferred: bool = False
    speech_inputs: list[SpeechInput] = field(default_factory=list)
    asr_seconds: float = 0.0  # audio the recognizer processed (JAICP usedAsrSeconds)


@dataclass(slots=True)
class FlowAudio:
    """Prompts a flow needs, decoded and synthesized ahead of the call."""

    tts: Tts
    uploads: Path
    files: dict[str, np.ndarray] = field(default_factory=dict)
    # the engine listen steps recognize speech with (None: they hear only keys)
    recognizer: Recognizer | None = None

    async def say(self, step: Say, variables: dict[str, str]) -> np.ndarray:
        voice = step.voice_params
        parts: list[np.ndarray] = []
        # Spelled variables (an OTP) are read digit by digit; the text around them is
        # synthesized as whole phrases for natural prosody.
        for literal, name, spec, conversion in string.Formatter().parse(step.text):
            if literal.strip():
                parts.append(await self.tts.speech(literal, voice))
            if name is None:
                continue
            if name in step.spell:
                parts.append(await self.tts.digits(variables.get(name, ""), voice))
            else:
                text = render(
                    "{"
                    + name
                    + (f"!{conversion}" if conversion else "")
                    + (f":{spec}" if spec else "")
                    + "}",
                    variables,
                )
                if text.strip():
                    parts.append(await self.tts.speech(text, voice))
            parts.append(silence(150))
        return np.concatenate(parts) if parts else silence(20)

    async def play(self, step: Play) -> np.ndarray:
        if step.file not in self.files:
            path = self.uploads / step.file
            if not path.is_file():
                raise FileNotFoundError(f"no uploaded file {step.file!r}")
            self.files[step.file] = await load_audio_async(path)
        return self.files[step.file]


async def prepare(flow: Flow, variables: dict[str, str], audio: FlowAudio) -> None:
    """Synthesize and load every prompt of the flow now (raises on a missing variable)."""
    await _prepare(flow.steps, dict(variables), audio)


async def _prepare(steps: list[Step], variables: dict[str, str], audio: FlowAudio) -> None:
    for step in steps:
        match step:
            case Say():
                await audio.say(step, variables)
            case Play():
                await audio.play(step)
            case Menu():
                if isinstance(step.prompt, Say):
                    await audio.say(step.prompt, variables)
                else:
                    await audio.play(step.prompt)
                for branch in step.branches():
                    await _prepare(branch, variables, audio)
            case Hours():
                await _prepare(step.open, variables, audio)
                await _prepare(step.closed, variables, audio)
            case Gather():
                if step.prompt is not None:
                    await audio.say(step.prompt, variables)
                # what the caller will type is unknown: fill it with a placeholder so the
                # rest of the prompts are ready (texts using it are synthesized on the call)
                later = dict(variables)
                later.setdefault(step.name, "")
                for branch in [*step.branches.values(), step.default]:
                    await _prepare(branch, later, audio)
            case Listen():
                if audio.recognizer is not None:
                    # the question's decoders, made now rather than at the caller's first word
                    loop = asyncio.get_running_loop()
                    await loop.run_in_executor(
                        audio.recognizer.executor, audio.recognizer.prepare, step.expectations()
                    )
                if isinstance(step.prompt, Say):
                    await audio.say(step.prompt, variables)
                elif step.prompt is not None:
                    await audio.play(step.prompt)
                later = dict(variables)
                for name in step.defines():
                    later.setdefault(name, "")
                for branch in step.branches():
                    await _prepare(branch, later, audio)
            case (
                Record()
                | Transfer()
                | Dial()
                | SetResult()
                | Report()
                | Redial()
                | Pause()
                | Hangup()
                | Route()
            ):
                pass  # no prompt to get ready
            case _:
                assert_never(step)


class FlowRunner:
    def __init__(
        self,
        channel: Channel,
        media: ChannelAudio,
        audio: FlowAudio,
        state: FlowState,
        connect: Connect,
        recordings_dir: Path,
        recording_prefix: str,
        *,
        route: RouteTo | None = None,
        now: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.route = route
        self.now = now
        self.channel = channel
        self.media = media
        self.audio = audio
        self.state = state
        self.connect = connect
        self.recordings_dir = recordings_dir
        self.recording_prefix = recording_prefix
        self._handed_over = False  # a route step gave the channel away

    async def run(self, flow: Flow) -> FlowState:
        """Run until the flow ends, asks to hang up or the channel hangs up."""
        hungup = asyncio.ensure_future(asyncio.shield(self.channel.hungup))
        steps = asyncio.ensure_future(self._steps(flow.steps))
        either: list[asyncio.Future[Any]] = [hungup, steps]
        try:
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            if self._handed_over and not steps.done():
                # a route step gave the channel to its destination, which ends on the
                # hang-up by itself and may still have work to do (a voicemail keeps the
                # message its caller ended by hanging up): not the flow's to cut short
                await asyncio.wait([steps])
        finally:
            for task in either:
                task.cancel()
        if steps.done() and not steps.cancelled() and steps.exception() is not None:
            exc = steps.exception()
            if not isinstance(exc, FlowHangup):
                log.error("flow on %s failed: %r", self.channel.name, exc)
        return self.state

    async def _steps(self, steps: list[Step]) -> None:
        for step in steps:
            if self.channel.state != ChannelState.UP:
                return
            await self._step(step)

    async def _step(self, step: Step) -> None:
        state = self.state
        match step:
            case Say():
                audio = await self.audio.say(step, state.variables)
                await self._play(audio, step.repeat, step.pause_ms, step.barge_in)
            case Play():
                audio = await self.audio.play(step)
                await self._play(audio, step.repeat, step.pause_ms, step.barge_in)
            case Gather():
                await self._gather(step)
            case Record():
                await self._record(step)
            case Transfer():
                answered = await self._connect(step.number, step.timeout, then_resume=False)
                if answered:
                    state.transferred = True
                    raise FlowHangup()
            case Dial():
                await self._connect(step.number, step.timeout)
            case SetResult():
                state.result = render(step.value, state.variables)
            case Report():
                value = render(step.value, state.variables)
                state.report_data.append((step.header, value, step.order))
            case Redial():
                state.redial = (step.minutes, step.priority)
            case Pause():
                self.media.quiet()
                await asyncio.sleep(step.seconds)
            case Hangup():
                raise FlowHangup()
            case Menu():
                await self._menu(step)
            case Route():
                await self._route(step.to, step.timeout)
            case Hours():
                await self._steps(step.open if step.hours.is_open(self.now()) else step.closed)
            case Listen():
                await self._listen(step)
            case _:
                assert_never(step)

    async def _play(self, audio: np.ndarray, repeat: int, pause_ms: int, barge_in: bool) -> None:
        stop_digits = "0123456789*#" if barge_in else ""
        await self.media.play(
            Player(audio, repeat=repeat, pause_ms=pause_ms, stop_digits=stop_digits)
        )

    async def _gather(self, step: Gather) -> None:
        media = self.media
        while not media.digits.empty():  # type-ahead from before the question is dropped
            media.digits.get_nowait()
        if step.prompt is not None:
            say = step.prompt
            audio = await self.audio.say(say, self.state.variables)
            # any key answers the question: the prompt stops and that key counts
            media.background(
                Player(audio, repeat=say.repeat, pause_ms=say.pause_ms, stop_digits="0123456789*#")
            )
        typed = ""
        prompt_playing = step.prompt is not None
        while len(typed) < step.num_digits:
            # the timeout runs from the end of the prompt (or from the last key)
            try:
                if prompt_playing and media.player is not None:
                    digit_task = asyncio.ensure_future(media.digits.get())
                    player_task = asyncio.ensure_future(media.player.wait())
                    done, _ = await asyncio.wait(
                        [digit_task, player_task], return_when=asyncio.FIRST_COMPLETED
                    )
                    if digit_task not in done:
                        digit_task.cancel()
                        prompt_playing = False
                        continue
                    player_task.cancel()
                    digit = digit_task.result()
                else:
                    digit = await asyncio.wait_for(media.digits.get(), step.timeout)
            except TimeoutError:
                break
            prompt_playing = False
            if digit == step.finish_on_key:
                break
            typed += digit
        media.quiet()
        self.state.variables[step.name] = typed
        branch = step.branches.get(typed, step.default)
        await self._steps(branch)

    async def _listen(self, step: Listen) -> None:
        """Ask (the prompt stops when the caller speaks or presses a key), hear one answer
        and take its branch: a choice's steps, ``then`` for digits or a number, else
        ``no_match`` or ``no_input``."""
        media = self.media
        while not media.digits.empty():  # type-ahead from before the question is dropped
            media.digits.get_nowait()
        recognizer = self.audio.recognizer
        listener = None
        if recognizer is not None:
            listener = SpeechListener(
                recognizer.stream(step.expectations(), confidence=step.confidence > 0),
                no_input=step.no_input_timeout,
                max_speech=step.max_speech,
                end_silence_ms=step.end_silence_ms,
                executor=recognizer.executor,
                confidence=step.confidence > 0,
            )
            media.listener = listener.feed
            listener.start()
        else:
            log.warning("flow on %s: no recognizer, listen step hears keys only", self.channel.name)
        try:
            if step.prompt is not None:
                if isinstance(step.prompt, Say):
                    audio = await self.audio.say(step.prompt, self.state.variables)
                else:
                    audio = await self.audio.play(step.prompt)
                media.background(Player(audio, stop_digits=_KEYS))
            key, heard = await self._answer(step, listener)
        finally:
            media.listener = None
            if listener is not None:
                listener.cancel()
            media.quiet()
        await self._listened(step, key, heard)

    async def _answer(
        self, step: Listen, listener: SpeechListener | None
    ) -> tuple[str | None, tuple[str, float] | None]:
        """(the first key, None) or (None, (text, confidence)) or (None, None): no input."""
        media = self.media
        player = media.player
        key = asyncio.ensure_future(media.digits.get())
        waits: set[asyncio.Future[Any]] = {key}
        prompt = asyncio.ensure_future(player.wait()) if player is not None else None
        result = spoke = None
        if listener is not None:
            result = asyncio.ensure_future(listener.result())
            spoke = asyncio.ensure_future(listener.speech_started.wait())
            waits |= {result, spoke}
            if prompt is None:
                listener.start_timer()
        if prompt is not None:
            waits.add(prompt)
        deadline = None if listener is not None else step.no_input_timeout
        try:
            while True:
                done, _ = await asyncio.wait(
                    waits, timeout=deadline, return_when=asyncio.FIRST_COMPLETED
                )
                if not done:  # keys only: nothing within the timeout after the prompt
                    return None, None
                if key in done:
                    return key.result(), None
                if result is not None and result in done:
                    heard = result.result()
                    if heard.status is ListenStatus.HEARD:
                        self.state.asr_seconds += heard.audio_seconds
                        log.info(
                            "flow on %s: heard %r (%.2f) %.0f ms after speech",
                            self.channel.name,
                            heard.text,
                            heard.confidence,
                            1000 * (heard.latency or 0.0),
                        )
                        return None, (heard.text, heard.confidence)
                    return None, None
                if spoke is not None and spoke in done:
                    media.quiet()  # barge-in: the caller is answering
                    waits.discard(spoke)
                    if prompt is not None:
                        waits.discard(prompt)
                        prompt.cancel()
                    assert listener is not None
                    listener.start_timer()
                if prompt is not None and prompt in done:
                    waits.discard(prompt)
                    if listener is not None:
                        listener.start_timer()
                    else:
                        deadline = step.no_input_timeout
        finally:
            for task in (key, prompt, result, spoke):
                if task is not None:
                    task.cancel()

    async def _listened(
        self, step: Listen, key: str | None, heard: tuple[str, float] | None
    ) -> None:
        """Branch on the answer; the variables and the CDR's speech input say what it was."""
        expect = step.expectations()
        value, outcome, text, confidence, keys = "", "no_input", "", 0.0, ""
        branch = step.no_input
        if key is not None:
            keys = key
            choice = next((c for c in step.choices if c.key == key), None)
            if choice is not None:
                value, outcome, branch = choice.name, Kind.CHOICE.value, choice.steps
            elif (step.digits or step.number) and key in string.digits:
                keys += await self._more_keys(step.digits or 20)
                value, outcome, branch = keys, Kind.DIGITS.value, step.then
            else:
                outcome, branch = "no_match", step.no_match
        elif heard is not None:
            text, confidence = heard
            meaning = expect.interpret(text) if confidence >= step.confidence else None
            if meaning is None:
                outcome, branch = "no_match", step.no_match
            elif meaning.kind is Kind.CHOICE:
                choice = step.choice(meaning.value)
                assert choice is not None
                value, outcome, branch = meaning.value, meaning.kind.value, choice.steps
            else:
                value, outcome, branch = meaning.value, meaning.kind.value, step.then
        variables = self.state.variables
        variables[step.name] = value
        variables[f"{step.name}_text"] = text
        variables[f"{step.name}_confidence"] = f"{confidence:.2f}"
        self.state.speech_inputs.append(
            SpeechInput(step.name, value, outcome, text, round(confidence, 3), keys)
        )
        await self._steps(branch)

    async def _more_keys(self, most: int) -> str:
        """Keys typed after the first, until # or a pause, at most ``most`` in all."""
        typed = ""
        while len(typed) + 1 < most:
            try:
                digit = await asyncio.wait_for(self.media.digits.get(), _KEY_GAP)
            except TimeoutError:
                break
            if digit == "#":
                break
            typed += digit
        return typed

    async def _menu(self, step: Menu) -> None:
        """Play the prompt and take one key, up to 1 + retries times; a known key runs
        its option, else the invalid or no-input steps (whichever the last try was)."""
        media = self.media
        failure = step.no_input
        for _ in range(step.retries + 1):
            while not media.digits.empty():  # type-ahead from before the prompt is dropped
                media.digits.get_nowait()
            if isinstance(step.prompt, Say):
                audio = await self.audio.say(step.prompt, self.state.variables)
            else:
                audio = await self.audio.play(step.prompt)
            media.background(Player(audio, stop_digits=_KEYS))
            key = await self._key(step.timeout)
            media.quiet()
            if key is None:
                failure = step.no_input
                continue
            branch = step.branch(key)
            if branch is not None:
                await self._steps(branch)
                return
            log.info("flow on %s: menu key %r is no option", self.channel.name, key)
            failure = step.invalid
        await self._steps(failure)

    async def _key(self, timeout: float) -> str | None:
        """One key: during the prompt (which it stops) or within ``timeout`` after it."""
        media = self.media
        if media.player is not None:
            digit_task = asyncio.ensure_future(media.digits.get())
            player_task = asyncio.ensure_future(media.player.wait())
            try:
                done, _ = await asyncio.wait(
                    [digit_task, player_task], return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                player_task.cancel()
            if digit_task in done:
                return digit_task.result()
            digit_task.cancel()
        try:
            return await asyncio.wait_for(media.digits.get(), timeout)
        except TimeoutError:
            return None

    async def _route(self, to: Destination, timeout: float) -> None:
        """The destination takes the call over; the flow ends here."""
        self.media.stop()
        self._handed_over = True
        if self.route is not None:
            await self.route(self.channel, to, timeout)
        elif to.kind in (DestinationKind.EXTENSION, DestinationKind.NUMBER):
            await self.connect(self.channel, to.target, timeout)
        else:
            log.warning("flow on %s: route to %s needs an inbound call", self.channel.name, to)
        self.state.transferred = True
        raise FlowHangup()

    async def _record(self, step: Record) -> None:
        self.media.quiet()
        self.recordings_dir.mkdir(parents=True, exist_ok=True)
        name = f"{self.recording_prefix}-message{len(self.state.recordings) + 1}.wav"
        writer = WavWriter(self.recordings_dir / name)
        self.media.listener = writer.write
        media = self.media
        try:
            deadline = asyncio.get_running_loop().time() + step.max_seconds
            while True:
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    break
                try:
                    digit = await asyncio.wait_for(media.digits.get(), left)
                except TimeoutError:
                    break
                if step.finish_on_key and digit == step.finish_on_key:
                    break
        finally:
            media.listener = None
            writer.close()
        self.state.recordings.append(name)

    async def _connect(self, number: str, timeout: float, *, then_resume: bool = True) -> bool:
        """Hand the channel to the connect step; take its audio back afterwards unless the
        call was answered and ``then_resume`` is false (a transfer: the flow ends there)."""
        self.media.stop()
        answered = False
        try:
            answered = await self.connect(self.channel, number, timeout)
            return answered
        finally:
            if self.channel.state == ChannelState.UP and (then_resume or not answered):
                self.media.start()
