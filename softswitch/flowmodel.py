"""Call flows as data: what a call does once answered, validated when it is saved.

A flow is a JSON list of steps, each an object with a ``type``:

- ``say``: ``text`` (a template with ``{field}`` variables), voice parameters
  (``voice``, ``rate``, ``pitch``, ``volume``, ``language_code``, ``tts_engine_type``),
  ``repeat``, ``pause_ms`` between repeats, ``spell`` (variables read digit by digit,
  as for an OTP), ``barge_in`` (a key press stops it)
- ``play``: ``file`` (a name in the account's upload area), ``repeat``, ``pause_ms``
- ``gather``: ``num_digits``, ``timeout`` (s), ``finish_on_key``, ``name`` (the variable
  that receives the digits), optional ``prompt`` (a say step), ``branches``
  (key or digit string -> steps) and ``default`` (steps when nothing matched)
- ``record``: ``max_seconds``, ``finish_on_key``
- ``transfer``: ``number`` (the call is bridged there; the flow ends)
- ``dial``: ``number``, ``timeout``: bridge to a number, continue after it hangs up
- ``set_result``: ``value`` (a template) — the call's result for reports
- ``report``: ``header``, ``value`` (a template), ``order`` — a report data column
- ``redial``: ``minutes``, optional ``priority`` — ask the dialer to call again
- ``pause``: ``seconds``
- ``hangup``
- ``menu`` (a switchboard's IVR menu): ``prompt`` (a say or play step), ``options``
  (one key -> steps, or a destination "kind:target" as a shorthand for a route step),
  ``timeout`` (s to wait for a key after the prompt), ``retries`` (how many more times
  the prompt is played after a wrong key or none), then ``invalid`` (steps after a wrong
  key) or ``no_input`` (steps after silence); the flow goes on after the menu
- ``route``: ``to`` a destination (softswitch.destination: extension, ring group, flow,
  voicemail, conference, or an outside number), ``timeout`` to ring an extension or
  number; the destination takes the call over and the flow ends
- ``hours``: ``hours`` (softswitch.hours: time zone, open ranges, holidays), ``open``
  and ``closed`` steps
- ``listen`` (a spoken answer, recognized offline): optional ``prompt`` (say or play,
  stopped by speech or a key), ``choices`` (each a ``name``, the ``phrases`` that say it,
  an optional ``key`` that picks it too, and its ``steps``), ``digits`` (most spoken
  digits taken, 0 = none) and ``number`` (a number in words), ``then`` (steps after
  digits or a number), ``no_input_timeout`` (s of silence after the prompt),
  ``max_speech`` (s), ``end_silence_ms`` (the pause that ends an answer), ``confidence``
  (0-1, below it an answer is no match; the default 0 takes the grammar's answer and
  does not measure it: ``{name}_confidence`` is then 1), ``no_match`` and ``no_input``
  steps, ``name``
  (variables ``{name}``: the choice, digits or number; ``{name}_text`` and
  ``{name}_confidence``: what was heard)
"""

from __future__ import annotations

import string
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from media.expectations import Expectations
from media.voice import TtsError, VoiceParams

from .destination import Destination, DestinationField
from .hours import BusinessHours

MAX_STEPS = 200
MAX_DEPTH = 5


class FlowError(ValueError):
    """A flow that cannot run; the message names the step and the field."""


def _template_fields(text: str) -> set[str]:
    fields: set[str] = set()
    try:
        for _literal, name, _spec, _conv in string.Formatter().parse(text):
            if name is not None:
                if not name.isidentifier():
                    raise ValueError(f"bad variable {{{name}}}")
                fields.add(name)
    except ValueError as exc:
        raise ValueError(f"invalid template: {exc}") from None
    return fields


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def fields(self) -> set[str]:
        return set()

    def defines(self) -> set[str]:
        return set()


