"""The listen step's recognizer on the generated corpus (tools/bench/listen_corpus.py):
64 choice answers by eight flite and espeak-ng voices and rates, through PCMU or PCMA,
a third with line noise, fed through the listener's VAD and streaming path."""

from __future__ import annotations

from media.recognizer import PocketsphinxRecognizer
from tools.bench.listen_corpus import (
    CHOICES,
    SURVEY,
    accuracy,
    choices,
    confusion,
    corpus,
    recognize,
)


def test_choice_accuracy_is_at_least_95_percent() -> None:
    utterances = [u for u in corpus() if u.truth in CHOICES]
    assert len(utterances) >= 60
    assert {u.codec for u in utterances} == {"PCMU", "PCMA"}
    assert any(u.noisy for u in utterances) and len({u.voice for u in utterances}) >= 6
    engine = PocketsphinxRecognizer()
    engine.prepare(SURVEY)
    outcomes = [recognize(u, engine) for u in utterances]
    assert accuracy(choices(outcomes)) >= 0.95, confusion(outcomes)
