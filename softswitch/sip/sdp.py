"""SDP (RFC 4566) and the offer/answer model (RFC 3264) for audio calls.

The parser keeps what it does not interpret (other attributes, b=/i=/k=
lines, non-RTP media) so a description survives a parse/serialize round trip
with its meaning intact. Offer/answer covers what the media engine does:
PCMU/PCMA, G.722, Opus (RFC 7587: opus/48000/2, a dynamic payload type, in-band FEC
asked for), RFC 4733 telephone-event at the chosen codec's clock, hold by direction
attributes or by the pre-RFC 3264 ``c=0.0.0.0`` convention.

SRTP keys travel in ``a=crypto`` lines (SDES, RFC 4568). This module only
negotiates them as text: which suite, whose key params; the caller supplies our
keys per suite and says which offered key params it can use (media.srtp).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from .errors import SipError
from .grammar import digits

DIRECTIONS: tuple[str, ...] = ("sendrecv", "sendonly", "recvonly", "inactive")
# RFC 3551 static payload types: an offer may list them without rtpmap.
STATIC_PAYLOAD_TYPES: dict[int, tuple[str, int]] = {
    0: ("PCMU", 8000),
    3: ("GSM", 8000),
    4: ("G723", 8000),
    5: ("DVI4", 8000),
    6: ("DVI4", 16000),
    7: ("LPC", 8000),
    8: ("PCMA", 8000),
    9: ("G722", 8000),
    10: ("L16", 44100),
    11: ("L16", 44100),
    12: ("QCELP", 8000),
    13: ("CN", 8000),
    14: ("MPA", 90000),
    15: ("G728", 8000),
    16: ("DVI4", 11025),
    17: ("DVI4", 22050),
    18: ("G729", 8000),
}


@dataclass(frozen=True, slots=True)
class CodecFormat:
    """How a codec the media engine speaks is written in SDP."""

    name: str  # the rtpmap's encoding name
    payload_type: int  # static (RFC 3551), or the dynamic one our offers use
    clock: int  # RTP clock rate (G.722's is 8000 though it samples at 16 kHz)
    channels: int | None = None  # the rtpmap's third field (Opus: always 2)
    fmtp: str | None = None  # our a=fmtp for it


# By upper-case name, in no order: preference is the caller's `codecs` argument.
SUPPORTED_CODECS: dict[str, CodecFormat] = {
    "PCMU": CodecFormat("PCMU", 0, 8000),
    "PCMA": CodecFormat("PCMA", 8, 8000),
    "G722": CodecFormat("G722", 9, 8000),
    "OPUS": CodecFormat("opus", 111, 48000, 2, "useinbandfec=1"),
}
TELEPHONE_EVENT = "telephone-event"
DTMF_EVENTS = "0-16"
PTIME_MS = 20

# Where the uninterpreted lines go when serializing (RFC 4566 5 fixes the order).
_SESSION_BEFORE_C = frozenset("iuep")
_SESSION_BEFORE_T = frozenset("b")
_MEDIA_BEFORE_C = frozenset("i")
_MAX_SDP = 65536


class SrtpMode(StrEnum):
    """Whether a leg's media is encrypted (config: ``[rtp] srtp`` and per trunk)."""

    OFF = "off"  # plain RTP/AVP; crypto lines are ignored (today's behaviour)
    OPTIONAL = "optional"  # SRTP when the peer offers or accepts a suite we know
    MANDATORY = "mandatory"  # SRTP or no call (488 Not Acceptable Here)


SECURE_PROFILES = ("RTP/SAVP", "RTP/SAVPF")
_AUDIO_PROFILES = ("RTP/AVP", "RTP/AVPF", *SECURE_PROFILES)


@dataclass(slots=True)
class Crypto:
    """One ``a=crypto:<tag> <suite> <key-params> [<session-params>...]`` (RFC 4568 9.1)."""

    tag: int
    suite: str
    key_params: str
    session_params: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, value: str) -> Crypto | None:
        """None when the line is malformed: RFC 4568 treats it as an unusable suite."""
        parts = value.split()
        if len(parts) < 3 or not parts[0].isdigit() or len(parts[0]) > 9:
            return None
        return cls(int(parts[0]), parts[1], parts[2], parts[3:])

    def __str__(self) -> str:
        return " ".join([str(self.tag), self.suite, self.key_params, *self.session_params])


