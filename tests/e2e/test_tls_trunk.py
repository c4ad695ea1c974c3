"""A TLS trunk to kamailio, the carrier's certificate verified against a test CA."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.peers.audio import dominant_frequency
from tests.peers.baresip import BaresipAccount
from tests.peers.fixtures import require_programs
from tests.peers.kamailio import MODULES_DIR, Kamailio, KamailioConfig
from tests.peers.process import wait_until

pytestmark = pytest.mark.peers

OUTSIDE = "5551000"  # a customer of the carrier, registered behind kamailio


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_test_ca(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a carrier certificate it signed for 127.0.0.1: (ca, cert, key)."""
    ca_key, ca = folder / "ca-key.pem", folder / "ca.pem"
    key, csr, cert = folder / "carrier-key.pem", folder / "carrier.csr", folder / "carrier.pem"
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=softswitch test CA",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca),
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        str(key),
        "-out",
        str(csr),
    )
    extensions = folder / "san.cnf"
    extensions.write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        str(extensions),
        "-out",
        str(cert),
    )
    return ca, cert, key


@pytest.fixture
def tls_carrier(tmp_path, ports):
    if not Path(MODULES_DIR, "tls.so").exists():
        pytest.skip("kamailio-tls-modules is not installed (./tools/test installs it)")
    require_programs("openssl")
    ca, cert, key = make_test_ca(tmp_path)
    kam = Kamailio(
        tmp_path / "kamailio",
        KamailioConfig(
            port=ports.port(),
            users={"trunkuser": "trunkpass", OUTSIDE: "outpw"},
            tls_port=ports.port(),
            tls_certificate=str(cert),
            tls_private_key=str(key),
        ),
    )
    kam.start()
    yield kam, ca
    kam.stop()


def tls_trunk(kam: Kamailio, **extra) -> dict:
    return {
        "name": "carrier",
        "host": f"{kam.host}:{kam.config.tls_port}",
        "transport": "tls",
        "username": "trunkuser",
        "password": "trunkpass",
        "caller_id": "15168148111",
        **extra,
    }


def health(harness) -> dict:
    return harness.call(harness.switch.health)


def test_a_call_out_through_a_verified_tls_trunk(tls_carrier, switch_factory, phone_factory):
    carrier, ca = tls_carrier
    harness = switch_factory(
        trunks=[tls_trunk(carrier, ca_file=str(ca))], sip={"tls_listen": "127.0.0.1:0"}
    )
    wait_until(
        lambda: health(harness)["trunks"]["carrier"]["state"] == "registered",
        10,
        what="trunk registered over TLS",
    )
    (contact,) = carrier.wait_registered("trunkuser")
    assert "transport=tls" in contact
    outside = phone_factory(
        BaresipAccount(OUTSIDE, "outpw", registrar=carrier.address), tone_hz=700.0
    )
    outside.wait_registered()
    port = harness.config.sip_host_port[1]
    ext = phone_factory(
        BaresipAccount("101", "pw101", registrar=f"127.0.0.1:{port}"), tone_hz=1200.0
    )
    ext.wait_registered()

    ext.dial(f"sip:{OUTSIDE}@127.0.0.1:{port}")
    outside.wait_incoming()
    outside.wait_call_established()
    ext.wait_call_established()
    transports = harness.call(
        lambda: sorted(ch.session.transport for ch in harness.switch.channels)
    )
    assert transports == ["TLS", "UDP"]
    time.sleep(3)
    outside.hangup()  # the BYE comes back from the carrier over TLS
    outside.wait_call_closed()
    assert ext.wait_call_closed().reason
    time.sleep(0.5)
    assert abs(dominant_frequency(outside.last_recording("dec")) - 1200.0) < 15
    assert abs(dominant_frequency(ext.last_recording("dec")) - 700.0) < 15


def test_a_carrier_certificate_that_does_not_verify_is_a_clear_failing_status(
    tls_carrier, switch_factory
):
    carrier, _ = tls_carrier
    # no ca_file: the system's CAs do not know the test CA
    harness = switch_factory(trunks=[tls_trunk(carrier)])
    failing = wait_until(
        lambda: (h := health(harness)["trunks"]["carrier"])["state"] == "failing" and h,
        10,
        what="trunk failing",
    )
    assert "certificate verify failed" in failing["last_error"]
    assert not carrier.registered("trunkuser")


def test_a_call_in_from_the_carrier_over_tls_rings_the_extension(
    tmp_path, ports, switch_factory, phone_factory
):
    """The carrier opens its own TLS connection to the switch (from an ephemeral port):
    still recognised as the trunk by its address and transport."""
    if not Path(MODULES_DIR, "tls.so").exists():
        pytest.skip("kamailio-tls-modules is not installed (./tools/test installs it)")
    ca, cert, key = make_test_ca(tmp_path)
    switch_tls = ports.port()
    kam = Kamailio(
        tmp_path / "kam-in",
        KamailioConfig(
            port=ports.port(),
            users={"trunkuser": "trunkpass", OUTSIDE: "outpw"},
            static_routes={"10": f"127.0.0.1:{switch_tls};transport=tls"},
            tls_port=ports.port(),
            tls_certificate=str(cert),
            tls_private_key=str(key),
        ),
    )
    kam.start()
    harness = None
    try:
        harness = switch_factory(
            trunks=[tls_trunk(kam, ca_file=str(ca))],
            sip={"tls_listen": f"127.0.0.1:{switch_tls}"},
        )
        kam.wait_registered("trunkuser")
        port = harness.config.sip_host_port[1]
        ext = phone_factory(
            BaresipAccount("101", "pw101", registrar=f"127.0.0.1:{port}"), tone_hz=900.0
        )
        ext.wait_registered()
        outside = phone_factory(
            BaresipAccount(OUTSIDE, "outpw", registrar=kam.address), tone_hz=500.0
        )
        outside.wait_registered()
        outside.dial(f"sip:101@{kam.address}")  # the DID is the extension number
        ext.wait_call_established()
        outside.wait_call_established()
        transports = harness.call(
            lambda: sorted(ch.session.transport for ch in harness.switch.channels)
        )
        assert transports == ["TLS", "UDP"]
        time.sleep(2.5)
        ext.hangup()  # our BYE goes to the carrier over TLS
        ext.wait_call_closed()
        outside.wait_call_closed()
        time.sleep(0.5)
        assert abs(dominant_frequency(ext.last_recording("dec")) - 500.0) < 15
        assert abs(dominant_frequency(outside.last_recording("dec")) - 900.0) < 15
    finally:
        if harness is not None:
            harness.stop()  # first: it unregisters from the carrier, which must still answer
        kam.stop()
