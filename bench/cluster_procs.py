"""Child processes for the cluster benchmarks: `pyk8s up`, `pyk8s server` (API
server + controllers + scheduler) and a simulated node pool, each its own
process, as a real deployment runs them. Only the processes started here are
stopped, by pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The installed console script, so `up` is timed exactly as a user starts it.
PYK8S = str(Path(sys.executable).parent / "pyk8s")


def vm_hwm_mib(pid: int) -> float:
    """Peak resident set (VmHWM) of a live process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def vm_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def stop_pid(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """SIGINT (Ctrl-C, the clean stop), then SIGKILL if it hangs; this pid only."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class Child:
    """A child process whose output goes to a log file in its work dir."""

    name: str
    args: list[str]
    work: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def log_path(self) -> Path:
        return self.work / f"{self.name}.log"

    def start(self) -> Child:
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        env = {**os.environ, **self.env}
        self.proc = subprocess.Popen(
            self.args, cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT, env=env
        )
        return self

    def wait_for_line(self, needle: str, timeout: float) -> str:
        """The first log line containing `needle` (the child printed it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log_path.read_text(errors="replace").splitlines():
                if needle in line:
                    return line
            if self.proc is not None and self.proc.poll() is not None:
                break
            time.sleep(0.02)
        tail = self.log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{self.name}: no {needle!r} within {timeout}s\n{tail}")

    def stop(self) -> None:
        if self.proc is not None:
            stop_pid(self.proc)
        if getattr(self, "_log", None) is not None:
            self._log.close()


def new_work_dir(prefix: str = "pyk8s-cluster-bench-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def up_child(work: Path) -> Child:
    """`pyk8s up --workers 3 --runtime sim` on a fresh data dir and a free port."""
    args = [PYK8S, "up", "--data-dir", str(work / "up"), "--port", "0"]
    args += ["--workers", "3", "--runtime", "sim"]
    return Child("up", args, work)


def server_child(work: Path, fsync: bool = True, extra: list[str] | None = None) -> Child:
    """`pyk8s server` (API server, controllers, scheduler) on a free port."""
    args = [PYK8S, "server", "--data-dir", str(work / "server"), "--port", "0"]
    if not fsync:
        args.append("--no-fsync")
    return Child("server", args + (extra or []), work)


def pool_child(work: Path, kubeconfig: Path, nodes: int, prefix: str, max_pods: int = 110) -> Child:
    """A NodePool process hosting `nodes` simulated nodes (bench/cluster_pool.py)."""
    args = [sys.executable, "-m", "bench.cluster_pool", "--kubeconfig", str(kubeconfig)]
    args += ["--nodes", str(nodes), "--prefix", prefix, "--max-pods", str(max_pods)]
    return Child("pool", args, work)


def server_url(child: Child, timeout: float = 60.0) -> str:
    """The URL `pyk8s server` prints once it listens."""
    line = child.wait_for_line("pyk8s server ready: ", timeout)
    return line.split("ready: ", 1)[1].split()[0]
