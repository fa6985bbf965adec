"""The container runtime flags `pyk8s up` and `pyk8s agent` share, and the choice
between containerd (real containers) and sim (no processes).

`--runtime auto` (the default) takes containerd wherever it can run here (root,
containerd, runc, the CNI plugins, overlayfs) and otherwise falls back to sim,
saying why.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

from pyk8s.kubelet import registries
from pyk8s.kubelet.containerd import containerd_available
from pyk8s.kubelet.registries import Registries

RUNTIMES = ("auto", "containerd", "sim")
COMMON_REGISTRIES = ["docker.io", "registry.k8s.io", "quay.io", "ghcr.io", "gcr.io"]


class RuntimeUnavailable(Exception):
    """containerd was asked for and cannot run here (the message says why)."""


def add_runtime_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default="auto",
        help="container runtime: containerd (real containers), sim (simulated), or auto "
        "(containerd where it can run, else sim)",
    )
    p.add_argument(
        "--container-runtime-endpoint",
        default="",
        metavar="SOCKET",
        help="use this containerd's CRI socket instead of running one per node",
    )
    p.add_argument(
        "--private-registry",
        type=Path,
        default=None,
        metavar="FILE",
        help="registry mirrors and credentials, k3s's registries.yaml format "
        "(default: DATA_DIR/registries.yaml when it exists)",
    )
    p.add_argument(
        "--registry-mirror",
        default="",
        metavar="URL",
        help="pull every image through this registry (e.g. http://127.0.0.1:5000); no "
        "request then goes to the images' own registries",
    )


def choose_runtime(args: argparse.Namespace) -> str:
    """'containerd' or 'sim'; prints why when auto falls back to sim."""
    if args.runtime == "sim":
        return "sim"
    if getattr(args, "container_runtime_endpoint", ""):
        return "containerd"
    reason = containerd_available()
    if reason is None:
        return "containerd"
    if args.runtime == "containerd":
        raise RuntimeUnavailable(f"containerd runtime unavailable: {reason}")
    print(f"pyk8s: containerd cannot run here ({reason}); using the simulated runtime")
    return "sim"


def registries_file(args: argparse.Namespace, data_dir: Path) -> Registries | None:
    """--private-registry, or DATA_DIR/registries.yaml when present."""
    path = getattr(args, "private_registry", None) or data_dir / "registries.yaml"
    if getattr(args, "private_registry", None) is None and not path.exists():
        return None
    return registries.load(path)


def registry_config_dir(args: argparse.Namespace, data_dir: Path) -> Path | None:
    """containerd's hosts.toml tree for the registries file and --registry-mirror
    (None with neither)."""
    reg = registries_file(args, data_dir)
    mirror = getattr(args, "registry_mirror", "")
    if reg is None and not mirror:
        return None
    config_dir = data_dir / "registries.d"
    shutil.rmtree(config_dir, ignore_errors=True)  # rewritten from the flags each start
    if mirror:
        from pyk8s.images.registry import write_mirror_config

        host = mirror.split("://", 1)[-1].rstrip("/")
        write_mirror_config(config_dir, mirror, COMMON_REGISTRIES + [host])
    if reg is not None:
        registries.write_hosts_dir(reg, config_dir)
    return config_dir


async def start_service_proxy(
    who: str, client: Any, seed: str, node_ips: dict[str, str], cluster_cidr: str
) -> Any:
    """The service proxy (kube-proxy's job) for the nodes of this process, None where
    it cannot run (said on stdout). `seed` names it stably across restarts."""
    from pyk8s.proxy import ServiceProxy, proxy_prefix, unsupported_reason

    reason = unsupported_reason()
    if reason:
        print(f"{who}: no service proxy ({reason}); Services get no traffic", flush=True)
        return None
    proxy = ServiceProxy(
        client, prefix=proxy_prefix(seed), node_ips=node_ips, cluster_cidr=cluster_cidr
    )
    await proxy.start()
    return proxy
