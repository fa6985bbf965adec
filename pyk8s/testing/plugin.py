"""pytest plugin: a real cluster per test (or per session) as a fixture.

Loaded through the `pytest11` entry point, so it is imported by every pytest run
wherever pyk8s is installed: it imports nothing heavy at module level and defines
fixtures only (no autouse). Fixtures:

- `k8s_session_cluster`: the session's shared cluster (for fixtures of wider scope).
- `k8s_cluster`: a running `pyk8s.testing.Cluster` (API server, controllers,
  scheduler, simulated nodes); per test by default, shared by the whole session
  with `--pyk8s-scope=session` (each xdist worker then has its own).
- `kubeconfig`: the cluster's admin kubeconfig (a Path); `kubeconfig_env`: the
  same, made the process default (KUBECONFIG) for the test's duration.
- `k8s_client`: an official `kubernetes` ApiClient; `kr8s_api`: a kr8s async
  Api; `lightkube_client` / `lightkube_async_client`: lightkube clients. Each is
  skipped when its library is not installed.

A test that needs a cluster made differently asks with a marker, and then gets
one of its own whatever the scope:

    @pytest.mark.pyk8s_cluster(workers=3, controllers=["deployment", "replicaset"])
    def test_spread(k8s_cluster): ...
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pyk8s.testing.cluster import Cluster

MARKER = "pyk8s_cluster"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pyk8s", "pyk8s test clusters")
    group.addoption(
        "--pyk8s-scope",
        choices=("function", "session"),
        default=None,
        help="k8s_cluster per test (function, default) or one per session (per xdist worker)",
    )
    group.addoption(
        "--pyk8s-workers",
        type=int,
        default=None,
        metavar="N",
        help="simulated nodes in each k8s_cluster (default 1)",
    )
    parser.addini("pyk8s_scope", "default for --pyk8s-scope", default="function")
    parser.addini("pyk8s_workers", "default for --pyk8s-workers", default="1")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): give this test a cluster of its own, made with these "
        "pyk8s.testing.ClusterOptions (workers=, controllers=, scheduler=, ...)",
    )


def _setting(config: pytest.Config, option: str, ini: str) -> Any:
    """A command-line option, else its ini value; None when the options were never
    added (the fixtures imported into a conftest rather than loaded as a plugin)."""
    value = config.getoption(option, default=None)
    if value is None:
        try:
            value = config.getini(ini)
        except ValueError:
            return None
    return value


def _scope(config: pytest.Config) -> str:
    value = _setting(config, "--pyk8s-scope", "pyk8s_scope") or "function"
    if value not in ("function", "session"):
        raise pytest.UsageError(f"pyk8s scope must be function or session, not {value!r}")
    return value


def _workers(config: pytest.Config) -> int:
    value = _setting(config, "--pyk8s-workers", "pyk8s_workers")
    return int(value) if value not in (None, "") else 1


def _started(**options: Any) -> Cluster:
    from pyk8s.testing.cluster import Cluster, ClusterOptions

    return Cluster(ClusterOptions(**options)).start()


@pytest.fixture(scope="session")
def k8s_session_cluster(pytestconfig: pytest.Config) -> Iterator[Cluster]:
    """One cluster for the whole session (per xdist worker), created on first use:
    what `k8s_cluster` gives with --pyk8s-scope=session, and what module- or
    session-scoped fixtures of your own can depend on."""
    cluster = _started(workers=_workers(pytestconfig))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def k8s_cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """A running cluster: `kubeconfig`, `url`, `token`, `ca_file`, `nodes`, and
    add_node / remove_node / freeze_node / thaw_node / make_unpullable / make_crashing."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is None and _scope(request.config) == "session":
        yield request.getfixturevalue("k8s_session_cluster")
        return
    options: dict[str, Any] = {"workers": _workers(request.config)}
    if marker is not None:
        options.update(marker.kwargs)
    cluster = _started(**options)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def kubeconfig(k8s_cluster: Cluster) -> Path:
    """Path of the cluster's admin kubeconfig (token and CA inline)."""
    return k8s_cluster.kubeconfig


@pytest.fixture
def kubeconfig_env(kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the cluster the default for code under test that loads "the" kubeconfig
    (kopf, kubernetes.config.load_kube_config(), kr8s, lightkube, kubectl): sets
    KUBECONFIG, and the official client's default path, which that library reads
    from the environment only once, at import."""
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    kube_config = sys.modules.get("kubernetes.config.kube_config")
    if kube_config is not None:
        monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(kubeconfig))
    return kubeconfig


@pytest.fixture
def k8s_client(kubeconfig: Path) -> Iterator[Any]:
    """An official `kubernetes` client (kubernetes.client.ApiClient) for the cluster."""
    pytest.importorskip("kubernetes")
    from kubernetes import config

    api = config.new_client_from_config(config_file=str(kubeconfig))
    try:
        yield api
    finally:
        api.close()


@pytest.fixture
def lightkube_client(kubeconfig: Path) -> Iterator[Any]:
    """A lightkube.Client for the cluster."""
    lightkube = pytest.importorskip("lightkube")
    client = lightkube.Client(lightkube.KubeConfig.from_file(str(kubeconfig)))
    try:
        yield client
    finally:
        client.close()


try:
    import pytest_asyncio
except ImportError:  # async fixtures need pytest-asyncio: say so instead of failing obscurely

    @pytest.fixture
    def kr8s_api() -> Any:
        """A kr8s async Api for the cluster (needs pytest-asyncio)."""
        pytest.skip("kr8s_api needs pytest-asyncio")

    @pytest.fixture
    def lightkube_async_client() -> Any:
        """A lightkube.AsyncClient for the cluster (needs pytest-asyncio)."""
        pytest.skip("lightkube_async_client needs pytest-asyncio")

else:

    @pytest_asyncio.fixture
    async def kr8s_api(kubeconfig: Path) -> AsyncIterator[Any]:
        """A kr8s async Api (kr8s.asyncio.api) for the cluster, in the test's loop."""
        pytest.importorskip("kr8s")
        import kr8s.asyncio

        api = await kr8s.asyncio.api(kubeconfig=str(kubeconfig))
        try:
            yield api
        finally:
            session = getattr(api, "_session", None)
            if session is not None:
                await session.aclose()

    @pytest_asyncio.fixture
    async def lightkube_async_client(kubeconfig: Path) -> AsyncIterator[Any]:
        """A lightkube.AsyncClient for the cluster, in the test's loop."""
        lightkube = pytest.importorskip("lightkube")
        client = lightkube.AsyncClient(lightkube.KubeConfig.from_file(str(kubeconfig)))
        try:
            yield client
        finally:
            await client.close()
