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

import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol, cast, runtime_checkable

import numpy as np

from media.asr import MODEL_RATE, SphinxDecoder, flat_unigram_arpa
from media.expectations import Expectations
from media.pcm import RATE, Samples
from media.plugins import load_engine
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
# Where the decoder's cepstral mean normalization starts: the mean pocketsphinx settles
# on for G.711 speech upsampled to 16 kHz (get_cmn() after a few utterances). Its
# default (40,3,-1) is for wideband audio: a fresh decoder then misheard the first
# answer's ending ("four two two" for "four two seven") until it had adapted.
TELEPHONE_CMN = "45,20,-23,55,-25,15,-2,-18,6,-17,16,-3,2"


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

    def finish(self, confidence: bool = True) -> Hypothesis:
        """The utterance ended: the best hypothesis. The stream is done after this.
        ``confidence``: measure it (it may cost a second decode); else an answer is 1."""
        ...

    def cancel(self) -> None:
        """Drop the utterance (the caller pressed a key, hung up)."""
        ...


@runtime_checkable
class Recognizer(Protocol):
    # where prepare() and the streams' work run (None: the event loop's default executor)
    executor: Executor | None

    def unknown_words(self, words: Iterable[str]) -> list[str]:
        """The words this engine cannot recognize (checked when a flow is saved)."""
        ...

    def prepare(self, expect: Expectations) -> None:
        """Get ready for streams of ``expect`` (called in an executor before a call)."""
        ...

    def stream(self, expect: Expectations, confidence: bool = True) -> RecognitionStream:
        """A stream for one answer. ``confidence``: its finish will ask for one (the
        step has a threshold), so an engine can work on it while the caller speaks."""
        ...


@cache
def _lexicon() -> dict[str, list[str]]:
    """pocketsphinx's bundled en-US dictionary: word -> its dictionary lines (alternate
    pronunciations too). Read once per process (~0.3 s): a general decoder would give
    the same, but loading one holds the GIL long enough to stall the media clock."""
    from pocketsphinx import Config

    path = Path(str(Config()["dict"]))  # where the bundled model's dictionary is
    lexicon: dict[str, list[str]] = {}
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            entry = line.strip()
            word = entry.split(" ", 1)[0].split("(", 1)[0]
            if word:
                lexicon.setdefault(word, []).append(entry)
    return lexicon


def dictionary_words() -> frozenset[str]:
    """Every word the bundled dictionary knows (what a listen step may expect)."""
    return frozenset(_lexicon())


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

    def prepare(self) -> None:
        """One idle decoder of each kind, if none is."""
        for grammar in (True, False):
            with self._lock:
                idle = bool(self._idle[grammar])
            if not idle:
                self.give(grammar, self._make[grammar]())

    def give(self, grammar: bool, decoder: SphinxDecoder) -> None:
        if "nan" in decoder.get_cmn():  # adapted to digital silence: start afresh
            decoder.set_cmn(TELEPHONE_CMN)
        with self._lock:
            self._idle[grammar].append(decoder)


class PocketsphinxRecognizer:
    def __init__(self, **decoder_config: object) -> None:
        self._config = {"loglevel": "FATAL", "cmninit": TELEPHONE_CMN, **decoder_config}
        self._pools: OrderedDict[Expectations, _Pool] = OrderedDict()
        self._lock = threading.Lock()
        # pocketsphinx holds the GIL while it decodes: one thread for all streams leaves
        # the media clock one thread to wait for instead of one per call, and more
        # threads would not decode more on CPython anyway
        self.executor: Executor | None = ThreadPoolExecutor(1, thread_name_prefix="listen")

    def unknown_words(self, words: Iterable[str]) -> list[str]:
        known = _lexicon()
        return sorted({w for w in words if w not in known})

    def prepare(self, expect: Expectations) -> None:
        """Make the question's decoders now (in an executor, before the call) so the
        caller's first words are not held up by it."""
        self._pool(expect).prepare()

    def stream(self, expect: Expectations, confidence: bool = True) -> _PocketsphinxStream:
        """Cheap, on the event loop: decoders not made by ``prepare`` are made on the
        first ``feed``, in the executor."""
        return _PocketsphinxStream(lambda: self._pool(expect), expect, confidence)

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
            lexicon = _lexicon()
            dictionary = "\n".join(line for w in words for line in lexicon[w]) + "\n"
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
                # the grammar's words come from the forward search: the lattice's best
                # path lost the ends of synthetic and noisy answers (choices 89% -> 98%
                # on tools/bench/listen_corpus.py); the confidence comes from the second pass
                files["bestpath"] = False  # type: ignore[assignment]
            else:
                (folder / "words.arpa").write_text(lm)
                files["lm"] = str(folder / "words.arpa")
                # the free pass only checks the grammar's answer: its tree search alone
                # costs a fifth less CPU and took the p99 at 50 calls with a threshold
                # from 0.47-0.54 s to 0.12-0.13 s (tools/bench/listen_load.py); the
                # flat-lexicon rescoring pass changed no answer at threshold 0 and turned
                # away one more right answer of 64 at 0.5 (tools/bench/listen_corpus.py)
                files["fwdflat"] = False  # type: ignore[assignment]
            return cast(SphinxDecoder, Decoder(**{**self._config, **files}))


