"""Services on the API server, as the real kubectl (both builds) sees them: cluster
IPs from the service range, node ports, requested values refused with upstream's
texts, LoadBalancer addresses from the pool (and <pending> when it is exhausted),
release on delete, the `kubernetes` Service, and allocations kept across a restart.

Each cluster here runs in the test process (pyk8s.testing) with no nodes: nothing
in these tests needs a pod to run."""

from __future__ import annotations

import ipaddress
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))

from servers import Kubectl, kubectl_binaries  # noqa: E402

from pyk8s.testing.cluster import Cluster, ClusterOptions  # noqa: E402

SERVICE_CIDR = "198.19.0.0/24"
LB_POOL = "198.18.200.0/29"
BUILDS = sorted(kubectl_binaries())

pytestmark = pytest.mark.skipif(not BUILDS, reason="no kubectl binary available")


def start_cluster(data_dir: Path | None = None, pool: str = LB_POOL) -> Cluster:
    options = ClusterOptions(
        workers=0,
        service_cidr=SERVICE_CIDR,
        data_dir=data_dir,
        extra_controller_options={"servicelb": {"pool": pool}},
    )
    return Cluster(options).start()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    c = start_cluster()
    try:
        yield c
    finally:
        c.stop()


def kubectl_for(c: Cluster, build: str, cache: Path) -> Kubectl:
    return Kubectl(kubectl_binaries()[build], str(c.kubeconfig), cache, build)


