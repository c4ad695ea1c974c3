"""softswitch/voicemail/box.py: boxes from the config, PINs kept hashed."""

from softswitch.config import from_dict
from softswitch.store import Store
from softswitch.store.voicemail import VoicemailStore
from softswitch.voicemail.box import Boxes


def config(tmp_path, pin="4321", **extra):
    return from_dict(
        {
            "voicemail": {"dir": str(tmp_path / "vm")},
            "extensions": [
                {"number": "101", "password": "p"},
                {
                    "number": "102",
                    "password": "p",
                    "voicemail": True,
                    "voicemail_pin": pin,
                    **extra,
                },
            ],
        },
        {},
    )


def test_only_extensions_with_voicemail_have_a_box(tmp_path):
    boxes = Boxes(
        config(tmp_path, greeting="Hi", account="acme"), VoicemailStore(Store(":memory:").db)
    )
    assert boxes.numbers() == ["102"]
    assert "101" not in boxes
    box = boxes.get("102")
    assert box.folder == tmp_path / "vm" / "102"
    assert box.greeting_text == "Hi"
    assert box.account == "acme"
    assert "1 0 2" in box.default_text()


def test_pin_is_stored_hashed_and_checked(tmp_path):
    store = VoicemailStore(Store(":memory:").db)
    boxes = Boxes(config(tmp_path), store)
    stored = store.box("102").pin_hash
    assert stored.startswith("scrypt$") and "4321" not in stored
    assert boxes.check_pin("102", "4321")
    assert not boxes.check_pin("102", "1234")
    assert not boxes.check_pin("101", "4321")  # no box
    # a restart with the same PIN keeps the hash; a new PIN replaces it
    Boxes(config(tmp_path), store)
    assert store.box("102").pin_hash == stored
    Boxes(config(tmp_path, pin="9999"), store)
    assert boxes.check_pin("102", "9999") and not boxes.check_pin("102", "4321")


def test_box_without_pin_refuses_every_pin(tmp_path):
    store = VoicemailStore(Store(":memory:").db)
    boxes = Boxes(config(tmp_path, pin=""), store)
    assert store.box("102").pin_hash == ""
    assert not boxes.check_pin("102", "")


def test_recorded_greeting_survives_reprovisioning(tmp_path):
    store = VoicemailStore(Store(":memory:").db)
    Boxes(config(tmp_path), store)
    store.set_greeting("102", "greeting.wav")
    Boxes(config(tmp_path), store)
    assert store.box("102").greeting_file == "greeting.wav"
