"""Streaming speech recognition restricted to what a question expects (the listen step).

``recognizer(name)`` returns an engine by name, like ``media.asr.transcriber``:
``"pocketsphinx"`` is built in, ``"package.module:Class"`` loads any class with the
same ``unknown_words``/``stream`` methods. A stream is fed 8 kHz audio while the caller
speaks and ``finish()``es with the best hypothesis; every call is synchronous and
CPU-bound, made from an executor thread (media.listener), one at a time per stream.

pocketsphinx: each set of expectations (choice phrases, spoken digits, a number) gets
a JSGF grammar of exactly those phrases, searched while the caller speaks (about a
third of the CPU of a language model over the same words, and it cannot string
unrelated words together). Synthetic and noisy voices sometimes reach no end state of
the grammar; then the utterance, kept while streaming, is decoded again against a flat
unigram model of the same words (media.asr's restricted vocabulary) and the words are
matched to the choices afterwards (media.expectations). Decoders are pooled per set of
expectations: a decoder serves one utterance at a time, and a pool grows to as many
utterances as are decoded at once (a small decoder is ~6 MB and 10 ms to make).
"""

from __future__ import annotations

import importlib
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol, cast, runtime_checkable

import numpy as np

from media.asr import MODEL_RATE, SphinxDecoder, flat_unigram_arpa, pronunciations
from media.expectations import Expectations
from media.pcm import RATE, Samples
from media.prompt import resample

__all__ = [
    "Hypothesis",
    "PocketsphinxRecognizer",
    "RecognitionStream",
    "Recognizer",
    "RecognizerError",
    "dictionary_words",
    "recognizer",
]

_POOLS = 16  # sets of expectations whose decoders are kept
_PAD = np.zeros(int(0.2 * MODEL_RATE), dtype=np.int16)  # the decoder settles on silence
_HALF = 16  # input samples either side the resampling kernel reads (media.prompt)


class RecognizerError(ValueError):
    """Unknown engine or words the engine cannot recognize."""


@dataclass(frozen=True, slots=True)
class Hypothesis:
    text: str  # lower-case words, '' for nothing recognized
    confidence: float  # 0..1, the engine's posterior for the words
    audio_seconds: float  # audio the engine processed for it


@runtime_checkable
class RecognitionStream(Protocol):
    def feed(self, samples: Samples) -> None:
        """More of the utterance (8 kHz int16)."""
        ...

    def finish(self) -> Hypothesis:
        """The utterance ended: the best hypothesis. The stream is done after this."""
        ...

    def cancel(self) -> None:
        """Drop the utterance (the caller pressed a key, hung up)."""
        ...


@runtime_checkable
class Recognizer(Protocol):
    def unknown_words(self, words: Iterable[str]) -> list[str]:
        """The words this engine cannot recognize (checked when a flow is saved)."""
        ...

    def stream(self, expect: Expectations) -> RecognitionStream: ...


@cache
def dictionary_words() -> frozenset[str]:
    """Every word of pocketsphinx's bundled en-US dictionary (read once, ~0.2 s)."""
    from pocketsphinx import Config

    path = Path(str(Config()["dict"]))  # where the bundled model's dictionary is
    words = set()
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            word = line.split(" ", 1)[0]
            if "(" not in word:
                words.add(word)
    return frozenset(words)


class _Pool:
    """Idle decoders for one set of expectations: a grammar one per utterance streaming,
    and a unigram one for the second pass."""

    def __init__(
        self, make_grammar: Callable[[], SphinxDecoder], make_unigram: Callable[[], SphinxDecoder]
    ) -> None:
        self._make = {True: make_grammar, False: make_unigram}
        self._idle: dict[bool, list[SphinxDecoder]] = {True: [], False: []}
        self._lock = threading.Lock()

    def take(self, grammar: bool) -> SphinxDecoder:
        with self._lock:
            if self._idle[grammar]:
                return self._idle[grammar].pop()
        return self._make[grammar]()

    def give(self, grammar: bool, decoder: SphinxDecoder) -> None:
        with self._lock:
            self._idle[grammar].append(decoder)


