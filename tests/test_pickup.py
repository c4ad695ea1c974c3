from softswitch.config import ExtensionConfig
from softswitch.feature_codes import parse
from softswitch.pickup import pickup_targets

EXTENSIONS = [
    ExtensionConfig("101", "x", pickup_group="sales"),
    ExtensionConfig("102", "x", pickup_group="sales"),
    ExtensionConfig("103", "x", pickup_group="support"),
    ExtensionConfig("104", "x"),
]


def targets(picker: str, dialed: str) -> set[str]:
    request = parse(dialed)
    assert request is not None
    return pickup_targets(request, picker, EXTENSIONS)


def test_group_pickup_reaches_the_group_but_not_oneself():
    assert targets("101", "*8") == {"102"}
    assert targets("102", "*8") == {"101"}
    assert targets("103", "*8") == set()  # alone in its group


def test_no_group_picks_up_nothing():
    assert targets("104", "*8") == set()


def test_directed_pickup_names_any_extension_but_oneself():
    assert targets("104", "**101") == {"101"}
    assert targets("101", "**101") == set()
