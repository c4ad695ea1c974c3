"""linphonec (Debian linphone-cli, liblinphone 5): a second softphone stack, driven on stdin.

What its rc file needs (found by trying, liblinphone 5.1): `[sip] bind_address` pins
SIP to one address (else it binds [::0] and advertises the machine's default-route
address, in SDP too); the SIP port is set with the `ports sip N` command, the rc's
`sip_port` alone opened no listening point; `register_only_when_network_is_up=0`,
`auto_net_state_mon=0` so it registers without a network monitor. Its SDP address
follows its SIP ("Found media local-ip from signaling"). `soundcard use files` plays
the `play` WAV as its microphone and writes what it hears to the `record` WAV.

Output lines it prints, which the waits match:
    registered, identity=sip:101@[::1]:5060 duration=3600      (status register)
    Call 1 with sip:102@[::1]:5060 connected.
    Call 1 with sip:102@[::1]:5060 is now paused.
    Call 1 with sip:102@[::1]:5060 ended (...).
    The distant endpoint sip:102@... of call 1 has been transfered, you can safely ...
Calls are numbered from 1 in the order they are made or received. Attended transfer:
`pause 1`, `call <uri>` (call 2), `transfer 1 --to-call 2` sends REFER in call 1's dialog
with call 2's dialog in Refer-To's Replaces (RFC 3891), then hangs call 1 up when the
NOTIFY says 200; `transfer 2 --to-call 1` refers the other way round.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.peers.process import PeerProcess, wait_until


class Linphonec:
    """One linphonec on `host` (127.0.0.1 or ::1), SIP on `port`, RTP on port + 2."""

    def __init__(
        self,
        workdir: Path,
        user: str,
        password: str,
        registrar: str,  # "host:port", IPv6 in brackets
        port: int,
        source_wav: Path,
        *,
        host: str = "127.0.0.1",
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.user = user
        self.password = password
        self.registrar = registrar
        self.port = port
        self.host = host
        self.source_wav = Path(source_wav)
        self.record_wav = self.workdir / "heard.wav"
        self.rc = self.workdir / "linphonerc"
        self.debug_log = self.workdir / "debug.log"  # liblinphone's log: every SIP message
        # its call database under $HOME: without it the core stays in GlobalStartup and
        # answers every incoming INVITE 503 ("core global state is not on")
        (self.workdir / ".local" / "share" / "linphone").mkdir(parents=True, exist_ok=True)
        self.rc.write_text(
            "[sip]\n"
            f"sip_port={port}\n"
            "sip_tcp_port=-1\n"
            "sip_tls_port=-1\n"
            f"bind_address={host}\n"
            f"use_ipv6={1 if ':' in host else 0}\n"
            "guess_hostname=0\n"
            "auto_net_state_mon=0\n"
            "register_only_when_network_is_up=0\n"
            "register_only_when_upnp_is_ok=0\n"
            "[rtp]\n"
            f"audio_rtp_port={port + 2}\n"
            "video_rtp_port=-1\n"
            "[video]\n"
            "display=0\n"
            "capture=0\n"
        )
        self.process = PeerProcess(
            ["linphonec", "-c", str(self.rc), "-d", "4", "-l", str(self.debug_log)],
            self.workdir / "linphonec.out",
            cwd=self.workdir,
            stdin_pipe=True,
            env={**os.environ, "HOME": str(self.workdir)},  # its database, ZRTP cache go there
        )

    def start(self) -> Linphonec:
        self.process.start()
        for command in (
            f"ports sip {self.port}",
            "soundcard use files",
            f"play {self.source_wav}",
            f"record {self.record_wav}",
            f"register sip:{self.user}@{self.registrar} sip:{self.registrar} {self.password}",
        ):
            self.process.write(command + "\n")
        return self

    def stop(self) -> None:
        if self.process.alive:
            try:
                self.process.write("quit\n")
                self.process.wait(3.0)
            except Exception:
                pass
        self.process.stop()

    def output(self) -> str:
        return self.process.log_text()

    def sip_messages(self, start_line: str) -> list[str]:
        """The SIP messages in its debug log (sent and received) whose first line starts
        with ``start_line`` ("NOTIFY ", "SIP/2.0 202"), each up to its log's next line."""
        try:
            text = self.debug_log.read_text(errors="replace")
        except FileNotFoundError:
            return []
        # the log writes a message's lines as they are (CRLF), then a dated log line
        blocks = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:)", text.replace("\r\n", "\n"))
        found = []
        for block in blocks:
            first, _, message = block.partition("\n")
            if message.startswith(start_line):
                found.append(message)
        return found

    def wait_registered(self, timeout: float = 10.0) -> None:
        def registered() -> bool:
            self.process.write("status register\n")
            return "registered, identity=" in self.output()

        wait_until(
            registered,
            timeout,
            interval=0.5,
            alive=self.process,
            what=f"linphonec {self.user} registered",
        )

    def command(self, text: str) -> None:
        self.process.write(text + "\n")

    def auto_answer(self) -> None:
        """Answer every incoming call at once (its ringing is not what tests look at)."""
        self.command("autoanswer enable")
        self.wait_output(r"Auto answer enabled\.")

    def call(self, uri: str) -> None:
        self.process.write(f"call {uri}\n")

    def pause(self, call: int) -> None:
        """Hold call ``call`` (a re-INVITE with a=sendonly) and wait until it is held."""
        self.command(f"pause {call}")
        self.wait_output(rf"Call {call} with \S+ is now paused\.")

    def transfer_to_call(self, call: int, to_call: int) -> None:
        """Attended transfer: call ``call``'s party to call ``to_call``'s (REFER with
        Replaces in call ``call``'s dialog)."""
        self.command(f"transfer {call} --to-call {to_call}")

    def wait_output(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        """The first match of the regular expression ``pattern`` in what it printed."""
        compiled = re.compile(pattern)
        return wait_until(
            lambda: compiled.search(self.output()),
            timeout,
            alive=self.process,
            what=f"linphonec {self.user}: {pattern}",
        )

    def wait_call(self, call: int, state: str, timeout: float = 10.0) -> None:
        """Wait for ``Call <call> with <uri> <state>`` (connected., ended, ...)."""
        self.wait_output(rf"Call {call} (with|to) \S+ {re.escape(state)}", timeout)

    def hang_up(self) -> None:
        self.process.write("terminate\n")

    def wait_connected(self, timeout: float = 10.0) -> None:
        wait_until(
            lambda: " connected." in self.output(),
            timeout,
            alive=self.process,
            what=f"linphonec {self.user} in a call",
        )

    def wait_ended(self, timeout: float = 10.0) -> None:
        wait_until(
            lambda: " ended" in self.output(),
            timeout,
            alive=self.process,
            what=f"linphonec {self.user} call ended",
        )
