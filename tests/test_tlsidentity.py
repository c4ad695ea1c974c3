import ssl
import stat

import pytest

from softswitch.tlsidentity import TlsIdentityError, ensure_identity, fingerprint


def test_first_start_makes_a_self_signed_pair_and_later_starts_reuse_it(tmp_path):
    cert, key = tmp_path / "data" / "tls-certificate.pem", tmp_path / "data" / "tls-private-key.pem"
    made = ensure_identity(cert, key, "127.0.0.1")
    assert made.created
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(made.fingerprint.split(":")) == 32
    again = ensure_identity(cert, key, "127.0.0.1")
    assert not again.created and again.fingerprint == made.fingerprint
    # the pair is usable by a server, and a client that trusts it verifies the name
    made.server_context()
    client = ssl.create_default_context(cafile=str(cert))
    assert client.check_hostname
    assert fingerprint(cert) == made.fingerprint


def test_half_a_pair_is_not_silently_replaced(tmp_path):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    ensure_identity(cert, key, "switch.example")
    key.unlink()
    with pytest.raises(TlsIdentityError, match="missing"):
        ensure_identity(cert, key, "switch.example")


def test_garbage_files_are_a_clear_error(tmp_path):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("not a certificate")
    key.write_text("not a key")
    with pytest.raises(TlsIdentityError, match="cannot read certificate"):
        ensure_identity(cert, key, "x")


def test_the_switch_announces_a_new_certificate_once(tmp_path):
    from softswitch.switch import Switch
    from tests.switch_harness import switch_config

    config = switch_config(tmp_path, 0, 36300, sip={"tls_listen": "127.0.0.1:0"})
    lines: list[str] = []
    first = Switch(config, announce=lines.append)
    assert first.tls is not None and first.tls.created
    made = [line for line in lines if "SHA-256 fingerprint" in line]
    assert made == [
        f"made a self-signed TLS certificate {config.tls_files[0]}; "
        f"SHA-256 fingerprint {first.tls.fingerprint}"
    ]
    lines.clear()
    again = Switch(config, announce=lines.append)
    assert again.tls is not None and again.tls.fingerprint == first.tls.fingerprint
    assert not [line for line in lines if "fingerprint" in line]
    first.store.close()
    again.store.close()
