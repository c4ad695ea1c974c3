from softswitch.call_forwarding import (
    Divert,
    Forwarder,
    Reason,
    after_failure,
    before_ringing,
    ring_seconds,
)
from softswitch.channel import EndpointKind
from softswitch.routing import Route
from softswitch.store import Store
from softswitch.store.call_features import CallFeatures, CallFeatureStore


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


def test_voicemail_shortens_the_ring_and_forwarding_wins_over_it() -> None:
    # DND and failures without a forwarding target are the switch's to send to voicemail
    assert before_ringing("101", CallFeatures(dnd=True)) == Divert(Reason.DND)
    assert ring_seconds("101", CallFeatures(no_answer_seconds=9), 60.0, voicemail=True) == 9.0
    assert ring_seconds("101", CallFeatures(no_answer_seconds=9), 60.0) == 60.0
    # never longer than the switch's ring timeout
    assert ring_seconds("101", CallFeatures(no_answer_seconds=9), 5.0, voicemail=True) == 5.0
    assert after_failure("101", CallFeatures(), 486) is None
    assert after_failure("101", CallFeatures(forward_busy="103"), 486).target == "103"


def forwarder(tmp_path, settings: dict[str, CallFeatures]) -> Forwarder:
    """Extensions 101-105, anything starting with 9 through a trunk, the rest nowhere."""
    store = CallFeatureStore(Store(tmp_path / "s.db").db)
    for number, features in settings.items():
        store.put(number, features)

    def route(number: str) -> Route | None:
        if number in ("101", "102", "103", "104", "105"):
            return Route(EndpointKind.EXTENSION, number)
        if number.startswith("9"):
            return Route(EndpointKind.TRUNK, number, trunk=None)
        return None

    return Forwarder(store, route, 60.0)


def test_forward_always_follows_a_chain_and_stops_at_a_loop(tmp_path):
    f = forwarder(
        tmp_path,
        {
            "101": CallFeatures(forward_always="102"),
            "102": CallFeatures(forward_always="9555"),
            "103": CallFeatures(forward_always="104"),
            "104": CallFeatures(forward_always="103"),
        },
    )
    assert f.forwarded(Route(EndpointKind.EXTENSION, "101")).number == "9555"
    assert f.forwarded(Route(EndpointKind.EXTENSION, "103")).number == "103"  # the loop rings
    assert f.forwarded(Route(EndpointKind.EXTENSION, "105")).number == "105"


def test_an_unroutable_target_rings_the_extension(tmp_path):
    f = forwarder(tmp_path, {"101": CallFeatures(forward_always="555", forward_busy="555")})
    assert f.forwarded(Route(EndpointKind.EXTENSION, "101")).number == "101"
    assert f.after_failure(Route(EndpointKind.EXTENSION, "101"), 486, "102") is None


def test_dnd_at_the_end_of_a_chain_refuses(tmp_path):
    f = forwarder(
        tmp_path, {"101": CallFeatures(forward_always="102"), "102": CallFeatures(dnd=True)}
    )
    assert f.forwarded(Route(EndpointKind.EXTENSION, "101")) == Divert(Reason.DND)


def test_after_failure_skips_dnd_and_the_caller_itself(tmp_path):
    f = forwarder(
        tmp_path,
        {
            "101": CallFeatures(forward_busy="102", forward_no_answer="103", no_answer_seconds=4),
            "103": CallFeatures(dnd=True),
        },
    )
    ext = Route(EndpointKind.EXTENSION, "101")
    assert f.ring_seconds(ext) == 4.0
    assert f.after_failure(ext, 486, "104").number == "102"
    assert f.after_failure(ext, 486, "102") is None  # busy back to the caller: busy
    assert f.after_failure(ext, 408, "104") is None  # 103 is on DND
    trunk = Route(EndpointKind.TRUNK, "9555")
    assert f.ring_seconds(trunk) is None and f.after_failure(trunk, 486, "104") is None
