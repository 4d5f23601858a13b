"""TLS material for the HTTPS listener: a configured certificate, or a self-signed one made on first start.

The self-signed pair is remade at start when it would expire within ``RENEW_BEFORE`` (or has), when either
file cannot be read, or when the key is not the certificate's: a gateway left running from the same state
directory for years must not start serving an expired certificate. Configured certificates are the
operator's to renew and are never touched.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.settings import Settings

log = logging.getLogger(__name__)

VALIDITY = dt.timedelta(days=825)  # the longest lifetime browsers accept for a leaf certificate
RENEW_BEFORE = dt.timedelta(days=30)


def self_signed_paths(state_dir: Path) -> tuple[Path, Path]:
    return state_dir / "tls" / "cert.pem", state_dir / "tls" / "key.pem"


def generate_self_signed(
    cert_path: Path, key_path: Path, hostnames: list[str], validity: dt.timedelta = VALIDITY
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ingest-gateway (self-signed)")])
    now = dt.datetime.now(dt.UTC)
    alt_names: list[x509.GeneralName] = [x509.DNSName(h) for h in hostnames]
    alt_names += [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + validity)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # The key file is created 0600 before any byte is written, never world-readable even briefly.
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a renewed key replaces a file whose mode may have been loosened since
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_bytes)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def renewal_reason(cert_path: Path, key_path: Path, now: dt.datetime) -> str | None:
    """Why the self-signed pair must be remade, or None when it is fit to serve."""
    if not (cert_path.is_file() and key_path.is_file()):
        return "missing"
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except ValueError:
        return "unreadable"
    if cert.public_key() != key.public_key():
        return "the key does not match the certificate"
    if cert.not_valid_after_utc - now < RENEW_BEFORE:
        return f"it expires on {cert.not_valid_after_utc:%Y-%m-%d}"
    if cert.not_valid_before_utc > now:
        return "it is not valid yet"
    return None


def ensure_certificate(settings: Settings) -> tuple[Path, Path]:
    """The configured certificate and key, or the self-signed pair in the state dir (made if missing)."""
    if settings.tls_cert is not None and settings.tls_key is not None:
        return settings.tls_cert, settings.tls_key
    cert_path, key_path = self_signed_paths(settings.state_dir)
    reason = renewal_reason(cert_path, key_path, dt.datetime.now(dt.UTC))
    if reason is not None:
        if reason != "missing":
            log.info("making a new self-signed certificate in %s: %s", cert_path.parent, reason)
        generate_self_signed(cert_path, key_path, ["localhost"])
    return cert_path, key_path
