"""VoiceParams: CPaaS voice values validated, normalized, mapped to numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from media.voice import PITCHES, POLLY_VOICES, RATES, VOLUMES, TtsError, VoiceParams


def test_defaults() -> None:
    v = VoiceParams.parse()
    assert v == VoiceParams()
    assert (v.voice, v.rate, v.pitch, v.volume, v.language_code, v.engine_type) == (
        "Joanna",
        "medium",
        "medium",
        "medium",
        "en-US",
        "standard",
    )
    assert v.gender == "female" and v.stretch == 1.0 and v.semitones == 0.0 and v.gain_db == 0.0


def test_spec_voices_map_to_gender() -> None:
    assert VoiceParams.parse(voice="Joanna").gender == "female"
    assert VoiceParams.parse(voice="Matthew").gender == "male"
    assert VoiceParams.parse(voice="Raveena").gender == "female"


def test_voice_names_are_case_and_accent_insensitive() -> None:
    assert VoiceParams.parse(voice="matthew").voice == "Matthew"
    assert VoiceParams.parse(voice=" JOANNA ").voice == "Joanna"
    assert VoiceParams.parse(voice="Léa").voice == "Lea"


def test_unknown_voice_is_a_clear_error() -> None:
    with pytest.raises(TtsError, match="unknown voice 'Siri'.*Joanna"):
        VoiceParams.parse(voice="Siri")
    assert issubclass(TtsError, ValueError)


def test_language_defaults_to_the_voice_language() -> None:
    assert VoiceParams.parse(voice="Raveena").language_code == "en-IN"
    assert VoiceParams.parse(voice="Celine").language_code == "fr-FR"
    assert VoiceParams.parse(voice="Celine", language_code="en-us").language_code == "en-US"
    assert VoiceParams.parse(voice="Zhiyu").language == "cmn"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("en-US", "en-US"),
        ("en_us", "en-US"),
        ("EN-gb", "en-GB"),
        ("fr", "fr"),
        ("en-GB-WLS", "en-GB-WLS"),
        ("cmn-CN", "cmn-CN"),
    ],
)
def test_language_code_is_canonicalized(raw: str, canonical: str) -> None:
    assert VoiceParams.parse(language_code=raw).language_code == canonical


@pytest.mark.parametrize("bad", ["english", "e", "en--US", "en US", "12-34", "en-US!"])
def test_bad_language_code(bad: str) -> None:
    with pytest.raises(TtsError, match="invalid language_code"):
        VoiceParams.parse(language_code=bad)


def test_prosody_words_map_to_numbers() -> None:
    slow = VoiceParams.parse(rate="x-slow", pitch="x-high", volume="x-loud")
    assert slow.stretch > 1.0 and slow.semitones > 0 and slow.gain_db > 0
    fast = VoiceParams.parse(rate="x-fast", pitch="x-low", volume="x-soft")
    assert fast.stretch < 1.0 and fast.semitones < 0 and fast.gain_db < 0
    assert VoiceParams.parse(volume="silent").gain_db is None
    # ordered scales: each step moves the same way
    assert list(RATES.values()) == sorted(RATES.values(), reverse=True)
    assert list(PITCHES.values()) == sorted(PITCHES.values())
    assert [v for v in VOLUMES.values() if v is not None] == sorted(
        v for v in VOLUMES.values() if v is not None
    )


def test_spec_spacing_and_case_are_tolerated() -> None:
    v = VoiceParams.parse(rate="X- Slow", pitch="x-High", volume="X-LOUD", tts_engine_type="Neural")
    assert (v.rate, v.pitch, v.volume, v.engine_type) == ("x-slow", "x-high", "x-loud", "neural")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rate", "fastest"),
        ("pitch", "shrill"),
        ("volume", "11"),
        ("tts_engine_type", "generative"),
    ],
)
def test_bad_prosody_values_name_the_field(field: str, value: str) -> None:
    with pytest.raises(TtsError, match=f"invalid {field} '{value}'; allowed:"):
        VoiceParams.parse(**{field: value})


def test_empty_values_mean_default() -> None:
    assert VoiceParams.parse(voice="", rate="", pitch=None) == VoiceParams()


def test_from_request_picks_voice_fields() -> None:
    body = {"voice": "Matthew", "rate": "slow", "text": "ignored", "language_code": "en-GB"}
    v = VoiceParams.from_request(body)
    assert (v.voice, v.rate, v.language_code) == ("Matthew", "slow", "en-GB")
    with pytest.raises(TtsError, match="rate must be a string"):
        VoiceParams.from_request({"rate": 3})


def test_cache_key_distinguishes_every_field() -> None:
    base = VoiceParams()
    variants = [
        VoiceParams.parse(voice="Kendra"),
        VoiceParams.parse(rate="slow"),
        VoiceParams.parse(pitch="low"),
        VoiceParams.parse(volume="soft"),
        VoiceParams.parse(language_code="en-GB"),
        VoiceParams.parse(tts_engine_type="neural"),
    ]
    keys = {base.cache_key()} | {v.cache_key() for v in variants}
    assert len(keys) == 1 + len(variants)
    assert hash(base) == hash(VoiceParams.parse())


@given(st.text(max_size=20))
def test_parse_only_raises_tts_error(text: str) -> None:
    for field in ("voice", "rate", "pitch", "volume", "language_code", "tts_engine_type"):
        try:
            v = VoiceParams.parse(**{field: text})
        except TtsError:
            continue
        assert v.voice in POLLY_VOICES and v.rate in RATES and v.volume in VOLUMES