@pytest.fixture(params=BUILDS)
def build(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def kc(cluster: Cluster, build: str, tmp_path: Path) -> Kubectl:
    return kubectl_for(cluster, build, tmp_path)


@pytest.fixture
def ns(kc: Kubectl, request: pytest.FixtureRequest) -> str:
    base = request.node.name.split("[")[0].replace("_", "-").lower()[-40:].strip("-")
    name = f"{base}-k{kc.label.replace('.', '')}"
    kc("create", "namespace", name)
    return name


def svc_json(kc: Kubectl, ns: str, name: str) -> dict[str, Any]:
    return json.loads(kc("get", "svc", name, "-n", ns, "-o", "json"))


def table_row(kc: Kubectl, ns: str, name: str) -> list[str]:
    out = kc("get", "svc", name, "-n", ns, "--no-headers")
    return out.split()


def wait_for(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def in_range(ip: str, cidr: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr)


def error_of(kc: Kubectl, *args: str) -> str:
    proc = kc.run(*args, check=False)
    assert proc.returncode != 0, proc.stdout
    return proc.stderr.strip()


def free_ip(kc: Kubectl, ns: str, probe: str) -> str:
    """A cluster IP nobody holds yet, found by asking the server for a dynamic one."""
    kc("create", "service", "clusterip", probe, "--tcp=1:1", "-n", ns)
    ip = svc_json(kc, ns, probe)["spec"]["clusterIP"]
    kc("delete", "service", probe, "-n", ns)
    return ip


# -- cluster IPs ----------------------------------------------------------------------


def test_clusterip_allocated_in_range_and_shown(kc: Kubectl, ns: str):
    kc("create", "service", "clusterip", "x", "--tcp=80:8080", "-n", ns)
    spec = svc_json(kc, ns, "x")["spec"]
    ip = spec["clusterIP"]
    assert in_range(ip, SERVICE_CIDR)
    assert ip not in ("198.19.0.0", "198.19.0.1", "198.19.0.255")
    assert spec["clusterIPs"] == [ip]
    assert spec["ipFamilies"] == ["IPv4"] and spec["ipFamilyPolicy"] == "SingleStack"
    assert table_row(kc, ns, "x")[:5] == ["x", "ClusterIP", ip, "<none>", "80/TCP"]
    headless = "headless"
    kc("create", "service", "clusterip", headless, "--clusterip=None", "-n", ns)
    assert table_row(kc, ns, headless)[:3] == [headless, "ClusterIP", "None"]


def test_requested_ip_honoured_then_refused_with_upstream_text(kc: Kubectl, ns: str):
    ip = free_ip(kc, ns, "probe")
    kc("create", "service", "clusterip", "a", "--tcp=80:8080", f"--clusterip={ip}", "-n", ns)
    assert svc_json(kc, ns, "a")["spec"]["clusterIP"] == ip
    err = error_of(
        kc, "create", "service", "clusterip", "b", "--tcp=80:8080", f"--clusterip={ip}", "-n", ns
    )
    assert err == (
        f'error: failed to create ClusterIP service: Service "b" is invalid: spec.clusterIPs: '
        f'Invalid value: []string{{"{ip}"}}: failed to allocate IP {ip}: '
        "provided IP is already allocated"
    )
    outside = "198.19.1.20"
    err = error_of(
        kc, "create", "service", "clusterip", "c", "--tcp=80", f"--clusterip={outside}", "-n", ns
    )
    assert err == (
        f'error: failed to create ClusterIP service: Service "c" is invalid: spec.clusterIPs: '
        f'Invalid value: []string{{"{outside}"}}: failed to allocate IP {outside}: the provided '
        f"IP ({outside}) is not in the valid range. The range of valid IPs is {SERVICE_CIDR}"
    )
    # The kubernetes Service's address is not to be had either.
    err = error_of(
        kc, "create", "service", "clusterip", "d", "--tcp=80", "--clusterip=198.19.0.1", "-n", ns
    )
    assert "failed to allocate IP 198.19.0.1: provided IP is already allocated" in err


def test_delete_releases_the_ip_for_a_new_request(kc: Kubectl, ns: str):
    kc("create", "service", "clusterip", "gone", "--tcp=80", "-n", ns)
    ip = svc_json(kc, ns, "gone")["spec"]["clusterIP"]
    kc("delete", "service", "gone", "-n", ns)
    kc("create", "service", "clusterip", "again", "--tcp=80", f"--clusterip={ip}", "-n", ns)
    assert svc_json(kc, ns, "again")["spec"]["clusterIP"] == ip


def test_server_side_dry_run_takes_nothing(kc: Kubectl, ns: str):
    ip = free_ip(kc, ns, "probe")
    out = kc(
        "create", "service", "clusterip", "dry", "--tcp=80", f"--clusterip={ip}",
        "--dry-run=server", "-o", "jsonpath={.spec.clusterIP}", "-n", ns,
    )  # fmt: skip
    assert out == ip
    assert kc.run("get", "svc", "dry", "-n", ns, check=False).returncode != 0
    kc("create", "service", "clusterip", "real", "--tcp=80", f"--clusterip={ip}", "-n", ns)


# -- node ports -------------------------------------------------------------------------


def test_nodeport_allocated_requested_and_refused(kc: Kubectl, ns: str, build: str):
    kc("create", "service", "nodeport", "np", "--tcp=80:8080", "-n", ns)
    port = svc_json(kc, ns, "np")["spec"]["ports"][0]["nodePort"]
    assert 30000 <= port <= 32767
    assert table_row(kc, ns, "np")[4] == f"80:{port}/TCP"
    wanted = 30080 + BUILDS.index(build)  # one per kubectl build: the server is shared
    kc("create", "service", "nodeport", "fixed", "--tcp=80:8080", f"--node-port={wanted}", "-n", ns)
    assert table_row(kc, ns, "fixed")[4] == f"80:{wanted}/TCP"
    err = error_of(
        kc, "create", "service", "nodeport", "clash", "--tcp=80", f"--node-port={wanted}", "-n", ns
    )
    assert err == (
        'error: failed to create NodePort service: Service "clash" is invalid: '
        f"spec.ports[0].nodePort: Invalid value: {wanted}: provided port is already allocated"
    )
    # NodePort -> ClusterIP gives the node port back.
    kc("patch", "svc", "fixed", "-n", ns, "-p", '{"spec":{"type":"ClusterIP"}}')
    assert "nodePort" not in svc_json(kc, ns, "fixed")["spec"]["ports"][0]
    kc("create", "service", "nodeport", "reuse", "--tcp=80", f"--node-port={wanted}", "-n", ns)


# -- LoadBalancer -------------------------------------------------------------------------


def lb_ip(kc: Kubectl, ns: str, name: str) -> str:
    ingress = (svc_json(kc, ns, name).get("status") or {}).get("loadBalancer", {}).get("ingress")
    return (ingress or [{}])[0].get("ip", "")


def test_expose_deployment_as_loadbalancer(kc: Kubectl, ns: str):
    kc("create", "deployment", "web", "--image=nginx", "-n", ns)
    kc("expose", "deployment", "web", "--port", "80", "--type=LoadBalancer", "-n", ns)
    ip = wait_for(lambda: lb_ip(kc, ns, "web"), "a load balancer address")
    assert in_range(ip, LB_POOL)
    status = svc_json(kc, ns, "web")["status"]["loadBalancer"]["ingress"]
    assert status == [{"ip": ip, "ipMode": "VIP"}]
    row = table_row(kc, ns, "web")
    assert row[1] == "LoadBalancer" and row[3] == ip
    assert row[4].startswith("80:") and row[4].endswith("/TCP")
    events = kc("get", "events", "-n", ns, "--field-selector", "involvedObject.name=web")
    assert f'Assigned IP ["{ip}"]' in events
    # Deleted: the address can be asked for again.
    kc("delete", "service", "web", "-n", ns)
    manifest = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "again", "namespace": ns},
        "spec": {
            "type": "LoadBalancer",
            "loadBalancerIP": ip,
            "selector": {"app": "web"},
            "ports": [{"port": 80}],
        },
    }
    kc("apply", "-f", "-", input=json.dumps(manifest))
    assert wait_for(lambda: lb_ip(kc, ns, "again"), "the requested address") == ip
    # Type changed away from LoadBalancer: the address goes.
    kc("patch", "svc", "again", "-n", ns, "-p", '{"spec":{"type":"ClusterIP"}}')
    assert table_row(kc, ns, "again")[3] == "<none>"


