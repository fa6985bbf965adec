"""containerd as a child process of the node agent, with a generated config (as k3s does).

Each agent gets its own containerd: its own root (images, snapshots), state dir
(sockets, mounts of running containers), CNI config dir and registry hosts dir,
so several agents on one machine do not share anything but the binaries.

The state dir defaults to /run/pyk8s/<12 hex of sha256(root)>: the gRPC socket
lives there and a unix socket path may not exceed 108 bytes, which a data dir
under a test's tmp_path easily would.

Stopping containerd leaves containers running (their shims are separate
processes), as with a containerd restart on a real node; a pid file lets the
next start of the same root stop a containerd left behind by a killed agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
from pathlib import Path

import grpc

from .cri import CriClient, CriError

CRI_PLUGIN = "io.containerd.grpc.v1.cri"
# Plugins a node does not need: other snapshotters, the host-wide /opt/containerd
# plugin dir, and tracing. (io.containerd.runtime.v1.linux stays: 1.6's tasks
# service, and with it the CRI plugin, fails to load without it.)
DISABLED_PLUGINS = (
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.internal.v1.opt",
    "io.containerd.internal.v1.tracing",
    "io.containerd.tracing.processor.v1.otlp",
)
CAP_SYS_RESOURCE = 24
CNI_PLUGINS = ("bridge", "host-local", "loopback", "portmap")
_LOG_TAIL_LINES = 20


class ContainerdError(RuntimeError):
    """containerd could not be started (the message carries its log's tail)."""


def containerd_available(cni_bin_dir: str | Path = "/usr/lib/cni") -> str | None:
    """None when containerd can run pods here, else why not (for the fallback to sim)."""
    if os.geteuid() != 0:
        return "the containerd runtime needs root"
    missing = [
        b
        for b in ("containerd", "containerd-shim-runc-v2", "runc", "ctr")
        if shutil.which(b) is None
    ]
    if missing:
        return f"{', '.join(missing)} not found (apt-get install containerd runc)"
    plugins = [p for p in CNI_PLUGINS if not (Path(cni_bin_dir) / p).exists()]
    if plugins:
        return (
            f"CNI plugins {', '.join(plugins)} not found in {cni_bin_dir}"
            " (apt-get install containernetworking-plugins)"
        )
    if not _overlay_supported():
        return "the kernel has no overlay filesystem (the overlayfs snapshotter needs it)"
    return None


def _overlay_supported() -> bool:
    """overlay is registered, or its module is there to be loaded on first mount."""
    try:
        if re.search(r"\boverlay$", Path("/proc/filesystems").read_text(), re.MULTILINE):
            return True
    except OSError:
        pass
    modules = Path("/lib/modules") / os.uname().release / "kernel/fs/overlayfs"
    return any(modules.glob("overlay.ko*"))


def default_state_dir(root: Path) -> Path:
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    return Path("/run/pyk8s") / digest


class Containerd:
    """One containerd child process serving CRI on a socket of its own."""

    def __init__(
        self,
        root: Path,
        *,
        state_dir: Path | None = None,
        cni_bin_dir: str | Path = "/usr/lib/cni",
        cni_conf_dir: Path,
        sandbox_image: str,
        registry_config_dir: Path | None = None,
        log_file: Path | None = None,
        containerd_bin: str = "containerd",
        ctr_bin: str = "ctr",
    ) -> None:
        self.root = Path(root)
        self.state_dir = Path(state_dir) if state_dir else default_state_dir(self.root)
        self.cni_bin_dir = Path(cni_bin_dir)
        self.cni_conf_dir = Path(cni_conf_dir)
        self.sandbox_image = sandbox_image
        self.registry_config_dir = registry_config_dir
        self.log_file = Path(log_file) if log_file else self.state_dir / "containerd.log"
        self.containerd_bin = containerd_bin
        self.ctr_bin = ctr_bin
        self.socket = self.state_dir / "containerd.sock"
        self.config_path = self.state_dir / "config.toml"
        self.pid_file = self.state_dir / "containerd.pid"
        self._proc: asyncio.subprocess.Process | None = None
        self.version: dict = {}

    @property
    def endpoint(self) -> str:
        return f"unix://{self.socket}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def config(self) -> dict:
        """The containerd 1.6 configuration (version 2) as nested dicts."""
        cri = {
            "sandbox_image": self.sandbox_image,
            "stream_server_address": "127.0.0.1",
            "stream_server_port": "0",  # an ephemeral port; CRI hands out full URLs
            "enable_tls_streaming": False,
            "disable_apparmor": not _apparmor_enabled(),
            # Lowering oom_score_adj (the sandbox's -998) needs CAP_SYS_RESOURCE,
            # which a node in a container may lack; then clamp to containerd's own.
            "restrict_oom_score_adj": not _has_capability(CAP_SYS_RESOURCE),
            # Network namespaces under this instance's state dir, not /var/run/netns.
            "netns_mounts_under_state_dir": True,
            "cni": {
                "bin_dir": str(self.cni_bin_dir),
                "conf_dir": str(self.cni_conf_dir),
                "max_conf_num": 1,
            },
            "containerd": {
                "snapshotter": "overlayfs",
                "default_runtime_name": "runc",
                "runtimes": {
                    "runc": {
                        "runtime_type": "io.containerd.runc.v2",
                        # cgroupfs (cgroup v1 here); runc's state beside ours, not
                        # in the host-wide /run/containerd/runc.
                        "options": {"SystemdCgroup": False, "Root": str(self.state_dir / "runc")},
                    }
                },
            },
            "registry": {"config_path": str(self.registry_config_dir or "")},
        }
        return {
            "version": 2,
            "root": str(self.root),
            "state": str(self.state_dir),
            "disabled_plugins": list(DISABLED_PLUGINS),
            "grpc": {"address": str(self.socket)},
            "ttrpc": {"address": f"{self.socket}.ttrpc"},
            "plugins": {CRI_PLUGIN: cri},
        }

    def write_config(self) -> Path:
        """Write config.toml into the state dir (and create the dirs it names)."""
        for path in (self.root, self.cni_conf_dir):
            path.mkdir(parents=True, exist_ok=True)
        self.state_dir.mkdir(parents=True, mode=0o711, exist_ok=True)
        self.config_path.write_text(to_toml(self.config()))
        return self.config_path

    async def start(self, timeout: float = 20.0) -> None:
        """Start containerd and wait until it answers CRI Version."""
        if self.running:
            return
        await _stop_stale(self.pid_file, self.config_path)
        self.write_config()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            self._proc = await asyncio.create_subprocess_exec(
                self.containerd_bin,
                "--config",
                str(self.config_path),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                # Its own session: a Ctrl-C meant for the agent must not kill it
                # mid-operation; stop() ends it in order.
                start_new_session=True,
            )
        self.pid_file.write_text(str(self._proc.pid))
        try:
            self.version = await self._wait_ready(timeout)
        except BaseException:
            await self.stop()
            raise

    async def _wait_ready(self, timeout: float) -> dict:
        deadline = asyncio.get_running_loop().time() + timeout
        last_error = ""
        while True:
            if not self.running:
                raise ContainerdError(
                    f"containerd exited with status {self._proc.returncode}:\n{self.log_tail()}"
                )
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise ContainerdError(
                    f"containerd did not answer CRI within {timeout}s ({last_error}):\n"
                    f"{self.log_tail()}"
                )
            if self.socket.exists():
                try:
                    client = await CriClient.connect(self.endpoint, timeout=min(1.0, remaining))
                    async with client:
                        return await client.version()
                except CriError as exc:
                    if exc.code == grpc.StatusCode.UNIMPLEMENTED:
                        # containerd serves, but without its CRI plugin: final.
                        raise ContainerdError(
                            f"containerd runs without its CRI plugin ({exc.details}):\n"
                            f"{self.log_tail()}"
                        ) from None
                    last_error = str(exc)  # the CRI plugin may not be serving yet
            await asyncio.sleep(0.1)

    async def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds; containers keep running."""
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    async def import_archive(self, path: Path) -> list[str]:
        """Import an OCI or docker archive into namespace k8s.io; the image names.

        ctr unpacks each image with the default snapshotter (overlayfs, the one
        the CRI plugin uses), so pods can use it at once.
        """
        proc = await asyncio.create_subprocess_exec(
            self.ctr_bin,
            "--address",
            str(self.socket),
            "--namespace",
            "k8s.io",
            "images",
            "import",
            "--snapshotter",
            "overlayfs",
            str(path),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        if proc.returncode != 0:
            message = (err or out).decode(errors="replace").strip()
            raise ContainerdError(f"importing {path} failed: {message}")
        return _imported_names(out.decode(errors="replace"))


def _imported_names(output: str) -> list[str]:
    """Image names from ctr's `unpacking NAME (sha256:...)...done` lines."""
    return re.findall(r"^unpacking (\S+) \(sha256:[0-9a-f]+\)", output, re.MULTILINE)


def _has_capability(number: int) -> bool:
    """Whether this process has the capability in its effective set."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return True
    match = re.search(r"^CapEff:\s*([0-9a-f]+)$", status, re.MULTILINE)
    return match is None or bool(int(match.group(1), 16) >> number & 1)


def _apparmor_enabled() -> bool:
    try:
        return Path("/sys/module/apparmor/parameters/enabled").read_text().strip() == "Y"
    except OSError:
        return False


async def _stop_stale(pid_file: Path, config_path: Path, grace: float = 5.0) -> None:
    """Stop a containerd of this same state dir left running by a killed agent.

    Only a pid recorded in our pid file whose command line names our config file
    is touched: anything else is not ours.
    """
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return
    if str(config_path).encode() not in cmdline:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while Path(f"/proc/{pid}").exists() and loop.time() < deadline:
        await asyncio.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def to_toml(config: dict) -> str:
    """TOML for nested dicts of str/int/bool/list[str] (all the config needs)."""
    lines: list[str] = []
    _toml_table(config, [], lines)
    return "\n".join(lines) + "\n"


def _toml_table(table: dict, path: list[str], lines: list[str]) -> None:
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
    if path:
        lines.append("")
        lines.append("[" + ".".join(_toml_key(p) for p in path) + "]")
    for key, value in scalars.items():
        lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in table.items():
        if isinstance(value, dict):
            _toml_table(value, [*path, key], lines)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON's string escapes are valid TOML basic strings
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")
