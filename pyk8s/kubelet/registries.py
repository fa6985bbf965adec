"""Registry mirrors and credentials from a registries file, in k3s's format
(`--private-registry`, k3s's /etc/rancher/k3s/registries.yaml):

    mirrors:
      docker.io:
        endpoint: ["http://127.0.0.1:5000"]
    configs:
      "127.0.0.1:5000":
        auth: {username: me, password: secret}    # or auth: <base64 user:pass>
        tls: {insecure_skip_verify: true}

Mirrors become containerd hosts.toml files (one directory per registry host,
containerd's `config_path` layout); credentials are sent with each CRI PullImage
for images of a registry that is, or is mirrored by, a configured host, as
k3s hands them to containerd.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pyk8s.kubelet.runtime.base import normalize_image

Obj = dict[str, Any]


class RegistriesError(ValueError):
    """The registries file cannot be used (the message names the problem)."""


@dataclass
class Registries:
    mirrors: dict[str, list[str]] = field(default_factory=dict)  # host -> endpoint URLs
    auths: dict[str, Obj] = field(default_factory=dict)  # host[:port] -> CRI AuthConfig
    insecure: set[str] = field(default_factory=set)  # hosts whose TLS is not verified

    def credentials_for(self, image: str) -> list[Obj]:
        """AuthConfigs to try for an image: its own registry's, then its mirrors'."""
        host = normalize_image(image).split("/", 1)[0]
        hosts = [host] + [_host_of(url) for url in self.mirrors.get(host, [])]
        return [self.auths[h] for h in hosts if h in self.auths]


def _host_of(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def load(path: Path) -> Registries:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise RegistriesError(f"cannot read {path}: {err}") from err
    if not isinstance(data, dict):
        raise RegistriesError(f"{path}: expected a mapping with mirrors and configs")
    reg = Registries()
    for section in ("mirrors", "configs"):
        if not isinstance(data.get(section) or {}, dict):
            raise RegistriesError(f"{path}: {section} must be a mapping of registry hosts")
    for host, mirror in (data.get("mirrors") or {}).items():
        endpoints = (mirror or {}).get("endpoint") or []
        if not isinstance(endpoints, list) or not all(isinstance(e, str) for e in endpoints):
            raise RegistriesError(f"{path}: mirrors.{host}.endpoint must be a list of URLs")
        reg.mirrors[str(host)] = endpoints
    for host, config in (data.get("configs") or {}).items():
        config = config or {}
        auth = config.get("auth") or {}
        if auth:
            reg.auths[str(host)] = _auth_config(auth)
        if (config.get("tls") or {}).get("insecure_skip_verify"):
            reg.insecure.add(str(host))
    return reg


def _auth_config(auth: Obj) -> Obj:
    # No server_address: containerd sends credentials only when it is empty or names
    # the host it talks to, which a mirror is not.
    out: Obj = {}
    for key in ("username", "password", "auth", "identity_token"):
        if auth.get(key):
            out[key] = str(auth[key])
    if "auth" in out and "username" not in out:
        user, _, password = base64.b64decode(out["auth"]).decode().partition(":")
        out.update(username=user, password=password)
    return out


def write_hosts_dir(reg: Registries, config_dir: Path) -> Path:
    """containerd's hosts.toml tree for the mirrors. Unlike k3s, a mirrored registry
    is not tried itself unless listed among its own endpoints, so a mirror-only
    configuration never reaches the internet (what offline clusters and tests need)."""
    config_dir.mkdir(parents=True, exist_ok=True)
    for host, endpoints in reg.mirrors.items():
        lines = []
        server = next((e for e in endpoints if _host_of(e) == host), "")
        if server:
            lines.append(f'server = "{server}"')
        else:
            # No fallback to the registry itself: the first mirror is the server too.
            lines.append(f'server = "{endpoints[0]}"' if endpoints else "")
        for url in endpoints:
            lines.append(f'\n[host."{url}"]\n  capabilities = ["pull", "resolve"]')
            if _host_of(url) in reg.insecure and url.startswith("https://"):
                lines.append("  skip_verify = true")
        target = config_dir / host / "hosts.toml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(line for line in lines if line) + "\n")
    return config_dir
