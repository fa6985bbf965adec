"""A node's pod network through the standard CNI plugins: one Linux bridge per
node with the node's podCIDR (host-local IPAM), portmap for hostPort, and one
masquerade rule per node for traffic leaving the pod networks (as flannel
installs one for the cluster, instead of the bridge plugin's ipMasq, which adds
a chain per pod and serialises every pod start on the iptables lock).

containerd's CRI plugin runs the plugins; the agent only writes the network
configuration (a conflist in the node's own conf dir) once it knows its
podCIDR, and removes the bridge when the node is torn down. Several nodes on
one machine each get their own bridge and range; the host routes between the
bridges, so pods on different nodes reach each other.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import subprocess
from pathlib import Path

NETWORK_FILE = "10-pyk8s.conflist"
CNI_VERSION = "1.0.0"


BRIDGE_PREFIX = "pyk8s"


def bridge_name(node_dir: Path) -> str:
    """A per-node bridge name within the kernel's 15-character limit."""
    digest = hashlib.sha256(str(node_dir.resolve()).encode()).hexdigest()[:8]
    return f"{BRIDGE_PREFIX}{digest}"


def conflist(name: str, bridge: str, pod_cidr: str, ipam_dir: Path) -> dict:
    net = ipaddress.ip_network(pod_cidr, strict=False)
    default_route = "0.0.0.0/0" if net.version == 4 else "::/0"
    return {
        "cniVersion": CNI_VERSION,
        "name": name,
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": str(net)}]],
                    "routes": [{"dst": default_route}],
                    "dataDir": str(ipam_dir),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
        ],
    }


class NodeNetwork:
    """The CNI configuration of one node (its conf dir is containerd's cni.conf_dir)."""

    def __init__(self, node_name: str, node_dir: Path) -> None:
        self.node_name = node_name
        self.node_dir = node_dir
        self.conf_dir = node_dir / "cni" / "net.d"
        self.ipam_dir = node_dir / "cni" / "ipam"
        self.bridge = bridge_name(node_dir)
        self.pod_cidr = ""

    @property
    def config_path(self) -> Path:
        return self.conf_dir / NETWORK_FILE

    def configure(self, pod_cidr: str) -> bool:
        """Write the conflist for pod_cidr; True when it changed."""
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        self.ipam_dir.mkdir(parents=True, exist_ok=True)
        text = json.dumps(
            conflist(f"pyk8s-{self.node_name}", self.bridge, pod_cidr, self.ipam_dir), indent=2
        )
        self.pod_cidr = pod_cidr
        if self.config_path.exists() and self.config_path.read_text() == text:
            return False
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(self.config_path)  # containerd watches the dir: never show half a file
        return True

    def configured_cidr(self) -> str:
        try:
            data = json.loads(self.config_path.read_text())
            return data["plugins"][0]["ipam"]["ranges"][0][0]["subnet"]
        except (OSError, ValueError, KeyError, IndexError):
            return ""

    def masquerade_rule(self, pod_cidr: str) -> list[str]:
        """SNAT for pod traffic that leaves through anything but a pod bridge."""
        return [
            "POSTROUTING", "-s", pod_cidr, "!", "-o", f"{BRIDGE_PREFIX}+",
            "-m", "comment", "--comment", f"pyk8s {self.node_name} pod masquerade",
            "-j", "MASQUERADE",
        ]  # fmt: skip

    def ensure_masquerade(self, pod_cidr: str) -> None:
        rule = self.masquerade_rule(pod_cidr)
        if _iptables("-C", rule) != 0:
            _iptables("-A", rule)

    def teardown(self) -> None:
        """Remove the bridge (its pods' veths are gone with their sandboxes) and the
        node's masquerade rule."""
        cidr = self.pod_cidr or self.configured_cidr()
        if cidr:
            while _iptables("-D", self.masquerade_rule(cidr)) == 0:
                pass
        if Path(f"/sys/class/net/{self.bridge}").exists():
            subprocess.run(["ip", "link", "delete", self.bridge], check=False, capture_output=True)


def _iptables(op: str, rule: list[str]) -> int:
    try:
        proc = subprocess.run(
            ["iptables", "-w", "-t", "nat", op, *rule], check=False, capture_output=True
        )
    except FileNotFoundError:
        return 1
    return proc.returncode


def enable_forwarding() -> None:
    """Pods on different bridges reach each other through the host: IPv4 forwarding
    must be on, as the kubelet's network plugins require."""
    path = Path("/proc/sys/net/ipv4/ip_forward")
    try:
        if path.read_text().strip() != "1":
            path.write_text("1")
    except OSError:
        pass
