"""The voicemail boxes the config declares: one per extension with `voicemail = true`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..accounts import hash_secret, verify_secret
from ..config import Config, ExtensionConfig
from ..store.voicemail import BoxRecord, VoicemailStore


@dataclass(slots=True, frozen=True)
class VoicemailBox:
    extension: str
    folder: Path  # its messages and recorded greeting
    greeting_text: str
    greeting_file: str  # a configured WAV; "" = none
    account: str = ""  # the API account that owns the box; "" = none

    def default_text(self) -> str:
        spaced = " ".join(self.extension)
        return (
            f"The person at extension {spaced} is not available. "
            "Please leave a message after the tone. Press the pound key when you are done."
        )


class Boxes:
    """The configured boxes; the PIN hashes (and greetings recorded later) live in the store."""

    def __init__(self, config: Config, store: VoicemailStore) -> None:
        self.store = store
        root = Path(config.voicemail.dir)
        self.root = root
        self._boxes = {
            ext.number: VoicemailBox(
                ext.number, root / ext.number, ext.greeting, ext.greeting_file, ext.account
            )
            for ext in config.extensions
            if ext.voicemail
        }
        self._provision(config.extensions)

    def _provision(self, extensions: list[ExtensionConfig]) -> None:
        # the PIN is hashed again only when it changed: scrypt costs ~50 ms per box
        for ext in extensions:
            if not ext.voicemail:
                continue
            record = self.store.box(ext.number)
            pin_hash = record.pin_hash if record is not None else ""
            if not ext.voicemail_pin:
                pin_hash = ""
            elif not pin_hash or not verify_secret(ext.voicemail_pin, pin_hash):
                pin_hash = hash_secret(ext.voicemail_pin)
            greeting = record.greeting_file if record is not None else ""
            self.store.put_box(BoxRecord(ext.number, pin_hash, greeting))
        self.store.delete_boxes_except(list(self._boxes))

    def open(self, extension: str, account: str = "") -> None:
        """A box for an extension given voicemail while the switch runs (the default
        greeting, no PIN: *97 stays locked until the config gives one)."""
        if extension in self._boxes:
            return
        self._boxes[extension] = VoicemailBox(extension, self.root / extension, "", "", account)
        if self.store.box(extension) is None:
            self.store.put_box(BoxRecord(extension, "", ""))

    def get(self, extension: str) -> VoicemailBox | None:
        return self._boxes.get(extension)

    def __contains__(self, extension: object) -> bool:
        return extension in self._boxes

    def numbers(self) -> list[str]:
        return sorted(self._boxes)

    def check_pin(self, extension: str, pin: str) -> bool:
        record = self.store.box(extension)
        if record is None or not record.pin_hash:
            return False
        return verify_secret(pin, record.pin_hash)
