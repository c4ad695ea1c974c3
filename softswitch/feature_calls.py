"""What a feature code dialed from a phone changes, and the tone that confirms it.

The switch answers such a call, plays ``CONFIRMATION`` (two short rising beeps) and
hangs up; a code it refuses (forwarding to the extension itself) is answered 403.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from media.clock import MediaClock
from media.player import Player
from media.tones import chime

from .channel import Channel
from .channel_audio import ChannelAudio
from .config import forward_target_problem
from .feature_codes import Feature, FeatureRequest
from .sip.invite import IncomingInvite
from .store.call_features import CallFeatures, CallFeatureStore

log = logging.getLogger("softswitch.features")

# the caller's leg, answered by the switch; None once its INVITE was refused or it left
AnsweredLeg = Callable[[], Awaitable[Channel | None]]

CONFIRMATION = chime((660.0, 880.0), ms=150)
CONFIRMATION_WAIT = 3.0  # seconds: the tone is 0.3 s; a stalled clock must not hold the call


class FeatureRefused(Exception):
    """The feature code cannot be honoured as dialed."""


def applied(extension: str, features: CallFeatures, request: FeatureRequest) -> CallFeatures:
    """``features`` after ``request`` (one of the settings codes; not a pickup)."""
    number = request.number
    if number:
        problem = forward_target_problem(number, extension)
        if problem is not None:
            raise FeatureRefused(f"forwarding target {problem}")
    match request.feature:
        case Feature.FORWARD_ALWAYS_ON:
            return replace(features, forward_always=number)
        case Feature.FORWARD_ALWAYS_OFF:
            return replace(features, forward_always="")
        case Feature.DND_ON:
            return replace(features, dnd=True)
        case Feature.DND_OFF:
            return replace(features, dnd=False)
        case Feature.FORWARD_BUSY_ON:
            return replace(features, forward_busy=number)
        case Feature.FORWARD_BUSY_OFF:
            return replace(features, forward_busy="")
        case Feature.FORWARD_NO_ANSWER_ON:
            return replace(features, forward_no_answer=number)
        case Feature.FORWARD_NO_ANSWER_OFF:
            return replace(features, forward_no_answer="")
    raise FeatureRefused(f"{request.feature} changes no setting")


async def confirm(channel: Channel, clock: MediaClock) -> None:
    """Play the confirmation tone on the answered ``channel``."""
    audio = ChannelAudio(channel, clock)
    audio.start()
    try:
        await asyncio.wait_for(audio.play(Player(CONFIRMATION)), CONFIRMATION_WAIT)
    except TimeoutError:
        pass
    finally:
        audio.stop()


async def settings_call(
    invite: IncomingInvite,
    extension: str,
    request: FeatureRequest,
    store: CallFeatureStore,
    leg: AnsweredLeg,
    clock: MediaClock,
) -> None:
    """``extension`` dialed a settings code: stored, answered, a beep, hung up."""
    try:
        features = applied(extension, store.get(extension), request)
    except FeatureRefused as exc:
        log.info("extension %s: %s refused: %s", extension, request.feature, exc)
        invite.reject(403, "Forbidden")
        return
    channel = await leg()
    if channel is None:
        return
    store.put(extension, features)
    log.info("extension %s: %s %s", extension, request.feature, request.number)
    await confirm(channel, clock)
    await channel.hangup("feature code")