@dataclass(frozen=True, slots=True)
class NegotiatedCrypto:
    """The suite both ends use, the key params we send with and the ones they send with."""

    suite: str
    local_key_params: str
    remote_key_params: str


class SdpError(SipError):
    """Malformed SDP or an offer we cannot accept: answer 488 Not Acceptable Here."""

    status = 488


def _is_rtp(proto: str) -> bool:
    return proto.upper().startswith("RTP/")


@dataclass(slots=True)
class MediaDescription:
    """One ``m=`` section. ``direction`` already includes a session-level default."""

    media: str
    port: int
    proto: str
    formats: list[int]
    rtpmap: dict[int, tuple[str, int]] = field(default_factory=dict)
    fmtp: dict[int, str] = field(default_factory=dict)
    direction: str = "sendrecv"
    connection: str | None = None
    ptime: int | None = None
    # Kept for round trips; offer/answer does not interpret them.
    port_count: int | None = None
    channels: dict[int, int] = field(default_factory=dict)
    raw_formats: list[str] = field(default_factory=list)  # non-RTP media: 't38', '*', ...
    attributes: list[tuple[str, str | None]] = field(default_factory=list)
    other_lines: list[str] = field(default_factory=list)  # 'b=AS:64', 'i=...', ...
    crypto: list[Crypto] = field(default_factory=list)  # a=crypto, in the offer's order

    def encoding(self, pt: int) -> tuple[str, int] | None:
        """(encoding, clock rate) of a payload type: rtpmap, else the static table."""
        return self.rtpmap.get(pt) or STATIC_PAYLOAD_TYPES.get(pt)

    def find_format(self, name: str, clock: int = 8000) -> int | None:
        """First listed payload type carrying ``name``/``clock`` (case-insensitive)."""
        for pt in self.formats:
            encoding = self.encoding(pt)
            if (
                encoding is not None
                and encoding[0].upper() == name.upper()
                and encoding[1] == clock
            ):
                return pt
        return None

    def format_tokens(self) -> list[str]:
        return (
            [str(pt) for pt in self.formats]
            if self.formats or not self.raw_formats
            else list(self.raw_formats)
        )

    def _lines(self) -> list[str]:
        port = f"{self.port}/{self.port_count}" if self.port_count is not None else str(self.port)
        lines = [f"m={self.media} {port} {' '.join([self.proto, *self.format_tokens()])}"]
        lines += [line for line in self.other_lines if line[0] in _MEDIA_BEFORE_C]
        if self.connection is not None:
            lines.append(_connection_line(self.connection))
        lines += [line for line in self.other_lines if line[0] not in _MEDIA_BEFORE_C]
        # Listed formats first, in order, then any rtpmap the m= line does not list.
        ordered = [*self.formats, *(pt for pt in self.rtpmap if pt not in self.formats)]
        for pt in ordered:
            if pt in self.rtpmap:
                name, clock = self.rtpmap[pt]
                suffix = f"/{self.channels[pt]}" if pt in self.channels else ""
                lines.append(f"a=rtpmap:{pt} {name}/{clock}{suffix}")
            if pt in self.fmtp:
                lines.append(f"a=fmtp:{pt} {self.fmtp[pt]}".rstrip())
        lines += [
            f"a=fmtp:{pt} {value}".rstrip() for pt, value in self.fmtp.items() if pt not in ordered
        ]
        if self.ptime is not None:
            lines.append(f"a=ptime:{self.ptime}")
        lines += [_attribute_line(name, value) for name, value in self.attributes]
        lines += [f"a=crypto:{crypto}" for crypto in self.crypto]
        lines.append(f"a={self.direction}")
        return lines


