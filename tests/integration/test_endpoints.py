"""Endpoints and EndpointSlices follow the pods a Service selects."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from support_helpers import (  # noqa: E402
    control_plane,
    get_or_none,
    names,
    pod,
    set_pod_running,
    wait_for,
)

from pyk8s.controllers.endpoints import EndpointsController
from pyk8s.controllers.endpointslice import EndpointSliceController

NS = "default"
CTRL = {"endpoints": EndpointsController, "endpointslice": EndpointSliceController}


def _service(name: str, **spec) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": {"team": "a"}},
        "spec": {
            "selector": {"app": name},
            "ports": [{"name": "http", "port": 80, "targetPort": "web"}],
            **spec,
        },
    }


def _web_pod(name: str, app: str, node: str = "n1") -> dict:
    p = pod(name, {"app": app}, node=node)
    p["spec"]["containers"][0]["ports"] = [{"name": "web", "containerPort": 8080}]
    return p


async def _slices(client, svc: str) -> list[dict]:
    res = client.resource("discovery.k8s.io/v1", "endpointslices")
    listed = await client.list(res, NS, label_selector=f"kubernetes.io/service-name={svc}")
    return listed["items"]


async def test_endpoints_and_slices_track_ready_pods(tmp_path):
    async with control_plane(tmp_path, CTRL) as (_cp, client):
        pods = client.resource("v1", "pods")
        eps = client.resource("v1", "endpoints")
        await client.create(client.resource("v1", "services"), _service("web"), NS)
        # No pods: an Endpoints without subsets and a placeholder slice.
        empty = await wait_for(lambda: get_or_none(client, eps, "web", NS), what="endpoints")
        assert not empty.get("subsets")
        assert empty["metadata"]["labels"] == {"team": "a"}

        async def placeholder():
            s = await _slices(client, "web")
            return len(s) == 1 and not s[0].get("endpoints") and s

        await wait_for(placeholder, what="placeholder slice")

        for i, ip in enumerate(["198.18.0.5", "198.18.0.6"]):
            await client.create(pods, _web_pod(f"web-{i}", "web"), NS)
            await set_pod_running(client, NS, f"web-{i}", ip, ready=(i == 0))
        await client.create(pods, _web_pod("no-ip", "web"), NS)  # skipped: no IP yet
        await client.create(pods, _web_pod("other", "db"), NS)  # not selected

        async def subsets():
            ep = await client.get(eps, "web", NS)
            return ep.get("subsets")

        got = await wait_for(subsets, what="endpoints subsets")
        assert len(got) == 1
        (subset,) = got
        assert [a["ip"] for a in subset["addresses"]] == ["198.18.0.5"]
        assert subset["addresses"][0]["nodeName"] == "n1"
        assert subset["addresses"][0]["targetRef"]["name"] == "web-0"
        assert [a["ip"] for a in subset.get("notReadyAddresses", [])] == ["198.18.0.6"]
        assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]

        async def slice_with_two():
            s = await _slices(client, "web")
            return len(s) == 1 and len(s[0].get("endpoints") or []) == 2 and s[0]

        sl = await wait_for(slice_with_two, what="slice with both pods")
        assert sl["addressType"] == "IPv4"
        assert sl["metadata"]["name"].startswith("web-")
        assert sl["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == (
            "endpointslice-controller.k8s.io"
        )
        assert sl["metadata"]["ownerReferences"][0]["kind"] == "Service"
        assert sl["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
        by_name = {e["targetRef"]["name"]: e for e in sl["endpoints"]}
        assert by_name["web-0"]["conditions"] == {
            "ready": True,
            "serving": True,
            "terminating": False,
        }
        assert by_name["web-1"]["conditions"]["ready"] is False
        assert by_name["web-0"]["addresses"] == ["198.18.0.5"]

        # The pod going away leaves the endpoints.
        await client.delete(pods, "web-0", NS, grace_period_seconds=0)

        async def no_ready():
            ep = await client.get(eps, "web", NS)
            subs = ep.get("subsets") or []
            return subs and not subs[0].get("addresses")

        await wait_for(no_ready, what="deleted pod removed from endpoints")

        # Deleting the service deletes its Endpoints.
        await client.delete(client.resource("v1", "services"), "web", NS)

        async def ep_gone():
            return await get_or_none(client, eps, "web", NS) is None

        await wait_for(ep_gone, what="endpoints deleted with the service")


async def test_publish_not_ready_and_service_without_selector(tmp_path):
    async with control_plane(tmp_path, CTRL) as (_cp, client):
        pods = client.resource("v1", "pods")
        svcs = client.resource("v1", "services")
        eps = client.resource("v1", "endpoints")
        await client.create(svcs, _service("pub", publishNotReadyAddresses=True), NS)
        manual = _service("manual")
        del manual["spec"]["selector"]
        await client.create(svcs, manual, NS)
        await client.create(pods, _web_pod("pub-0", "pub"), NS)
        await set_pod_running(client, NS, "pub-0", "198.18.1.9", ready=False)

        async def published():
            ep = await get_or_none(client, eps, "pub", NS)
            subs = (ep or {}).get("subsets") or []
            return subs and [a["ip"] for a in subs[0].get("addresses", [])] == ["198.18.1.9"]

        await wait_for(published, what="not-ready pod published")
        assert "manual" not in await names(client, eps, NS)
        assert await _slices(client, "manual") == []


async def test_slices_hold_at_most_the_limit(tmp_path):
    opts = {"endpointslice": {"max_endpoints_per_slice": 2}}
    ctrl = {"endpointslice": EndpointSliceController}
    async with control_plane(tmp_path, ctrl, opts) as (_cp, client):
        pods = client.resource("v1", "pods")
        await client.create(client.resource("v1", "services"), _service("many"), NS)
        for i in range(5):
            await client.create(pods, _web_pod(f"many-{i}", "many"), NS)
            await set_pod_running(client, NS, f"many-{i}", f"198.18.2.{i + 1}")

        async def spread():
            s = await _slices(client, "many")
            sizes = sorted(len(x.get("endpoints") or []) for x in s)
            return sizes == [1, 2, 2] and s

        await wait_for(spread, what="5 endpoints in slices of at most 2")
        for i in range(3):
            await client.delete(pods, f"many-{i}", NS, grace_period_seconds=0)

        async def shrunk():
            s = await _slices(client, "many")
            total = sum(len(x.get("endpoints") or []) for x in s)
            return total == 2 and all(x.get("endpoints") for x in s)

        await wait_for(shrunk, what="empty slices deleted")
