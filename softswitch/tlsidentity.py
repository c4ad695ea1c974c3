"""The TLS listener's certificate and key: loaded, or made self-signed on first start.

A switch that is told to listen for TLS but given no certificate makes one (RSA 2048,
the key type every SIP phone accepts) with the ``openssl`` command that ships with the
system's OpenSSL, so no Python crypto package is needed. Phones pin or trust it by its
SHA-256 fingerprint, which the switch announces when the pair is made.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .config import ConfigError

VALID_DAYS = 3650


class TlsIdentityError(ConfigError):
    """The certificate or key cannot be read or made (a start-up error, like the config's)."""


@dataclass(slots=True, frozen=True)
class TlsIdentity:
    certificate: Path
    private_key: Path
    fingerprint: str  # SHA-256 of the DER certificate, "AB:CD:..."
    created: bool  # made on this start (the fingerprint is news)

    def server_context(self) -> ssl.SSLContext:
        """An SSLContext for the listener (TLS 1.2 or later, no client certificates)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(self.certificate, self.private_key)
        except (OSError, ssl.SSLError) as exc:
            raise TlsIdentityError(
                f"cannot load {self.certificate} / {self.private_key}: {exc}"
            ) from exc
        return context


def fingerprint(certificate: Path) -> str:
    """The SHA-256 fingerprint of a PEM certificate, as phones show it."""
    try:
        der = ssl.PEM_cert_to_DER_cert(certificate.read_text())
    except (OSError, ValueError) as exc:
        raise TlsIdentityError(f"cannot read certificate {certificate}: {exc}") from exc
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def ensure_identity(certificate: Path, private_key: Path, name: str) -> TlsIdentity:
    """Load the pair, or make a self-signed one for ``name`` when both files are missing."""
    have_cert, have_key = certificate.exists(), private_key.exists()
    if have_cert != have_key:
        missing = private_key if have_cert else certificate
        raise TlsIdentityError(f"{missing} is missing (its pair exists): refusing to replace it")
    created = False
    if not have_cert:
        _make_self_signed(certificate, private_key, name)
        created = True
    return TlsIdentity(certificate, private_key, fingerprint(certificate), created)


def _make_self_signed(certificate: Path, private_key: Path, name: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise TlsIdentityError("the openssl command is needed to make a TLS certificate")
    certificate.parent.mkdir(parents=True, exist_ok=True)
    private_key.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 before openssl writes into it: the key is never readable by others,
    # not even for a moment.
    os.close(os.open(private_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    san = f"IP:{name}" if _is_ip(name) else f"DNS:{name}"
    command = [
        openssl,
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-sha256",
        "-nodes",
        "-days",
        str(VALID_DAYS),
        "-subj",
        f"/CN={name}",
        "-addext",
        f"subjectAltName={san}",
        "-keyout",
        str(private_key),
        "-out",
        str(certificate),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        private_key.unlink(missing_ok=True)
        certificate.unlink(missing_ok=True)
        raise TlsIdentityError(f"openssl could not make a certificate: {result.stderr.strip()}")
    os.chmod(private_key, 0o600)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
