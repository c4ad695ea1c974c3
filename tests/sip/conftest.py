"""The ``pair`` fixture: Alice and Bob, two started UserAgents (tests/sip/ua_pair.py).
Modules with another kind of pair (test_subscription, test_transaction) define their own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.sip.ua_pair import Pair


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    p = Pair()
    await p.alice.start()
    await p.bob.start()
    yield p
    await p.alice.stop()
    await p.bob.stop()
