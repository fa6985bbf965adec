"""Stand-in pods without a container runtime: network namespaces on a bridge of
their own, each running a small HTTP server that answers its own name.

    with PodNet(tag="a1b2c3", subnet="198.18.224.0/24", pods=3) as net:
        net.pods[0].ip, net.pods[0].netns      # 198.18.224.11, pyk8s-ta1b2c3-a
        net.run_in(net.pods[0], ["curl", ...])

Everything is named from the tag (bridge `pkb<tag>`, host veths `pkv<tag><i>`,
namespaces `pyk8s-t<tag>-<letter>`, dummy `pkd<tag>`), and `down()` removes
exactly those and stops only the servers it started, by pid, even after a
failed `up()`. Root only. The e2e test of the service proxy and its benchmark
use it.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

PY_SERVER = """
import http.server, sys
name = sys.argv[1].encode()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(name)))
        self.end_headers()
        self.wfile.write(name)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[2])), H).serve_forever()
"""

NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen {port};
        location / {{ return 200 "{name}"; }}
    }}
}}
"""


FETCH = """
import sys, urllib.request
url, n = sys.argv[1], int(sys.argv[2])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
for _ in range(n):
    try:
        with opener.open(url, timeout=3) as r:
            print(r.read().decode())
    except Exception as e:
        print("ERR " + type(getattr(e, "reason", e)).__name__)
"""


def random_tag() -> str:
    return secrets.token_hex(3)


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


@dataclass
class Pod:
    name: str
    netns: str
    ip: str
    veth: str
    server: subprocess.Popen | None = None


@dataclass
class PodNet:
    tag: str = field(default_factory=random_tag)
    subnet: str = "198.18.224.0/24"
    pods_count: int = 3
    port: int = 8080
    server: str = "python"  # or "nginx" (faster, for benchmarks)
    pods: list[Pod] = field(default_factory=list)
    dummy_ips: list[str] = field(default_factory=list)
    _tmp: Path | None = None

    @property
    def bridge(self) -> str:
        return f"pkb{self.tag}"

    @property
    def dummy(self) -> str:
        return f"pkd{self.tag}"

    @property
    def gateway(self) -> str:
        return str(ipaddress.ip_network(self.subnet)[1])

    @staticmethod
    def available() -> str:
        """ "" when this machine can build a PodNet, else why not."""
        if os.geteuid() != 0:
            return "needs root"
        for tool in ("ip", "iptables-restore", "iptables-save"):
            if shutil.which(tool) is None:
                return f"needs {tool}"
        return ""

    # -- set-up and tear-down -------------------------------------------------------

    def __enter__(self) -> PodNet:
        try:
            return self.up()
        except BaseException:
            self.down()
            raise

    def __exit__(self, *exc: object) -> None:
        self.down()

    def up(self) -> PodNet:
        net = ipaddress.ip_network(self.subnet)
        self._tmp = Path(tempfile.mkdtemp(prefix=f"pyk8s-podnet-{self.tag}-"))
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.gateway}/{net.prefixlen}", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for i in range(self.pods_count):
            letter = chr(ord("a") + i)
            pod = Pod(
                f"pod-{letter}",
                f"pyk8s-t{self.tag}-{letter}",
                str(net[11 + i]),
                f"pkv{self.tag}{i}",
            )
            self.pods.append(pod)
            self._plumb(pod, net.prefixlen)
        for pod in self.pods:
            pod.server = self._serve(pod)
        for pod in self.pods:
            self._wait_serving(pod)
        return self

    def _plumb(self, pod: Pod, prefixlen: int) -> None:
        peer = f"pkp{self.tag}{pod.veth[-1]}"
        _ip("netns", "add", pod.netns)
        _ip("link", "add", pod.veth, "type", "veth", "peer", "name", peer)
        _ip("link", "set", peer, "netns", pod.netns)
        _ip("link", "set", pod.veth, "master", self.bridge, "up")
        # As the CNI bridge plugin's hairpinMode: a pod reaching itself through a
        # service gets its own packet back out of the port it came in by.
        _ip("link", "set", pod.veth, "type", "bridge_slave", "hairpin", "on")
        inside = ["netns", "exec", pod.netns, "ip"]
        _ip(*inside, "link", "set", "lo", "up")
        _ip(*inside, "link", "set", peer, "name", "eth0")
        _ip(*inside, "addr", "add", f"{pod.ip}/{prefixlen}", "dev", "eth0")
        _ip(*inside, "link", "set", "eth0", "up")
        _ip(*inside, "route", "add", "default", "via", self.gateway)

    def _serve(self, pod: Pod) -> subprocess.Popen:
        cmd = ["ip", "netns", "exec", pod.netns]
        if self.server == "nginx":
            assert self._tmp is not None
            conf_dir = self._tmp / pod.name
            conf_dir.mkdir()
            conf = conf_dir / "nginx.conf"
            conf.write_text(NGINX_CONF.format(dir=conf_dir, port=self.port, name=pod.name))
            cmd += ["nginx", "-p", str(conf_dir), "-c", str(conf), "-g", "daemon off;"]
        else:
            cmd += [sys.executable, "-c", PY_SERVER, pod.name, str(self.port)]
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _wait_serving(self, pod: Pod, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pod.server is not None and pod.server.poll() is not None:
                raise RuntimeError(f"{pod.name}'s server exited with {pod.server.returncode}")
            try:
                if get(f"http://{pod.ip}:{self.port}/", 1.0) == pod.name:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{pod.name} did not answer on {pod.ip}:{self.port}")

    def add_node_ip(self, ip: str) -> None:
        """An address of this machine in a test range, on a dummy interface of our own."""
        if not Path(f"/sys/class/net/{self.dummy}").exists():
            # A kernel without the dummy driver: an empty bridge holds an address as well.
            if _ip("link", "add", self.dummy, "type", "dummy", check=False).returncode != 0:
                _ip("link", "add", self.dummy, "type", "bridge")
            _ip("link", "set", self.dummy, "up")
        _ip("addr", "add", f"{ip}/32", "dev", self.dummy)
        self.dummy_ips.append(ip)

    def down(self) -> None:
        for pod in self.pods:
            _stop(pod.server)
        for pod in self.pods:
            _ip("netns", "del", pod.netns, check=False)  # takes the veth pair with it
            _ip("link", "del", pod.veth, check=False)
        for name in (self.bridge, self.dummy):
            if Path(f"/sys/class/net/{name}").exists():
                _ip("link", "del", name, check=False)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
        self.pods.clear()

    # -- use ---------------------------------------------------------------------

    def run_in(self, pod: Pod, argv: list[str], timeout: float = 30.0) -> str:
        proc = subprocess.run(
            ["ip", "netns", "exec", pod.netns, *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
        return proc.stdout

    def fetch_in(self, pod: Pod, url: str, n: int) -> list[str]:
        """n GETs from inside a pod's namespace: each answer, or "ERR <exception>"."""
        return self.run_in(pod, [sys.executable, "-c", FETCH, url, str(n)]).splitlines()


def fetch_many(url: str, n: int, timeout: float = 3.0) -> list[str]:
    """n GETs from here, each on a new connection: the answers, or "ERR <exception>"."""
    out = []
    for _ in range(n):
        try:
            out.append(get(url, timeout))
        except OSError as err:  # URLError carries the socket's error as its reason
            out.append(f"ERR {type(getattr(err, 'reason', err)).__name__}")
    return out


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)


def get(url: str, timeout: float = 2.0) -> str:
    """One GET without any proxy settings from the environment."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as resp:
        return resp.read().decode()
