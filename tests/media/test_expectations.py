"""What a recognized text means for a question: a choice, digits, a number, or nothing."""

from __future__ import annotations

import pytest

from media.expectations import Expectations, Kind, Meaning, parse_number

SURVEY = Expectations.of(
    {
        "yes": ["Yes", "yeah", "sure"],
        "no": ["no", "no  thanks", "nope"],
        "agent": ["talk to an agent", "a person"],
    },
    digits=4,
)


@pytest.mark.parametrize(
    ("text", "meaning"),
    [
        ("yeah", Meaning(Kind.CHOICE, "yes")),
        ("no thanks", Meaning(Kind.CHOICE, "no")),
        ("talk to an agent", Meaning(Kind.CHOICE, "agent")),
        # the unigram pass strings words: most of a phrase, and little else, still counts
        ("talk sure an agent", Meaning(Kind.CHOICE, "agent")),
        ("nope nine", Meaning(Kind.CHOICE, "no")),
        ("four two seven", Meaning(Kind.DIGITS, "427")),
        ("oh nine", Meaning(Kind.DIGITS, "09")),
        ("one two three four five", None),  # more digits than asked for
        ("to a", None),  # short words decide nothing
        ("talk to an", None),  # most of the words, but not the one that matters
        ("nope yeah", None),  # two answers at once: ask again
        ("", None),
    ],
)
def test_interpret(text: str, meaning: Meaning | None) -> None:
    assert SURVEY.interpret(text) == meaning


def test_numbers_in_words() -> None:
    assert parse_number(["two", "hundred", "and", "forty", "two"]) == 242
    assert parse_number(["twenty", "one"]) == 21
    assert parse_number(["three", "thousand", "five"]) == 3005
    assert parse_number(["four", "two"]) is None
    assert parse_number(["apple"]) is None
    number = Expectations.of(number=True)
    assert number.interpret("forty two") == Meaning(Kind.NUMBER, "42")


def test_words_and_grammar_hold_every_expected_phrase() -> None:
    assert {"talk", "agent", "thanks", "oh", "seven"} <= SURVEY.words()
    grammar = SURVEY.jsgf()
    assert "( no thanks )" in grammar and "<digit>+" in grammar
    # hashable and equal for equal content: one grammar per distinct question
    assert (
        Expectations.of(
            {
                "yes": ["yes", "yeah", "sure"],
                "no": ["no", "no thanks", "nope"],
                "agent": ["talk to an agent", "a person"],
            },
            digits=4,
        )
        == SURVEY
    )
