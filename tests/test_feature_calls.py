import pytest

from softswitch.feature_calls import FeatureRefused, applied
from softswitch.feature_codes import parse
from softswitch.store.call_features import CallFeatures


def dial(features: CallFeatures, dialed: str) -> CallFeatures:
    request = parse(dialed)
    assert request is not None
    return applied("101", features, request)


def test_each_code_sets_and_clears_its_own_setting():
    features = CallFeatures(no_answer_seconds=9)
    features = dial(features, "*72103")
    features = dial(features, "*78")
    features = dial(features, "*90104")
    features = dial(features, "*92+15550100")
    assert features == CallFeatures("103", "104", "+15550100", 9, dnd=True)
    assert dial(features, "*73") == CallFeatures("", "104", "+15550100", 9, dnd=True)
    assert dial(features, "*79").dnd is False
    assert dial(features, "*91").forward_busy == ""
    assert dial(features, "*93").forward_no_answer == ""


def test_forwarding_to_oneself_is_refused():
    with pytest.raises(FeatureRefused, match="itself"):
        dial(CallFeatures(), "*72101")


def test_pickup_changes_no_setting():
    with pytest.raises(FeatureRefused):
        dial(CallFeatures(), "*8")
