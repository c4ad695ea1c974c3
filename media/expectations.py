"""What a question expects to hear, and what a recognized text means for it.

A listen step expects any of: choices (a name and the phrases that say it, "yes" /
"yeah" / "sure"), spoken digits (a code, up to ``digits`` of them), or a number in
words ("forty two"). ``Expectations`` is hashable: recognizers build one grammar per
distinct set and keep it. ``interpret`` turns the recognizer's words into the choice,
digit string or number; a text that says none of them is no match.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["DIGIT_WORDS", "NUMBER_WORDS", "Expectations", "Kind", "Meaning", "parse_number"]

DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_UNIT_NAMES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    " fifteen sixteen seventeen eighteen nineteen"
)
_UNITS = {w: i for i, w in enumerate(_UNIT_NAMES.split(" "))}
_TEN_NAMES = "twenty thirty forty fifty sixty seventy eighty ninety"
_TENS = {w: 10 * (i + 2) for i, w in enumerate(_TEN_NAMES.split(" "))}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
NUMBER_WORDS = frozenset([*_UNITS, *_TENS, *_SCALES, "and"])
# a loose match: most of a phrase heard (by letters: "talk to an" is not "talk to an
# agent"), and at least half of what was heard belongs to it ("nope nine" is "nope")
_RECALL = 0.75
_PRECISION = 0.5


class Kind(StrEnum):
    CHOICE = "choice"
    DIGITS = "digits"
    NUMBER = "number"


@dataclass(frozen=True, slots=True)
class Meaning:
    kind: Kind
    value: str  # the choice's name, the digits, the number in figures


@dataclass(frozen=True, slots=True)
class Expectations:
    choices: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (name, phrases)
    digits: int = 0  # most spoken digits taken; 0: none expected
    number: bool = False

    @staticmethod
    def of(
        choices: dict[str, list[str]] | None = None, digits: int = 0, number: bool = False
    ) -> Expectations:
        """From plain data; phrases are lower-cased and their spacing normalized."""
        normal = tuple(
            (name, tuple(" ".join(p.lower().split()) for p in phrases))
            for name, phrases in (choices or {}).items()
        )
        return Expectations(normal, digits, number)

    def words(self) -> set[str]:
        found = {w for _, phrases in self.choices for p in phrases for w in p.split()}
        if self.digits:
            found |= set(DIGIT_WORDS)
        if self.number:
            found |= NUMBER_WORDS
        return found

    def jsgf(self) -> str:
        """A JSGF grammar accepting exactly one expected answer."""
        rules = [f"( {p} )" for _, phrases in self.choices for p in phrases]
        extra = []
        if self.digits:
            rules.append("<digit>+")
            extra.append(f"<digit> = {' | '.join(DIGIT_WORDS)};")
        if self.number:
            rules.append("<numword>+")
            extra.append(f"<numword> = {' | '.join(sorted(NUMBER_WORDS))};")
        return "\n".join(
            ["#JSGF V1.0;", "grammar answers;", f"public <answer> = {' | '.join(rules)};", *extra]
        )

    def interpret(self, text: str) -> Meaning | None:
        words = text.split()
        if not words:
            return None
        if self.digits and len(words) <= self.digits and all(w in DIGIT_WORDS for w in words):
            return Meaning(Kind.DIGITS, "".join(DIGIT_WORDS[w] for w in words))
        if self.number and all(w in NUMBER_WORDS for w in words):
            value = parse_number(words)
            if value is not None:
                return Meaning(Kind.NUMBER, str(value))
        spoken = " ".join(words)
        for name, phrases in self.choices:
            if spoken in phrases:
                return Meaning(Kind.CHOICE, name)
        return self._loose(words)

    def _loose(self, words: list[str]) -> Meaning | None:
        """The one choice most of whose phrase was heard, in most of what was heard
        (the second pass decodes words, not phrases: "talk sure an agent"). Words are
        weighed by length, so a stray "a" or "to" decides nothing."""
        heard = set(words)
        heard_weight = sum(len(w) for w in words)
        scores: dict[str, float] = {}
        for name, phrases in self.choices:
            for phrase in phrases:
                said = phrase.split()
                common = sum(len(w) for w in said if w in heard)
                recall = common / sum(len(w) for w in said)
                precision = sum(len(w) for w in words if w in said) / heard_weight
                if recall >= _RECALL and precision >= _PRECISION:
                    scores[name] = max(scores.get(name, 0.0), recall + precision)
        if not scores:
            return None
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        if len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
            return None  # two choices heard equally: ask again rather than guess
        return Meaning(Kind.CHOICE, ranked[0][0])


def parse_number(words: list[str]) -> int | None:
    """ "two hundred and forty two" -> 242; None when the words make no number."""
    total = current = 0
    seen = False
    previous = ""
    for word in words:
        if word == "and":
            continue
        if word in _UNITS:
            if previous in _UNITS:
                return None  # "four two" is digits, not a number
            current += _UNITS[word]
        elif word in _TENS:
            if current % 100:
                return None
            current += _TENS[word]
        elif word in _SCALES:
            scale = _SCALES[word]
            if scale == 100:
                current = max(current, 1) * 100
            else:
                total += max(current, 1) * scale
                current = 0
        else:
            return None
        seen = True
        previous = word
    return total + current if seen else None
