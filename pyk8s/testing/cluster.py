"""A throw-away cluster in the test process: API server, controller manager,
scheduler and simulated nodes on an event loop of their own, in a background
thread, so synchronous tests and asyncio tests (whatever their loop) use it alike.

    with cluster(workers=2) as c:
        subprocess.run(["kubectl", "--kubeconfig", c.kubeconfig, "get", "nodes"])

What makes a start cheap (see BENCHMARKS.md, "Test fixture"): the store skips
fsync (durable=False, as envtest runs etcd), the data dir lives on tmpfs when
/dev/shm exists, the CA and serving certificate are made once per process and
copied into each cluster (each cluster still gets a token of its own), and the
controllers, scheduler and kubelets reach the API server in-process (no socket,
no TLS) while user clients use HTTPS on an ephemeral 127.0.0.1 port.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

NODE_PREFIX = "w"
NODE_SUFFIX = "-k8s"
STOP_TIMEOUT = 30.0


@dataclass
class ClusterOptions:
    """How a test cluster is made (every field has a test-friendly default)."""

    workers: int = 1  # simulated nodes w1-k8s..wN-k8s
    controllers: list[str] | None = None  # None: all of them
    scheduler: bool = True
    # A silent (frozen) node turns NotReady after this long (upstream: 40 s).
    node_monitor_grace_period: float = 5.0
    # Pods on an unreachable node are evicted after at most this long (None: 300 s).
    toleration_seconds_cap: float | None = None
    lease_interval: float = 1.0
    startup_timeout: float = 30.0
    data_dir: Path | None = None  # None: a fresh temporary dir, removed on stop
    sim: Any = None  # a pyk8s.kubelet.runtime.sim.SimConfig shared by every node
    cluster_cidr: str = "198.18.0.0/16"
    service_cidr: str = "198.19.0.0/16"
    extra_controller_options: dict[str, dict[str, Any]] = field(default_factory=dict)


# -- credentials, made once per process ------------------------------------------

_CREDS_LOCK = threading.Lock()
_CREDS_FILES: dict[str, bytes] | None = None


def _credential_files() -> dict[str, bytes]:
    """The CA and serving certificate/key every test cluster of this process uses
    (minting an EC CA and certificate costs more than the rest of a start)."""
    global _CREDS_FILES
    with _CREDS_LOCK:
        if _CREDS_FILES is None:
            from pyk8s.apiserver.credentials import ensure_credentials

            scratch = Path(tempfile.mkdtemp(prefix="pyk8s-creds-"))
            try:
                creds = ensure_credentials(scratch)
                names = ("ca.crt", "ca.key", "serving.crt", "serving.key")
                _CREDS_FILES = {n: (creds.tls_dir / n).read_bytes() for n in names}
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        return _CREDS_FILES


def _install_credentials(data_dir: Path) -> Any:
    """Copy the shared certificates into data_dir/tls with a token of its own."""
    from pyk8s.apiserver.credentials import Credentials

    tls = data_dir / "tls"
    tls.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_hex(24)
    for name, data in {**_credential_files(), "admin.token": token.encode()}.items():
        fd = os.open(tls / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    return Credentials(tls, token)


def _scratch_root() -> str | None:
    """tmpfs when there is one: creating and removing a store there is much cheaper."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


# -- the cluster's own loop ------------------------------------------------------


class _LoopThread:
    """An event loop running in a daemon thread; coroutines are submitted to it."""

    _count = 0

    def __init__(self) -> None:
        _LoopThread._count += 1
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self._run, name=f"pyk8s-cluster-{_LoopThread._count}", daemon=True
        )
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = STOP_TIMEOUT) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        """Cancel whatever still runs on the loop, then stop and join the thread."""
        if self.loop.is_closed():
            return
        try:
            self.call(_cancel_leftovers(), STOP_TIMEOUT)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(STOP_TIMEOUT)
            if not self.thread.is_alive():
                self.loop.close()


async def _cancel_leftovers() -> None:
    loop = asyncio.get_running_loop()
    me = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks(loop) if t is not me]
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await loop.shutdown_asyncgens()
    await loop.shutdown_default_executor()


