"""Reading a kubeconfig into what a Client needs: server URL, credentials, TLS.

Covers what kubectl's own files and pyk8s's generated ones use: clusters with
`certificate-authority` (file) or `certificate-authority-data` (base64 PEM) or
`insecure-skip-tls-verify`; users with `token`, `tokenFile`, or a client
certificate (file or data); the context's default namespace. Relative paths are
relative to the kubeconfig's directory, as kubectl resolves them.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass
class ConnectionConfig:
    server: str
    token: str | None = None
    namespace: str = "default"
    ssl: ssl.SSLContext | bool = True


def default_path() -> str:
    """$KUBECONFIG (its first entry), else ~/.kube/config."""
    env = os.environ.get("KUBECONFIG", "")
    if env:
        return env.split(os.pathsep)[0]
    return str(Path.home() / ".kube" / "config")


def load(
    path: str | os.PathLike[str] | None = None, context: str | None = None
) -> ConnectionConfig:
    path = Path(path or default_path())
    doc = yaml.safe_load(path.read_text()) or {}
    ctx_name = context or doc.get("current-context", "")
    ctx = _named(doc.get("contexts"), ctx_name, "context")
    cluster = _named(doc.get("clusters"), ctx.get("cluster", ""), "cluster")
    user = _named(doc.get("users"), ctx.get("user", ""), "user") if ctx.get("user") else {}
    base = path.parent
    return ConnectionConfig(
        server=cluster.get("server", ""),
        token=_token(user, base),
        namespace=ctx.get("namespace") or "default",
        ssl=_ssl_context(cluster, user, base),
    )


def _named(entries: list[dict[str, Any]] | None, name: str, what: str) -> dict[str, Any]:
    for entry in entries or []:
        if entry.get("name") == name:
            return entry.get(what) or {}
    raise ValueError(f"kubeconfig: {what} {name!r} not found")


def _token(user: dict[str, Any], base: Path) -> str | None:
    if user.get("token"):
        return str(user["token"])
    if user.get("tokenFile"):
        return (base / user["tokenFile"]).read_text().strip()
    return None


def _ssl_context(
    cluster: dict[str, Any], user: dict[str, Any], base: Path
) -> ssl.SSLContext | bool:
    if not cluster.get("server", "").startswith("https"):
        return False
    if cluster.get("insecure-skip-tls-verify"):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif cluster.get("certificate-authority-data"):
        pem = base64.b64decode(cluster["certificate-authority-data"]).decode()
        ctx = ssl.create_default_context(cadata=pem)
    elif cluster.get("certificate-authority"):
        ctx = ssl.create_default_context(cafile=str(base / cluster["certificate-authority"]))
    else:
        ctx = ssl.create_default_context()
    _load_client_cert(ctx, user, base)
    return ctx


def _load_client_cert(ctx: ssl.SSLContext, user: dict[str, Any], base: Path) -> None:
    if user.get("client-certificate") and user.get("client-key"):
        ctx.load_cert_chain(str(base / user["client-certificate"]), str(base / user["client-key"]))
    elif user.get("client-certificate-data") and user.get("client-key-data"):
        # ssl only loads key pairs from files: write them to a private temporary directory.
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = Path(tmp, "client.crt"), Path(tmp, "client.key")
            cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
            key.write_bytes(base64.b64decode(user["client-key-data"]))
            key.chmod(0o600)
            ctx.load_cert_chain(str(cert), str(key))
