"""Container lifecycle on real containers (one `pyk8s up --runtime containerd`
worker): CrashLoopBackOff with growing back-off and `logs --previous`, liveness
restarts, readiness gating READY, exec exit codes, port-forward, and deleting pods
and namespaces leaving no sandboxes, containers, veths or IPs behind."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cricluster import CriUpCluster, require_containerd, wait_for
from servers import Kubectl, kubectl_binaries

from pyk8s.images.cluster import node_sockets
from pyk8s.kubelet.cri import CriClient

pytestmark = pytest.mark.containerd

LABEL = sorted(kubectl_binaries())[-1]  # the newest kubectl; the pods module runs both


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, samples_archive: Path) -> Iterator[CriUpCluster]:
    require_containerd()
    up = CriUpCluster(
        tmp_path_factory.mktemp("cri-life"),
        samples_archive,
        cluster_cidr="198.18.16.0/20",
        node_ip_range="198.18.240.16/28",
        service_cidr="198.19.1.0/24",
        workers=1,
    )
    try:
        yield up
    finally:
        up.stop()


@pytest.fixture(scope="module")
def kubectl(cluster: CriUpCluster, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return Kubectl(kubectl_binaries()[LABEL], cluster.kubeconfig, tmp_path_factory.mktemp("kc"))


def apply(kubectl: Kubectl, manifest: str) -> None:
    kubectl.run("apply", "-f", "-", input=manifest)


def status(kubectl: Kubectl, name: str, ns: str = "default") -> dict:
    return json.loads(kubectl("get", "pod", name, "-n", ns, "-o", "json")).get("status") or {}


def container_status(kubectl: Kubectl, name: str, ns: str = "default") -> dict:
    statuses = status(kubectl, name, ns).get("containerStatuses") or [{}]
    return statuses[0]


def test_crash_loop_back_off_and_previous_logs(kubectl: Kubectl) -> None:
    kubectl("run", "crasher", "--image=busybox", "--", "sh", "-c", "echo attempt; exit 3")

    def backing_off() -> dict | None:
        cs = container_status(kubectl, "crasher")
        waiting = (cs.get("state") or {}).get("waiting") or {}
        return cs if waiting.get("reason") == "CrashLoopBackOff" and cs["restartCount"] >= 2 else None

    cs = wait_for(backing_off, 90, what="CrashLoopBackOff after 2 restarts")
    assert cs["lastState"]["terminated"]["exitCode"] == 3
    assert cs["lastState"]["terminated"]["reason"] == "Error"
    # The back-off doubles: 10 s then 20 s as upstream.
    assert re.search(r"back-off (10|20|40)s restarting failed container=crasher", cs["state"]["waiting"]["message"])
    assert kubectl("logs", "crasher", "--previous").strip() == "attempt"
    row = kubectl("get", "pod", "crasher").splitlines()[1]
    assert "CrashLoopBackOff" in row
    kubectl("delete", "pod", "crasher", "--grace-period=0", "--force")


PROBED = """\
apiVersion: v1
kind: Pod
metadata:
  name: probed
spec:
  containers:
  - name: web
    image: nginx:1.16.0
    readinessProbe:
      exec:
        command: ["cat", "/tmp/ready"]
      periodSeconds: 1
    livenessProbe:
      httpGet:
        path: /
        port: 80
      periodSeconds: 1
      failureThreshold: 2
