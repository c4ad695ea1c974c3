"""The brute-force guard: fair to phones behind one NAT, hard on scanners and crackers."""

from __future__ import annotations

from softswitch.identity import AuthGuard

NAT = "198.18.0.1"  # one public address, several phones behind it


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def guard(clock: Clock, **options: int) -> AuthGuard:
    return AuthGuard(3, window=60.0, ban_seconds=300.0, clock=clock, **options)


def test_a_known_users_wrong_passwords_ban_that_user_from_that_address_only() -> None:
    clock = Clock()
    g = guard(clock)
    for _ in range(2):
        g.failed(NAT, "103")
    assert not g.banned(NAT, "103")
    g.failed(NAT, "103")
    assert g.banned(NAT, "103")
    # the neighbours, and requests naming no user (challenged as usual), are not banned
    assert not g.banned(NAT, "101") and not g.banned(NAT)
    assert not g.banned("198.18.0.2", "103")
    clock.now += 299
    assert g.banned(NAT, "103")
    clock.now += 1
    assert not g.banned(NAT, "103")


def test_unknown_users_ban_the_address() -> None:
    clock = Clock()
    g = guard(clock)
    for _ in range(3):  # e.g. 900, 901, 902: no such extensions
        g.failed(NAT, None)
    assert g.banned(NAT) and g.banned(NAT, "101")
    assert not g.banned("198.18.0.2")
    clock.now += 300
    assert not g.banned(NAT, "101")


def test_failures_outside_the_window_do_not_add_up() -> None:
    clock = Clock()
    g = guard(clock)
    for _ in range(5):
        g.failed(NAT, None)
        g.failed(NAT, None)
        clock.now += 61
    assert not g.banned(NAT)


def test_guessing_at_many_extensions_bans_the_address() -> None:
    clock = Clock()
    g = guard(clock, max_address_failures=5)
    for user in ("101", "102", "103", "104"):
        g.failed(NAT, user)
    assert not g.banned(NAT)
    g.failed(NAT, "105")
    assert g.banned(NAT) and g.banned(NAT, "106")


def test_a_success_clears_only_its_own_count() -> None:
    clock = Clock()
    g = guard(clock)
    g.failed(NAT, None)
    g.failed(NAT, None)
    g.failed(NAT, "102")
    g.failed(NAT, "102")
    # valid credentials for 101 do not reset the guesses at 102 or at unknown users
    g.succeeded(NAT, "101")
    g.failed(NAT, None)
    g.failed(NAT, "102")
    assert g.banned(NAT, "102") and g.banned(NAT)
    # ...but a phone's own success forgives its earlier typos
    g2 = guard(clock)
    g2.failed(NAT, "101")
    g2.failed(NAT, "101")
    g2.succeeded(NAT, "101")
    g2.failed(NAT, "101")
    assert not g2.banned(NAT, "101")


def test_memory_is_bounded_under_a_spray_of_sources() -> None:
    clock = Clock()
    g = AuthGuard(1, clock=clock, max_entries=100)
    for i in range(1000):
        g.failed(f"198.18.{i // 250}.{i % 250}", None)
    assert len(g._failures) <= 100 and len(g._banned_until) <= 100
    assert g.banned("198.18.3.249")  # the newest ban is kept


def test_a_slow_guesser_under_the_per_minute_limit_is_banned_by_the_hour() -> None:
    clock = Clock()
    g = guard(clock, max_slow_failures=10)
    for _ in range(9):  # 2 a minute: never 3 within the 60 s window
        g.failed(NAT, "101")
        clock.now += 30
    assert not g.banned(NAT, "101")
    g.failed(NAT, "101")
    assert g.banned(NAT, "101")
    # back straight after the ban: the hour still holds ten guesses, banned again at once
    clock.now += 300
    assert not g.banned(NAT, "101")
    g.failed(NAT, "101")
    assert g.banned(NAT, "101")
    # an hour later the slate is clean
    clock.now += 3600
    g.failed(NAT, "101")
    assert not g.banned(NAT, "101")
