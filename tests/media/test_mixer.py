import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from media.mixer import Mixer
from media.pcm import FRAME


def const(value: int) -> np.ndarray:
    return np.full(FRAME, value, dtype=np.int16)


def heard(out: dict, party) -> int:
    frame = out[party]
    assert frame.dtype == np.int16 and frame.shape == (FRAME,)
    assert (frame == frame[0]).all()
    return int(frame[0])


def test_two_party_each_hears_the_other() -> None:
    mixer = Mixer()
    mixer.add("a")
    mixer.add("b")
    out = mixer.mix({"a": const(100), "b": const(-7)})
    assert heard(out, "a") == -7 and heard(out, "b") == 100


def test_conference_everyone_but_self() -> None:
    mixer = Mixer()
    for p in "abcd":
        mixer.add(p)
    out = mixer.mix({"a": const(1), "b": const(10), "c": const(100), "d": const(1000)})
    assert {p: heard(out, p) for p in "abcd"} == {"a": 1110, "b": 1101, "c": 1011, "d": 111}


def test_missing_or_none_input_is_silence_and_unknown_keys_ignored() -> None:
    mixer = Mixer()
    for p in "abc":
        mixer.add(p)
    out = mixer.mix({"a": const(5), "b": None, "zz": const(999)})
    assert set(out) == {"a", "b", "c"}
    assert heard(out, "a") == 0 and heard(out, "b") == 5 and heard(out, "c") == 5


def test_clipping_saturates_instead_of_wrapping() -> None:
    mixer = Mixer()
    for p in "abcd":
        mixer.add(p)
    loud = {"a": const(30000), "b": const(30000), "c": const(-30000), "d": const(-30000)}
    out = mixer.mix({"a": loud["a"], "b": loud["b"], "c": const(30000), "d": const(0)})
    assert heard(out, "d") == 32767  # 90000 saturated
    out = mixer.mix({"c": loud["c"], "d": loud["d"], "a": const(-30000)})
    assert heard(out, "b") == -32768


def test_muted_party_listens_only() -> None:
    mixer = Mixer()
    mixer.add("agent")
    mixer.add("customer")
    mixer.add("supervisor", muted=True)
    out = mixer.mix({"agent": const(1), "customer": const(10), "supervisor": const(100)})
    assert heard(out, "agent") == 10 and heard(out, "customer") == 1
    assert heard(out, "supervisor") == 11


def test_whisper_reaches_only_its_target() -> None:
    mixer = Mixer()
    mixer.add("agent")
    mixer.add("customer")
    mixer.add("supervisor", talk_to={"agent"})
    out = mixer.mix({"agent": const(1), "customer": const(10), "supervisor": const(100)})
    assert heard(out, "agent") == 110
    assert heard(out, "customer") == 1
    assert heard(out, "supervisor") == 11
    assert mixer.hears("agent", "supervisor") and not mixer.hears("customer", "supervisor")


def test_update_and_remove() -> None:
    mixer = Mixer()
    for p in "abc":
        mixer.add(p)
    frames = {"a": const(1), "b": const(10), "c": const(100)}
    mixer.update("c", muted=True)
    assert heard(mixer.mix(frames), "a") == 10
    mixer.update("c", muted=False, talk_to={"b"})
    out = mixer.mix(frames)
    assert heard(out, "a") == 10 and heard(out, "b") == 101
    mixer.update("c", talk_to=None)  # back to everyone; muted unchanged
    assert heard(mixer.mix(frames), "a") == 110
    mixer.update("c", muted=True)
    mixer.update("c")  # nothing given: nothing changes
    assert heard(mixer.mix(frames), "a") == 10
    mixer.remove("b")
    mixer.remove("nobody")
    out = mixer.mix(frames)
    assert set(out) == {"a", "c"} and heard(out, "c") == 1 and heard(out, "a") == 0
    with pytest.raises(KeyError):
        mixer.update("b", muted=True)


def test_talk_to_self_or_stranger_is_ignored() -> None:
    mixer = Mixer()
    mixer.add("a", talk_to={"a", "ghost"})
    mixer.add("b")
    out = mixer.mix({"a": const(3), "b": const(4)})
    assert heard(out, "a") == 4 and heard(out, "b") == 0


def test_empty_and_single_party() -> None:
    mixer = Mixer()
    assert mixer.mix({}) == {}
    mixer.add("alone")
    assert heard(mixer.mix({"alone": const(500)}), "alone") == 0