class PocketsphinxRecognizer:
    def __init__(self, **decoder_config: object) -> None:
        self._config = {"loglevel": "FATAL", **decoder_config}
        self._pools: OrderedDict[Expectations, _Pool] = OrderedDict()
        self._lock = threading.Lock()
        self._general: SphinxDecoder | None = None  # pronunciations come from its dictionary

    def unknown_words(self, words: Iterable[str]) -> list[str]:
        known = dictionary_words()
        return sorted({w for w in words if w not in known})

    def stream(self, expect: Expectations) -> _PocketsphinxStream:
        return _PocketsphinxStream(self._pool(expect))

    def _pool(self, expect: Expectations) -> _Pool:
        with self._lock:
            pool = self._pools.get(expect)
            if pool is not None:
                self._pools.move_to_end(expect)
                return pool
            words = sorted(expect.words())
            unknown = self.unknown_words(words)
            if unknown or not words:
                raise RecognizerError(
                    "words not in the recognizer's dictionary: " + (", ".join(unknown) or "(none)")
                )
            general = self._general_decoder()
            dictionary = pronunciations(general, words)
            grammar = expect.jsgf()
            arpa = flat_unigram_arpa(words)
            pool = _Pool(
                lambda: self._decoder(dictionary, jsgf=grammar),
                lambda: self._decoder(dictionary, lm=arpa),
            )
            self._pools[expect] = pool
            if len(self._pools) > _POOLS:
                self._pools.popitem(last=False)
            return pool

    def _general_decoder(self) -> SphinxDecoder:
        if self._general is None:
            from pocketsphinx import Decoder

            self._general = cast(SphinxDecoder, Decoder(**self._config))
        return self._general

    def _decoder(self, dictionary: str, *, jsgf: str = "", lm: str = "") -> SphinxDecoder:
        from pocketsphinx import Decoder

        # the decoder reads its files when made: they can go right after
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "words.dict").write_text(dictionary)
            files = {"dict": str(folder / "words.dict")}
            if jsgf:
                (folder / "answers.gram").write_text(jsgf)
                files["jsgf"] = str(folder / "answers.gram")
            else:
                (folder / "words.arpa").write_text(lm)
                files["lm"] = str(folder / "words.arpa")
            return cast(SphinxDecoder, Decoder(**{**self._config, **files}))


class _PocketsphinxStream:
    """One utterance: upsampled and fed to a grammar decoder as it comes."""

    def __init__(self, pool: _Pool) -> None:
        self._pool = pool
        self._decoder: SphinxDecoder | None = None
        self._tail = np.zeros(0, dtype=np.int16)  # input the resampler still needs
        self._parts: list[Samples] = []  # 16 kHz audio fed so far, for a second pass
        self._samples = 0  # 8 kHz samples fed

    def feed(self, samples: Samples) -> None:
        if self._decoder is None:
            self._decoder = self._pool.take(True)
            self._decoder.start_utt()
            self._process(_PAD)
        self._samples += len(samples)
        first = not len(self._tail)
        buffer = np.concatenate([self._tail, samples])
        if len(buffer) <= 2 * _HALF:
            self._tail = buffer
            return
        up = resample(buffer, RATE, MODEL_RATE)
        # outputs within the kernel's reach of the buffer's edges are not final yet
        # (except at the utterance's start): they are made again from the kept tail
        start = 0 if first else 2 * _HALF
        end = 2 * (len(buffer) - _HALF)
        self._tail = buffer[-2 * _HALF :]
        self._process(up[start:end])

    def _process(self, audio: Samples) -> None:
        assert self._decoder is not None
        self._parts.append(audio)
        self._decoder.process_raw(audio.tobytes())

    def finish(self) -> Hypothesis:
        seconds = self._samples / RATE
        if self._decoder is None:
            return Hypothesis("", 0.0, seconds)
        if len(self._tail):
            self._process(resample(self._tail, RATE, MODEL_RATE)[2 * _HALF :])
        self._process(_PAD)
        decoder, self._decoder = self._decoder, None
        try:
            decoder.end_utt()
            text, confidence = _best(decoder)
        finally:
            self._pool.give(True, decoder)
        if not text:
            # no path reached the grammar's end: decode again with the words alone
            second = self._pool.take(False)
            try:
                second.start_utt()
                second.process_raw(np.concatenate(self._parts).tobytes(), full_utt=True)
                second.end_utt()
                text, confidence = _best(second)
            finally:
                self._pool.give(False, second)
        self._parts = []
        return Hypothesis(text, confidence, seconds)

    def cancel(self) -> None:
        if self._decoder is not None:
            decoder, self._decoder = self._decoder, None
            decoder.end_utt()
            self._pool.give(True, decoder)
        self._parts = []


def _best(decoder: SphinxDecoder) -> tuple[str, float]:
    hyp = decoder.hyp()
    if hyp is None:
        return "", 0.0
    # pocketsphinx 5 gives the path's posterior probability (already exponentiated); a
    # path of several words multiplies theirs, so the confidence is the per-word mean
    text = " ".join(hyp.hypstr.split())
    prob = max(0.0, min(1.0, float(cast(float, getattr(hyp, "prob", 0.0)))))
    return text, prob ** (1.0 / max(1, len(text.split())))


BUILTIN: dict[str, Callable[[], Recognizer]] = {"pocketsphinx": PocketsphinxRecognizer}


def recognizer(name: str = "pocketsphinx") -> Recognizer:
    """A recognizer by name: a built-in one, or 'package.module:Class'."""
    factory = BUILTIN.get(name)
    if factory is not None:
        return factory()
    module_name, _, attr = name.partition(":")
    if not attr:
        raise RecognizerError(
            f"unknown recognizer {name!r}; built-in: {', '.join(BUILTIN)}, "
            "or give 'package.module:Class'"
        )
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise RecognizerError(f"cannot load recognizer {name!r}: {exc}") from None
    instance = cls()
    if not isinstance(instance, Recognizer):
        raise RecognizerError(f"{name} has no unknown_words(words) and stream(expect) methods")
    return instance
