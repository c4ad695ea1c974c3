"""Speech to text, offline, off the media path (transcripts after a call, tests).

``transcriber(name)`` returns an engine by name; ``"pocketsphinx"`` is built in
(its PyPI package ships an en-US model), and ``"package.module:Class"`` loads
any other class with the same ``transcribe`` method, so a better recognizer can
be configured without touching this module.

Calls are synchronous and CPU-bound: callers run them in an executor. The
pocketsphinx model wants 16 kHz, so telephone audio is upsampled first (the
band above 4 kHz stays empty; recognition still works). ``words=`` restricts
recognition to a vocabulary through a flat unigram language model, which in
measurements here recognizes synthetic voices after G.711 far better than a
JSGF word loop or the general model. Each vocabulary gets a decoder of its own
whose dictionary holds just its words: adding the model to the general decoder
took 10-15 s (its search is built over the whole 130,000-word dictionary), a
small decoder takes 40 ms.
"""

from __future__ import annotations

import math
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, cast, runtime_checkable

import numpy as np

from media.pcm import RATE, Samples
from media.plugins import load_engine
from media.prompt import resample

__all__ = [
    "AsrError",
    "PocketsphinxTranscriber",
    "SphinxDecoder",
    "Transcriber",
    "flat_unigram_arpa",
    "pronunciations",
    "transcriber",
]

MODEL_RATE = 16000
_PAD_S = 0.3  # silence around the audio: the decoder needs some to settle
_SEGMENT_OVER_S = 20.0  # longer audio is split at pauses and decoded per utterance
_SILENT_PEAK = 100  # ~ -50 dBFS: below this nothing was said (the decoder
# would still hallucinate a word from digital silence)
_VOCABULARIES = 8  # decoders kept for restricted vocabularies (each holds the acoustic model)


class AsrError(ValueError):
    """Bad transcription request (unknown engine, words outside the dictionary)."""


class SphinxHypothesis(Protocol):
    hypstr: str


class SphinxDecoder(Protocol):
    """The part of pocketsphinx.Decoder used here (the package ships no type hints)."""

    config: object
    logmath: object

    def lookup_word(self, word: str) -> str | None: ...
    def start_utt(self) -> None: ...
    def process_raw(self, data: bytes, no_search: bool = ..., full_utt: bool = ...) -> int: ...
    def get_cmn(self) -> str: ...
    def set_cmn(self, cmn: str) -> None: ...
    def end_utt(self) -> None: ...
    def hyp(self) -> SphinxHypothesis | None: ...


@runtime_checkable
class Transcriber(Protocol):
    def transcribe(
        self, samples: Samples, rate: int = RATE, words: Sequence[str] | None = None
    ) -> str:
        """Lower-case words separated by single spaces ('' for no speech)."""
        ...