def test_wrong_frame_length_is_an_error() -> None:
    mixer = Mixer()
    for p in "abc":
        mixer.add(p)
    with pytest.raises(ValueError):
        mixer.mix({"a": np.zeros(80, np.int16)})
    two = Mixer()
    two.add("a")
    two.add("b")
    with pytest.raises(ValueError):
        two.mix({"a": np.zeros(80, np.int16)})


def test_real_signals_mix_exactly() -> None:
    rng = np.random.default_rng(3)
    frames = {p: (rng.standard_normal(FRAME) * 2000).astype(np.int16) for p in range(6)}
    mixer = Mixer()
    for p in frames:
        mixer.add(p)
    out = mixer.mix(frames)
    total = sum(f.astype(np.int32) for f in frames.values())
    for p, f in frames.items():
        assert np.array_equal(out[p], (total - f).astype(np.int16))


frames6 = hnp.arrays(np.int16, (6, FRAME), elements=st.integers(-32768, 32767))


@settings(max_examples=60, deadline=None)
@given(
    frames6,
    st.lists(st.booleans(), min_size=6, max_size=6),
    st.lists(st.one_of(st.none(), st.sets(st.integers(0, 5))), min_size=6, max_size=6),
)
def test_matches_reference_model(x: np.ndarray, muted: list[bool], talk_to: list) -> None:
    mixer = Mixer()
    for p in range(6):
        mixer.add(p, muted=muted[p], talk_to=talk_to[p])
    out = mixer.mix({p: x[p] for p in range(6)})
    for listener in range(6):
        expected = np.zeros(FRAME, np.int64)
        for speaker in range(6):
            if speaker == listener or muted[speaker]:
                continue
            if talk_to[speaker] is None or listener in talk_to[speaker]:
                expected += x[speaker]
        assert np.array_equal(out[listener], np.clip(expected, -32768, 32767).astype(np.int16))


def test_mix_into_matches_mix_with_mute_whisper_and_a_common_tone() -> None:
    rng = np.random.default_rng(5)
    mixer = Mixer()
    for party in "abcd":
        mixer.add(party)
    mixer.update("b", muted=True)
    mixer.update("d", talk_to={"a"})
    frames = {p: rng.integers(-12000, 12000, FRAME).astype(np.int16) for p in "abcd"}
    expected = mixer.mix(frames)
    said = np.stack([frames[p] for p in mixer.parties]).astype(np.int32)
    heard_rows = np.empty((4, FRAME), dtype=np.int16)
    everyone = np.empty(FRAME, dtype=np.int16)
    mixer.mix_into(said, heard_rows, everyone=everyone)
    for i, party in enumerate(mixer.parties):
        assert (heard_rows[i] == expected[party]).all()
    public = frames["a"].astype(np.int32) + frames["c"]
    assert (everyone == np.clip(public, -32768, 32767)).all()

    tone = const(1000)
    said = np.stack([frames[p] for p in mixer.parties]).astype(np.int32)
    mixer.mix_into(said, heard_rows, common=tone)
    for i, party in enumerate(mixer.parties):
        want = np.clip(expected[party].astype(np.int32) + 1000, -32768, 32767)
        # saturation happens once, after the tone: compare where nothing clipped
        fine = np.abs(expected[party].astype(np.int32)) < 30000
        assert (heard_rows[i][fine] == want[fine]).all()


def test_mix_into_refuses_a_matrix_of_the_wrong_shape() -> None:
    mixer = Mixer()
    mixer.add("a")
    mixer.add("b")
    with pytest.raises(ValueError):
        mixer.mix_into(np.zeros((3, FRAME), np.int32), np.zeros((3, FRAME), np.int16))


def test_mix_into_allocates_no_frame_buffers_per_tick() -> None:
    import tracemalloc

    mixer = Mixer()
    for party in range(10):
        mixer.add(party)
    mixer.update(3, muted=True)
    said = np.ones((10, FRAME), dtype=np.int32)
    heard_rows = np.empty((10, FRAME), dtype=np.int16)
    everyone = np.empty(FRAME, dtype=np.int16)
    tone = const(100).astype(np.int32)
    mixer.mix_into(said, heard_rows, common=tone, everyone=everyone)  # the plan is built once
    tracemalloc.start()
    try:
        for _ in range(50):
            mixer.mix_into(said, heard_rows, common=tone, everyone=everyone)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # one 10-party int32 temporary alone would be 6,400 bytes (mix() makes several);
    # what is left is numpy's reduction iterator, a few hundred bytes
    assert peak < 1500, peak
