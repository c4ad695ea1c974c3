"""N-party audio mixing in numpy: each party hears everyone but itself.

A party is any hashable key (a channel, its name, ...). It may be *muted*
(listen-only: it hears the conference, nobody hears it) or speak only to
some parties (*talk_to*: a supervisor whispering to the agent is heard by the
agent alone). Everybody hears every other party that speaks to them.

The mix is computed for the whole conference at once: the frames are stacked
into one int32 matrix, the sum of the public speakers is formed once, and each
listener's mix is that sum minus its own voice plus the whispers addressed to
it. That is O(parties) vector work per tick instead of O(parties^2). Sums are
accumulated in int32 and saturated to int16, so loud conferences clip instead
of wrapping around into noise.

A muted party that sends nothing hears everyone: that is how a conference is
recorded (or monitored) as a whole.

`mix_into()` is the same mix for a caller that keeps the frames in its own
preallocated matrix (a conference room's media tick): nothing is allocated per
tick beyond numpy's row views.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from media.pcm import FRAME, INT16_MAX, INT16_MIN, Samples, saturate

__all__ = ["Mixer"]


class _Keep(Enum):
    """Marker for "argument not given" in update(): None is a meaningful talk_to."""

    KEEP = "keep"


_KEEP = _Keep.KEEP


@dataclass(slots=True)
class _Party:
    muted: bool
    talk_to: frozenset[Hashable] | None


@dataclass(slots=True)
class _Plan:
    """The conference rearranged for vector work; rebuilt when membership changes."""

    order: tuple[Hashable, ...]
    public: NDArray[np.bool_]  # (n,): heard by everyone else
    all_public: bool
    any_public: bool
    # (speaker index, listener index) for parties that talk only to some others
    whispers: tuple[tuple[int, int], ...]
    # When nobody hears more than one speaker (a two-party call, a listen-only
    # monitor) mixing is routing: (listener, speaker or None) pairs, no arithmetic.
    routes: tuple[tuple[Hashable, Hashable | None], ...] | None
    silent: tuple[int, ...]  # indices of the parties nobody hears publicly


class Mixer:
    """One conference. `mix()` once per tick with each party's frame (None = silence)."""

    __slots__ = ("frame", "_parties", "_plan", "_zeros", "_sum", "_acc")

    def __init__(self, frame: int = FRAME) -> None:
        self.frame = frame
        self._zeros = np.zeros(frame, dtype=np.int16)
        self._zeros.flags.writeable = False
        self._parties: dict[Hashable, _Party] = {}
        self._plan: _Plan | None = None
        self._sum = np.zeros(frame, dtype=np.int32)
        self._acc = np.zeros((0, frame), dtype=np.int32)

    def resize(self, frame: int) -> None:
        """Mix frames of `frame` samples from now on (a conference turning wideband when
        a 16 kHz party joins, or back); the parties and their settings stay."""
        if frame == self.frame:
            return
        self.frame = frame
        self._zeros = np.zeros(frame, dtype=np.int16)
        self._zeros.flags.writeable = False
        self._sum = np.zeros(frame, dtype=np.int32)
        self._acc = np.zeros((0, frame), dtype=np.int32)

    def add(
        self, party: Hashable, *, muted: bool = False, talk_to: Collection[Hashable] | None = None
    ) -> None:
        """Join (or rejoin with new settings). talk_to=None: heard by everyone;
        muted: listen-only; talk_to={agent}: only the agent hears this party."""
        self._parties[party] = _Party(muted, None if talk_to is None else frozenset(talk_to))
        self._plan = None

    def update(
        self,
        party: Hashable,
        *,
        muted: bool | None = None,
        talk_to: Collection[Hashable] | None | Literal[_Keep.KEEP] = _KEEP,
    ) -> None:
        """Change a party's settings; arguments not given keep their value. KeyError if absent."""
        current = self._parties[party]
        if muted is not None:
            current.muted = muted
        if talk_to is not _KEEP:
            current.talk_to = None if talk_to is None else frozenset(talk_to)
        self._plan = None

    def remove(self, party: Hashable) -> None:
        """Leave the conference (no error if not a member)."""
        if self._parties.pop(party, None) is not None:
            self._plan = None

    def __contains__(self, party: object) -> bool:
        return party in self._parties

    def __len__(self) -> int:
        return len(self._parties)

    @property
    def parties(self) -> tuple[Hashable, ...]:
        return tuple(self._parties)

    def hears(self, listener: Hashable, speaker: Hashable) -> bool:
        """Whether `listener` hears `speaker` in the mix."""
        if listener == speaker or listener not in self._parties:
            return False
        party = self._parties.get(speaker)
        if party is None or party.muted:
            return False
        return party.talk_to is None or listener in party.talk_to

    def _build(self) -> _Plan:
        order = tuple(self._parties)
        index = {p: i for i, p in enumerate(order)}
        public = np.zeros(len(order), dtype=bool)
        whispers: list[tuple[int, int]] = []
        for i, p in enumerate(order):
            party = self._parties[p]
            if party.muted:
                continue
            if party.talk_to is None:
                public[i] = True
                continue
            for listener in party.talk_to:
                j = index.get(listener)
                if j is not None and j != i:
                    whispers.append((i, j))
        sources: dict[Hashable, list[Hashable]] = {p: [] for p in order}
        for k in np.flatnonzero(public).tolist():
            for p in order:
                if p != order[k]:
                    sources[p].append(order[k])
        for i, j in whispers:
            sources[order[j]].append(order[i])
        routes = None
        if all(len(s) <= 1 for s in sources.values()):
            routes = tuple((p, s[0] if s else None) for p, s in sources.items())
        silent = tuple(np.flatnonzero(~public).tolist())
        plan = _Plan(
            order, public, bool(public.all()), bool(public.any()), tuple(whispers), routes, silent
        )
        self._plan = plan
        return plan

    def mix(self, inputs: Mapping[Hashable, Samples | None]) -> dict[Hashable, Samples]:
        """What each party hears this tick (int16 frames), from what each said.

        Parties missing from `inputs` or given None are silent; keys that are not
        members are ignored. Every member gets a frame, silence included. The
        frames returned may be the input arrays themselves or a shared read-only
        silence: treat them as read-only.
        """
        plan = self._plan or self._build()
        n = len(plan.order)
        if n == 0:
            return {}
        if plan.routes is not None:
            return self._route(plan.routes, inputs)
        x = np.zeros((n, self.frame), dtype=np.int32)
        get = inputs.get
        for i, p in enumerate(plan.order):
            frame = get(p)
            if frame is not None:
                if len(frame) != self.frame:
                    raise ValueError(
                        f"frame of party {p!r} has {len(frame)} samples, not {self.frame}"
                    )
                x[i] = frame
        if plan.all_public:
            out = np.add.reduce(x, axis=0) - x  # nobody hears themselves
        elif plan.any_public:
            public = plan.public
            out = np.add.reduce(x[public], axis=0)[None, :].repeat(n, axis=0)
            out[public] -= x[public]
        else:
            out = np.zeros_like(x)
        for speaker, listener in plan.whispers:
            out[listener] += x[speaker]
        mixed = saturate(out)
        return dict(zip(plan.order, mixed, strict=False))

    def mix_into(
        self,
        said: NDArray[np.int32],
        heard: NDArray[np.int16],
        *,
        common: NDArray[np.integer] | None = None,
        everyone: NDArray[np.int16] | None = None,
    ) -> None:
        """The mix in place: row i of ``said`` is what ``parties[i]`` said (zeros for
        silence), row i of ``heard`` receives what it hears. ``said`` is clobbered (the
        rows of parties nobody hears are zeroed). ``common`` (a tone; int32 spares a
        cast) is heard by all;
        ``everyone`` receives what a listener outside the conference hears (a recorder).
        """
        plan = self._plan or self._build()
        n = len(plan.order)
        if said.shape != (n, self.frame) or heard.shape != (n, self.frame):
            raise ValueError(f"mix_into needs ({n}, {self.frame}) matrices")
        if self._acc.shape[0] < n:  # grows with the conference, never per tick
            self._acc = np.zeros((max(n, 2 * self._acc.shape[0]), self.frame), dtype=np.int32)
        acc = self._acc[:n]
        total = self._sum
        whispers = plan.whispers
        if whispers:
            acc.fill(0)
            for speaker, listener in whispers:
                acc[listener] += said[speaker]
        for i in plan.silent:
            said[i] = 0
        np.add.reduce(said, axis=0, out=total)
        if common is not None:
            total += common
        if whispers:
            acc -= said
            acc += total
        else:
            # nobody hears themselves; copyto + in-place subtract, as numpy allocates a
            # matrix-sized temporary for a broadcasting subtract with out=
            np.copyto(acc, total)
            np.subtract(acc, said, out=acc)
        np.maximum(acc, INT16_MIN, out=acc)
        np.minimum(acc, INT16_MAX, out=acc)
        np.copyto(heard, acc, casting="unsafe")
        if everyone is not None:
            np.maximum(total, INT16_MIN, out=total)
            np.minimum(total, INT16_MAX, out=total)
            np.copyto(everyone, total, casting="unsafe")

    def _route(
        self,
        routes: tuple[tuple[Hashable, Hashable | None], ...],
        inputs: Mapping[Hashable, Samples | None],
    ) -> dict[Hashable, Samples]:
        silence = self._zeros
        out: dict[Hashable, Samples] = {}
        for listener, speaker in routes:
            frame = None if speaker is None else inputs.get(speaker)
            if frame is None:
                out[listener] = silence
            elif len(frame) != self.frame:
                raise ValueError(
                    f"frame of party {speaker!r} has {len(frame)} samples, not {self.frame}"
                )
            elif frame.dtype != np.int16:  # a wider integer frame (a tone generator, a test)
                out[listener] = saturate(frame.astype(np.int32))
            else:
                out[listener] = frame
        return out
