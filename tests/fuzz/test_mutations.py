"""The fuzzer's mutators: seeded (the same seed, the same messages), total (any input,
even empty, gives bytes), and they do damage."""

from __future__ import annotations

import itertools
import random

import pytest

from tests.fuzz.mutations import MUTATORS, mutated
from tests.sip.rfc4475 import CASES

SEEDS = [case.data for case in CASES]


def test_the_same_seed_gives_the_same_messages() -> None:
    one = list(itertools.islice(mutated(SEEDS, random.Random(7)), 500))
    two = list(itertools.islice(mutated(SEEDS, random.Random(7)), 500))
    other = list(itertools.islice(mutated(SEEDS, random.Random(8)), 500))
    assert one == two != other


@pytest.mark.parametrize("mutator", sorted(set(MUTATORS), key=lambda m: m.__name__))
def test_every_mutator_takes_any_input_and_damages(mutator) -> None:
    rng = random.Random(1)
    for data in (b"", b"x", b"\r\n", SEEDS[0]):
        assert isinstance(mutator(data, rng), bytes)
    changed = sum(mutator(SEEDS[0], rng) != SEEDS[0] for _ in range(50))
    assert changed >= 25
