"""api/console/sessions.py: server-side sessions on a clock the test moves."""

from __future__ import annotations

from api.console.sessions import Sessions


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_session_lives_while_used_and_dies_idle_or_old():
    clock = Clock()
    sessions = Sessions(idle=10, lifetime=25, clock=clock)
    session_id, session = sessions.open("account_1")
    assert len(session_id) >= 40 and session.csrf_token and session.csrf_token != session_id
    clock.now = 9
    assert sessions.get(session_id) is session
    clock.now = 18  # 9 s after the last use
    assert sessions.get(session_id) is session
    clock.now = 26  # used 8 s ago, but older than its lifetime
    assert sessions.get(session_id) is None
    assert len(sessions) == 0


def test_an_untouched_look_does_not_keep_it_alive():
    clock = Clock()
    sessions = Sessions(idle=10, clock=clock)
    session_id, _ = sessions.open("account_1")
    for now in (5, 9, 10):
        clock.now = now
        assert sessions.get(session_id, touch=False) is not None
    clock.now = 11
    assert sessions.get(session_id, touch=False) is None


def test_unknown_ids_closed_sessions_and_a_bounded_table():
    sessions = Sessions(limit=3)
    assert sessions.get("") is None and sessions.get("x" * 500) is None
    first, _ = sessions.open("a")
    others = [sessions.open(str(i))[0] for i in range(3)]
    assert len(sessions) == 3
    assert sessions.get(first) is None  # the oldest made room
    assert all(sessions.get(i) is not None for i in others)
    sessions.close(others[0])
    assert sessions.get(others[0]) is None
    # the table is keyed by a digest: the cookie's value is nowhere in it
    assert others[1] not in sessions._sessions


def test_sessions_past_their_lifetime_are_dropped_at_the_next_login():
    clock = Clock()
    sessions = Sessions(idle=10, lifetime=25, clock=clock)
    for _ in range(3):
        sessions.open("a")
    clock.now = 26
    sessions.open("b")
    assert len(sessions) == 1
