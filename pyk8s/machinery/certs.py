"""X.509 certificates the cluster makes for itself: a CA, serving certificates,
client certificates, and self-signed ones (P-256 keys, SHA-256 signatures)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Key = ec.EllipticCurvePrivateKey

# kubeadm's names for the certificate kube-apiserver presents to kubelets
# (apiserver-kubelet-client): kubelets let the API server in by this CN.
APISERVER_KUBELET_CLIENT_CN = "kube-apiserver-kubelet-client"
APISERVER_KUBELET_CLIENT_ORG = "kubeadm:cluster-admins"

SERVER, CLIENT, CA = "server", "client", "ca"


def new_key() -> Key:
    return ec.generate_private_key(ec.SECP256R1())


def pem_key(key: Key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def name(cn: str, org: str = "") -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)] if org else []
    return x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def alt_names(hosts: Iterable[str]) -> list[x509.GeneralName]:
    """DNS names and IP addresses, each once, names first."""
    names, ips = [], []
    for host in dict.fromkeys(h for h in hosts if h):
        try:
            ips.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return [*names, *ips]


def issue(
    subject: x509.Name,
    key: Key,
    usage: str,
    lifetime: dt.timedelta,
    *,
    issuer: tuple[Key, x509.Name] | None = None,
    hosts: Iterable[str] = (),
) -> x509.Certificate:
    """A certificate for `key`: a CA, a server (with `hosts` as alternative names) or a
    client; signed by `issuer` (its key and name), or self-signed without one."""
    signer, issuer_name = issuer or (key, subject)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + lifetime)
    )
    if usage == CA:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True
        ).add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        purpose = (
            ExtendedKeyUsageOID.SERVER_AUTH if usage == SERVER else ExtendedKeyUsageOID.CLIENT_AUTH
        )
        if usage == SERVER:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(alt_names(hosts)), critical=False
            )
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([purpose]), critical=False
        ).add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    return builder.sign(signer, hashes.SHA256())
