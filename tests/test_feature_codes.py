import pytest

from softswitch.feature_codes import CODES, Feature, FeatureRequest, parse


@pytest.mark.parametrize(
    "dialed, expected",
    [
        ("*72103", FeatureRequest(Feature.FORWARD_ALWAYS_ON, "103")),
        ("*72+15168148111", FeatureRequest(Feature.FORWARD_ALWAYS_ON, "+15168148111")),
        ("*73", FeatureRequest(Feature.FORWARD_ALWAYS_OFF)),
        ("*78", FeatureRequest(Feature.DND_ON)),
        ("*79", FeatureRequest(Feature.DND_OFF)),
        ("*90103", FeatureRequest(Feature.FORWARD_BUSY_ON, "103")),
        ("*91", FeatureRequest(Feature.FORWARD_BUSY_OFF)),
        ("*92104", FeatureRequest(Feature.FORWARD_NO_ANSWER_ON, "104")),
        ("*93", FeatureRequest(Feature.FORWARD_NO_ANSWER_OFF)),
        ("*8", FeatureRequest(Feature.PICKUP_GROUP)),
        ("**101", FeatureRequest(Feature.PICKUP_DIRECTED, "101")),
    ],
)
def test_codes(dialed, expected):
    assert parse(dialed) == expected


@pytest.mark.parametrize(
    "dialed",
    [
        "101",  # a number, not a code
        "*72",  # forwarding needs a target
        "*90",
        "**",  # pickup of nobody
        "*72abc",
        "*72+",
        "*7210+3",
        "*72" + "1" * 33,  # longer than any number
        "*781",  # a code without a number, followed by digits
        "*84",
        "*8*",
        "*97",  # not ours (voicemail's)
        "*72١٠٣",  # Arabic-Indic digits are digits to str.isdigit, not to a phone
    ],
)
def test_not_codes(dialed):
    assert parse(dialed) is None


def test_no_code_is_a_prefix_of_another():
    codes = [c.code for c in CODES]
    assert len(set(codes)) == len(codes)
    for a in codes:
        for b in codes:
            assert a == b or not b.startswith(a), (a, b)
