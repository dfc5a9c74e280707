"""A local certificate authority and the broker certificate it signs, as PEM files.

Made once per home, on the first secure start, with the `cryptography` package. Kafka reads them
as PEM stores (`ssl.keystore.type=PEM`): `broker.pem` holds the broker's unencrypted PKCS#8 key
followed by its certificate and the CA's; clients trust `ca.crt`. The broker certificate names
127.0.0.1 and localhost, the only addresses the local stack listens on, so clients verify the
host name as well as the signature. It also identifies brokers to each other and to the
controllers (mutual TLS on the internal and controller listeners): its subject
`CN=BROKER_CN` maps to the principal `User:BROKER_CN`.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

BROKER_CN = "pipeline-broker"
CA_CN = "event-pipeline local CA"
VALID_DAYS = 3650


@dataclass(frozen=True)
class TlsFiles:
    """Where a home keeps its CA certificate (public) and the broker's key and chain."""

    dir: Path

    @property
    def ca_cert(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.dir / "ca.key"

    @property
    def broker_pem(self) -> Path:
        return self.dir / "broker.pem"

    def exist(self) -> bool:
        return self.ca_cert.exists() and self.broker_pem.exists()


def ensure(files: TlsFiles) -> TlsFiles:
    """Make the CA and the broker certificate unless this home has them already."""
    if files.exist():
        return files
    from cryptography.hazmat.primitives import serialization

    files.dir.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _make_ca()
    key, cert = _make_broker_cert(ca_key, ca_cert)
    pem = serialization.Encoding.PEM
    _write_secret(files.ca_key, _key_pem(ca_key))
    files.ca_cert.write_bytes(ca_cert.public_bytes(pem))
    _write_secret(files.broker_pem, _key_pem(key) + cert.public_bytes(pem)
                  + ca_cert.public_bytes(pem))
    return files


def _make_ca():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, CA_CN)])
    cert = (
        _builder(name, name, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                          content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, encipher_only=False,
                          decipher_only=False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_broker_cert(ca_key, ca_cert):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, BROKER_CN)])
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    usages = [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH, x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]
    cert = (
        _builder(name, ca_cert.subject, key.public_key())
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _builder(subject, issuer, public_key):
    from cryptography import x509

    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
    )


def _key_pem(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_secret(path: Path, data: bytes) -> None:
    """Private keys and passwords: readable by this user only, from the first byte on."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
