"""CPaaS voice parameters: validation and mapping onto local speech engines.

The CPaaS API takes Amazon-Polly-style voice ids (Joanna, Matthew, Raveena, ...)
and SSML-like prosody words for rate, pitch and volume. We have no Polly, so a
voice id only decides gender (and a default language); the prosody words become
numbers every engine can apply (duration stretch, semitones, decibels).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass


class TtsError(ValueError):
    """An invalid TTS request: unknown voice, bad prosody value, missing template field.

    The API maps it to HTTP 400 with ``str(error)`` as the message.
    """


class TtsEngineError(RuntimeError):
    """An engine failed to synthesize (crash, bad output)."""


class TtsUnavailable(TtsEngineError):
    """An engine cannot run here: binary missing, package missing, no network."""


FEMALE = "female"
MALE = "male"

# Polly voice id -> (gender, language of the voice). Names the CPaaS spec shows
# (Joanna, Matthew, Raveena) plus the rest of Polly's catalogue, so that any id a
# client copied from Polly's documentation is accepted.
POLLY_VOICES: dict[str, tuple[str, str]] = {
    # en-US
    "Joanna": (FEMALE, "en-US"),
    "Kendra": (FEMALE, "en-US"),
    "Kimberly": (FEMALE, "en-US"),
    "Salli": (FEMALE, "en-US"),
    "Ivy": (FEMALE, "en-US"),
    "Ruth": (FEMALE, "en-US"),
    "Danielle": (FEMALE, "en-US"),
    "Matthew": (MALE, "en-US"),
    "Joey": (MALE, "en-US"),
    "Justin": (MALE, "en-US"),
    "Kevin": (MALE, "en-US"),
    "Stephen": (MALE, "en-US"),
    "Gregory": (MALE, "en-US"),
    "Patrick": (MALE, "en-US"),
    # en-GB, en-GB-WLS, en-AU, en-NZ, en-ZA, en-IE, en-IN
    "Amy": (FEMALE, "en-GB"),
    "Emma": (FEMALE, "en-GB"),
    "Brian": (MALE, "en-GB"),
    "Arthur": (MALE, "en-GB"),
    "Geraint": (MALE, "en-GB-WLS"),
    "Nicole": (FEMALE, "en-AU"),
    "Olivia": (FEMALE, "en-AU"),
    "Russell": (MALE, "en-AU"),
    "Aria": (FEMALE, "en-NZ"),
    "Ayanda": (FEMALE, "en-ZA"),
    "Niamh": (FEMALE, "en-IE"),
    "Raveena": (FEMALE, "en-IN"),
    "Aditi": (FEMALE, "en-IN"),
    "Kajal": (FEMALE, "en-IN"),
    # other languages
    "Conchita": (FEMALE, "es-ES"),
    "Lucia": (FEMALE, "es-ES"),
    "Enrique": (MALE, "es-ES"),
    "Sergio": (MALE, "es-ES"),
    "Mia": (FEMALE, "es-MX"),
    "Andres": (MALE, "es-MX"),
    "Penelope": (FEMALE, "es-US"),
    "Lupe": (FEMALE, "es-US"),
    "Miguel": (MALE, "es-US"),
    "Pedro": (MALE, "es-US"),
    "Celine": (FEMALE, "fr-FR"),
    "Lea": (FEMALE, "fr-FR"),
    "Mathieu": (MALE, "fr-FR"),
    "Remi": (MALE, "fr-FR"),
    "Chantal": (FEMALE, "fr-CA"),
    "Gabrielle": (FEMALE, "fr-CA"),
    "Liam": (MALE, "fr-CA"),
    "Marlene": (FEMALE, "de-DE"),
    "Vicki": (FEMALE, "de-DE"),
    "Hans": (MALE, "de-DE"),
    "Daniel": (MALE, "de-DE"),
    "Carla": (FEMALE, "it-IT"),
    "Bianca": (FEMALE, "it-IT"),
    "Giorgio": (MALE, "it-IT"),
    "Adriano": (MALE, "it-IT"),
    "Vitoria": (FEMALE, "pt-BR"),
    "Camila": (FEMALE, "pt-BR"),
    "Ricardo": (MALE, "pt-BR"),
    "Thiago": (MALE, "pt-BR"),
    "Ines": (FEMALE, "pt-PT"),
    "Cristiano": (MALE, "pt-PT"),
    "Lotte": (FEMALE, "nl-NL"),
    "Ruben": (MALE, "nl-NL"),
    "Laura": (FEMALE, "nl-NL"),
    "Naja": (FEMALE, "da-DK"),
    "Mads": (MALE, "da-DK"),
    "Liv": (FEMALE, "nb-NO"),
    "Astrid": (FEMALE, "sv-SE"),
    "Elin": (FEMALE, "sv-SE"),
    "Ewa": (FEMALE, "pl-PL"),
    "Maja": (FEMALE, "pl-PL"),
    "Jacek": (MALE, "pl-PL"),
    "Jan": (MALE, "pl-PL"),
    "Tatyana": (FEMALE, "ru-RU"),
    "Maxim": (MALE, "ru-RU"),
    "Filiz": (FEMALE, "tr-TR"),
    "Carmen": (FEMALE, "ro-RO"),
    "Dora": (FEMALE, "is-IS"),
    "Karl": (MALE, "is-IS"),
    "Gwyneth": (FEMALE, "cy-GB"),
    "Mizuki": (FEMALE, "ja-JP"),
    "Takumi": (MALE, "ja-JP"),
    "Seoyeon": (FEMALE, "ko-KR"),
    "Zhiyu": (FEMALE, "cmn-CN"),
    "Zeina": (FEMALE, "arb"),
    "Hala": (FEMALE, "ar-AE"),
}

RATES: dict[str, float] = {  # duration stretch (> 1 = slower)
    "x-slow": 1.6,
    "slow": 1.25,
    "medium": 1.0,
    "fast": 0.82,
    "x-fast": 0.67,
}
PITCHES: dict[str, float] = {  # semitones
    "x-low": -4.0,
    "low": -2.0,
    "medium": 0.0,
    "high": 2.0,
    "x-high": 4.0,
}
VOLUMES: dict[str, float | None] = {  # dB relative to the normalized level; None = silence
    "silent": None,
    "x-soft": -12.0,
    "soft": -6.0,
    "medium": 0.0,
    "loud": 4.0,
    "x-loud": 8.0,
}
ENGINE_TYPES = ("standard", "neural")

_LANG_RE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")
_VOICES_FOLDED = {name.lower(): name for name in POLLY_VOICES}


@dataclass(slots=True, frozen=True)
class VoiceParams:
    """Validated, normalized CPaaS voice parameters (hashable: a cache key part)."""

    voice: str = "Joanna"
    rate: str = "medium"
    pitch: str = "medium"
    volume: str = "medium"
    language_code: str = "en-US"
    engine_type: str = "standard"

    @classmethod
    def parse(
        cls,
        *,
        voice: str | None = None,
        rate: str | None = None,
        pitch: str | None = None,
        volume: str | None = None,
        language_code: str | None = None,
        tts_engine_type: str | None = None,
    ) -> VoiceParams:
        """Validate raw API values (None/'' = default). Raises TtsError.

        Without a language_code the voice's own language applies, as with Polly:
        Celine speaks French, Joanna American English.
        """
        d = cls()
        name = _voice_name(voice) if voice else d.voice
        return cls(
            voice=name,
            rate=_choice("rate", rate, RATES) if rate else d.rate,
            pitch=_choice("pitch", pitch, PITCHES) if pitch else d.pitch,
            volume=_choice("volume", volume, VOLUMES) if volume else d.volume,
            language_code=_language(language_code) if language_code else POLLY_VOICES[name][1],
            engine_type=_choice("tts_engine_type", tts_engine_type, dict.fromkeys(ENGINE_TYPES))
            if tts_engine_type
            else d.engine_type,
        )

    @classmethod
    def from_request(cls, body: Mapping[str, object]) -> VoiceParams:
        """Pick the voice fields out of a CPaaS request body."""

        def get(key: str) -> str | None:
            value = body.get(key)
            if value is None:
                return None
            if not isinstance(value, str):
                raise TtsError(f"{key} must be a string")
            return value

        return cls.parse(
            voice=get("voice"),
            rate=get("rate"),
            pitch=get("pitch"),
            volume=get("volume"),
            language_code=get("language_code"),
            tts_engine_type=get("tts_engine_type"),
        )

    @property
    def gender(self) -> str:
        return POLLY_VOICES[self.voice][0]

    @property
    def stretch(self) -> float:
        return RATES[self.rate]

    @property
    def semitones(self) -> float:
        return PITCHES[self.pitch]

    @property
    def gain_db(self) -> float | None:
        return VOLUMES[self.volume]

    @property
    def language(self) -> str:
        """Primary language subtag, lower case ('en' for 'en-US')."""
        return self.language_code.split("-")[0].lower()

    def cache_key(self) -> str:
        return "|".join(
            (self.voice, self.rate, self.pitch, self.volume, self.language_code, self.engine_type)
        )


def _fold(value: str) -> str:
    """'X- Soft' -> 'x-soft', 'Céline' -> 'celine' (the spec's PDF text has stray spaces)."""
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", "", text).lower()


def _voice_name(value: str) -> str:
    name = _VOICES_FOLDED.get(_fold(value))
    if name is None:
        raise TtsError(
            f"unknown voice {value!r}; use a voice id such as Joanna, Matthew or Raveena"
        )
    return name


def _choice(field: str, value: str, allowed: Mapping[str, object]) -> str:
    folded = _fold(value)
    if folded not in allowed:
        raise TtsError(f"invalid {field} {value!r}; allowed: {', '.join(allowed)}")
    return folded


def _language(value: str) -> str:
    value = value.strip().replace("_", "-")
    if not _LANG_RE.match(value):
        raise TtsError(f"invalid language_code {value!r}; expected a tag such as en-US")
    parts = value.split("-")
    # canonical BCP 47 casing: 'en-us' -> 'en-US'
    return "-".join([parts[0].lower()] + [p.upper() if len(p) == 2 else p for p in parts[1:]])
