import pytest

from softswitch import call_forwarding
from softswitch.call_forwarding import Divert, Reason, after_failure, before_ringing, ring_seconds
from softswitch.store.call_features import CallFeatures


def test_nothing_set_rings_for_the_switch_s_time():
    features = CallFeatures()
    assert before_ringing("101", features) is None
    assert ring_seconds("101", features, 60.0) == 60.0
    for status in (486, 408, 480, 600, 404, 503):
        assert after_failure("101", features, status) is None


def test_forward_always_wins_over_dnd():
    features = CallFeatures(forward_always="103", dnd=True)
    assert before_ringing("101", features) == Divert(Reason.ALWAYS, "103")


def test_dnd_without_voicemail_is_busy():
    divert = before_ringing("101", CallFeatures(dnd=True))
    assert divert == Divert(Reason.DND, "", 486)


def test_busy_and_no_answer_go_their_own_ways():
    features = CallFeatures(forward_busy="103", forward_no_answer="+15550100", no_answer_seconds=7)
    assert ring_seconds("101", features, 60.0) == 7.0
    assert after_failure("101", features, 486) == Divert(Reason.BUSY, "103", 486)
    assert after_failure("101", features, 600) == Divert(Reason.BUSY, "103", 600)
    assert after_failure("101", features, 408) == Divert(Reason.NO_ANSWER, "+15550100", 408)
    # not registered counts as not answering
    assert after_failure("101", features, 480) == Divert(Reason.NO_ANSWER, "+15550100", 480)
    # a failure that is neither (a bad offer, a server error) reaches the caller
    assert after_failure("101", features, 488) is None
    assert after_failure("101", features, 503) is None


def test_only_the_configured_case_forwards():
    busy_only = CallFeatures(forward_busy="103")
    assert ring_seconds("101", busy_only, 60.0) == 60.0  # no-answer time matters not
    assert after_failure("101", busy_only, 408) is None
    assert after_failure("101", CallFeatures(forward_no_answer="103"), 486) is None


def test_voicemail_hook_takes_what_forwarding_leaves(monkeypatch: pytest.MonkeyPatch):
    asked: list[tuple[str, Reason]] = []

    def voicemail(extension: str, reason: Reason) -> str:
        asked.append((extension, reason))
        return "*97101"

    monkeypatch.setattr(call_forwarding, "voicemail_target", voicemail)
    assert before_ringing("101", CallFeatures(dnd=True)) == Divert(Reason.DND, "*97101")
    assert ring_seconds("101", CallFeatures(no_answer_seconds=9), 60.0) == 9.0
    assert after_failure("101", CallFeatures(), 486) == Divert(Reason.BUSY, "*97101", 486)
    # forwarding configured for the case wins over voicemail
    assert after_failure("101", CallFeatures(forward_busy="103"), 486).target == "103"
    assert ("101", Reason.NO_ANSWER) in asked
