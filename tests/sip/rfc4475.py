"""The RFC 4475 corpus (tests/sip/corpus/rfc4475): messages and what to expect of them."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CASES", "Case"]

CORPUS = Path(__file__).parent / "corpus" / "rfc4475"


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    section: str
    title: str
    parse: str  # "ok" or the status the parser refuses it with
    answer: int | None  # what the switch answers; None: nothing
    transport: str
    rfc: str
    why: str
    data: bytes

    @property
    def valid(self) -> bool:
        return self.section.startswith("3.1.1.")


def _load() -> list[Case]:
    index = tomllib.loads((CORPUS / "index.toml").read_text())
    return [
        Case(
            c["name"],
            c["section"],
            c["title"],
            c["parse"],
            c.get("answer"),
            c["transport"],
            c["rfc"],
            c.get("why", ""),
            (CORPUS / f"{c['name']}.sip").read_bytes(),
        )
        for c in index["case"]
    ]


CASES = _load()