class PocketsphinxTranscriber:
    def __init__(self, **decoder_config: object) -> None:
        """`decoder_config`: pocketsphinx Config keys (hmm=, dict=, lm=, ...)."""
        self._config = {"loglevel": "FATAL", **decoder_config}
        self._decoder: SphinxDecoder | None = None
        self._vocabularies: OrderedDict[frozenset[str], SphinxDecoder] = OrderedDict()
        # A decoder is not reentrant and loading the model takes a while: one per
        # transcriber (and vocabulary), used by one executor thread at a time.
        self._lock = threading.Lock()

    def transcribe(
        self, samples: Samples, rate: int = RATE, words: Sequence[str] | None = None
    ) -> str:
        audio = np.asarray(samples, dtype=np.int16)
        if audio.ndim != 1:
            raise AsrError("transcribe wants mono samples")
        silent = not len(audio) or int(np.abs(audio.astype(np.int32)).max()) < _SILENT_PEAK
        if rate != MODEL_RATE and not silent:
            audio = resample(audio, rate, MODEL_RATE)
        with self._lock:
            decoder = self._vocabulary_decoder(words) if words else self._get_decoder()
            if silent:
                return ""
            if len(audio) > _SEGMENT_OVER_S * MODEL_RATE:
                texts = [self._decode(decoder, chunk) for chunk in _utterances(audio)]
            else:
                texts = [self._decode(decoder, audio)]
        return " ".join(t for t in texts if t)

    # ---------------------------------------------------------------- internals

    def _get_decoder(self) -> SphinxDecoder:
        if self._decoder is None:
            from pocketsphinx import Decoder

            decoder: SphinxDecoder = Decoder(**self._config)
            self._decoder = decoder
        return self._decoder

    def _vocabulary_decoder(self, words: Sequence[str]) -> SphinxDecoder:
        vocabulary = frozenset(w.lower() for phrase in words for w in phrase.split())
        decoder = self._vocabularies.get(vocabulary)
        if decoder is not None:
            self._vocabularies.move_to_end(vocabulary)
            return decoder
        general = self._get_decoder()
        unknown = sorted(w for w in vocabulary if general.lookup_word(w) is None)
        if unknown or not vocabulary:
            raise AsrError(
                f"words not in the recognizer's dictionary: {', '.join(unknown) or '(none given)'}"
            )
        from pocketsphinx import Decoder

        # the decoder reads its dictionary and model when made: the files can go after
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "words.dict").write_text(pronunciations(general, sorted(vocabulary)))
            (folder / "words.arpa").write_text(flat_unigram_arpa(sorted(vocabulary)))
            files = {"dict": str(folder / "words.dict"), "lm": str(folder / "words.arpa")}
            decoder = cast(SphinxDecoder, Decoder(**{**self._config, **files}))
        self._vocabularies[vocabulary] = decoder
        if len(self._vocabularies) > _VOCABULARIES:
            self._vocabularies.popitem(last=False)
        return decoder

    @staticmethod
    def _decode(decoder: SphinxDecoder, audio: Samples) -> str:
        pad = np.zeros(int(_PAD_S * MODEL_RATE), dtype=np.int16)
        decoder.start_utt()
        decoder.process_raw(np.concatenate([pad, audio, pad]).tobytes(), full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        return " ".join(hyp.hypstr.split()) if hyp is not None else ""


def pronunciations(general: SphinxDecoder, words: Sequence[str]) -> str:
    """The pronunciations of `words` (alternates too: "word(2)") in CMU dict format."""
    lines = []
    for word in words:
        variant, n = word, 1
        while (phones := general.lookup_word(variant)) is not None:
            lines.append(f"{variant} {phones}")
            n += 1
            variant = f"{word}({n})"
    return "\n".join(lines) + "\n"


def flat_unigram_arpa(words: Sequence[str]) -> str:
    """An ARPA model where every word (and the sentence end) is equally likely."""
    logp = math.log10(1.0 / (len(words) + 1))
    lines = [
        "\\data\\",
        f"ngram 1={len(words) + 2}",
        "",
        "\\1-grams:",
        f"{logp:.4f} </s>",
        "-99.0000 <s>",
    ]
    lines += [f"{logp:.4f} {w}" for w in words]
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)


def _utterances(audio: Samples) -> list[Samples]:
    """Split long audio at pauses (pocketsphinx's VAD) into utterances."""
    from pocketsphinx import Segmenter

    segmenter = Segmenter(sample_rate=MODEL_RATE)
    frame = segmenter.frame_bytes // 2
    if len(audio) % frame == 0:
        # the segmenter flushes its last utterance only on a short final frame
        audio = np.concatenate([audio, np.zeros(1, dtype=np.int16)])
    margin = int(_PAD_S * MODEL_RATE)
    chunks: list[Samples] = []
    for seg in segmenter.segment(_Reader(audio.tobytes())):
        # the VAD decides late that speech started: keep some audio either side
        start = max(0, int(seg.start_time * MODEL_RATE) - margin)
        end = min(len(audio), int(seg.end_time * MODEL_RATE) + margin)
        chunks.append(audio[start:end])
    return chunks


class _Reader:
    """The file-like `read(n)` the Segmenter pulls raw PCM from."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0

    def read(self, n: int) -> bytes:
        chunk = self._data[self._pos : self._pos + n].tobytes()
        self._pos += len(chunk)
        return chunk


BUILTIN: dict[str, Callable[[], Transcriber]] = {"pocketsphinx": PocketsphinxTranscriber}


def transcriber(name: str = "pocketsphinx") -> Transcriber:
    """A transcriber by name: a built-in one, or 'package.module:Class'."""
    return load_engine(
        name,
        BUILTIN,
        Transcriber,  # type: ignore[type-abstract]  # a Protocol: checked with isinstance
        kind="transcriber",
        methods="transcribe(samples, rate, words) method",
        error=AsrError,
    )
