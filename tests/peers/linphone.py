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
    Call 1 with sip:102@[::1]:5060 ended (...).
"""

from __future__ import annotations

import os
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
            ["linphonec", "-c", str(self.rc), "-d", "4", "-l", str(self.workdir / "debug.log")],
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

    def call(self, uri: str) -> None:
        self.process.write(f"call {uri}\n")

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
