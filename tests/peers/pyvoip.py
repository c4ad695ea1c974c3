"""A pyVoIP 1.6.8 phone in a subprocess: registers, auto-answers, plays, records.

pyVoIP runs threads and blocking sockets, so it lives in its own process
(`python -m tests.peers.pyvoip ...`) and reports what happens as JSON lines on
stdout, each prefixed with "@@ ". `PyVoipPhone` starts it and waits on those events:

    {"event": "registered"}                        REGISTER accepted (or "register_failed")
    {"event": "incoming", "call_id": ..., "from": ...}
    {"event": "answered", "call_id": ...}
    {"event": "ended", "call_id": ..., "recording": "/path.wav", "seconds": 3.2}

Known pyVoIP 1.6.8 defects to design tests around:
  * answers about 1 s after the INVITE (the call callback runs on a 1 s Timer);
  * sends every response and request to the registrar's address, not the source;
  * digest: MD5 only, no qop handling, uri always "sip:<server>;transport=UDP";
  * no use as a caller: outgoing INVITEs handle 401 only (a 407 hangs the attempt),
    and its ACK carries a fresh To tag, ignores Record-Route and copies the 200's
    Via set, so a proxy or UAS cannot match it (measured against kamailio + baresip:
    the callee never sees the call established). This runner only answers calls;
  * PCMA is sent mu-law encoded: offer it PCMU only; no RFC 4733 DTMF sending;
  * audio API is 8-bit unsigned linear at 8000 Hz (converted here to/from S16 WAVs).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from .process import PeerError, PeerProcess, wait_until

HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[2]
EVENT_PREFIX = "@@ "


class PyVoipPhone:
    """Controller in the test process for one pyVoIP phone subprocess."""

    def __init__(
        self,
        workdir: Path,
        *,
        server: str,
        server_port: int,
        user: str,
        password: str,
        sip_port: int,
        rtp_ports: tuple[int, int],
        play_wav: Path | None = None,
        hangup_after: float | None = None,
        debug: bool = False,
        python: str | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.recordings_dir = self.workdir / "recordings"
        self.log_path = self.workdir / "pyvoip.log"
        self.user = user
        self.sip_port = sip_port
        argv = [
            python or sys.executable,
            "-u",
            "-m",
            "tests.peers.pyvoip",
            "--server",
            server,
            "--port",
            str(server_port),
            "--user",
            user,
            "--password",
            password,
            "--my-ip",
            HOST,
            "--sip-port",
            str(sip_port),
            "--rtp-low",
            str(rtp_ports[0]),
            "--rtp-high",
            str(rtp_ports[1]),
            "--record-dir",
            str(self.recordings_dir),
        ]
        if play_wav is not None:
            argv += ["--play", str(play_wav)]
        if hangup_after is not None:
            argv += ["--hangup-after", f"{hangup_after:g}"]
        if debug:
            argv.append("--debug")
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
        self.process = PeerProcess(argv, self.log_path, cwd=REPO_ROOT, env=env)
        self._consumed: dict[str, int] = {}

    @property
    def contact_uri(self) -> str:
        return f"sip:{self.user}@{HOST}:{self.sip_port}"

    def start(self) -> PyVoipPhone:
        self.process.start()
        return self

    def stop(self) -> None:
        # SIGTERM lets the runner de-register and hang up before the group is killed.
        self.process.stop(timeout=4.0)

    def __enter__(self) -> PyVoipPhone:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def events(self) -> list[dict]:
        found = []
        for line in self.process.log_text().splitlines():
            if line.startswith(EVENT_PREFIX):
                try:
                    found.append(json.loads(line[len(EVENT_PREFIX) :]))
                except json.JSONDecodeError:
                    continue
        return found

    def wait_event(self, kind: str, timeout: float = 10.0) -> dict:
        """The next (not yet consumed) event of `kind`."""

        def check() -> dict | None:
            matching = [e for e in self.events() if e.get("event") == kind]
            index = self._consumed.get(kind, 0)
            if len(matching) > index:
                self._consumed[kind] = index + 1
                return matching[index]
            return None

        return wait_until(check, timeout, alive=self.process, what=f"pyVoIP {self.user}: {kind}")

    def wait_registered(self, timeout: float = 10.0) -> dict:
        def check() -> dict | None:
            for event in self.events():
                if event.get("event") == "register_failed":
                    raise PeerError(f"pyVoIP {self.user} failed to register: {event.get('error')}")
                if event.get("event") == "registered":
                    return event
            return None

        return wait_until(
            check, timeout, alive=self.process, what=f"pyVoIP {self.user}: registered"
        )


# -- the subprocess side -------------------------------------------------------------------


def _emit(lock: threading.Lock, event: str, **fields: object) -> None:
    with lock:
        sys.stdout.write(EVENT_PREFIX + json.dumps({"event": event, **fields}) + "\n")
        sys.stdout.flush()


def _s16_to_u8(data: bytes) -> bytes:
    import numpy as np

    x = np.frombuffer(data, dtype="<i2").astype(np.int32)
    return ((x >> 8) + 128).astype(np.uint8).tobytes()


def _u8_to_s16(data: bytes):
    import numpy as np

    x = np.frombuffer(data, dtype=np.uint8).astype(np.int16)
    return ((x - 128) << 8).astype(np.int16)


def _run(args: argparse.Namespace) -> int:
    import numpy as np
    import pyVoIP
    from pyVoIP.VoIP import CallState, VoIPPhone

    pyVoIP.DEBUG = args.debug

    from .audio import read_wav, write_wav

    lock = threading.Lock()
    record_dir = Path(args.record_dir)
    record_dir.mkdir(parents=True, exist_ok=True)
    play: bytes = b""
    if args.play:
        samples, rate = read_wav(args.play)
        if rate != 8000:
            raise SystemExit(f"{args.play}: {rate} Hz, pyVoIP needs 8000 Hz")
        play = _s16_to_u8(samples.astype("<i2").tobytes())

    def handle_call(call) -> None:
        call_id = call.request.headers["Call-ID"]
        try:
            if call.state == CallState.RINGING:
                call.answer()
                _emit(lock, "answered", call_id=call_id)
            talk(call, call_id)
        except Exception as exc:  # a test helper must report, not die silently
            _emit(lock, "error", call_id=call_id, error=repr(exc))

    def talk(call, call_id: str) -> None:
        if play:
            call.write_audio(play)
        heard: list[np.ndarray] = []
        start = time.monotonic()
        tick = start
        while call.state == CallState.ANSWERED:
            heard.append(_u8_to_s16(call.read_audio(160, blocking=False)))
            if args.hangup_after is not None and time.monotonic() - start >= args.hangup_after:
                call.hangup()
                break
            tick += 0.02
            time.sleep(max(0.0, tick - time.monotonic()))
        path = record_dir / f"{call_id.split('@')[0][:16]}.wav"
        samples = np.concatenate(heard) if heard else np.zeros(0, dtype=np.int16)
        write_wav(path, samples)
        _emit(
            lock,
            "ended",
            call_id=call_id,
            recording=str(path),
            seconds=round(time.monotonic() - start, 2),
        )

    def on_call(call) -> None:
        _emit(
            lock,
            "incoming",
            call_id=call.request.headers["Call-ID"],
            **{"from": call.request.headers.get("From", {}).get("raw", "")},
        )
        handle_call(call)

    phone = VoIPPhone(
        args.server,
        args.port,
        args.user,
        args.password,
        myIP=args.my_ip,
        callCallback=on_call,
        sipPort=args.sip_port,
        rtpPortLow=args.rtp_low,
        rtpPortHigh=args.rtp_high,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        phone.start()
    except Exception as exc:
        _emit(lock, "register_failed", error=repr(exc))
        return 1
    _emit(lock, "registered", status=str(phone.get_status()))

    stop.wait()
    try:
        phone.stop()
    except Exception as exc:
        _emit(lock, "error", error=f"stop: {exc!r}")
    _emit(lock, "stopped")
    sys.stdout.flush()
    # pyVoIP's timer threads are not daemons; do not wait for them.
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--my-ip", default=HOST)
    parser.add_argument("--sip-port", type=int, required=True)
    parser.add_argument("--rtp-low", type=int, default=10000)
    parser.add_argument("--rtp-high", type=int, default=20000)
    parser.add_argument("--play", help="8 kHz mono S16 WAV to send on each call")
    parser.add_argument("--record-dir", required=True)
    parser.add_argument("--hangup-after", type=float, help="seconds after answer to hang up")
    parser.add_argument("--debug", action="store_true", help="pyVoIP's own debug output")
    return _run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