@dataclass(slots=True)
class SessionDescription:
    """A whole SDP body."""

    origin_user: str
    session_id: int
    version: int
    address: str
    connection: str | None
    media: list[MediaDescription]
    name: str = "-"
    timing: str = "0 0"
    attributes: list[tuple[str, str | None]] = field(default_factory=list)
    other_lines: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, body: bytes | str) -> SessionDescription:
        """Parse an SDP body; raises SdpError on anything malformed."""
        return _Parser(body).parse()

    def to_bytes(self) -> bytes:
        return ("\r\n".join(self._lines()) + "\r\n").encode("utf-8", "surrogateescape")

    def _lines(self) -> list[str]:
        origin = f"{self.origin_user} {self.session_id} {self.version}"
        lines = [
            "v=0",
            f"o={origin} IN {_addrtype(self.address)} {self.address}",
            f"s={self.name or '-'}",
        ]
        lines += [line for line in self.other_lines if line[0] in _SESSION_BEFORE_C]
        if self.connection is not None:
            lines.append(_connection_line(self.connection))
        lines += [line for line in self.other_lines if line[0] in _SESSION_BEFORE_T]
        lines.append(f"t={self.timing}")
        lines += [
            line
            for line in self.other_lines
            if line[0] not in _SESSION_BEFORE_C and line[0] not in _SESSION_BEFORE_T
        ]
        lines += [_attribute_line(name, value) for name, value in self.attributes]
        for media in self.media:
            lines += media._lines()
        return lines

    def connection_for(self, media: MediaDescription) -> str | None:
        """Where the media goes: media-level c= overrides session-level."""
        return media.connection if media.connection is not None else self.connection

    def audio_address(self) -> str | None:
        """The connection address of the first active audio stream (None: there is
        none): the address whose family the answerer's RTP socket must have."""
        for media in self.media:
            if media.media == "audio" and media.port != 0:
                address = self.connection_for(media)
                return None if address is None else address.split("/")[0]
        return None

    def effective_direction(self, media: MediaDescription) -> str:
        """Direction with old-style hold: c=0.0.0.0 means "do not send to me"."""
        address = self.connection_for(media)
        if address is not None and address.split("/")[0] in ("0.0.0.0", "::"):
            return _direction(send=_can_send(media.direction), recv=False)
        return media.direction


def is_hold(direction: str) -> bool:
    """A peer whose (effective) direction is this has put the call on hold."""
    return direction in ("sendonly", "inactive")


def _can_send(direction: str) -> bool:
    return direction in ("sendrecv", "sendonly")


def _can_recv(direction: str) -> bool:
    return direction in ("sendrecv", "recvonly")


def _direction(*, send: bool, recv: bool) -> str:
    if send and recv:
        return "sendrecv"
    if send:
        return "sendonly"
    return "recvonly" if recv else "inactive"


def mirror_direction(direction: str) -> str:
    """The answerer's direction for an offered one (RFC 3264 6.1)."""
    return _direction(send=_can_recv(direction), recv=_can_send(direction))


def _addrtype(address: str) -> str:
    return "IP6" if ":" in address else "IP4"


def _connection_line(address: str) -> str:
    return f"c=IN {_addrtype(address)} {address}"


def _attribute_line(name: str, value: str | None) -> str:
    return f"a={name}" if value is None else f"a={name}:{value}"


# --- parsing ----------------------------------------------------------------


def _int(text: str, what: str, low: int = 0, high: int | None = None) -> int:
    # The length cap keeps int() away from its digit limit (ValueError, not ours).
    value = digits(text, 40)
    if value is None:
        raise SdpError(f"bad {what}: {text[:40]!r}")
    if value < low or (high is not None and value > high):
        raise SdpError(f"{what} out of range: {value}")
    return value