class Say(_Step):
    type: Literal["say"]
    text: str = Field(min_length=1, max_length=3000)
    voice: str | None = None
    rate: str | None = None
    pitch: str | None = None
    volume: str | None = None
    language_code: str | None = None
    tts_engine_type: str | None = None
    repeat: int = Field(1, ge=1, le=20)
    pause_ms: int = Field(500, ge=0, le=10_000)
    spell: list[str] = Field(default_factory=list)
    barge_in: bool = False

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        _template_fields(value)
        return value

    @model_validator(mode="after")
    def _voice(self) -> Say:
        try:
            self._parse_voice()
        except TtsError as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def voice_params(self) -> VoiceParams:
        return self._parse_voice()

    def _parse_voice(self) -> VoiceParams:
        """Raises TtsError for parameters no engine takes (checked when the flow is saved)."""
        return VoiceParams.parse(
            voice=self.voice,
            rate=self.rate,
            pitch=self.pitch,
            volume=self.volume,
            language_code=self.language_code,
            tts_engine_type=self.tts_engine_type,
        )

    def fields(self) -> set[str]:
        return _template_fields(self.text) | set(self.spell)


class Play(_Step):
    type: Literal["play"]
    file: str = Field(min_length=1, max_length=255, pattern=r"^[^/\\]+$")
    repeat: int = Field(1, ge=1, le=20)
    pause_ms: int = Field(500, ge=0, le=10_000)
    barge_in: bool = False