# -- the cluster ------------------------------------------------------------------


class Cluster:
    """A running test cluster. Use `cluster()`/`acluster()` or the pytest fixture
    `k8s_cluster` rather than constructing one."""

    def __init__(self, options: ClusterOptions | None = None) -> None:
        self.options = options or ClusterOptions()
        self.data_dir = Path()
        self.kubeconfig = Path()
        self.url = ""
        self.token = ""
        self.ca_file = Path()
        self.plane: Any = None  # pyk8s.controlplane.ControlPlane (on the cluster's loop)
        self.pool: Any = None  # pyk8s.kubelet.NodePool
        self._sim: Any = None
        self._kubelet_client: Any = None
        self._own_dir = False
        self._runner: _LoopThread | None = None
        self._node_index = 0

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> Cluster:
        """Start everything and wait until every node is Ready (blocking)."""
        opts = self.options
        self._own_dir = opts.data_dir is None
        if opts.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="pyk8s-test-", dir=_scratch_root()))
        else:
            self.data_dir = Path(opts.data_dir)
        try:
            self._runner = _LoopThread()
            self._runner.call(self._boot(), opts.startup_timeout + STOP_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every component, the loop and its thread; remove the data dir.
        Safe to call twice, and after a failed start."""
        runner, self._runner = self._runner, None
        try:
            if runner is not None:
                try:
                    runner.call(self._shutdown(), STOP_TIMEOUT)
                finally:
                    runner.close()
        finally:
            if self._own_dir and self.data_dir != Path():
                shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _boot(self) -> None:
        from pyk8s.controlplane import ControlPlane, ControlPlaneConfig
        from pyk8s.kubelet import NodePool
        from pyk8s.kubelet.runtime.sim import SimConfig

        opts = self.options
        creds = _install_credentials(self.data_dir)
        self.plane = ControlPlane(
            ControlPlaneConfig(
                data_dir=self.data_dir,
                port=0,
                durable=False,
                controllers=opts.controllers,
                scheduler=opts.scheduler,
                controller_options=self._controller_options(),
                cluster_cidr=opts.cluster_cidr,
                service_cidr=opts.service_cidr,
                credentials=creds,
                in_process_clients=True,
            )
        )
        await self.plane.start()
        self.url, self.token = self.plane.url, creds.token
        self.kubeconfig, self.ca_file = self.plane.kubeconfig, creds.ca_file
        self._sim = opts.sim if opts.sim is not None else SimConfig()
        self._kubelet_client = self.plane.new_client("kubelet")
        self.pool = NodePool(self._kubelet_client, dynamic=True)
        names = [self._next_node_name() for _ in range(opts.workers)]
        for name in names:
            self.pool.add(self._node_config(name), self._runtime())
        await self.pool.start()
        await self._wait_ready(names)

    def _controller_options(self) -> dict[str, dict[str, Any]]:
        opts = self.options
        lifecycle: dict[str, Any] = {
            "grace_period": opts.node_monitor_grace_period,
            "monitor_period": min(5.0, max(0.2, opts.node_monitor_grace_period / 5)),
        }
        if opts.toleration_seconds_cap is not None:
            lifecycle["toleration_seconds_cap"] = opts.toleration_seconds_cap
        options = {"nodelifecycle": lifecycle}
        for name, extra in opts.extra_controller_options.items():
            options[name] = {**options.get(name, {}), **extra}
        return options

    async def _shutdown(self) -> None:
        if self.pool is not None:
            await self.pool.stop()
        if self._kubelet_client is not None:
            await self._kubelet_client.close()
        if self.plane is not None:
            await self.plane.stop()

    # -- nodes --------------------------------------------------------------------

    def _next_node_name(self) -> str:
        self._node_index += 1
        return f"{NODE_PREFIX}{self._node_index}{NODE_SUFFIX}"

    def _node_config(self, name: str, **overrides: Any) -> Any:
        from pyk8s.kubelet import NodeConfig
        from pyk8s.kubelet.pool import derived_pod_cidr, sim_node_ip

        lifts_taint = self.options.controllers is None or "nodelifecycle" in (
            self.options.controllers or []
        )
        base: dict[str, Any] = {
            "internal_ip": sim_node_ip(self._node_index),
            "register_not_ready_taint": lifts_taint,
            "lease_interval": self.options.lease_interval,
            "fallback_pod_cidr": derived_pod_cidr(self._node_index, self.options.cluster_cidr),
        }
        return NodeConfig(name, **{**base, **overrides})

    def _runtime(self) -> Any:
        from pyk8s.kubelet.runtime.sim import SimRuntime

        return SimRuntime(self._sim)

    @property
    def nodes(self) -> list[str]:
        """The simulated nodes' names, in the order they joined."""
        return list(self.pool.kubelets) if self.pool is not None else []

    def add_node(self, name: str | None = None, **node_config: Any) -> str:
        """Start one more simulated node (NodeConfig fields as keywords, e.g.
        labels={...}, cpu="2") and wait until it is Ready; returns its name."""
        if name is None:
            name = self._next_node_name()
        else:
            self._node_index += 1

        async def join() -> None:
            await self.pool.join(self._node_config(name, **node_config), self._runtime())
            await self._wait_ready([name])

        self._call(join(), self.options.startup_timeout + STOP_TIMEOUT)
        return name

    def remove_node(self, name: str) -> None:
        """Stop a node's kubelet and delete its Node object, as when a machine is
        taken out of a cluster."""

        async def remove() -> None:
            from pyk8s.client import ApiError

            await self.pool.remove(name)
            try:
                await self._kubelet_client.delete(
                    self._kubelet_client.resource("v1", "nodes"), name
                )
            except ApiError as err:
                if err.code != 404:
                    raise

        self._call(remove())

    def freeze_node(self, name: str) -> None:
        """The node stops heartbeating and handling pods (a dead machine): after
        `node_monitor_grace_period` the cluster marks it NotReady."""
        self._call(_on_loop(self.pool.freeze, name))

    def thaw_node(self, name: str) -> None:
        self._call(_on_loop(self.pool.thaw, name))

    # -- images ---------------------------------------------------------------------

    def make_unpullable(self, glob: str) -> None:
        """Pulls of matching images fail from now on (ErrImagePull, ImagePullBackOff).
        Images a node already pulled stay usable there, as on a real node."""
        self._call(_on_loop(self._sim.unpullable.append, glob))

    def make_crashing(self, glob: str) -> None:
        """Containers of matching images exit 1 shortly after starting (CrashLoopBackOff)."""
        self._call(_on_loop(self._sim.crashing.append, glob))

    # -- plumbing -------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = STOP_TIMEOUT) -> T:
        """Run a coroutine on the cluster's own loop (where `plane` and `pool` live)."""
        return self._call(coro, timeout)

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float | None = STOP_TIMEOUT) -> T:
        if self._runner is None:
            coro.close()
            raise RuntimeError("the cluster is not running")
        return self._runner.call(coro, timeout)

    async def _wait_ready(self, names: list[str]) -> None:
        """Until each node is Ready without the not-ready taint (so pods schedule),
        read from the node pool's informer: no requests while waiting."""
        deadline = time.monotonic() + self.options.startup_timeout
        while True:
            pending = [n for n in names if not _schedulable(self.pool.node_informer.get(n))]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"nodes not Ready after {self.options.startup_timeout}s: {pending}"
                )
            await asyncio.sleep(0.005)

    def __repr__(self) -> str:
        return f"<pyk8s test cluster {self.url or '(stopped)'} nodes={self.nodes}>"


async def _on_loop(fn: Any, *args: Any) -> Any:
    return fn(*args)


def _schedulable(node: dict[str, Any] | None) -> bool:
    if node is None:
        return False
    status = node.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    tainted = any(
        t.get("key") == "node.kubernetes.io/not-ready"
        for t in (node.get("spec") or {}).get("taints") or []
    )
    return ready and not tainted