class _Parser:
    def __init__(self, body: bytes | str) -> None:
        if len(body) > _MAX_SDP:
            raise SdpError("SDP body too large")
        if isinstance(body, bytes):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = body.decode("utf-8", "surrogateescape")
        else:
            text = body
            try:
                text.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError as error:
                raise SdpError("SDP text cannot be encoded") from error
        lines = (
            line.rstrip(" \t")
            for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        )
        self.lines = [line for line in lines if line]

    def parse(self) -> SessionDescription:
        if not self.lines or self.lines[0] != "v=0":
            raise SdpError("SDP must start with v=0")
        session: SessionDescription | None = None
        session_direction: str | None = None
        current: MediaDescription | None = None
        explicit: set[int] = set()  # ids of media whose direction was given at media level
        seen_timing = False
        for line in self.lines[1:]:
            if len(line) < 2 or line[1] != "=" or not ("a" <= line[0] <= "z"):
                raise SdpError(f"malformed SDP line {line[:40]!r}")
            kind, value = line[0], line[2:]
            if kind == "o":
                if session is not None:
                    raise SdpError("more than one o= line")
                session = self._origin(value)
                continue
            if session is None:
                raise SdpError(f"{kind}= before o=")
            if kind == "m":
                current = self._media(value)
                session.media.append(current)
            elif kind == "c":
                address = self._connection(value)
                if current is None:
                    if session.connection is None:
                        session.connection = address
                elif current.connection is None:
                    current.connection = address
            elif kind == "a":
                name, _, rest = value.partition(":")
                attr_value = rest if _ else None
                if name in DIRECTIONS and attr_value is None:
                    if current is None:
                        session_direction = name
                    else:
                        current.direction = name
                        explicit.add(id(current))
                elif current is None:
                    session.attributes.append((name, attr_value))
                else:
                    self._media_attribute(current, name, attr_value)
            elif current is None:
                if kind == "s":
                    session.name = value or "-"
                elif kind == "t" and not seen_timing:
                    session.timing = value
                    seen_timing = True
                elif kind != "v":
                    session.other_lines.append(line)
            else:
                current.other_lines.append(line)
        if session is None:
            raise SdpError("SDP without o= line")
        if session_direction is not None:
            for media in session.media:
                if id(media) not in explicit:
                    media.direction = session_direction
        return session

    @staticmethod
    def _origin(value: str) -> SessionDescription:
        parts = value.split()
        if len(parts) != 6:
            raise SdpError(f"bad o= line {value[:60]!r}")
        user, session_id, version, _nettype, _addrtype, address = parts
        return SessionDescription(
            origin_user=user,
            session_id=_int(session_id, "session id"),
            version=_int(version, "session version"),
            address=address,
            connection=None,
            media=[],
            name="-",
        )

    @staticmethod
    def _connection(value: str) -> str:
        parts = value.split()
        if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
            raise SdpError(f"bad c= line {value[:60]!r}")
        return parts[2]

    @staticmethod
    def _media(value: str) -> MediaDescription:
        parts = value.split()
        if len(parts) < 3:
            raise SdpError(f"bad m= line {value[:60]!r}")
        media, port_text, proto, *tokens = parts
        port_text, slash, count_text = port_text.partition("/")
        port = _int(port_text, "media port", 0, 65535)
        port_count = _int(count_text, "port count", 1) if slash else None
        description = MediaDescription(
            media=media, port=port, proto=proto, formats=[], port_count=port_count
        )
        if _is_rtp(proto):
            description.formats = [_int(token, "payload type", 0, 127) for token in tokens]
        else:
            description.raw_formats = tokens
        return description

    @staticmethod
    def _media_attribute(media: MediaDescription, name: str, value: str | None) -> None:
        if name == "rtpmap" and _is_rtp(media.proto):
            pt_text, _, encoding = (value or "").partition(" ")
            pt = _int(pt_text, "rtpmap payload type", 0, 127)
            pieces = encoding.strip().split("/")
            if len(pieces) not in (2, 3) or not pieces[0]:
                raise SdpError(f"bad rtpmap {value!r}")
            media.rtpmap[pt] = (pieces[0], _int(pieces[1], "clock rate", 1))
            if len(pieces) == 3:
                media.channels[pt] = _int(pieces[2], "channels", 1)
        elif name == "fmtp" and _is_rtp(media.proto):
            pt_text, _, params = (value or "").partition(" ")
            media.fmtp[_int(pt_text, "fmtp payload type", 0, 127)] = params.strip()
        elif name == "ptime" and value is not None and _ptime(value) is not None:
            media.ptime = _ptime(value)
        elif name == "crypto" and value is not None and (crypto := Crypto.parse(value)):
            media.crypto.append(crypto)
        else:
            media.attributes.append((name, value))


def _ptime(value: str) -> int | None:
    # Some stacks write "20.0"; anything unusable stays an opaque attribute.
    try:
        ptime = round(float(value))
    except (ValueError, OverflowError):
        return None
    return ptime if 0 < ptime <= 10_000 else None


# --- offer / answer --------------------------------------------------------


@dataclass(slots=True)
class Negotiated:
    """What the media engine needs: where to send, which codec, which direction (ours)."""

    address: str
    port: int
    codec: str
    payload_type: int
    dtmf_payload_type: int | None
    direction: str
    crypto: NegotiatedCrypto | None = None  # None: plain RTP


