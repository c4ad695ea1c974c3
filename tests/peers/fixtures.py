"""Pytest fixtures for the real peers. The lead's tests/conftest.py does
`from tests.peers.fixtures import *`.

Every fixture that starts something stops it at teardown, whatever the test did;
each factory returns started, ready objects (kamailio answering OPTIONS, baresip
past "baresip is ready."). Logs and recordings stay under the test's tmp_path.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .audio import make_tone_wav
from .baresip import Baresip, BaresipAccount
from .kamailio import Kamailio, KamailioConfig
from .netns import LanHost, NatHost, NetLab, available, sweep
from .ports import PortPicker
from .pyvoip import PyVoipPhone
from .sipp import Sipp, SippOptions, SippResult

__all__ = [
    "DEFAULT_USERS",
    "peer_ports",
    "tmp_wav",
    "kamailio_factory",
    "kamailio",
    "baresip_factory",
    "sipp",
    "pyvoip_factory",
    "require_programs",
    "netns_sweep",
    "netlab",
]

# Accounts the default `kamailio` fixture knows (user -> password).
DEFAULT_USERS: dict[str, str] = {
    "alice": "alice-pw",
    "bob": "bob-pw",
    "carol": "carol-pw",
    "dave": "dave-pw",
    "trunkuser": "trunkpass",
}


def require_programs(*names: str) -> None:
    """Skip the test when a peer program is not installed (tools/test installs them)."""
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")


class _Teardown:
    """Stops what a fixture started, last first; one failure does not skip the rest."""

    def __init__(self) -> None:
        self._stops: list[Callable[[], object]] = []

    def add(self, stop: Callable[[], object]) -> None:
        self._stops.append(stop)

    def run(self) -> None:
        errors = []
        for stop in reversed(self._stops):
            try:
                stop()
            except Exception as exc:  # keep stopping the others
                errors.append(exc)
        self._stops.clear()
        if errors:
            raise errors[0]


@pytest.fixture(scope="session")
def peer_ports() -> PortPicker:
    """One picker per session, so no two peers of a run share ports."""
    return PortPicker()


@pytest.fixture
def tmp_wav(tmp_path: Path) -> Callable[..., Path]:
    """tmp_wav(freq, seconds=30.0, name=None) -> Path of a mono S16LE 8 kHz sine.

    baresip hangs up when its source file ends: keep `seconds` above the call length.
    """

    def make(freq: float, seconds: float = 30.0, name: str | None = None) -> Path:
        directory = tmp_path / "wav"
        directory.mkdir(exist_ok=True)
        return make_tone_wav(
            directory / (name or f"tone-{freq:g}hz-{seconds:g}s.wav"), freq, seconds
        )

    return make


@pytest.fixture
def kamailio_factory(tmp_path: Path, peer_ports: PortPicker) -> Iterator[Callable[..., Kamailio]]:
    """kamailio_factory(users=DEFAULT_USERS, port=None, **KamailioConfig fields) -> Kamailio.

    Fields: realm, trusted=["127.0.0.1:5060"], open_relay, static_routes={"": "127.0.0.1:5060"},
    qop, strip_empty_supported.
    """
    teardown = _Teardown()
    count = 0

    def make(
        users: dict[str, str] | None = None, port: int | None = None, **config: object
    ) -> Kamailio:
        nonlocal count
        require_programs("kamailio", "kamcmd")
        count += 1
        cfg = KamailioConfig(
            port=port or peer_ports.port(),
            users=dict(DEFAULT_USERS if users is None else users),
            **config,
        )  # type: ignore[arg-type]
        kam = Kamailio(tmp_path / f"kamailio-{count}", cfg)
        teardown.add(kam.stop)
        return kam.start()

    yield make
    teardown.run()


@pytest.fixture
def kamailio(kamailio_factory: Callable[..., Kamailio]) -> Kamailio:
    """A running carrier stand-in knowing DEFAULT_USERS; INVITEs need proxy auth."""
    return kamailio_factory()


@pytest.fixture
def baresip_factory(
    tmp_path: Path, peer_ports: PortPicker, tmp_wav: Callable[..., Path]
) -> Iterator[Callable[..., Baresip]]:
    """baresip_factory(user, password=None, registrar=None, *, tone_hz=440.0,
    seconds=30.0, source_wav=None, answermode="auto", regint=60, audio_codecs="PCMU",
    outbound=None, auth_user=None, display_name=None, port=None, ctrl_tcp=False,
    extra_config=None, netns_host=None, address=None) -> Baresip (started and ready).

    registrar: "host:port" or a Kamailio; None = a local account reachable at
    `.contact_uri`. netns_host: a `netlab` LanHost/NatHost to run the phone on;
    address: else an address of the root namespace to bind instead of 127.0.0.1 (a
    phone on the "internet" side of a NAT router: the root end of its WAN link).
    The microphone plays a `tone_hz` sine for `seconds` unless
    `source_wav` is given. Wait for registration yourself: `.wait_registered()`.
    """
    teardown = _Teardown()

    def make(
        user: str,
        password: str | None = None,
        registrar: str | Kamailio | None = None,
        *,
        tone_hz: float = 440.0,
        seconds: float = 30.0,
        source_wav: Path | None = None,
        answermode: str = "auto",
        regint: int = 60,
        audio_codecs: str = "PCMU",
        outbound: str | Kamailio | None = None,
        auth_user: str | None = None,
        display_name: str | None = None,
        port: int | None = None,
        ctrl_tcp: bool = False,
        extra_config: dict[str, str] | None = None,
        netns_host: LanHost | NatHost | None = None,
        address: str | None = None,
    ) -> Baresip:
        require_programs("baresip")
        if isinstance(registrar, Kamailio):
            registrar = registrar.address
        if isinstance(outbound, Kamailio):
            outbound = outbound.address
        base = port or peer_ports.baresip_block()
        account = BaresipAccount(
            user=user,
            password=password,
            registrar=registrar,
            regint=regint,
            answermode=answermode,
            audio_codecs=audio_codecs,
            outbound=outbound,
            auth_user=auth_user,
            display_name=display_name,
        )
        source = source_wav or tmp_wav(tone_hz, seconds)
        ctrl_port = peer_ports.port() if ctrl_tcp else None
        phone = Baresip(
            tmp_path / f"baresip-{user}-{base}",
            account,
            base,
            source,
            ctrl_tcp_port=ctrl_port,
            extra_config=extra_config,
            **_placement(netns_host, address),
        )
        teardown.add(phone.stop)
        return phone.start()

    yield make
    teardown.run()


def _placement(host: LanHost | NatHost | None, address: str | None) -> dict[str, str]:
    """Baresip's host/netns arguments for a phone on a namespace host, or on `address`
    of the root namespace."""
    if host is not None:
        return {"host": host.address, "netns": host.name}
    return {} if address is None else {"host": address}


@pytest.fixture(scope="session")
def netns_sweep() -> Iterator[None]:
    """Removes namespaces and links left by earlier, killed test runs, before the
    first test host is built; and whatever of this run's is left, at the end."""
    reason = available()
    if reason is not None:
        pytest.skip(reason)
    sweep()
    yield
    sweep(mine=True)