@pytest.fixture
def tiny_pool_cluster() -> Iterator[Cluster]:
    c = start_cluster(pool="198.18.201.0/31")
    try:
        yield c
    finally:
        c.stop()


def test_pool_exhausted_pending_with_event_then_released(
    tiny_pool_cluster: Cluster, build: str, tmp_path: Path
):
    kc = kubectl_for(tiny_pool_cluster, build, tmp_path)
    ns = "default"
    for name in ("a", "b"):
        kc("create", "service", "loadbalancer", name, "--tcp=80", "-n", ns)
        wait_for(lambda name=name: lb_ip(kc, ns, name), f"an address for {name}")
    kc("create", "service", "loadbalancer", "c", "--tcp=80", "-n", ns)

    def failed_event() -> bool:
        out = kc("get", "events", "-n", ns, "--field-selector", "involvedObject.name=c")
        return "AllocationFailed" in out and 'Failed to allocate IP for "default/c"' in out

    wait_for(failed_event, "the AllocationFailed event")
    assert "no available IPs" in kc("describe", "svc", "c", "-n", ns)
    assert table_row(kc, ns, "c")[3] == "<pending>"
    freed = lb_ip(kc, ns, "a")
    kc("delete", "service", "a", "-n", ns)
    assert wait_for(lambda: lb_ip(kc, ns, "c"), "the released address") == freed


# -- the kubernetes Service ---------------------------------------------------------------


