"""A server's identity on disk: CA, serving certificate, admin token, kubeconfig, and the
client certificate the API server presents to kubelets.

Made once, on first start, in the data dir; a restart reuses them, so kubeconfigs
handed out stay valid (as k3s keeps its server/tls directory).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import secrets
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pyk8s.machinery import certs

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


def _make_ca() -> tuple[certs.Key, x509.Certificate]:
    key = certs.new_key()
    stamp = int(dt.datetime.now(dt.UTC).timestamp())
    return key, certs.issue(certs.name(f"pyk8s-server-ca@{stamp}"), key, certs.CA, TEN_YEARS)


# The names in-cluster clients use for the API server (kubeadm's serving SANs).
SERVING_NAMES = [
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
]


def _make_serving(
    ca_key: certs.Key, ca_cert: x509.Certificate, extra_hosts: list[str]
) -> tuple[certs.Key, x509.Certificate]:
    key = certs.new_key()
    hosts = [*SERVING_NAMES, socket.gethostname(), "127.0.0.1", "::1", *extra_hosts]
    cert = certs.issue(
        certs.name("kube-apiserver"),
        key,
        certs.SERVER,
        TEN_YEARS,
        issuer=(ca_key, ca_cert.subject),
        hosts=hosts,
    )
    return key, cert


def _make_client(
    ca_key: certs.Key, ca_cert: x509.Certificate, cn: str, org: str
) -> tuple[certs.Key, x509.Certificate]:
    key = certs.new_key()
    cert = certs.issue(
        certs.name(cn, org), key, certs.CLIENT, TEN_YEARS, issuer=(ca_key, ca_cert.subject)
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
        _write_private(tls / "ca.key", certs.pem_key(ca_key))
        _write_private(tls / "ca.crt", certs.pem_cert(ca_cert))
    token_file = tls / "admin.token"
    if not token_file.exists():
        _write_private(token_file, secrets.token_hex(24).encode())
    creds = Credentials(tls, token_file.read_text().strip())
    if not creds.cert_file.exists() or not creds.key_file.exists():
        ca_key, ca_cert = _load_ca(creds)
        key, cert = _make_serving(ca_key, ca_cert, extra_hosts or [])
        _write_private(creds.key_file, certs.pem_key(key))
        _write_private(creds.cert_file, certs.pem_cert(cert))
    if not creds.kubelet_client_cert_file.exists() or not creds.kubelet_client_key_file.exists():
        ca_key, ca_cert = _load_ca(creds)
        key, cert = _make_client(
            ca_key, ca_cert, certs.APISERVER_KUBELET_CLIENT_CN, certs.APISERVER_KUBELET_CLIENT_ORG
        )
        _write_private(creds.kubelet_client_key_file, certs.pem_key(key))
        _write_private(creds.kubelet_client_cert_file, certs.pem_cert(cert))
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
