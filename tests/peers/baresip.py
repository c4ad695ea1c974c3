"""baresip 1.0.0 run headless from a generated config dir, driven through stdin.

Microphone = a WAV file (aufile), speaker = ALSA's null device, and the sndfile
filter dumps what it heard (-dec.wav) and what it sent (-enc.wav) per call.
What happened is learned from its log (stdout+stderr, kept per instance), parsed
into events; each wait_* call consumes the next event of its kind, so a test
reads a call's life in order: wait_incoming, wait_call_established, wait_call_closed.

baresip 1.0.0 log lines relied on (see EVENT_PATTERNS):
    baresip is ready.
    alice@127.0.0.1: {0/UDP/v4} 200 OK (Kamailio ...) [1 binding]     registered
    alice@127.0.0.1: reg: ... / registration failed ...                register failed
    call: SIP Progress: 180 Ringing (/)
    Incoming call from: sip:bob@127.0.0.1:15060 - (press 'a' to accept)   (answermode=manual)
    call: answering call on line 1 from sip:bob@... with 200             (answermode=auto)
    alice@127.0.0.1: Call established: sip:bob@127.0.0.1:15070
    sip:bob@...: session closed: Connection reset by peer     (remote BYE, or CANCEL)
    sip:bob@...: session closed: 486 Busy Here                (failed outgoing call)
    call: terminate call '<id>' with sip:bob@...              (our /hangup)
    menu: audio error (0,end of file)                         (microphone WAV ran out)
    ----- MWI for sip:102@...  then  Messages-Waiting: yes    (mwi.so's NOTIFY body)
    <sip:103@127.0.0.1:5060> changed status from Online to Busy   (presence.so, a contact
        with ;presence=p2p; the first status after Unknown is not printed)
    alice@127.0.0.1: Call with sip:bob@... terminated (duration: 5 secs)
    received event: '1' (end=1)                                        (RFC 4733 in)
    sndfile: dumping decode audio to /path/dump-...-dec.wav
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path

from .ports import BARESIP_BLOCK
from .process import LogFollower, PeerError, PeerProcess, wait_until

HOST = "127.0.0.1"
MODULES_DIR = "/usr/lib/baresip/modules"


@dataclass(slots=True)
class BaresipAccount:
    """One baresip account line.

    registrar None: a local account (no REGISTER), reachable directly at
    sip:user@127.0.0.1:PORT. `outbound` ("host:port") sends every request through
    that proxy, with or without registration.
    """

    user: str
    password: str | None = None
    registrar: str | None = None  # "host:port"
    regint: int = 60  # 0 = never REGISTER
    answermode: str = "auto"  # "auto" | "manual"
    audio_codecs: str = "PCMU"  # "PCMU", "PCMA", "PCMU,PCMA", "G722", "opus"
    outbound: str | None = None  # "host:port"
    auth_user: str | None = None
    display_name: str | None = None
    transport: str = "udp"
    # "srtp" (best effort: RTP/AVP with crypto lines) or "srtp-mand" (RTP/SAVP, SDES only);
    # loads baresip's srtp module
    mediaenc: str | None = None

    def line(self, local_port: int, host: str = HOST) -> str:
        if self.answermode not in ("auto", "manual"):
            raise ValueError(f"answermode {self.answermode!r}")
        domain = self.registrar or f"{host}:{local_port}"
        regint = self.regint if self.registrar else 0
        display = f'"{self.display_name}" ' if self.display_name else ""
        params = [
            f"regint={regint}",
            f"answermode={self.answermode}",
            f"audio_codecs={self.audio_codecs}",
        ]
        if self.password is not None:
            params.insert(0, f"auth_pass={self.password}")
        if self.auth_user:
            params.insert(0, f"auth_user={self.auth_user}")
        if self.mediaenc:
            params.append(f"mediaenc={self.mediaenc}")
        if self.outbound:
            params.append(f'outbound="sip:{self.outbound};lr;transport={self.transport}"')
        return f"{display}<sip:{self.user}@{domain};transport={self.transport}>;" + ";".join(params)


# kind -> pattern; group names become the event's fields.
EVENT_PATTERNS: dict[str, re.Pattern[str]] = {
    "ready": re.compile(r"baresip is ready\."),
    "registered": re.compile(
        r"^(?P<aor>\S+): \{\d+/(?P<transport>\w+)/v\d\} (?P<code>2\d\d) (?P<reason>[^(\[]*?)\s*"
        r"(?:\((?P<server>.*)\))?\s*\[(?P<bindings>\d+) binding"
    ),
    "register_failed": re.compile(r"^reg: (?P<aor>sips?:\S*): (?P<reason>.*)$"),
    "progress": re.compile(r"^call: SIP Progress: (?P<code>1\d\d) (?P<reason>.*?)(?: \(.*\))?$"),
    "incoming": re.compile(
        r"^(?P<aor>\S+): Incoming call from: +(?P<display>.*?) ?(?P<peer>sips?:\S+) - \(press"
    ),
    "answering": re.compile(r"^call: answering call on line (?P<line>\d+) from (?P<peer>\S+)"),
    "connecting": re.compile(r"^call: connecting to '(?P<peer>[^']*)'"),
    "established": re.compile(r"^(?P<aor>\S+): Call established: (?P<peer>\S+)"),
    "session_closed": re.compile(r"^(?P<peer>\S+): session closed: (?P<reason>.*)$"),
    "terminate_local": re.compile(r"^call: terminate call '(?P<id>[^']*)' with (?P<peer>\S+)"),
    "terminated": re.compile(
        r"^(?P<aor>\S+): Call with (?P<peer>\S+) terminated \(duration: (?P<duration>[^)]*)\)"
    ),
    "rtp_established": re.compile(
        r"^stream: incoming rtp for '(?P<media>\w+)' established, receiving from "
        r"(?P<addr>\S+)"
    ),
    "dtmf": re.compile(r"^received event: '(?P<digit>.)' \(end=(?P<end>[01])\)"),
    "dtmf_sent": re.compile(r"^audio: send DTMF digit: '(?P<digit>.)'"),
    "recording": re.compile(r"^sndfile: dumping (?P<kind>encode|decode) audio to (?P<path>\S+)"),
    "audio_error": re.compile(r"^menu: audio error \((?P<reason>.*)\)"),
    # the menu prints a NOTIFY's message-summary body (mwi.so subscribes): the lamp
    "mwi": re.compile(r"^Messages-Waiting: (?P<waiting>yes|no)"),
    "mwi_voice": re.compile(r"^Voice-Message: (?P<new>\d+)/(?P<old>\d+)"),
    # presence.so's verdict on a watched contact's PIDF NOTIFY (Online, Offline, Busy)
    "presence": re.compile(r"^<(?P<uri>[^>]+)> changed status from (?P<old>\w+) to (?P<new>\w+)"),
}


@dataclass(slots=True)
class BaresipEvent:
    kind: str
    fields: dict[str, str]
    line: str
    at: float  # time.monotonic() when we read it


@dataclass(slots=True)
class CallClosed:
    peer: str
    reason: str | None  # from "session closed: ..." (None = we hung up)
    duration: str | None = None  # "5 secs"; only once an established call's summary is read


@dataclass(slots=True)
class _Cursor:
    seen: dict[str, int] = field(default_factory=dict)  # kind -> events consumed


class Baresip:
    """One baresip instance; `port` is the base of a 10-port block (see ports.py).

    `host` is the address it binds SIP and RTP to; `netns` the network namespace it
    runs in (tests/peers/netns.py), where `host` is that namespace's address.
    `sip_trace` logs every SIP message (read them back with `log_text()`).
    """

    def __init__(
        self,
        workdir: Path,
        account: BaresipAccount,
        port: int,
        source_wav: Path,
        *,
        name: str | None = None,
        ctrl_tcp_port: int | None = None,
        extra_config: dict[str, str] | None = None,
        host: str = HOST,
        netns: str | None = None,
        sip_trace: bool = False,
        extra_apps: list[str] | None = None,
        contacts: list[str] | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.extra_apps = list(extra_apps or [])  # e.g. "mwi.so": subscribes message-summary
        # contacts file lines, e.g. "<sip:103@127.0.0.1:5060>;presence=p2p": with
        # "presence.so" among extra_apps it subscribes to that contact's presence
        self.contacts = list(contacts or [])
        self.host = host
        self.uri_host = f"[{host}]" if ":" in host else host  # IPv6 ::1 as [::1]
        self.account = account
        self.port = port
        self.source_wav = Path(source_wav)
        self.name = name or account.user
        self.ctrl_tcp_port = ctrl_tcp_port
        self.config_dir = self.workdir / "config"
        self.recordings_dir = self.workdir / "recordings"
        self.log_path = self.workdir / "baresip.log"
        self.events: list[BaresipEvent] = []
        self._cursor = _Cursor()
        self._follower = LogFollower(self.log_path)
        self._write_config(extra_config or {})
        # -s: every SIP message sent and received goes to the log too
        self.process = PeerProcess(
            ["baresip", "-f", str(self.config_dir), *(["-s"] if sip_trace else [])],
            self.log_path,
            cwd=self.workdir,
            stdin_pipe=True,
            netns=netns,
        )

    # -- config ------------------------------------------------------------------------

    def _write_config(self, extra: dict[str, str]) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.recordings_dir.mkdir(parents=True, exist_ok=True)
        settings: dict[str, str] = {
            "poll_method": "epoll",
            "sip_listen": f"{self.uri_host}:{self.port}",
            "call_local_timeout": "120",
            "call_max_calls": "4",
            "audio_player": "alsa,null",
            "audio_alert": "alsa,null",
            "audio_source": f"aufile,{self.source_wav}",
            "audio_level": "no",
            "audio_buffer": "20-160",
            "rtp_ports": f"{self.port + 2}-{self.port + BARESIP_BLOCK - 1}",
            "rtp_timeout": "0",
            "jitter_buffer_delay": "1-10",
            "rtcp_mux": "no",
            # Without this RTP binds the machine's interface address, not loopback.
            "net_interface": self.host,
            # relative to the process's cwd (the workdir): sndfile cuts its file names at
            # 128 bytes, and a deep pytest tmp path lost the ".wav" that way
            "snd_path": self.recordings_dir.name,
            "module_path": MODULES_DIR,
        }
        if self.ctrl_tcp_port is not None:
            settings["ctrl_tcp_listen"] = f"{self.uri_host}:{self.ctrl_tcp_port}"
        settings.update(extra)
        # the wideband codecs load for every phone; an account's audio_codecs says which
        # of them it offers (the default offers PCMU only, as before)
        modules = [
            "stdio.so",
            "g711.so",
            "g722.so",
            "opus.so",
            "aufile.so",
            "alsa.so",
            "sndfile.so",
        ]
        if self.account.mediaenc:
            modules.append("srtp.so")
        apps = ["menu.so"] + (["ctrl_tcp.so"] if self.ctrl_tcp_port is not None else [])
        # baresip 1.0's mwi.so subscribes for every UA in its list from a 1 ms start
        # timer, appending to the list it walks: when the registration beat that timer
        # the walk never ends (a SUBSCRIBE flood). Loaded first, before account.so
        # sends the first REGISTER, its timer always fires on an empty list.
        early = [m for m in self.extra_apps if m == "mwi.so"]
        if self.contacts:  # contact.so reads the contacts file; presence.so then walks them
            apps.append("contact.so")
        apps += [m for m in self.extra_apps if m not in early]
        lines = [f"{k}\t{v}" for k, v in settings.items()]
        lines += [f"module\t{m}" for m in early + modules]
        lines.append("module_tmp\taccount.so")
        lines += [f"module_app\t{m}" for m in apps]
        (self.config_dir / "config").write_text("\n".join(lines) + "\n")
        (self.config_dir / "accounts").write_text(
            self.account.line(self.port, self.uri_host) + "\n"
        )
        (self.config_dir / "contacts").write_text("".join(f"{c}\n" for c in self.contacts))

    # -- addresses ---------------------------------------------------------------------

    @property
    def contact_uri(self) -> str:
        """Where this baresip itself listens: dial it directly here."""
        return f"sip:{self.account.user}@{self.uri_host}:{self.port}"

    @property
    def aor(self) -> str:
        host = self.account.registrar or f"{self.uri_host}:{self.port}"
        return f"sip:{self.account.user}@{host}"

    # -- life cycle ----------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> Baresip:
        if not self.source_wav.exists():
            raise PeerError(f"audio source {self.source_wav} does not exist")
        self.process.start()
        self._wait("ready", timeout)
        return self

    def stop(self) -> None:
        if self.process.alive:
            try:
                self.process.write("/quit\n")
                self.process.wait(2.0)
            except Exception:
                pass
        self.process.stop()

    def kill(self) -> None:
        """Ends the phone at once. At teardown nobody reads its recordings any more, and a
        /quit waits out its un-REGISTER (seconds) when the registrar is already gone."""
        self.process.stop(graceful=False)

    def __enter__(self) -> Baresip:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- commands ------------------------------------------------------------------------

    def command(self, text: str) -> None:
        """A menu command as typed, e.g. "/dial sip:x@host" (the newline is added)."""
        self.process.write(text + "\n")

    def dial(self, uri: str) -> None:
        self.command(f"/dial {uri}")

    def hangup(self) -> None:
        self.command("/hangup")

    def accept(self) -> None:
        self.command("/accept")

    def send_dtmf(self, digits: str) -> None:
        """RFC 4733 events for each digit (0-9 * # A-D) in the current call."""
        bad = set(digits) - set("0123456789*#ABCD")
        if bad:
            raise ValueError(f"not DTMF digits: {sorted(bad)}")
        self.command(f"/sndcode {digits}")

    def ctrl(self, command: str, params: str = "", timeout: float = 5.0) -> dict:
        """One ctrl_tcp command (needs ctrl_tcp_port); returns baresip's JSON response.

        ctrl_tcp serves one connection at a time (a new one replaces the old), so
        each call opens its own and closes it. Events arriving meanwhile are skipped.
        """
        if self.ctrl_tcp_port is None:
            raise PeerError(f"baresip {self.name}: started without ctrl_tcp")
        token = uuid.uuid4().hex[:8]
        body = json.dumps({"command": command, "params": params, "token": token}).encode()
        with socket.create_connection((self.host, self.ctrl_tcp_port), timeout=timeout) as conn:
            conn.sendall(f"{len(body)}:".encode() + body + b",")
            buffer = b""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                while True:
                    head, sep, rest = buffer.partition(b":")
                    if not sep or not head.isdigit() or len(rest) < int(head) + 1:
                        break
                    size = int(head)
                    message = json.loads(rest[:size])
                    buffer = rest[size + 1 :]
                    if message.get("response") and message.get("token") == token:
                        return message
                chunk = conn.recv(65536)
                if not chunk:
                    break
                buffer += chunk
        raise PeerError(f"baresip {self.name}: no ctrl_tcp response to {command!r}")

    # -- events --------------------------------------------------------------------------

    def poll_events(self) -> list[BaresipEvent]:
        """Parse whatever the log gained since last time; returns all events so far."""
        now = time.monotonic()
        for line in self._follower.new_lines():
            line = line.strip()
            for kind, pattern in EVENT_PATTERNS.items():
                m = pattern.search(line)
                if m:
                    fields = {k: v for k, v in m.groupdict().items() if v is not None}
                    self._add(BaresipEvent(kind, fields, line, now))
        return self.events

    # Lines that start a new call: a "terminated" line after one of these is a new end.
    _CALL_START = ("connecting", "incoming", "answering", "established")

    def _add(self, event: BaresipEvent) -> None:
        self.events.append(event)
        # baresip logs a call's end in up to two lines, depending on how it ended:
        #   remote BYE / failure:  "session closed: <reason>" [+ "Call with X terminated"]
        #   our /hangup:           "call: terminate call ..."  [+ "Call with X terminated"]
        # ("terminated" only for calls that were established). One "call_end" each.
        if event.kind == "session_closed":
            self._end(event, event.fields["peer"], event.fields["reason"])
        elif event.kind == "terminate_local":
            self._end(event, event.fields["peer"], None)
        elif event.kind == "audio_error":
            # "menu: audio error (0,end of file)": the microphone file ran out and
            # baresip hangs up by itself; the peer is on the "terminated" line after.
            self._end(event, "", f"audio error: {event.fields['reason'].split(',', 1)[-1]}")
        elif event.kind == "terminated":
            previous = self._last_call_event()
            if previous is not None and previous.kind == "call_end":
                previous.fields["duration"] = event.fields["duration"]
                previous.fields["peer"] = previous.fields["peer"] or event.fields["peer"]
            else:
                self._end(event, event.fields["peer"], None)
                self.events[-1].fields["duration"] = event.fields["duration"]

    def _end(self, cause: BaresipEvent, peer: str, reason: str | None) -> None:
        fields = {"peer": peer}
        if reason is not None:
            fields["reason"] = reason
        self.events.append(BaresipEvent("call_end", fields, cause.line, cause.at))

    def _last_call_event(self) -> BaresipEvent | None:
        for earlier in reversed(self.events[:-1]):
            if earlier.kind == "call_end" or earlier.kind in self._CALL_START:
                return earlier
        return None

    def events_of(self, kind: str) -> list[BaresipEvent]:
        return [e for e in self.poll_events() if e.kind == kind]

    def _next(self, kind: str) -> BaresipEvent | None:
        index = self._cursor.seen.get(kind, 0)
        found = self.events_of(kind)
        if len(found) > index:
            self._cursor.seen[kind] = index + 1
            return found[index]
        return None

    def _peek(self, kind: str) -> BaresipEvent | None:
        index = self._cursor.seen.get(kind, 0)
        found = self.events_of(kind)
        return found[index] if len(found) > index else None

    def _wait(self, kind: str, timeout: float) -> BaresipEvent:
        return wait_until(
            lambda: self._next(kind),
            timeout,
            alive=self.process,
            what=f"baresip {self.name}: {kind}",
        )

    def wait_ready(self, timeout: float = 10.0) -> BaresipEvent:
        return self._wait("ready", timeout)

    def wait_registered(self, timeout: float = 10.0) -> BaresipEvent:
        """The next successful REGISTER (200 OK); raises at once when one failed."""

        def check() -> BaresipEvent | None:
            failed = self._next("register_failed")
            if failed is not None:
                raise PeerError(f"baresip {self.name}: registration failed: {failed.line}")
            return self._next("registered")

        return wait_until(
            check, timeout, alive=self.process, what=f"baresip {self.name}: registered"
        )

    def wait_register_failed(self, timeout: float = 10.0) -> BaresipEvent:
        """The next failed REGISTER; fields: aor, reason (e.g. '403 Forbidden (...)')."""
        return self._wait("register_failed", timeout)

    def wait_incoming(self, timeout: float = 10.0) -> BaresipEvent:
        """An incoming call: 'Incoming call' (manual) or 'answering call' (auto)."""
        kind = "incoming" if self.account.answermode == "manual" else "answering"
        return self._wait(kind, timeout)

    def wait_progress(self, timeout: float = 10.0) -> BaresipEvent:
        """The next provisional response to our INVITE; fields: code, reason."""
        return self._wait("progress", timeout)

    def wait_call_established(self, timeout: float = 10.0) -> BaresipEvent:
        """The next established call; raises when the call ends first."""

        def check() -> BaresipEvent | None:
            established = self._next("established")
            if established is not None:
                return established
            ended = self._peek("call_end")
            if ended is not None:
                raise PeerError(
                    f"baresip {self.name}: call ended before it was established: "
                    f"{ended.fields.get('reason', 'local hangup')}"
                )
            return None

        return wait_until(
            check, timeout, alive=self.process, what=f"baresip {self.name}: call established"
        )

    def wait_rtp(self, timeout: float = 10.0) -> BaresipEvent:
        """The next call's audio arriving: "stream: incoming rtp ... established"."""
        return self._wait("rtp_established", timeout)

    def wait_call_closed(self, timeout: float = 10.0) -> CallClosed:
        """The next call end. `.reason`: '486 Busy Here', '404 Not Found',
        'Connection reset by peer' (the peer sent BYE or CANCEL), 'audio error: end of
        file' (the source WAV ran out); None when we hung up."""
        event = self._wait("call_end", timeout)
        return CallClosed(
            event.fields["peer"], event.fields.get("reason"), event.fields.get("duration")
        )

    def wait_mwi(self, waiting: str, timeout: float = 10.0) -> BaresipEvent:
        """The next message-summary NOTIFY saying Messages-Waiting: `waiting` ("yes" or
        "no"), those saying otherwise skipped (needs ``extra_apps=["mwi.so"]``)."""

        def check() -> BaresipEvent | None:
            event = self._next("mwi")
            while event is not None and event.fields["waiting"] != waiting:
                event = self._next("mwi")
            return event

        return wait_until(check, timeout, alive=self.process, what=f"baresip {self.name}: MWI")

    def wait_presence(self, status: str, timeout: float = 10.0) -> BaresipEvent:
        """The next change of a watched contact's status to `status` ("Busy", "Online",
        "Offline"), other changes skipped (needs ``extra_apps=["presence.so"]`` and a
        contact with ``;presence=p2p``)."""

        def check() -> BaresipEvent | None:
            event = self._next("presence")
            while event is not None and event.fields["new"] != status:
                event = self._next("presence")
            return event

        return wait_until(
            check, timeout, alive=self.process, what=f"baresip {self.name}: presence {status}"
        )

    def dtmf_received(self) -> str:
        """Digits received as RFC 4733 events so far (one per completed event)."""
        return "".join(e.fields["digit"] for e in self.events_of("dtmf") if e.fields["end"] == "1")

    def wait_dtmf(self, digits: str, timeout: float = 10.0) -> str:
        return wait_until(
            lambda: self.dtmf_received().endswith(digits) and self.dtmf_received(),
            timeout,
            alive=self.process,
            what=f"baresip {self.name}: DTMF {digits!r}",
        )

    # -- recordings ---------------------------------------------------------------------

    def recordings(self, kind: str | None = None) -> list[Path]:
        """dump-*-dec.wav (heard) / dump-*-enc.wav (sent) files, oldest first.

        kind: "dec" or "enc" to filter. Two calls in the same second share a name
        and the second overwrites the first.
        """
        pattern = f"dump-*-{kind}.wav" if kind else "dump-*.wav"
        return sorted(self.recordings_dir.glob(pattern), key=lambda p: (p.stat().st_mtime, p.name))

    def last_recording(self, kind: str = "dec", timeout: float = 5.0) -> Path:
        """The newest recording, once baresip has closed it: sndfile writes the WAV
        header's sizes when the call ends, a moment after the call-closed line."""
        found = self.recordings(kind)
        if not found:
            raise PeerError(f"baresip {self.name}: no {kind} recording in {self.recordings_dir}")
        path = found[-1]
        # reading it will say what is wrong with it
        with contextlib.suppress(PeerError):
            wait_until(lambda: _complete_wav(path), timeout, what=f"{path} to be closed")
        return path

    def log_text(self) -> str:
        return self.process.log_text()


def _complete_wav(path: Path) -> bool:
    try:
        with wave.open(str(path), "rb") as wav:
            expected = wav.getnframes() * wav.getsampwidth() * wav.getnchannels()
    except (wave.Error, EOFError, OSError):
        return False
    return expected > 0 and path.stat().st_size >= expected + 44