class _PocketsphinxStream:
    """One utterance: upsampled and fed to a grammar decoder as it comes. When a
    confidence will be wanted, also to the free decoder of the second pass: decoding it
    only at the end made every answer with a threshold wait for a decode of the whole
    utterance, and at 50 calls on one worker those queued (p99 0.7 s against 0.1 s)."""

    def __init__(self, pool: Callable[[], _Pool], expect: Expectations, confidence: bool) -> None:
        self._get_pool = pool
        self._expect = expect
        self._confidence = confidence
        self._pool: _Pool | None = None
        self._decoder: SphinxDecoder | None = None
        self._second: SphinxDecoder | None = None  # the free decoder, streamed alongside
        self._tail = np.zeros(0, dtype=np.int16)  # input the resampler still needs
        # 16 kHz audio fed so far, kept for a second pass at the end only when none was
        # streamed (a stream made without confidence whose finish asks for one)
        self._parts: list[Samples] = []
        self._samples = 0  # 8 kHz samples fed

    def feed(self, samples: Samples) -> None:
        if self._decoder is None:
            self._pool = self._pool or self._get_pool()
            self._decoder = self._pool.take(True)
            self._decoder.start_utt()
            if self._confidence:
                self._second = self._pool.take(False)
                self._second.start_utt()
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
        if not len(audio):
            return  # pocketsphinx refuses an empty buffer
        data = audio.tobytes()
        self._decoder.process_raw(data)
        if self._second is not None:
            self._second.process_raw(data)
        else:
            self._parts.append(audio)

    def finish(self, confidence: bool = True) -> Hypothesis:
        seconds = self._samples / RATE
        if self._decoder is None or self._pool is None:
            return Hypothesis("", 0.0, seconds)
        if len(self._tail):
            self._process(resample(self._tail, RATE, MODEL_RATE)[2 * _HALF :])
        self._process(_PAD)
        decoder, self._decoder = self._decoder, None
        second, self._second = self._second, None
        try:
            decoder.end_utt()
            text, _ = _best(decoder)
        finally:
            self._pool.give(True, decoder)
        if text and not confidence:  # no threshold to meet: half the CPU, sooner
            self._parts = []
            if second is not None:
                second.end_utt()
                self._pool.give(False, second)
            return Hypothesis(text, 1.0, seconds)
        free, posterior = self._free_decode(second)
        if not text:
            return Hypothesis(free, posterior, seconds)
        meaning = self._expect.interpret(text)
        if meaning is not None and meaning == self._expect.interpret(free):
            return Hypothesis(text, 1.0, seconds)  # "no thanks" and "nope" agree
        return Hypothesis(text, _agreement(text, free), seconds)

    def _free_decode(self, second: SphinxDecoder | None) -> tuple[str, float]:
        """The same audio decoded with the words alone, free of the grammar (streamed
        alongside, or now from the kept audio): where the grammar reached no end state
        its words are the answer (media.expectations reads them loosely); else the
        confidence is whether the free decode means the same, or how much of the
        grammar's words it heard too (music forced into "nine nine two" is heard as
        other words, a clear "talk to an agent" as the same)."""
        assert self._pool is not None
        if second is None:  # none streamed: the audio kept, decoded now
            second = self._pool.take(False)
            second.start_utt()
            for part in self._parts:  # in the pieces fed: the GIL is let go between
                second.process_raw(part.tobytes())
        self._parts = []
        try:
            second.end_utt()
            return _best(second)
        finally:
            self._pool.give(False, second)

    def cancel(self) -> None:
        if self._decoder is not None and self._pool is not None:
            decoder, self._decoder = self._decoder, None
            decoder.end_utt()
            self._pool.give(True, decoder)
        if self._second is not None and self._pool is not None:
            second, self._second = self._second, None
            second.end_utt()
            self._pool.give(False, second)
        self._parts = []


def _agreement(text: str, free: str) -> float:
    """Share of ``text``'s letters in words the free decode heard too."""
    heard = set(free.split())
    words = text.split()
    total = sum(len(w) for w in words)
    return sum(len(w) for w in words if w in heard) / total if total else 0.0


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


def recognizer(name: str = "pocketsphinx", workers: int = 0) -> Recognizer:
    """A recognizer by name: a built-in one, or 'package.module:Class'. ``workers`` > 0:
    it decodes in that many worker processes (media.recognizer_workers), out of this
    process's GIL; 0: in an executor thread of this process."""
    if workers:
        from media.recognizer_workers import WorkerRecognizer

        return WorkerRecognizer(name, workers, recognizer(name))
    return load_engine(
        name,
        BUILTIN,
        Recognizer,  # type: ignore[type-abstract]  # a Protocol: checked with isinstance
        kind="recognizer",
        methods="unknown_words(words) and stream(expect) methods",
        error=RecognizerError,
    )