"""


def test_readiness_gates_ready_and_liveness_restarts(kubectl: Kubectl) -> None:
    apply(kubectl, PROBED)
    wait_for(lambda: container_status(kubectl, "probed").get("started"), 60, what="started")
    row = kubectl("get", "pod", "probed").splitlines()[1].split()
    assert row[1] == "0/1" and row[2] == "Running"  # running but not ready
    kubectl("exec", "probed", "--", "touch", "/tmp/ready")
    wait_for(lambda: container_status(kubectl, "probed").get("ready"), 30, what="ready")
    assert kubectl("get", "pod", "probed").splitlines()[1].split()[1] == "1/1"

    # Break the liveness endpoint: nginx's index disappears -> 403/404 -> restart.
    kubectl("exec", "probed", "--", "sh", "-c", "rm -f /usr/share/nginx/html/index.html")
    cs = wait_for(
        lambda: (c := container_status(kubectl, "probed")).get("restartCount", 0) >= 1 and c,
        60,
        what="liveness restart",
    )
    assert cs["restartCount"] >= 1
    events = kubectl("get", "events", "--field-selector", "involvedObject.name=probed")
    assert "Liveness probe failed: HTTP probe failed with statuscode: 40" in events
    assert "Container web failed liveness probe, will be restarted" in events
    kubectl("delete", "pod", "probed", "--grace-period=0", "--force")


def test_exec_exit_code_and_stdin(kubectl: Kubectl) -> None:
    kubectl("run", "shell", "--image=busybox", "--", "sleep", "3600")
    wait_for(lambda: status(kubectl, "shell").get("phase") == "Running", 60, what="Running")
    proc = kubectl.run("exec", "shell", "--", "sh", "-c", "echo out; exit 3", check=False)
    assert proc.stdout == "out\n"
    assert proc.returncode == 3, proc.stderr
    assert "command terminated with exit code 3" in proc.stderr
    assert kubectl.run("exec", "-i", "shell", "--", "cat", input="piped\n").stdout == "piped\n"
    missing = kubectl.run("exec", "shell", "--", "/no/such/binary", check=False)
    assert missing.returncode != 0


def test_port_forward_reaches_the_pod(kubectl: Kubectl) -> None:
    kubectl("run", "pf", "--image=nginx:1.16.0")
    wait_for(lambda: status(kubectl, "pf").get("phase") == "Running", 60, what="Running")
    proc = subprocess.Popen(
        [kubectl.binary, "port-forward", "pod/pf", "0:80"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=kubectl.env(),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"Forwarding from 127\.0\.0\.1:(\d+) -> 80", line)
        assert match, line
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{match.group(1)}/", timeout=10) as resp:
            assert resp.status == 200
            assert resp.headers["X-Image-Version"] == "1.16.0"
    finally:
        proc.terminate()
        proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def _runtime_state(data_dir: Path, node: str) -> tuple[list[dict], list[dict]]:
    async def query() -> tuple[list[dict], list[dict]]:
        cri = await CriClient.connect(node_sockets(data_dir)[node])
        try:
            return await cri.list_pod_sandbox(), await cri.list_containers()
        finally:
            await cri.close()

    return asyncio.run(query())


def _veths_on(bridge_dir: Path) -> list[str]:
    brif = bridge_dir / "brif"
    return sorted(p.name for p in brif.iterdir()) if brif.is_dir() else []


def test_deleting_pods_and_namespaces_leaves_nothing(kubectl: Kubectl, cluster: CriUpCluster) -> None:
    from pyk8s.kubelet.cni import bridge_name

    node_dir = cluster.data_dir / "nodes" / "w1-k8s"
    bridge = Path("/sys/class/net") / bridge_name(node_dir)
    kubectl("create", "namespace", "scratch")
    kubectl("create", "deployment", "many", "-n", "scratch", "--image=nginx:1.16.0", "--replicas=3")
    wait_for(
        lambda: kubectl("get", "pods", "-n", "scratch").count("Running") == 3, 60, what="3 Running"
    )
    sandboxes, containers = _runtime_state(cluster.data_dir, "w1-k8s")
    ours = [s for s in sandboxes if s["metadata"]["namespace"] == "scratch"]
    assert len(ours) == 3
    assert len(_veths_on(bridge)) >= 3
    kubectl("delete", "namespace", "scratch", "--timeout=90s")

    def gone() -> bool:
        sandboxes, containers = _runtime_state(cluster.data_dir, "w1-k8s")
        return not any(s["metadata"]["namespace"] == "scratch" for s in sandboxes)

    wait_for(gone, 60, what="the namespace's sandboxes removed")
    sandboxes, containers = _runtime_state(cluster.data_dir, "w1-k8s")
    live = {s["id"] for s in sandboxes}
    assert all(c["pod_sandbox_id"] in live for c in containers)
    assert len(_veths_on(bridge)) == len(live)  # one veth per remaining pod, none leaked
    ipam = node_dir / "cni" / "ipam" / "pyk8s-w1-k8s"
    leased = [p.name for p in ipam.iterdir() if re.fullmatch(r"[\d.]+", p.name)]
    assert len(leased) == len(live)  # host-local IPs released with their sandboxes


def test_service_environment_variables(kubectl: Kubectl) -> None:
    apply(
        kubectl,
        "apiVersion: v1\nkind: Service\nmetadata: {name: env-web}\n"
        "spec: {clusterIP: 198.19.1.50, ports: [{port: 8080, targetPort: 80}]}\n",
    )
    ip = json.loads(kubectl("get", "svc", "env-web", "-o", "json"))["spec"]["clusterIP"]
    assert ip == "198.19.1.50"
    kubectl("run", "envy", "--image=busybox", "--restart=Never", "--", "sh", "-c", "env; sleep 3600")
    wait_for(lambda: status(kubectl, "envy").get("phase") == "Running", 60, what="Running")
    env = dict(
        line.split("=", 1) for line in kubectl("logs", "envy").splitlines() if "=" in line
    )
    assert env["ENV_WEB_SERVICE_HOST"] == ip
    assert env["ENV_WEB_SERVICE_PORT"] == "8080"
    assert env["ENV_WEB_PORT_8080_TCP"] == f"tcp://{ip}:8080"
    assert env["KUBERNETES_SERVICE_HOST"] == "198.19.1.1"  # the service CIDR's first IP
    assert env["KUBERNETES_SERVICE_PORT"] == "443"
    resolv = kubectl("exec", "envy", "--", "cat", "/etc/resolv.conf")
    assert "nameserver 198.19.1.10" in resolv  # the cluster DNS (ClusterFirst)
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in resolv
    assert "options ndots:5" in resolv
    kubectl("delete", "pod", "envy", "--grace-period=0", "--force")
    kubectl("delete", "svc", "env-web")


def test_pre_stop_hook_runs_before_the_container_stops(
    kubectl: Kubectl, tmp_path_factory: pytest.TempPathFactory
) -> None:
    out = tmp_path_factory.mktemp("prestop")
    apply(
        kubectl,
        f"""\
