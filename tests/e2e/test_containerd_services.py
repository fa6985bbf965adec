"""Services with real traffic on `pyk8s up --runtime containerd`: a ClusterIP in
front of 3 web pods (from the host and from a pod), pods leaving rotation when
deleted or unready, a rolling update without a failed request, NodePorts on every
node's address, a LoadBalancer from the pool (`kubectl expose --type=LoadBalancer`
as in the textbook), cluster DNS from inside a pod (service, headless, SRV, pod
names, NXDOMAIN, forwarding to a local resolver), and the API reachable through
the `kubernetes` Service. The cluster leaves no rule, address or process behind."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from cricluster import CriUpCluster, require_containerd, wait_for
from dns_helpers import FakeUpstream
from servers import Kubectl, kubectl_binaries

pytestmark = pytest.mark.containerd

SERVICE_CIDR = "198.19.5.0/24"
LB_POOL = "198.18.241.0/29"
NODE_RANGE = "198.18.240.48/28"
NODE_IPS = ["198.18.240.49", "198.18.240.50", "198.18.240.51"]

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  strategy: {rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: web
        image: IMAGE
        readinessProbe:
          exec: {command: ["sh", "-c", "test ! -e /tmp/unready"]}
          periodSeconds: 1
        lifecycle:
          preStop: {sleep: {seconds: 2}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 80}]
"""


