"""One `pyk8s server` child process for a benchmark: durable, on an ephemeral
127.0.0.1 port, in a temporary data dir. Only that process (by pid) is stopped."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass
class BenchServer:
    """A durable API server; use as a context manager so it is stopped even on error."""

    fsync: bool = True
    # False: the API server alone (--disable-controllers), what the targets are about.
    controllers: bool = False
    url: str = ""
    token: str = ""
    ca_file: str = ""
    data_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="pyk8s-bench-")))
    proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> BenchServer:
        args = [sys.executable, "-m", "pyk8s.cli.main", "server"]
        args += ["--data-dir", str(self.data_dir / "server"), "--port", "0"]
        if not self.fsync:
            args.append("--no-fsync")
        if not self.controllers:
            args.append("--disable-controllers")
        # stderr goes to a file: a pipe nobody drains would block a chatty server.
        self._log = open(self.data_dir / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            args, cwd=REPO, stdout=subprocess.PIPE, stderr=self._log, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "ready: " not in line:
            self.stop()
            log = (self.data_dir / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"pyk8s server did not start: {line!r}\n{log}")
        self.url = line.split("ready: ", 1)[1].split(" ", 1)[0]
        tls = self.data_dir / "server" / "tls"
        self.token = (tls / "admin.token").read_text().strip()
        self.ca_file = str(tls / "ca.crt")
        return self

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s; always removes the data dir."""
        if self.proc is not None:
            if self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(15)
                except subprocess.TimeoutExpired:
                    os.kill(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(15)
            if self.proc.stdout:
                self.proc.stdout.close()
            self.proc = None
        if getattr(self, "_log", None):
            self._log.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> BenchServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def memory(self) -> dict[str, float]:
        """VmRSS and VmHWM (peak RSS) in MiB, from /proc/<pid>/status."""
        out = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
        return out

    def settle(self, seconds: float = 2.0) -> None:
        """Let start-up work (bootstrap, controllers' first lists) finish."""
        time.sleep(seconds)
