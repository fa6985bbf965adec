"""The service proxy with real traffic, without a container runtime: three network
namespaces on a bridge of the test's own stand in for pods, a real API server
holds a Service and the EndpointSlice the test writes, and a ServiceProxy with
a prefix of the test's own programs iptables. Root and iptables only; every
namespace, link and rule is removed even when the test fails.
"""

from __future__ import annotations

import asyncio
import collections
import subprocess
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from bench.podnet import PodNet, fetch_many
from pyk8s.client import ApiError, Client
from pyk8s.proxy import ServiceProxy, proxy_prefix

SUBNET = "198.18.224.0/24"
CLUSTER_IP = "198.19.224.10"
NODE_IP = "198.18.225.7"
NODE_PORT = 30080
NODE = "node-a"

SERVICES = ("v1", "services")
SLICES = ("discovery.k8s.io/v1", "endpointslices")


@pytest.fixture
def podnet() -> Iterator[PodNet]:
    reason = PodNet.available()
    if reason:
        pytest.skip(f"the proxy's e2e test {reason}")
    with PodNet(subnet=SUBNET) as net:
        net.add_node_ip(NODE_IP)
        yield net


@pytest.fixture
async def client(fresh_server) -> AsyncIterator[Client]:
    c = Client(fresh_server.url, token=fresh_server.token, ca_file=fresh_server.ca_file)
    try:
        yield c
    finally:
        await c.close()


def saved_rules(prefix: str) -> list[str]:
    out = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if prefix in line]


@pytest.fixture
async def proxies() -> AsyncIterator[list[ServiceProxy]]:
    """Proxies a test starts; each is stopped with cleanup afterwards, whatever happened."""
    started: list[ServiceProxy] = []
    try:
        yield started
    finally:
        for proxy in started:
            await proxy.stop(cleanup=True)


def service(cluster_ip: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "type": "NodePort",
            "clusterIP": cluster_ip,
            "ports": [
                {"name": "http", "port": 80, "targetPort": "web", "nodePort": NODE_PORT},
            ],
        },
    }


def endpoint_slice(net: PodNet, not_ready: tuple[str, ...] = ()) -> dict:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "web-1",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": "web"},
        },
        "addressType": "IPv4",
        # The named targetPort "web", resolved to the pods' port as the controller would.
        "ports": [{"name": "http", "port": net.port, "protocol": "TCP"}],
        "endpoints": [
            {
                "addresses": [pod.ip],
                "conditions": {"ready": pod.name not in not_ready},
                "nodeName": NODE,
                "targetRef": {"kind": "Pod", "name": pod.name, "namespace": "default"},
            }
            for pod in net.pods
        ],
    }


async def create_service(client: Client) -> str:
    """The Service at CLUSTER_IP, or at the allocated address if the server refuses
    that one (it must still lie in the test range)."""
    res = client.resource(*SERVICES)
    try:
        created = await client.create(res, service(CLUSTER_IP))
    except ApiError as err:
        if err.code != 422:
            raise
        created = await client.create(res, service(""))
    ip = created["spec"]["clusterIP"]
    if not ip.startswith(("198.18.", "198.19.")):
        pytest.skip(f"the server allocated {ip}, outside the test range 198.18.0.0/15")
    return ip