class Upstream:
    """A fake resolver on 127.0.0.1 answering one external name, in its own thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake = FakeUpstream({"outside.example.test": ["198.18.250.7"]})
        asyncio.run_coroutine_threadsafe(self.fake.start(), self.loop).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, samples_archive: Path) -> Iterator[CriUpCluster]:
    require_containerd()
    upstream = Upstream()
    up = CriUpCluster(
        tmp_path_factory.mktemp("cri-svc"),
        samples_archive,
        cluster_cidr="198.18.80.0/20",
        service_cidr=SERVICE_CIDR,
        node_ip_range=NODE_RANGE,
        workers=2,
        extra=(
            "--service-lb-pool", LB_POOL,
            "--dns-upstream", f"127.0.0.1:{upstream.fake.port}",
        ),
    )  # fmt: skip
    try:
        yield up
    finally:
        try:
            up.stop()
        finally:
            upstream.close()


@pytest.fixture(scope="module")
def kubectl(cluster: CriUpCluster, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    label = sorted(kubectl_binaries())[-1]
    return Kubectl(kubectl_binaries()[label], cluster.kubeconfig, tmp_path_factory.mktemp("kc"))


OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch(url: str) -> str:
    with OPENER.open(url, timeout=5) as resp:
        return resp.read().decode().strip()


@pytest.fixture(scope="module")
def web(kubectl: Kubectl) -> dict:
    kubectl.run("apply", "-f", "-", input=WEB.replace("IMAGE", "sysnet4admin/echo-hname"))
    kubectl("rollout", "status", "deployment/web", "--timeout=120s")
    svc = json.loads(kubectl("get", "svc", "web", "-o", "json"))
    wait_for(lambda: len(ready_endpoints(kubectl, "web")) == 3, 30, what="3 endpoints")
    return svc


def ready_endpoints(kubectl: Kubectl, service: str) -> list[str]:
    slices = json.loads(
        kubectl("get", "endpointslices", "-l", f"kubernetes.io/service-name={service}", "-o", "json")
    )["items"]
    return [
        e["addresses"][0]
        for s in slices
        for e in s.get("endpoints") or []
        if (e.get("conditions") or {}).get("ready")
    ]


def pod_names(kubectl: Kubectl) -> set[str]:
    pods = json.loads(kubectl("get", "pods", "-l", "app=web", "-o", "json"))["items"]
    return {p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp")}


def test_cluster_ip_balances_over_all_pods_from_host_and_pod(kubectl: Kubectl, web: dict) -> None:
    ip = web["spec"]["clusterIP"]
    assert ip.startswith("198.19.5.")
    seen = Counter(fetch(f"http://{ip}/") for _ in range(300))
    assert set(seen) == pod_names(kubectl) and sum(seen.values()) == 300
    kubectl("run", "client", "--image=busybox", "--", "sleep", "3600")
    wait_for(lambda: "Running" in kubectl("get", "pod", "client"), 60, what="client Running")
    script = f"for i in $(seq 60); do wget -qO- http://{ip}/; done"
    answers = kubectl("exec", "client", "--", "sh", "-c", script).split()
    assert len(answers) == 60 and set(answers) == pod_names(kubectl)


def test_deleted_pod_leaves_rotation(kubectl: Kubectl, web: dict) -> None:
    ip = web["spec"]["clusterIP"]
    victim = sorted(pod_names(kubectl))[0]
    kubectl("delete", "pod", victim, "--wait=false")
    wait_for(lambda: victim not in {fetch(f"http://{ip}/") for _ in range(30)}, 30, what="gone")
    wait_for(lambda: len(ready_endpoints(kubectl, "web")) == 3, 60, what="replacement ready")


def test_unready_pod_leaves_rotation(kubectl: Kubectl, web: dict) -> None:
    ip = web["spec"]["clusterIP"]
    sick = sorted(pod_names(kubectl))[0]
    kubectl("exec", sick, "--", "touch", "/tmp/unready")  # its readiness probe now fails
    wait_for(lambda: len(ready_endpoints(kubectl, "web")) == 2, 30, what="endpoint not ready")
    wait_for(lambda: sick not in {fetch(f"http://{ip}/") for _ in range(30)}, 10, what="out")
    kubectl("exec", sick, "--", "rm", "/tmp/unready")
    wait_for(lambda: len(ready_endpoints(kubectl, "web")) == 3, 30, what="ready again")
    wait_for(lambda: sick in {fetch(f"http://{ip}/") for _ in range(60)}, 10, what="back")


def test_rolling_update_without_a_failed_request(kubectl: Kubectl, web: dict) -> None:
    ip = web["spec"]["clusterIP"]
    failures: list[str] = []
    answered = 0
    stop = threading.Event()

    def hammer() -> None:
        nonlocal answered
        while not stop.is_set():
            try:
                fetch(f"http://{ip}/")
                answered += 1
            except OSError as err:
                failures.append(str(err))
            time.sleep(0.02)

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        kubectl("set", "image", "deployment/web", "web=nginx:1.16.0")
        kubectl("rollout", "status", "deployment/web", "--timeout=180s")
        # The old pods are still terminating (preStop, grace period): keep asking.
        wait_for(lambda: len(pod_names(kubectl)) == 3 and _all_gone(kubectl), 60, what="old gone")
    finally:
        stop.set()
        thread.join(10)
    assert answered > 20
    assert failures == []


def _all_gone(kubectl: Kubectl) -> bool:
    pods = json.loads(kubectl("get", "pods", "-l", "app=web", "-o", "json"))["items"]
    return len(pods) == 3


def test_node_port_on_every_node_address(kubectl: Kubectl, web: dict) -> None:
    kubectl("expose", "deployment", "web", "--name=web-np", "--type=NodePort", "--port=80")
    svc = json.loads(kubectl("get", "svc", "web-np", "-o", "json"))
    port = svc["spec"]["ports"][0]["nodePort"]
    assert 30000 <= port <= 32767
    wait_for(lambda: len(ready_endpoints(kubectl, "web-np")) == 3, 30, what="endpoints")
    for node_ip in NODE_IPS:
        assert fetch(f"http://{node_ip}:{port}/") != ""


def test_load_balancer_from_the_pool(kubectl: Kubectl, web: dict) -> None:
    out = kubectl("expose", "deployment", "web", "--name=web-lb", "--port=80", "--type=LoadBalancer")
    assert out.strip() == "service/web-lb exposed"

    def ingress() -> str:
        svc = json.loads(kubectl("get", "svc", "web-lb", "-o", "json"))
        return ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress", [{}])[0].get("ip", "")

    lb_ip = wait_for(ingress, 30, what="an ingress IP")
    assert lb_ip.startswith("198.18.241.")
    assert lb_ip in kubectl("get", "svc", "web-lb")  # EXTERNAL-IP column
    wait_for(lambda: len(ready_endpoints(kubectl, "web-lb")) == 3, 30, what="endpoints")
    wait_for(lambda: fetch(f"http://{lb_ip}/") != "", 10, what="LB answers")


def nslookup(kubectl: Kubectl, *args: str) -> subprocess.CompletedProcess:
    return kubectl.run("exec", "client", "--", "nslookup", *args, check=False)


def test_cluster_dns_from_a_pod(kubectl: Kubectl, web: dict) -> None:
    ip = web["spec"]["clusterIP"]
    found = nslookup(kubectl, "web.default.svc.cluster.local")
    assert ip in found.stdout, found.stdout + found.stderr
    assert ip in nslookup(kubectl, "web").stdout  # the search path
    kubectl.run(
        "apply", "-f", "-",
        input="apiVersion: v1\nkind: Service\nmetadata: {name: web-headless}\n"
        "spec: {clusterIP: None, selector: {app: web}, ports: [{name: http, port: 80}]}\n",
    )  # fmt: skip
    pod_ips = {
        p["status"]["podIP"]
        for p in json.loads(kubectl("get", "pods", "-l", "app=web", "-o", "json"))["items"]
        if p["status"].get("podIP") and not p["metadata"].get("deletionTimestamp")
    }
    def headless_ok() -> bool:
        out = nslookup(kubectl, "web-headless.default.svc.cluster.local").stdout
        return pod_ips <= set(out.split())

    wait_for(headless_ok, 30, what="one A record per ready endpoint")
    srv = nslookup(kubectl, "-type=srv", "_http._tcp.web.default.svc.cluster.local")
    assert "web.default.svc.cluster.local" in srv.stdout and "80" in srv.stdout
    dashed = next(iter(pod_ips)).replace(".", "-")
    assert next(iter(pod_ips)) in nslookup(kubectl, f"{dashed}.default.pod.cluster.local").stdout
    missing = nslookup(kubectl, "nothing-here.default.svc.cluster.local")
    assert "NXDOMAIN" in missing.stdout + missing.stderr
    external = nslookup(kubectl, "outside.example.test")
    assert "198.18.250.7" in external.stdout


def test_api_reachable_through_the_kubernetes_service(kubectl: Kubectl, web: dict) -> None:
    svc = json.loads(kubectl("get", "svc", "kubernetes", "-o", "json"))
    assert svc["spec"]["clusterIP"] == "198.19.5.1"
    # The official client's in-cluster config connects to KUBERNETES_SERVICE_HOST:443.
    probe = kubectl.run(
        "exec", "client", "--", "sh", "-c",
        'nc -w 3 "$KUBERNETES_SERVICE_HOST" "$KUBERNETES_SERVICE_PORT" </dev/null && echo connected',
        check=False,
    )  # fmt: skip
    assert "connected" in probe.stdout, probe.stdout + probe.stderr


def test_deleted_services_leave_no_rules(kubectl: Kubectl, web: dict) -> None:
    services = json.loads(kubectl("get", "svc", "-o", "json"))["items"]
    ours = [s for s in services if s["metadata"]["name"].startswith("web")]
    needles = [s["spec"]["clusterIP"] for s in ours if s["spec"].get("clusterIP") != "None"]
    needles += [
        f"--dport {p['nodePort']}" for s in ours for p in s["spec"]["ports"] if p.get("nodePort")
    ]
    saved = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    assert all(n in saved for n in needles), needles  # present while the services exist
    kubectl("delete", "svc", *[s["metadata"]["name"] for s in ours])

    def rules_gone() -> bool:
        now = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
        return not any(n in now for n in needles)

    wait_for(rules_gone, 10, what="the services' rules removed")
