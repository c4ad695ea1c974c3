"""softswitch/voicemail/access.py PinGuard: five wrong PINs lock a box."""

from softswitch.config import VoicemailConfig
from softswitch.voicemail.access import PinGuard


def test_fifth_wrong_pin_locks_the_box_and_only_that_box():
    guard = PinGuard(VoicemailConfig(pin_tries=5, lock_seconds=300))
    assert [guard.failed("102") for _ in range(4)] == [False] * 4
    assert guard.locked_for("102") == 0
    assert guard.failed("102")  # the fifth locks it, and says so once
    assert 299 < guard.locked_for("102") <= 300
    assert not guard.failed("102")  # already locked
    assert guard.locked_for("103") == 0
    assert guard.failures("102") == 6


def test_right_pin_forgets_the_wrong_ones():
    guard = PinGuard(VoicemailConfig(pin_tries=3, lock_seconds=60))
    guard.failed("102")
    guard.failed("102")
    guard.succeeded("102")
    assert guard.failures("102") == 0
    assert not guard.failed("102") and not guard.failed("102")
    assert guard.failed("102")


def test_lock_seconds_zero_never_locks():
    guard = PinGuard(VoicemailConfig(pin_tries=1, lock_seconds=0))
    guard.failed("102")
    assert guard.locked_for("102") == 0
