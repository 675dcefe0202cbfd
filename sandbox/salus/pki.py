"""Per-sandbox certificate authority: client certs with the tenant as CN, the ambassador's server cert.

The ambassador takes the tenant from the client certificate's CN (contract §5.4), so the auth
service must issue exactly that. EC P-256 keeps issuing fast. The CA is kept on disk so a
restarted sandbox still trusts certificates it issued before.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import os
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _pem_cert(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


class Pki:
    """The sandbox's CA (``<directory>/ca.pem`` + ``ca-key.pem``); thread-safe issuing."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        ca_cert, ca_key = self.dir / "ca.pem", self.dir / "ca-key.pem"
        if ca_cert.exists() and ca_key.exists():
            self._ca = x509.load_pem_x509_certificate(ca_cert.read_bytes())
            self._ca_key = serialization.load_pem_private_key(ca_key.read_bytes(), None)
        else:
            self._ca_key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "e2et sandbox CA")])
            now = dt.datetime.now(dt.UTC)
            self._ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                        .public_key(self._ca_key.public_key()).serial_number(x509.random_serial_number())
                        .not_valid_before(now - dt.timedelta(minutes=5))
                        .not_valid_after(now + dt.timedelta(days=365))
                        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                     content_commitment=False, key_encipherment=False,
                                                     data_encipherment=False, key_agreement=False,
                                                     encipher_only=False, decipher_only=False), critical=True)
                        .sign(self._ca_key, hashes.SHA256()))
            # created 0600 from the start: the CA key must never be readable, not even briefly
            fd = os.open(ca_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(_pem_key(self._ca_key))
            ca_cert.write_text(_pem_cert(self._ca))
        self.ca_pem = _pem_cert(self._ca)

    def _issue(self, cn: str, eku: list, sans: list[x509.GeneralName]) -> tuple[str, str]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
             .issuer_name(self._ca.subject).public_key(key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.ExtendedKeyUsage(eku), critical=False))
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        with self._lock:
            cert = b.sign(self._ca_key, hashes.SHA256())
        return _pem_cert(cert), _pem_key(key)

    def issue_client_cert(self, tenant_id: str) -> tuple[str, str, str]:
        """(certificate, private key, issuing CA) in PEM, subject CN = tenant id."""
        cert, key = self._issue(tenant_id, [ExtendedKeyUsageOID.CLIENT_AUTH], [])
        return cert, key, self.ca_pem

    def server_cert(self, hosts: list[str]) -> tuple[str, str]:
        """(certificate, private key) for the ambassador; every host becomes an IP or DNS SAN."""
        sans: list[x509.GeneralName] = []
        for h in hosts:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(h)))
            except ValueError:
                sans.append(x509.DNSName(h))
        return self._issue(hosts[0], [ExtendedKeyUsageOID.SERVER_AUTH], sans)