def test_kubernetes_service_with_endpoints_and_slice(kc: Kubectl, cluster: Cluster):
    port = int(cluster.url.rsplit(":", 1)[1])
    svc = svc_json(kc, "default", "kubernetes")
    assert svc["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}
    spec = svc["spec"]
    assert spec["clusterIP"] == "198.19.0.1" and spec["type"] == "ClusterIP"
    assert "selector" not in spec
    assert spec["ports"] == [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}]
    assert table_row(kc, "default", "kubernetes")[:5] == [
        "kubernetes", "ClusterIP", "198.19.0.1", "<none>", "443/TCP",
    ]  # fmt: skip
    ep = json.loads(kc("get", "endpoints", "kubernetes", "-n", "default", "-o", "json"))
    assert ep["subsets"] == [
        {
            "addresses": [{"ip": "127.0.0.1"}],
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
        }
    ]
    sl = json.loads(kc("get", "endpointslice", "kubernetes", "-n", "default", "-o", "json"))
    assert sl["addressType"] == "IPv4"
    assert sl["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}
    assert sl["endpoints"] == [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}]
    assert sl["ports"] == [{"name": "https", "port": port, "protocol": "TCP"}]


# -- restart ------------------------------------------------------------------------------


def test_restart_keeps_allocations(tmp_path: Path, build: str):
    data_dir = tmp_path / "cluster"
    c = start_cluster(data_dir)
    try:
        kc = kubectl_for(c, build, tmp_path / "kc")
        kc("create", "service", "clusterip", "cip", "--tcp=80")
        kc("create", "service", "nodeport", "np", "--tcp=80")
        kc("create", "service", "loadbalancer", "lb", "--tcp=80")
        lb = wait_for(lambda: lb_ip(kc, "default", "lb"), "an address for lb")
        before = {n: svc_json(kc, "default", n)["spec"] for n in ("cip", "np", "lb")}
    finally:
        c.stop()
    c = start_cluster(data_dir)
    try:
        kc = kubectl_for(c, build, tmp_path / "kc2")
        for name, spec in before.items():
            assert svc_json(kc, "default", name)["spec"]["clusterIP"] == spec["clusterIP"]
        assert lb_ip(kc, "default", "lb") == lb
        taken_ip = before["cip"]["clusterIP"]
        err = error_of(
            kc, "create", "service", "clusterip", "x", "--tcp=80", f"--clusterip={taken_ip}"
        )
        assert f"failed to allocate IP {taken_ip}: provided IP is already allocated" in err
        taken_port = before["np"]["ports"][0]["nodePort"]
        err = error_of(
            kc, "create", "service", "nodeport", "y", "--tcp=80", f"--node-port={taken_port}"
        )
        assert f"Invalid value: {taken_port}: provided port is already allocated" in err
        # New services get addresses nobody holds.
        kc("create", "service", "loadbalancer", "lb2", "--tcp=80")
        assert wait_for(lambda: lb_ip(kc, "default", "lb2"), "an address for lb2") != lb
        held = {spec["clusterIP"] for spec in before.values()} | {"198.19.0.1"}
        for i in range(10):
            kc("create", "service", "clusterip", f"n{i}", "--tcp=80")
            assert svc_json(kc, "default", f"n{i}")["spec"]["clusterIP"] not in held
        # The kubernetes Service follows the server to its new port.
        port = int(c.url.rsplit(":", 1)[1])
        k8s = svc_json(kc, "default", "kubernetes")["spec"]
        assert k8s["clusterIP"] == "198.19.0.1" and k8s["ports"][0]["targetPort"] == port
    finally:
        c.stop()


# -- in-cluster clients ---------------------------------------------------------------------


async def test_serving_certificate_covers_the_kubernetes_service_ip(tmp_path: Path):
    from cryptography import x509

    from pyk8s.controlplane import ControlPlane, ControlPlaneConfig

    plane = ControlPlane(
        ControlPlaneConfig(
            data_dir=tmp_path / "cp",
            port=0,
            durable=False,
            controllers=[],
            scheduler=False,
            service_cidr=SERVICE_CIDR,
            advertise_address="127.0.0.7",
        )
    )
    await plane.start()
    try:
        assert plane.creds is not None
        cert = x509.load_pem_x509_certificate(plane.creds.cert_file.read_bytes())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        ips = {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
        assert {"198.19.0.1", "127.0.0.7"} <= ips
        assert "kubernetes.default.svc" in sans.get_values_for_type(x509.DNSName)
    finally:
        await plane.stop()
