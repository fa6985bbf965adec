"""Real clusters for tests: API server, controllers, scheduler and simulated nodes
in the test process, started in a fraction of a second.

    from pyk8s.testing import cluster

    with cluster(workers=2) as c:
        ...  # c.kubeconfig, c.url, c.token, c.ca_file, c.add_node(), c.freeze_node(...)

    async with acluster() as c:   # the same, without blocking the running loop
        ...

Installing pyk8s also installs the pytest plugin (pyk8s.testing.plugin) with the
fixtures k8s_cluster, kubeconfig, k8s_client, kr8s_api and lightkube_client.
See docs/testing.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from pyk8s.testing.cluster import Cluster, ClusterOptions
from pyk8s.testing.waiting import await_for, wait_for


@contextmanager
def cluster(workers: int = 1, **options: Any) -> Iterator[Cluster]:
    """A running cluster with `workers` simulated nodes, all Ready; stopped (and its
    data dir removed) on exit, also when the body raised. Options: ClusterOptions."""
    c = Cluster(ClusterOptions(workers=workers, **options)).start()
    try:
        yield c
    finally:
        c.stop()


@asynccontextmanager
async def acluster(workers: int = 1, **options: Any) -> AsyncIterator[Cluster]:
    """`cluster()` for async code: starting and stopping run in a worker thread, so
    the caller's event loop keeps running meanwhile."""
    c = Cluster(ClusterOptions(workers=workers, **options))
    await asyncio.to_thread(c.start)
    try:
        yield c
    finally:
        await asyncio.to_thread(c.stop)


__all__ = ["Cluster", "ClusterOptions", "acluster", "await_for", "cluster", "wait_for"]