def _check_codecs(codecs: tuple[str, ...] | list[str]) -> list[str]:
    names = [codec.upper() for codec in codecs]
    unknown = [name for name in names if name not in SUPPORTED_CODECS]
    if unknown or not names:
        raise SdpError(f"unsupported codecs {unknown or codecs!r}")
    return names


def _audio_media(
    port: int,
    codecs: list[tuple[str, int]],
    dtmf_pt: int | None,
    direction: str,
    dtmf_clock: int | None = None,
) -> MediaDescription:
    """An m=audio of `codecs` (upper-case name, PT) and, from `dtmf_pt` on, one
    telephone-event per clock rate among them (RFC 4733 events use the audio's clock),
    or only at `dtmf_clock` (an answer echoes the offer's)."""
    media = MediaDescription(
        media="audio", port=port, proto="RTP/AVP", formats=[], direction=direction, ptime=PTIME_MS
    )
    clocks: list[int] = []
    for name, pt in codecs:
        codec = SUPPORTED_CODECS[name]
        media.formats.append(pt)
        media.rtpmap[pt] = (codec.name, codec.clock)
        if codec.channels is not None:
            media.channels[pt] = codec.channels
        if codec.fmtp is not None:
            media.fmtp[pt] = codec.fmtp
        if codec.clock not in clocks:
            clocks.append(codec.clock)
    if dtmf_clock is not None:
        clocks = [dtmf_clock]
    if dtmf_pt is not None:
        for offset, clock in enumerate(clocks):
            media.formats.append(dtmf_pt + offset)
            media.rtpmap[dtmf_pt + offset] = (TELEPHONE_EVENT, clock)
            media.fmtp[dtmf_pt + offset] = DTMF_EVENTS
    return media


def make_offer(
    address: str,
    port: int,
    *,
    codecs: tuple[str, ...] = ("PCMU", "PCMA"),
    dtmf_pt: int | None = 101,
    session_id: int,
    version: int = 1,
    direction: str = "sendrecv",
    srtp: SrtpMode = SrtpMode.OFF,
    keys: Mapping[str, str] | None = None,
) -> SessionDescription:
    """An audio offer: the codecs in preference order plus telephone-event/8000.

    With SRTP, one crypto line per suite of ``keys`` (suite: our key params, in
    our order of preference); RTP/SAVP when it is mandatory, else RTP/AVP with
    crypto lines (best effort: a peer without SRTP still answers in plain RTP).
    """
    if direction not in DIRECTIONS:
        raise SdpError(f"bad direction {direction!r}")
    if srtp is not SrtpMode.OFF and not keys:
        raise SdpError("SRTP offer without keys")
    names = _check_codecs(codecs)
    if dtmf_pt is not None and not 96 <= dtmf_pt <= 127:
        raise SdpError(f"telephone-event needs a dynamic payload type, not {dtmf_pt}")
    media = _audio_media(
        port, [(name, SUPPORTED_CODECS[name].payload_type) for name in names], dtmf_pt, direction
    )
    if srtp is not SrtpMode.OFF and keys:
        media.crypto = [
            Crypto(tag, suite, params) for tag, (suite, params) in enumerate(keys.items(), 1)
        ]
        if srtp is SrtpMode.MANDATORY:
            media.proto = "RTP/SAVP"
    return SessionDescription(
        origin_user="-",
        session_id=session_id,
        version=version,
        address=address,
        connection=address,
        media=[media],
    )


def _rejected(offered: MediaDescription) -> MediaDescription:
    # RFC 3264 6: same m= line with port 0 and at least one of the offered formats.
    return MediaDescription(
        media=offered.media,
        port=0,
        proto=offered.proto,
        formats=list(offered.formats),
        raw_formats=list(offered.raw_formats) or ([] if offered.formats else ["0"]),
        direction="inactive",
    )


def _telephone_event(media: MediaDescription, clock: int = 8000) -> tuple[int, int] | None:
    """(PT, clock) of the telephone-event at the audio's `clock`; many phones (baresip
    among them) offer only telephone-event/8000 beside Opus: taken when nothing better."""
    for rate in (clock, 8000) if clock != 8000 else (clock,):
        pt = media.find_format(TELEPHONE_EVENT, rate)
        if pt is not None:
            return pt, rate
    return None


