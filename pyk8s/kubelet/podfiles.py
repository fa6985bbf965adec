"""Files the kubelet manages for a pod besides its volumes: the /etc/hosts it
mounts into every container, and the file behind each container's
terminationMessagePath, read back when the container exits.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

Obj = dict[str, Any]

MANAGED_HOSTS_HEADER = "# Kubernetes-managed hosts file.\n"
MANAGED_HOSTS_HEADER_HOST_NETWORK = "# Kubernetes-managed hosts file (host network).\n"
DEFAULT_TERMINATION_PATH = "/dev/termination-log"
MAX_TERMINATION_MESSAGE = 4096  # bytes of the termination file kept (its end)
MAX_TERMINATION_LOG_LINES = 80  # FallbackToLogsOnError: the last 80 log lines ...
MAX_TERMINATION_LOG_BYTES = 2048  # ... of which the last 2048 bytes
HOSTNAME_MAX = 63


# ---------------------------------------------------------------------- /etc/hosts


def pod_hostname(pod: Obj, cluster_domain: str = "cluster.local") -> tuple[str, str]:
    """(hostname, domain) as the kubelet derives them: spec.hostname or the pod's name
    (at most 63 characters, no trailing '-' or '.'), and with spec.subdomain the domain
    `<subdomain>.<namespace>.svc.<cluster domain>`."""
    md, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    hostname = str(spec.get("hostname") or md.get("name") or "")
    if len(hostname) > HOSTNAME_MAX:
        hostname = hostname[:HOSTNAME_MAX].rstrip("-.")
    domain = ""
    if spec.get("subdomain"):
        domain = f"{spec['subdomain']}.{md.get('namespace') or 'default'}.svc.{cluster_domain}"
    return hostname, domain


def managed_hosts_content(
    pod_ips: list[str], hostname: str, domain: str, aliases: list[Obj]
) -> str:
    lines = [
        MANAGED_HOSTS_HEADER,
        "127.0.0.1\tlocalhost\n",
        "::1\tlocalhost ip6-localhost ip6-loopback\n",
        "fe00::0\tip6-localnet\n",
        "fe00::0\tip6-mcastprefix\n",
        "fe00::1\tip6-allnodes\n",
        "fe00::2\tip6-allrouters\n",
    ]
    for ip in pod_ips:
        lines.append(
            f"{ip}\t{hostname}.{domain}\t{hostname}\n" if domain else f"{ip}\t{hostname}\n"
        )
    return "".join(lines) + host_alias_entries(aliases)


def host_alias_entries(aliases: list[Obj]) -> str:
    if not aliases:
        return ""
    lines = ["\n", "# Entries added by HostAliases.\n"]
    for alias in aliases:
        lines.append(f"{alias.get('ip', '')}\t{chr(9).join(alias.get('hostnames') or [])}\n")
    return "".join(lines)


def write_etc_hosts(
    pod_dir: Path,
    pod: Obj,
    pod_ip: str | None,
    *,
    pod_ips: list[str] | None = None,
    cluster_domain: str = "cluster.local",
    node_hosts: Path = Path("/etc/hosts"),
) -> Path | None:
    """Write POD_DIR/etc-hosts, the file mounted at /etc/hosts, and return its path.
    A hostNetwork pod gets the node's own hosts file (plus hostAliases) under the
    host-network header; any other pod gets the managed file with its IPs. None
    (nothing to mount) while a pod-network pod has no IP yet."""
    spec = pod.get("spec") or {}
    aliases = list(spec.get("hostAliases") or [])
    if spec.get("hostNetwork"):
        try:
            node_content = node_hosts.read_text()
        except FileNotFoundError:
            node_content = ""
        content = MANAGED_HOSTS_HEADER_HOST_NETWORK + node_content + host_alias_entries(aliases)
    else:
        ips = list(pod_ips or ([pod_ip] if pod_ip else []))
        if not ips:
            return None
        hostname, domain = pod_hostname(pod, cluster_domain)
        content = managed_hosts_content(ips, hostname, domain, aliases)
    path = pod_dir / "etc-hosts"
    pod_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
    path.write_text(content)
    path.chmod(0o644)
    return path


# ------------------------------------------------------------- termination message


def termination_log(pod_dir: Path, container: Obj) -> tuple[Path, str]:
    """Create an empty, world-writable file for one instance of the container (a new
    one per start, as upstream: the previous instance's message stays readable) and
    return (host path, container path) for its mount."""
    directory = pod_dir / "containers" / str(container.get("name") or "")
    directory.mkdir(mode=0o750, parents=True, exist_ok=True)
    while True:
        path = directory / secrets.token_hex(4)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        path.chmod(0o666)  # whatever the umask: the container's user may be anyone
        break
    target = str(container.get("terminationMessagePath") or DEFAULT_TERMINATION_PATH)
    return path, target if target.startswith("/") else "/" + target


def read_termination_message(path: Path | None, policy: str, log_path: Path | None = None) -> str:
    """The container's termination message: the end (4096 bytes) of the file it
    wrote; with policy FallbackToLogsOnError and an empty or missing file, the end
    of its log instead (last 80 lines, at most 2048 bytes). The caller applies the
    fallback only to a failed container (exit code != 0), as upstream does."""
    fallback = policy == "FallbackToLogsOnError"
    if path is not None:
        try:
            data = _read_tail(path, MAX_TERMINATION_MESSAGE)
        except FileNotFoundError:
            data = b""
        except OSError as err:
            return f"Error on reading termination log {path}: {err}"
        if data or not fallback:
            return data.decode("utf-8", "replace")
    if not fallback or log_path is None:
        return ""
    try:
        return read_cri_log_tail(log_path)
    except OSError as err:
        return f"Error on reading termination message from logs: {err}"


def _read_tail(path: Path, limit: int) -> bytes:
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - limit))
        return f.read()


def read_cri_log_tail(
    log_path: Path,
    lines: int = MAX_TERMINATION_LOG_LINES,
    max_bytes: int = MAX_TERMINATION_LOG_BYTES,
) -> str:
    """The content of the last `lines` lines of a CRI log file (`<time> <stream>
    <P|F> <text>`; P marks a partial line continued by the next), both streams,
    keeping the last `max_bytes` bytes."""
    out: list[bytes] = []
    for raw in _tail_lines(log_path, lines):
        parts = raw.split(b" ", 3)
        if len(parts) < 3:
            continue  # not a CRI log line
        content = parts[3] if len(parts) == 4 else b""
        out.append(content if parts[2] == b"P" else content + b"\n")
    return b"".join(out)[-max_bytes:].decode("utf-8", "replace")


def _tail_lines(path: Path, count: int, block: int = 65536) -> list[bytes]:
    """The last `count` lines of a file, read backwards a block at a time."""
    with open(path, "rb") as f:
        end = f.seek(0, os.SEEK_END)
        pos, data = end, b""
        while pos > 0 and data.count(b"\n") <= count:
            step = min(block, pos)
            pos -= step
            f.seek(pos)
            data = f.read(step) + data
    found = data.split(b"\n")
    if found and found[-1] == b"":
        found.pop()  # the file's final newline ends the last line, it starts none
    return found[-count:] if count > 0 else []
