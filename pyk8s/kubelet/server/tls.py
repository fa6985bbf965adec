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
import socket
import ssl
import tempfile
from pathlib import Path

from pyk8s.machinery import certs

API_SERVER_CN = certs.APISERVER_KUBELET_CLIENT_CN
ONE_YEAR = dt.timedelta(days=365)


def self_signed(hosts: list[str]) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) for the given host names and addresses."""
    key = certs.new_key()
    stamp = int(dt.datetime.now(dt.UTC).timestamp())
    cert = certs.issue(certs.name(f"{hosts[0]}@{stamp}"), key, certs.SERVER, ONE_YEAR, hosts=hosts)
    return certs.pem_cert(cert), certs.pem_key(key)


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