def make_answer(
    offer: SessionDescription,
    address: str,
    port: int,
    *,
    codecs: tuple[str, ...] = ("PCMU", "PCMA"),
    session_id: int,
    version: int = 1,
    srtp: SrtpMode = SrtpMode.OFF,
    keys: Mapping[str, str] | None = None,
    usable: KeyCheck | None = None,
) -> tuple[SessionDescription, Negotiated]:
    """Answer the first usable audio stream of ``offer``; reject every other stream.

    The codec is the first of OUR preference list that the offer carries (by
    rtpmap or static payload type) under the offer's payload type number;
    telephone-event is echoed with the offer's payload type; the direction
    mirrors the offer's (old-style c=0.0.0.0 hold counts as sendonly).

    SRTP (RFC 4568 5.1.2): the first offered crypto line whose suite is in
    ``keys`` and whose key params ``usable`` accepts is answered with its tag and
    our key for that suite. An RTP/SAVP stream, or any stream when SRTP is
    mandatory, without such a line is rejected; with SRTP off only RTP/AVP(F).
    """
    names = _check_codecs(codecs)
    secure = _Secure(srtp, keys or {}, usable)
    answer_media: list[MediaDescription] = []
    negotiated: Negotiated | None = None
    for offered in offer.media:
        accepted = None
        if (
            negotiated is None
            and offered.media == "audio"
            and offered.port != 0
            and offered.proto.upper() in _AUDIO_PROFILES
        ):
            accepted = _accept(offer, offered, names, address, port, secure)
        if accepted is None:
            answer_media.append(_rejected(offered))
            continue
        media, negotiated = accepted
        answer_media.append(media)
    if negotiated is None:
        if secure.refused:
            raise SdpError("no supported SRTP crypto suite in offer")
        raise SdpError("no common audio codec in offer")
    answer = SessionDescription(
        origin_user="-",
        session_id=session_id,
        version=version,
        address=address,
        connection=address,
        media=answer_media,
    )
    return answer, negotiated


# (suite, key params) -> can the media engine use this key (media.srtp.SrtpKey parses it)
KeyCheck = Callable[[str, str], bool]


class _Secure:
    """The answerer's SRTP choice for one offer; remembers a stream refused for want of it."""

    def __init__(self, mode: SrtpMode, keys: Mapping[str, str], usable: KeyCheck | None) -> None:
        if mode is not SrtpMode.OFF and not keys:
            raise SdpError("SRTP answer without keys")
        self.mode = mode
        self.keys = keys
        self.usable = usable
        self.refused = False

    def choose(self, offered: MediaDescription) -> tuple[bool, Crypto | None]:
        """(acceptable, the offered crypto line to answer or None for plain RTP)."""
        secure_profile = offered.proto.upper() in SECURE_PROFILES
        if self.mode is SrtpMode.OFF:
            return not secure_profile, None
        for crypto in offered.crypto:
            if (
                crypto.suite in self.keys
                and not crypto.session_params
                and (self.usable is None or self.usable(crypto.suite, crypto.key_params))
            ):
                return True, crypto
        if secure_profile or self.mode is SrtpMode.MANDATORY:
            self.refused = True
            return False, None
        return True, None


def _accept(
    offer: SessionDescription,
    offered: MediaDescription,
    names: list[str],
    address: str,
    port: int,
    secure: _Secure,
) -> tuple[MediaDescription, Negotiated] | None:
    for name in names:
        pt = offered.find_format(name, SUPPORTED_CODECS[name].clock)
        if pt is not None:
            break
    else:
        return None
    acceptable, crypto = secure.choose(offered)
    if not acceptable:
        return None
    remote = offer.connection_for(offered)
    if remote is None:
        raise SdpError("offered audio stream without a connection address")
    event = _telephone_event(offered, SUPPORTED_CODECS[name].clock)
    dtmf_pt = None if event is None else event[0]
    direction = mirror_direction(offer.effective_direction(offered))
    media = _audio_media(
        port, [(name, pt)], dtmf_pt, direction, None if event is None else event[1]
    )
    media.proto = offered.proto
    negotiated_crypto = None
    if crypto is not None:
        local = secure.keys[crypto.suite]
        media.crypto = [Crypto(crypto.tag, crypto.suite, local)]
        negotiated_crypto = NegotiatedCrypto(crypto.suite, local, crypto.key_params)
    negotiated = Negotiated(
        address=remote.split("/")[0],
        port=offered.port,
        codec=name,
        payload_type=pt,
        dtmf_payload_type=dtmf_pt,
        direction=direction,
        crypto=negotiated_crypto,
    )
    return media, negotiated


