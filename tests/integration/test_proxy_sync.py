"""ServiceProxy against a real API server, with a fake netfilter (no root needed):
the informers wake the sync task, a change rewrites only the chains it touches,
a restarted proxy takes its rules over, drift is repaired, failures are retried,
cleanup removes exactly the proxy's own chains and jumps."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from proxy_helpers import FakeIptables

from pyk8s.client import Client
from pyk8s.proxy import ServiceProxy, SyncResult
from pyk8s.proxy.rules import ProxyConfig, jumps

PREFIX = "PTEST01"
NODES = {"n1": "198.18.225.1"}
CIDR = "198.18.224.0/24"
SERVICES = ("v1", "services")
SLICES = ("discovery.k8s.io/v1", "endpointslices")


@pytest.fixture
async def client(fresh_server) -> AsyncIterator[Client]:
    c = Client(fresh_server.url, token=fresh_server.token, ca_file=fresh_server.ca_file)
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
async def kernel() -> FakeIptables:
    return FakeIptables()


@pytest.fixture
async def proxies() -> AsyncIterator[list[ServiceProxy]]:
    started: list[ServiceProxy] = []
    try:
        yield started
    finally:
        for proxy in started:
            await proxy.stop(cleanup=False)


async def start_proxy(client, kernel, proxies, prefix: str = PREFIX, **kw) -> ServiceProxy:
    proxy = ServiceProxy(
        client, prefix=prefix, node_ips=NODES, cluster_cidr=CIDR, iptables=kernel, **kw
    )
    proxies.append(proxy)
    await proxy.start()
    await asyncio.wait_for(proxy.synced.wait(), 15)
    return proxy


def service(name: str, ip: str) -> dict:
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"clusterIP": ip, "ports": [{"name": "http", "port": 80}]},
    }


def endpoint_slice(name: str, ips: list[str]) -> dict:
    return {
        "metadata": {
            "name": f"{name}-1",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": name},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips],
    }


def expect_sync(proxy: ServiceProxy, predicate) -> asyncio.Future[SyncResult]:
    """The first sync result from now on that satisfies predicate (listen before acting)."""
    found: asyncio.Future[SyncResult] = asyncio.get_running_loop().create_future()

    def listener(result: SyncResult) -> None:
        if not found.done() and predicate(result):
            found.set_result(result)
            proxy.listeners.remove(listener)

    proxy.listeners.append(listener)
    return found


def dnat_targets(kernel: FakeIptables, prefix: str = PREFIX) -> set[str]:
    return {
        rule.rsplit(" ", 1)[1]
        for name in kernel.chains_with(f"{prefix}-SEP-")
        for rule in kernel.rules("nat", name)
        if "DNAT" in rule
    }


def jump_rules(kernel: FakeIptables, prefix: str = PREFIX) -> list[str]:
    tag = f'"pyk8s proxy {prefix}"'
    return [r for t in kernel.tables.values() for c in t.values() for r in c if tag in r]


async def seed(client: Client, name: str, ip: str, endpoints: list[str]) -> None:
    await client.create(client.resource(*SERVICES), service(name, ip))
    await client.create(client.resource(*SLICES), endpoint_slice(name, endpoints))


async def test_first_sync_installs_rules_and_jumps_once(client, kernel, proxies) -> None:
    await seed(client, "web", "198.19.224.10", ["198.18.224.11", "198.18.224.12"])
    proxy = await start_proxy(client, kernel, proxies)
    assert dnat_targets(kernel) == {"198.18.224.11:8080", "198.18.224.12:8080"}
    assert len(jump_rules(kernel)) == len(jumps(ProxyConfig(PREFIX)))
    assert kernel.rules("nat", "PREROUTING")[0].endswith(f"-j {PREFIX}-SERVICES")
    assert proxy.last_sync_seconds > 0 and proxy.syncs == 1


async def test_an_endpoint_change_rewrites_only_that_services_chains(
    client, kernel, proxies
) -> None:
    await seed(client, "web", "198.19.224.10", ["198.18.224.11"])
    await seed(client, "other", "198.19.224.11", ["198.18.224.21"])
    proxy = await start_proxy(client, kernel, proxies)
    slices = client.resource(*SLICES)
    current = await client.get(slices, "web-1", "default")
    changed = endpoint_slice("web", ["198.18.224.11", "198.18.224.12"])
    changed["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    generation = proxy.generation
    synced = expect_sync(proxy, lambda r: "198.18.224.12:8080" in r.text)
    await client.update(slices, changed)
    result = await asyncio.wait_for(synced, 10)
    assert not result.full and result.generation > generation
    assert "198.18.224.21" not in result.text  # the other service is untouched
    assert f":{PREFIX}-SERVICES " not in result.text  # its captures did not change
    assert dnat_targets(kernel) == {
        "198.18.224.11:8080",
        "198.18.224.12:8080",
        "198.18.224.21:8080",
    }


async def test_a_deleted_service_loses_its_chains(client, kernel, proxies) -> None:
    await seed(client, "web", "198.19.224.10", ["198.18.224.11"])
    proxy = await start_proxy(client, kernel, proxies)
    svc_chains = kernel.chains_with(f"{PREFIX}-SVC-")
    assert svc_chains
    synced = expect_sync(proxy, lambda r: "-X " in r.text)
    await client.delete(client.resource(*SERVICES), "web", "default")
    result = await asyncio.wait_for(synced, 10)
    assert all(f"-X {name}" in result.text for name in svc_chains)
    assert not kernel.chains_with(f"{PREFIX}-SVC-") and not kernel.chains_with(f"{PREFIX}-SEP-")
    assert not any(
        "198.19.224.10" in r for t in kernel.tables.values() for c in t.values() for r in c
    )


async def test_restart_takes_over_and_drops_what_is_gone(client, kernel, proxies) -> None:
    await seed(client, "web", "198.19.224.10", ["198.18.224.11"])
    await seed(client, "gone", "198.19.224.11", ["198.18.224.21"])
    first = await start_proxy(client, kernel, proxies)
    await first.stop(cleanup=False)
    # While no proxy runs, a service goes away.
    await client.delete(client.resource(*SERVICES), "gone", "default")
    second = await start_proxy(client, kernel, proxies)
    assert second.syncs == 1
    assert dnat_targets(kernel) == {"198.18.224.11:8080"}
    assert len(jump_rules(kernel)) == len(jumps(ProxyConfig(PREFIX)))  # no second copy


async def test_a_periodic_check_repairs_rules_changed_behind_its_back(
    client, kernel, proxies
) -> None:
    await seed(client, "web", "198.19.224.10", ["198.18.224.11"])
    proxy = await start_proxy(client, kernel, proxies)
    good = await kernel.save()
    # Someone flushes one chain and deletes a jump.
    kernel.tables["nat"][f"{PREFIX}-SERVICES"].clear()
    kernel.tables["nat"]["OUTPUT"] = [r for r in kernel.rules("nat", "OUTPUT") if PREFIX not in r]
    assert (await proxy.sync()).text == ""  # a partial sync cannot see it...
    result = await proxy.sync(check=True)  # ... the periodic check does
    assert result.full
    assert await kernel.save() == good


async def test_a_failed_restore_is_retried_as_a_full_sync(client, kernel, proxies) -> None:
    await seed(client, "web", "198.19.224.10", ["198.18.224.11"])
    proxy = await start_proxy(client, kernel, proxies)
    synced = expect_sync(proxy, lambda r: "198.18.224.31:8080" in r.text)
    kernel.fail_next = 1
    # The slice first: alone it changes no rule, so the service's sync is the one that fails.
    await client.create(client.resource(*SLICES), endpoint_slice("more", ["198.18.224.31"]))
    await client.create(client.resource(*SERVICES), service("more", "198.19.224.12"))
    result = await asyncio.wait_for(synced, 10)
    assert result.full
    assert "198.18.224.31:8080" in dnat_targets(kernel)


async def test_cleanup_removes_only_its_own(client, kernel, proxies) -> None:
    await seed(client, "web", "198.19.224.10", ["198.18.224.11"])
    mine = await start_proxy(client, kernel, proxies)
    # Another proxy whose prefix starts like ours.
    other = await start_proxy(client, kernel, proxies, prefix=PREFIX + "9")
    theirs = kernel.chains_with(PREFIX + "9-")
    await mine.stop(cleanup=True)
    assert kernel.chains_with(PREFIX + "-") == set() and jump_rules(kernel) == []
    assert kernel.chains_with(PREFIX + "9-") == theirs
    assert len(jump_rules(kernel, PREFIX + "9")) == len(jumps(ProxyConfig(PREFIX)))
    await other.stop(cleanup=True)
    assert await kernel.save() == await FakeIptables().save()


async def test_min_sync_interval_batches_a_burst(client, kernel, proxies) -> None:
    proxy = await start_proxy(client, kernel, proxies, min_sync_interval=0.5)
    syncs = proxy.syncs
    synced = expect_sync(proxy, lambda r: "198.18.224.44:8080" in r.text)
    for i in range(5):
        await seed(client, f"s{i}", f"198.19.224.{20 + i}", [f"198.18.224.{40 + i}"])
    await asyncio.wait_for(synced, 10)
    assert proxy.syncs - syncs < 5
