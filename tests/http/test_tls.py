"""HTTPS by default with a self-signed certificate; plain HTTP on request."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gateway.http.tls import ensure_certificate, generate_self_signed, self_signed_paths
from tests.helpers import TEST_TENANT_ID, eventually, free_port, make_settings


def test_self_signed_certificate_is_made_once_with_a_private_key(tmp_path: Path) -> None:
    settings = make_settings(state_dir=tmp_path)
    cert_path, key_path = ensure_certificate(settings)
    assert key_path.stat().st_mode & 0o777 == 0o600
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    before = cert_path.read_bytes()
    assert ensure_certificate(settings) == (cert_path, key_path)
    assert cert_path.read_bytes() == before  # reused, not regenerated


def _wait_get(url: str, context: ssl.SSLContext | None, process: subprocess.Popen[bytes]) -> bytes:
    def get() -> bytes | None:
        assert process.poll() is None, "gateway exited early"
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                body: bytes = response.read()
                return body
        except OSError:
            return None

    return eventually(get, f"{url} to answer", every=0.2)


def _serve(es_url: str, tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = dict(os.environ, TENANT_ID=TEST_TENANT_ID, ES_URL=es_url, GATEWAY_STATE_DIR=str(tmp_path))
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, port


def test_serve_defaults_to_https(es_url: str, tmp_path: Path) -> None:
    process, port = _serve(es_url, tmp_path)
    try:
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE  # like curl -k against the self-signed certificate
        body = _wait_get(f"https://127.0.0.1:{port}/health-check", insecure, process)
        assert body == b'{"status":"ok"}'
        assert (tmp_path / "tls" / "cert.pem").is_file()
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_no_tls_speaks_plain_http(es_url: str, tmp_path: Path) -> None:
    process, port = _serve(es_url, tmp_path, "--no-tls")
    try:
        body = _wait_get(f"http://127.0.0.1:{port}/version", None, process)
        assert b'"version"' in body
        assert not (tmp_path / "tls").exists()
    finally:
        process.terminate()
        process.wait(timeout=30)


def _not_after(cert_path: Path) -> dt.datetime:
    return x509.load_pem_x509_certificate(cert_path.read_bytes()).not_valid_after_utc


def test_a_self_signed_certificate_close_to_expiry_is_renewed(tmp_path: Path) -> None:
    settings = make_settings(state_dir=tmp_path)
    cert_path, key_path = self_signed_paths(tmp_path)
    generate_self_signed(cert_path, key_path, ["localhost"], validity=dt.timedelta(days=10))
    assert ensure_certificate(settings) == (cert_path, key_path)
    assert _not_after(cert_path) - dt.datetime.now(dt.UTC) > dt.timedelta(days=800)
    assert key_path.stat().st_mode & 0o777 == 0o600


def test_a_self_signed_pair_that_does_not_match_is_remade(tmp_path: Path) -> None:
    settings = make_settings(state_dir=tmp_path)
    cert_path, key_path = ensure_certificate(settings)
    other_cert, other_key = tmp_path / "other-cert.pem", tmp_path / "other-key.pem"
    generate_self_signed(other_cert, other_key, ["localhost"])
    os.replace(other_key, key_path)  # e.g. one file of the pair restored from an old backup
    ensure_certificate(settings)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert cert.public_key() == key.public_key()


def test_an_unreadable_self_signed_certificate_is_remade(tmp_path: Path) -> None:
    settings = make_settings(state_dir=tmp_path)
    cert_path, _ = ensure_certificate(settings)
    cert_path.write_text("not a certificate")
    ensure_certificate(settings)
    assert _not_after(cert_path) > dt.datetime.now(dt.UTC)