class Gather(_Step):
    type: Literal["gather"]
    num_digits: int = Field(1, ge=1, le=32)
    timeout: float = Field(5.0, gt=0, le=120)
    finish_on_key: str = Field("#", pattern=r"^[0-9*#]?$")
    name: str = Field("digits", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    prompt: Say | None = None
    branches: dict[str, list[Step]] = Field(default_factory=dict)
    default: list[Step] = Field(default_factory=list)

    @field_validator("branches")
    @classmethod
    def _keys(cls, value: dict[str, list[Step]]) -> dict[str, list[Step]]:
        for key in value:
            if not key or any(c not in "0123456789*#" for c in key):
                raise ValueError(f"branch key {key!r} is not a digit string")
        return value

    def fields(self) -> set[str]:
        return self.prompt.fields() if self.prompt else set()

    def defines(self) -> set[str]:
        return {self.name}


class Record(_Step):
    type: Literal["record"]
    max_seconds: int = Field(60, ge=1, le=3600)
    finish_on_key: str = Field("#", pattern=r"^[0-9*#]?$")


class Transfer(_Step):
    type: Literal["transfer"]
    number: str = Field(min_length=1, max_length=32, pattern=r"^\+?[0-9*#]+$")
    timeout: float = Field(30.0, gt=0, le=300)


class Dial(_Step):
    type: Literal["dial"]
    number: str = Field(min_length=1, max_length=32, pattern=r"^\+?[0-9*#]+$")
    timeout: float = Field(30.0, gt=0, le=300)


class _TemplatedValue(_Step):
    """A step whose `value` may use {variables} (checked when the flow is saved)."""

    value: str

    @field_validator("value")
    @classmethod
    def _value(cls, value: str) -> str:
        _template_fields(value)
        return value

    def fields(self) -> set[str]:
        return _template_fields(self.value)


class SetResult(_TemplatedValue):
    type: Literal["set_result"]
    value: str = Field(min_length=1, max_length=500)


class Report(_TemplatedValue):
    type: Literal["report"]
    header: str = Field(min_length=1, max_length=100)
    value: str = Field(max_length=500)
    order: int = Field(0, ge=0, le=1000)


class Redial(_Step):
    type: Literal["redial"]
    minutes: int = Field(ge=1, le=60 * 24 * 30)
    priority: int | None = Field(None, ge=1, le=5)


class Pause(_Step):
    type: Literal["pause"]
    seconds: float = Field(gt=0, le=300)


class Hangup(_Step):
    type: Literal["hangup"]


class Route(_Step):
    type: Literal["route"]
    to: DestinationField
    timeout: float = Field(30.0, gt=0, le=300)


class Menu(_Step):
    type: Literal["menu"]
    prompt: Say | Play = Field(discriminator="type")
    options: dict[str, list[Step] | DestinationField] = Field(min_length=1)
    timeout: float = Field(5.0, gt=0, le=60)
    retries: int = Field(2, ge=0, le=10)
    invalid: list[Step] = Field(default_factory=list)
    no_input: list[Step] = Field(default_factory=list)

    @field_validator("options")
    @classmethod
    def _keys(
        cls, value: dict[str, list[Step] | DestinationField]
    ) -> dict[str, list[Step] | DestinationField]:
        for key in value:
            if len(key) != 1 or key not in "0123456789*#":
                raise ValueError(f"option key {key!r} is not one key (0-9, * or #)")
        return value

    def fields(self) -> set[str]:
        return self.prompt.fields()

    def branch(self, key: str) -> list[Step] | None:
        """The steps of option ``key`` (a destination is a route step); None: no such key."""
        option = self.options.get(key)
        if option is None or isinstance(option, list):
            return option
        return [Route(type="route", to=option)]

    def branches(self) -> list[list[Step]]:
        lists = [o for o in self.options.values() if isinstance(o, list)]
        return [*lists, self.invalid, self.no_input]


class ListenChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    phrases: list[str] = Field(min_length=1, max_length=20)
    key: str | None = Field(None, pattern=r"^[0-9*#]$")
    steps: list[Step] = Field(default_factory=list)

    @field_validator("phrases")
    @classmethod
    def _phrases(cls, value: list[str]) -> list[str]:
        phrases = [" ".join(p.lower().split()) for p in value]
        for phrase in phrases:
            if not phrase or len(phrase) > 80:
                raise ValueError("a phrase is 1 to 80 characters of words")
        unknown = _unknown_words({w for p in phrases for w in p.split()})
        if unknown:
            raise ValueError(f"words the recognizer does not know: {', '.join(unknown)}")
        return phrases


def _unknown_words(words: set[str]) -> list[str]:
    """Words outside the recognizer's dictionary (pocketsphinx's bundled en-US one)."""
    from media.recognizer import dictionary_words  # read on first use only

    known = dictionary_words()
    return sorted(w for w in words if w not in known)


class Listen(_Step):
    type: Literal["listen"]
    prompt: Say | Play | None = Field(None, discriminator="type")
    choices: list[ListenChoice] = Field(default_factory=list, max_length=20)
    digits: int = Field(0, ge=0, le=20)
    number: bool = False
    then: list[Step] = Field(default_factory=list)
    name: str = Field("speech", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    no_input_timeout: float = Field(5.0, ge=0.5, le=60)
    max_speech: float = Field(10.0, ge=1, le=60)
    end_silence_ms: int = Field(600, ge=200, le=3000)
    confidence: float = Field(0.0, ge=0, le=1)
    no_match: list[Step] = Field(default_factory=list)
    no_input: list[Step] = Field(default_factory=list)

    @field_validator("choices")
    @classmethod
    def _choices(cls, value: list[ListenChoice]) -> list[ListenChoice]:
        names = [c.name for c in value]
        if len(set(names)) != len(names):
            raise ValueError("choice names must differ")
        keys = [c.key for c in value if c.key is not None]
        if len(set(keys)) != len(keys):
            raise ValueError("choice keys must differ")
        return value

    @model_validator(mode="after")
    def _expects(self) -> Listen:
        if not self.choices and not self.digits and not self.number:
            # named as pydantic names a field, so the error says where to look
            raise ValueError("choices: must not be empty unless digits or number is set")
        return self

    def expectations(self) -> Expectations:
        return Expectations.of(
            {c.name: c.phrases for c in self.choices}, digits=self.digits, number=self.number
        )

    def choice(self, name: str) -> ListenChoice | None:
        return next((c for c in self.choices if c.name == name), None)

    def fields(self) -> set[str]:
        return self.prompt.fields() if isinstance(self.prompt, Say) else set()

    def defines(self) -> set[str]:
        return {self.name, f"{self.name}_text", f"{self.name}_confidence"}

    def branches(self) -> list[list[Step]]:
        return [*(c.steps for c in self.choices), self.then, self.no_match, self.no_input]


class Hours(_Step):
    type: Literal["hours"]
    hours: BusinessHours
    open: list[Step] = Field(default_factory=list)
    closed: list[Step] = Field(default_factory=list)


# Every step a flow may hold; pydantic picks the model by ``type``, the runner matches.
Step = Annotated[
    Say
    | Play
    | Gather
    | Record
    | Transfer
    | Dial
    | SetResult
    | Report
    | Redial
    | Pause
    | Hangup
    | Menu
    | Route
    | Hours
    | Listen,
    Field(discriminator="type"),
]
Gather.model_rebuild()
ListenChoice.model_rebuild()
Listen.model_rebuild()
Menu.model_rebuild()
Hours.model_rebuild()
_STEPS = TypeAdapter(list[Step])
# the step names in the union's order ("say", "play", ...), for error messages
STEP_TYPES: tuple[str, ...] = tuple(
    get_args(model.model_fields["type"].annotation)[0] for model in get_args(get_args(Step)[0])
)


class Flow:
    """A validated list of steps."""

    __slots__ = ("steps",)

    def __init__(self, steps: list[Step]) -> None:
        self.steps = steps

    def fields(self) -> set[str]:
        """Template variables the flow needs from the contact, payload or request."""
        needed: set[str] = set()
        _collect(self.steps, set(), needed)
        return needed

    def to_json(self) -> list[dict[str, Any]]:
        return [
            step.model_dump(mode="json", exclude_defaults=True) | {"type": step.type}
            for step in self.steps
        ]

    def __len__(self) -> int:
        return len(self.steps)


def nested(step: Step) -> list[list[Step]]:
    """The step lists a step holds (gather and menu branches, hours' open and closed)."""
    if isinstance(step, Gather):
        return [*step.branches.values(), step.default]
    if isinstance(step, Menu):
        return step.branches()
    if isinstance(step, Hours):
        return [step.open, step.closed]
    if isinstance(step, Listen):
        return step.branches()
    return []


def _collect(steps: list[Step], defined: set[str], needed: set[str]) -> None:
    defined = set(defined)
    for step in steps:
        needed |= step.fields() - defined
        defined |= step.defines()
        for branch in nested(step):
            _collect(branch, defined, needed)


def _count(steps: list[Step], depth: int) -> int:
    if depth > MAX_DEPTH:
        raise FlowError(f"flow: branches nested deeper than {MAX_DEPTH}")
    total = 0
    for step in steps:
        total += 1
        for branch in nested(step):
            total += _count(branch, depth + 1)
    return total


def destinations(steps: list[Step]) -> list[tuple[str, Destination]]:
    """Every destination the flow's route steps and menu options name, with where."""
    found: list[tuple[str, Destination]] = []

    def walk(steps: list[Step], where: str) -> None:
        for i, step in enumerate(steps):
            here = f"{where}step {i}" if not where else f"{where}[{i}]"
            if isinstance(step, Route):
                found.append((f"{here} to", step.to))
            if isinstance(step, Menu):
                for key, option in step.options.items():
                    if not isinstance(option, list):
                        found.append((f"{here} options {key}", option))
            for branch in nested(step):
                walk(branch, f"{here} ")

    walk(steps, "")
    return found


def _location(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    previous: object = None
    for item in loc:
        if isinstance(item, int):
            parts.append(f"step {item}" if not parts else f"[{item}]")
        elif item in STEP_TYPES and isinstance(previous, int):
            pass  # pydantic names the union member after the index; the index says enough
        else:
            parts.append(str(item))
        previous = item
    return " ".join(parts) or "flow"


def parse_flow(data: object) -> Flow:
    """Validate a flow (a JSON list of steps); FlowError says which step and field is wrong."""
    if not isinstance(data, list):
        raise FlowError("flow: must be a list of steps")
    if not data:
        raise FlowError("flow: has no steps")
    try:
        steps = _STEPS.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _location(tuple(first["loc"]))
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "union_tag_invalid" or first["type"] == "union_tag_not_found":
            message = f"unknown step type; expected one of {', '.join(STEP_TYPES)}"
        raise FlowError(f"{where}: {message}") from None
    if _count(steps, 0) > MAX_STEPS:
        raise FlowError(f"flow: more than {MAX_STEPS} steps")
    return Flow(steps)
