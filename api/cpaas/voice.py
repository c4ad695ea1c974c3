"""The voice parameters of a request body, checked before anything is created."""

from __future__ import annotations

from media.voice import TtsError, VoiceParams

from .models import VoiceBody
from .responses import ApiError

VOICE_FIELDS = ("voice", "volume", "rate", "pitch", "language_code", "tts_engine_type")


def voice_fields(body: VoiceBody) -> dict[str, str]:
    """The voice parameters given, each checked on its own so an error names its field.

    An empty string counts as not given (the spec's examples send "" for unused keys).
    """
    voice: dict[str, str] = {}
    for key in VOICE_FIELDS:
        value = getattr(body, key)
        if not value:
            continue
        try:
            VoiceParams.parse(**{key: value})
        except TtsError as exc:
            message = str(exc)
            raise ApiError(message if message.startswith(key) else f"{key}: {message}") from None
        voice[key] = value
    try:
        VoiceParams.from_request(voice)
    except TtsError as exc:
        raise ApiError(str(exc)) from None
    return voice
