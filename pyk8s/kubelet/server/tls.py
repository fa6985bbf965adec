"""TLS for the kubelet API: a self-signed serving certificate, and client-certificate
authentication of the API server.

Upstream's kubelet, given no --tls-cert-file, generates a self-signed certificate for
its hostname at start; kube-apiserver does not verify kubelet serving certificates
unless --kubelet-certificate-authority is set. The kubelet does verify its callers:
their client certificate must chain to the cluster CA (--client-ca-file), and only the
API server's (CN kube-apiserver-kubelet-client, kubeadm's name) is let through here.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

API_SERVER_CN = "kube-apiserver-kubelet-client"
ONE_YEAR = dt.timedelta(days=365)


def self_signed(hosts: list[str]) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) for the given host names and addresses."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"{hosts[0]}@{int(now.timestamp())}")]
    )
    sans: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + ONE_YEAR)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def default_hosts(host: str) -> list[str]:
    hosts = [socket.gethostname(), "localhost", "127.0.0.1"]
    if host not in ("", "0.0.0.0", "::"):
        hosts.insert(0, host)
    return hosts


def server_context(cert_pem: bytes, key_pem: bytes, ca_cert_pem: bytes) -> ssl.SSLContext:
    """Serving context that asks for a client certificate and verifies it against the
    cluster CA. CERT_OPTIONAL rather than CERT_REQUIRED: a caller without a certificate
    then gets an HTTP 401 (and /healthz stays open) instead of a failed handshake; a
    certificate that does not verify still fails the handshake."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    # ssl loads certificates from files only; they live just long enough to be read.
    with tempfile.TemporaryDirectory(prefix="pyk8s-kubelet-tls-") as tmp:
        cert_file, key_file = Path(tmp) / "kubelet.crt", Path(tmp) / "kubelet.key"
        cert_file.write_bytes(cert_pem)
        key_file.touch(mode=0o600)
        key_file.write_bytes(key_pem)
        ctx.load_cert_chain(cert_file, key_file)
    ctx.load_verify_locations(cadata=ca_cert_pem.decode())
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def peer_common_name(peercert: dict | None) -> str | None:
    """The CN of a verified peer certificate (ssl's getpeercert() form); None without one."""
    if not peercert:
        return None
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return ""