apiVersion: v1
kind: Pod
metadata: {{name: hooked}}
spec:
  terminationGracePeriodSeconds: 10
  volumes: [{{name: out, hostPath: {{path: "{out}", type: Directory}}}}]
  containers:
  - name: c
    image: busybox
    command: ["sleep", "3600"]
    volumeMounts: [{{name: out, mountPath: /out}}]
    lifecycle:
      preStop:
        exec: {{command: ["sh", "-c", "echo stopped-gracefully > /out/prestop"]}}
""",
    )
    wait_for(lambda: status(kubectl, "hooked").get("phase") == "Running", 60, what="Running")
    kubectl("delete", "pod", "hooked", "--timeout=60s")
    assert (out / "prestop").read_text() == "stopped-gracefully\n"


def test_init_containers_volumes_env_and_limits(kubectl: Kubectl) -> None:
    kubectl("create", "configmap", "settings", "--from-literal=color=blue")
    kubectl("create", "secret", "generic", "creds", "--from-literal=token=s3cr3t")
    apply(
        kubectl,
        """\
apiVersion: v1
kind: Pod
metadata: {name: layered, labels: {tier: demo}}
spec:
  volumes:
  - {name: shared, emptyDir: {}}
  - {name: conf, configMap: {name: settings}}
  initContainers:
  - name: prepare
    image: busybox
    command: ["sh", "-c", "echo prepared-by-init > /shared/note"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
  - name: main
    image: busybox
    command: ["sleep", "3600"]
    resources: {limits: {memory: 64Mi, cpu: 500m}}
    env:
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: COLOR, valueFrom: {configMapKeyRef: {name: settings, key: color}}}
    - {name: TOKEN, valueFrom: {secretKeyRef: {name: creds, key: token}}}
    - {name: GREETING, value: "hello $(POD_NAME)"}
    volumeMounts:
    - {name: shared, mountPath: /shared}
    - {name: conf, mountPath: /etc/conf}