@pytest.fixture
def netlab(netns_sweep: None) -> Iterator[NetLab]:
    """NetLab: `.lan_host()` and `.nat_host(udp_timeout=20)` (tests/peers/netns.py);
    every namespace, link and nft table is removed at teardown, pass or fail."""
    lab = NetLab()
    try:
        yield lab
    finally:
        lab.close()


class SippRunner:
    """The `sipp` fixture: sipp(scenario, remote=None, **SippOptions fields).

    Foreground (default): runs to completion, returns a SippResult.
    background=True: returns the started Sipp (a UAS, say); `.address` is where it
    listens, `.wait()` returns its SippResult; it is stopped at teardown anyway.
    `port` and `media_port` are picked when not given.
    """

    def __init__(self, workdir: Path, ports: PortPicker, teardown: _Teardown) -> None:
        self.workdir = workdir
        self.ports = ports
        self.teardown = teardown

    def options(
        self, scenario: str, remote: str | Kamailio | None = None, **options: object
    ) -> SippOptions:
        if isinstance(remote, Kamailio):
            remote = remote.address
        options.setdefault("port", self.ports.port())
        options.setdefault("media_port", self.ports.block(4))
        return SippOptions(scenario=scenario, remote=remote, **options)  # type: ignore[arg-type]

    def __call__(
        self,
        scenario: str,
        remote: str | Kamailio | None = None,
        *,
        background: bool = False,
        **options: object,
    ) -> SippResult | Sipp:
        require_programs("sipp")
        run = Sipp(self.workdir, self.options(scenario, remote, **options))
        self.teardown.add(run.process.stop)
        if background:
            return run.start()
        return run.run()

    def run(
        self, scenario: str, remote: str | Kamailio | None = None, **options: object
    ) -> SippResult:
        result = self(scenario, remote, **options)
        assert isinstance(result, SippResult)
        return result

    def background(
        self, scenario: str, remote: str | Kamailio | None = None, **options: object
    ) -> Sipp:
        run = self(scenario, remote, background=True, **options)
        assert isinstance(run, Sipp)
        return run


@pytest.fixture
def sipp(tmp_path: Path, peer_ports: PortPicker) -> Iterator[SippRunner]:
    teardown = _Teardown()
    yield SippRunner(tmp_path / "sipp", peer_ports, teardown)
    teardown.run()


@pytest.fixture
def pyvoip_factory(tmp_path: Path, peer_ports: PortPicker) -> Iterator[Callable[..., PyVoipPhone]]:
    """pyvoip_factory(user, password, registrar, *, play_wav=None, hangup_after=None,
    debug=False) -> PyVoipPhone (started; `.wait_registered()` next).

    registrar: a Kamailio or "host:port". The phone auto-answers (about 1 s late),
    plays `play_wav` and records what it hears; see tests/peers/pyvoip.py for its limits.
    """
    teardown = _Teardown()

    def make(
        user: str,
        password: str,
        registrar: str | Kamailio,
        *,
        play_wav: Path | None = None,
        hangup_after: float | None = None,
        debug: bool = False,
    ) -> PyVoipPhone:
        if isinstance(registrar, Kamailio):
            host, port = registrar.host, registrar.port
        else:
            host, _, port_text = registrar.partition(":")
            port = int(port_text or 5060)
        base = peer_ports.baresip_block()
        phone = PyVoipPhone(
            tmp_path / f"pyvoip-{user}-{base}",
            server=host,
            server_port=port,
            user=user,
            password=password,
            sip_port=base,
            rtp_ports=(base + 2, base + 9),
            play_wav=play_wav,
            hangup_after=hangup_after,
            debug=debug,
        )
        teardown.add(phone.stop)
        return phone.start()

    yield make
    teardown.run()
