"""The local CA and the broker certificate secure mode makes on first start."""

from __future__ import annotations

import ipaddress

from cryptography import x509

from deploy.security import tls


def test_the_broker_certificate_is_signed_by_the_home_ca_for_loopback(tmp_path):
    files = tls.ensure(tls.TlsFiles(tmp_path / "security"))
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    chain = x509.load_pem_x509_certificates(files.broker_pem.read_bytes())
    broker = chain[0]
    broker.verify_directly_issued_by(ca)
    names = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert broker.subject.rfc4514_string() == f"CN={tls.BROKER_CN}"
    assert b"BEGIN PRIVATE KEY" in files.broker_pem.read_bytes()  # PKCS#8, as Kafka's PEM store
    assert (files.broker_pem.stat().st_mode & 0o777) == 0o600
    assert (files.ca_key.stat().st_mode & 0o777) == 0o600


def test_certificates_are_made_once_per_home(tmp_path):
    files = tls.ensure(tls.TlsFiles(tmp_path))
    first = files.broker_pem.read_bytes()
    assert tls.ensure(tls.TlsFiles(tmp_path)).broker_pem.read_bytes() == first