""",
    )
    wait_for(lambda: status(kubectl, "layered").get("phase") == "Running", 90, what="Running")
    init = status(kubectl, "layered")["initContainerStatuses"][0]
    assert init["state"]["terminated"]["reason"] == "Completed"

    def sh(script: str) -> str:
        return kubectl("exec", "layered", "-c", "main", "--", "sh", "-c", script).strip()

    assert sh("cat /shared/note") == "prepared-by-init"
    assert sh("cat /etc/conf/color") == "blue"
    assert sh('echo "$POD_NAME $COLOR $TOKEN $GREETING"') == "layered blue s3cr3t hello layered"
    assert sh("echo $POD_IP") == status(kubectl, "layered")["podIP"]
    assert sh("cat /sys/fs/cgroup/memory/memory.limit_in_bytes") == str(64 << 20)
    assert sh("cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us") == "50000"
    kubectl("delete", "pod", "layered", "--grace-period=0", "--force")


def test_attach_reads_the_containers_output(kubectl: Kubectl) -> None:
    kubectl(
        "run", "ticker", "--image=busybox", "--",
        "sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.5; done",
    )  # fmt: skip
    wait_for(lambda: status(kubectl, "ticker").get("phase") == "Running", 60, what="Running")
    proc = subprocess.Popen(
        [kubectl.binary, "attach", "ticker"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=kubectl.env(),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
    finally:
        proc.terminate()
        proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
    assert all(re.fullmatch(r"tick \d+\n", line) for line in lines), lines
    kubectl("delete", "pod", "ticker", "--grace-period=0", "--force")


def test_node_reports_the_real_machine(kubectl: Kubectl) -> None:
    node = json.loads(kubectl("get", "node", "w1-k8s", "-o", "json"))
    info, capacity = node["status"]["nodeInfo"], node["status"]["capacity"]
    assert info["containerRuntimeVersion"].startswith("containerd://")
    assert info["kubeletVersion"].startswith("v1.32.")
    assert info["kernelVersion"] == os.uname().release
    assert capacity["cpu"] == str(os.cpu_count())
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    assert capacity["memory"] == f"{mem_kib}Ki"
    conditions = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert conditions == {
        "MemoryPressure": "False", "DiskPressure": "False", "PIDPressure": "False", "Ready": "True",
    }  # fmt: skip
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    assert addresses["InternalIP"] == "198.18.240.18"  # w1's address in --node-ip-range


def test_host_port_answers_on_the_node_address(kubectl: Kubectl) -> None:
    apply(
        kubectl,
        """\
apiVersion: v1
kind: Pod
metadata: {name: hostported}
spec:
  nodeName: w1-k8s
  containers:
  - name: web
    image: nginx:1.16.0
    ports: [{containerPort: 80, hostPort: 18080}]
""",
    )
    wait_for(lambda: status(kubectl, "hostported").get("phase") == "Running", 60, what="Running")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def answers() -> bool:
        try:
            with opener.open("http://198.18.240.18:18080/", timeout=3) as resp:
                return resp.headers["X-Image-Version"] == "1.16.0"
        except OSError:
            return False

    wait_for(answers, 20, what="the hostPort answers")
    kubectl("delete", "pod", "hostported", "--grace-period=0", "--force")