def _first_supported(
    media: MediaDescription, offered: MediaDescription | None
) -> tuple[str, int] | None:
    """The answer's first codec that we support and offered (an answer may not pick
    another, RFC 3264 6.1); an m= line beyond our offer's (None) may carry only G.711."""
    for pt in media.formats:
        encoding = media.encoding(pt)
        codec = None if encoding is None else SUPPORTED_CODECS.get(encoding[0].upper())
        if (
            codec is not None
            and encoding is not None
            and encoding[1] == codec.clock
            and (
                codec.payload_type in (0, 8)
                if offered is None
                else offered.find_format(encoding[0], codec.clock) is not None
            )
        ):
            return encoding[0].upper(), pt
    return None


def negotiated_from_answer(
    offer: SessionDescription,
    answer: SessionDescription,
    *,
    srtp: SrtpMode = SrtpMode.OFF,
    usable: KeyCheck | None = None,
) -> Negotiated:
    """The offerer's view once the answer arrives: the peer's address, codec, our direction.

    With SRTP, the answer's crypto line must name one of our offered tags with
    its suite (RFC 4568 5.1.3); without one, the call is plain unless SRTP is
    mandatory or the answer's profile is RTP/SAVP (SdpError: 488).
    """
    for index, answered in enumerate(answer.media):
        if answered.media != "audio" or answered.port == 0 or not _is_rtp(answered.proto):
            continue
        offered = offer.media[index] if index < len(offer.media) else None
        chosen = _first_supported(answered, offered)
        if chosen is None:
            continue
        codec, codec_pt = chosen
        clock = SUPPORTED_CODECS[codec].clock
        remote = answer.connection_for(answered)
        if remote is None:
            raise SdpError("answered audio stream without a connection address")
        event = _telephone_event(answered, clock)
        dtmf_pt = None if event is None else event[0]
        if dtmf_pt is None and offered is not None:
            # An answer may list the offered PT without repeating its rtpmap.
            offered_event = _telephone_event(offered, clock)
            offered_dtmf = None if offered_event is None else offered_event[0]
            if (
                offered_dtmf is not None
                and offered_dtmf in answered.formats
                and offered_dtmf not in answered.rtpmap
            ):
                dtmf_pt = offered_dtmf
        ours = offer.effective_direction(offered) if offered is not None else "sendrecv"
        theirs = mirror_direction(answer.effective_direction(answered))
        direction = _direction(
            send=_can_send(ours) and _can_send(theirs), recv=_can_recv(ours) and _can_recv(theirs)
        )
        crypto = None if srtp is SrtpMode.OFF else _answered_crypto(offered, answered, srtp, usable)
        return Negotiated(
            address=remote.split("/")[0],
            port=answered.port,
            codec=codec,
            payload_type=codec_pt,
            dtmf_payload_type=dtmf_pt,
            direction=direction,
            crypto=crypto,
        )
    raise SdpError("answer accepts no audio stream with a codec we offered")


def _answered_crypto(
    offered: MediaDescription | None,
    answered: MediaDescription,
    srtp: SrtpMode,
    usable: KeyCheck | None,
) -> NegotiatedCrypto | None:
    if not answered.crypto:
        if srtp is SrtpMode.MANDATORY or answered.proto.upper() in SECURE_PROFILES:
            raise SdpError("answer without a crypto line for SRTP")
        return None
    chosen = answered.crypto[0]
    ours = next(
        (c for c in (offered.crypto if offered else []) if c.tag == chosen.tag),
        None,
    )
    if ours is None or ours.suite != chosen.suite:
        raise SdpError(f"answer's crypto tag {chosen.tag} does not match our offer")
    if usable is not None and not usable(chosen.suite, chosen.key_params):
        raise SdpError("answer's SRTP key cannot be used")
    return NegotiatedCrypto(chosen.suite, ours.key_params, chosen.key_params)