async def wait_for(predicate, timeout: float = 15.0, what: str = "") -> float:
    """Poll an async predicate; the seconds it took (fails after timeout)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if await predicate():
            return time.monotonic() - start
        await asyncio.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def count(answers: list[str]) -> collections.Counter:
    return collections.Counter(answers)


async def test_traffic_follows_the_endpoint_slice(podnet, client, proxies) -> None:
    ip = await create_service(client)
    await client.create(client.resource(*SLICES), endpoint_slice(podnet))
    proxy = ServiceProxy(
        client,
        prefix=proxy_prefix(f"e2e-{podnet.tag}"),
        node_ips={NODE: NODE_IP},
        cluster_cidr=SUBNET,
    )
    proxies.append(proxy)
    await proxy.start()
    await asyncio.wait_for(proxy.synced.wait(), 15)
    url = f"http://{ip}/"

    # From the host: every pod answers, no request fails.
    answers = count(await asyncio.to_thread(fetch_many, url, 300))
    assert set(answers) == {"pod-a", "pod-b", "pod-c"}, answers

    # A pod that stops being ready leaves the rotation.
    slices = client.resource(*SLICES)
    current = await client.get(slices, "web-1", "default")
    update = endpoint_slice(podnet, not_ready=("pod-c",))
    update["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    await client.update(slices, update)

    async def pod_c_gone() -> bool:
        return "pod-c" not in await asyncio.to_thread(fetch_many, url, 20)

    took = await wait_for(pod_c_gone, what="pod-c to leave the rotation")
    print(f"not-ready endpoint out of rotation after {took:.2f}s (poll of 20 requests)")
    answers = count(await asyncio.to_thread(fetch_many, url, 100))
    assert set(answers) == {"pod-a", "pod-b"}, answers

    # From inside a pod: the service answers, including through the pod itself (hairpin).
    inside = count(await asyncio.to_thread(podnet.fetch_in, podnet.pods[0], url, 60))
    assert set(inside) == {"pod-a", "pod-b"}, inside

    # The NodePort on the node's address, from the host and from a pod.
    node_url = f"http://{NODE_IP}:{NODE_PORT}/"
    answers = count(await asyncio.to_thread(fetch_many, node_url, 30))
    assert set(answers) <= {"pod-a", "pod-b"} and sum(answers.values()) == 30, answers
    inside = count(await asyncio.to_thread(podnet.fetch_in, podnet.pods[2], node_url, 10))
    assert set(inside) <= {"pod-a", "pod-b"} and sum(inside.values()) == 10, inside

    # No endpoints left: the filter table refuses the connection (REJECT, port unreachable).
    await client.delete(slices, "web-1", "default")

    async def refused() -> bool:
        return await asyncio.to_thread(fetch_many, url, 1) == ["ERR ConnectionRefusedError"]

    await wait_for(refused, what="the service without endpoints to refuse connections")

    await proxy.stop(cleanup=True)
    assert saved_rules(proxy.prefix) == []


async def test_restart_takes_over_and_cleanup_removes_only_its_own(podnet, client, proxies) -> None:
    ip = await create_service(client)
    await client.create(client.resource(*SLICES), endpoint_slice(podnet))
    prefix, other_prefix = proxy_prefix(f"e2e-r-{podnet.tag}"), proxy_prefix(f"e2e-o-{podnet.tag}")

    def make(prefix: str) -> ServiceProxy:
        proxy = ServiceProxy(client, prefix=prefix, node_ips={NODE: NODE_IP}, cluster_cidr=SUBNET)
        proxies.append(proxy)
        return proxy

    first, other = make(prefix), make(other_prefix)
    for proxy in (first, other):
        await proxy.start()
        await asyncio.wait_for(proxy.synced.wait(), 15)
    before = sorted(saved_rules(prefix))

    # Stopped without cleanup (a crash, an upgrade): the rules stay and keep working.
    await first.stop(cleanup=False)
    assert sorted(saved_rules(prefix)) == before
    answers = count(await asyncio.to_thread(fetch_many, f"http://{ip}/", 30))
    assert sum(n for name, n in answers.items() if name.startswith("pod-")) == 30, answers

    # The next run takes them over: same chains, no second copy of any jump.
    second = make(prefix)
    await second.start()
    await asyncio.wait_for(second.synced.wait(), 15)
    assert sorted(saved_rules(prefix)) == before

    # Cleaning one proxy up leaves the other's rules alone.
    other_rules = sorted(saved_rules(other_prefix))
    await second.stop(cleanup=True)
    assert saved_rules(prefix) == []
    assert sorted(saved_rules(other_prefix)) == other_rules
