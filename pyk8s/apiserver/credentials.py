"""A server's identity on disk: CA, serving certificate, admin token, kubeconfig, and the
client certificate the API server presents to kubelets.

Made once, on first start, in the data dir; a restart reuses them, so kubeconfigs
handed out stay valid (as k3s keeps its server/tls directory).
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
import secrets
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TEN_YEARS = dt.timedelta(days=3650)


@dataclass(frozen=True)
class Credentials:
    tls_dir: Path
    token: str

    @property
    def ca_file(self) -> Path:
        return self.tls_dir / "ca.crt"

    @property
    def cert_file(self) -> Path:
        return self.tls_dir / "serving.crt"

    @property
    def key_file(self) -> Path:
        return self.tls_dir / "serving.key"

    @property
    def kubelet_client_cert_file(self) -> Path:
        return self.tls_dir / "apiserver-kubelet-client.crt"

    @property
    def kubelet_client_key_file(self) -> Path:
        return self.tls_dir / "apiserver-kubelet-client.key"

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        ctx.set_alpn_protocols(["http/1.1"])
        return ctx


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _make_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _new_key()
    now = dt.datetime.now(dt.UTC)
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"pyk8s-server-ca@{int(now.timestamp())}")]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + TEN_YEARS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _san_entries(extra_hosts: list[str]) -> list[x509.GeneralName]:
    names = [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        socket.gethostname(),
    ]
    ips = ["127.0.0.1", "::1"]
    for host in extra_hosts:
        try:
            ipaddress.ip_address(host)
            ips.append(host)
        except ValueError:
            names.append(host)
    out: list[x509.GeneralName] = [x509.DNSName(n) for n in dict.fromkeys(names) if n]
    out += [x509.IPAddress(ipaddress.ip_address(i)) for i in dict.fromkeys(ips)]
    return out


def _make_serving(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, extra_hosts: list[str]
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _new_key()
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + TEN_YEARS)
        .add_extension(x509.SubjectAlternativeName(_san_entries(extra_hosts)), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


# kubeadm's names for the certificate kube-apiserver presents to kubelets
# (apiserver-kubelet-client): kubelets authorize the API server by this CN.
KUBELET_CLIENT_CN = "kube-apiserver-kubelet-client"
KUBELET_CLIENT_ORG = "kubeadm:cluster-admins"


def _make_client(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, cn: str, org: str
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _new_key()
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + TEN_YEARS)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _load_ca(creds: Credentials) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    ca_key = serialization.load_pem_private_key((creds.tls_dir / "ca.key").read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate(creds.ca_file.read_bytes())
    return ca_key, ca_cert  # type: ignore[return-value]


def ensure_credentials(data_dir: Path, extra_hosts: list[str] | None = None) -> Credentials:
    """Load the data dir's credentials, creating any that are missing."""
    tls = data_dir / "tls"
    tls.mkdir(parents=True, exist_ok=True, mode=0o700)
    creds_ca_key = tls / "ca.key"
    if not creds_ca_key.exists() or not (tls / "ca.crt").exists():
        ca_key, ca_cert = _make_ca()
        _write_private(tls / "ca.key", _pem_key(ca_key))
        _write_private(tls / "ca.crt", ca_cert.public_bytes(serialization.Encoding.PEM))
    token_file = tls / "admin.token"
    if not token_file.exists():
        _write_private(token_file, secrets.token_hex(24).encode())
    creds = Credentials(tls, token_file.read_text().strip())
    if not creds.cert_file.exists() or not creds.key_file.exists():
        ca_key, ca_cert = _load_ca(creds)
        key, cert = _make_serving(ca_key, ca_cert, extra_hosts or [])
        _write_private(creds.key_file, _pem_key(key))
        _write_private(creds.cert_file, cert.public_bytes(serialization.Encoding.PEM))
    if not creds.kubelet_client_cert_file.exists() or not creds.kubelet_client_key_file.exists():
        ca_key, ca_cert = _load_ca(creds)
        key, cert = _make_client(ca_key, ca_cert, KUBELET_CLIENT_CN, KUBELET_CLIENT_ORG)
        _write_private(creds.kubelet_client_key_file, _pem_key(key))
        _write_private(
            creds.kubelet_client_cert_file, cert.public_bytes(serialization.Encoding.PEM)
        )
    return creds


def kubeconfig(creds: Credentials, server_url: str, cluster_name: str = "default") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster_name,
                "cluster": {
                    "server": server_url,
                    "certificate-authority-data": base64.b64encode(
                        creds.ca_file.read_bytes()
                    ).decode(),
                },
            }
        ],
        "users": [{"name": "admin", "user": {"token": creds.token}}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": "admin"}}],
        "current-context": cluster_name,
        "preferences": {},
    }


def write_kubeconfig(path: Path, creds: Credentials, server_url: str) -> None:
    text = yaml.safe_dump(kubeconfig(creds, server_url), sort_keys=False)
    _write_private(path, text.encode())
