"""Image pulls on containerd, nothing imported beforehand: through a mirror with
credentials from the registries file (k3s's registries.yaml), with
imagePullSecrets for a private registry, ErrImagePull for a missing tag, and
imagePullPolicy Never."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cricluster import force_cleanup, leftovers, require_containerd, wait_for
from servers import Kubectl, kubectl_binaries

from pyk8s.images.registry import LocalRegistry

pytestmark = pytest.mark.containerd

NODES = ["m-k8s", "w1-k8s"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, samples_archive: Path) -> Iterator[dict]:
    require_containerd()
    work = tmp_path_factory.mktemp("cri-pulls")
    mirror = LocalRegistry([samples_archive], auth=("mirror-user", "mirror-pw")).run_in_thread()
    private = LocalRegistry([samples_archive], auth=("app-user", "app-pw")).run_in_thread()
    mirror_host = mirror.url.split("://")[1]
    private_host = private.url.split("://")[1]
    registries = {
        "mirrors": {
            "docker.io": {"endpoint": [mirror.url]},
            # The private registry is plain HTTP on 127.0.0.1: it is its own endpoint.
            private_host: {"endpoint": [private.url]},
        },
        "configs": {mirror_host: {"auth": {"username": "mirror-user", "password": "mirror-pw"}}},
    }
    (work / "registries.yaml").write_text(yaml.safe_dump(registries))
    log = open(work / "up.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "pyk8s.cli.main", "up", "--data-dir", str(work / "d"),
            "--port", "0", "--workers", "1", "--runtime", "containerd", "--no-fsync",
            "--private-registry", str(work / "registries.yaml"),
            "--cluster-cidr", "198.18.64.0/20", "--service-cidr", "198.19.4.0/24",
            "--node-ip-range", "198.18.240.32/28",
        ],
        stdout=subprocess.PIPE, stderr=log, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    first = proc.stdout.readline()
    try:
        assert "ready" in first, (first, (work / "up.log").read_text()[-3000:])
        kubectl = Kubectl(
            kubectl_binaries()[sorted(kubectl_binaries())[-1]],
            str(work / "d" / "kubeconfig.yaml"),
            work / "kc",
        )
        yield {"kubectl": kubectl, "private": private, "mirror": mirror}
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGINT)
            proc.wait(60)
        proc.stdout.close()
        log.close()
        mirror.close()
        private.close()
        left = leftovers(work / "d", NODES)
        if left:
            force_cleanup(work / "d", NODES)
        assert not left, left


def waiting_reason(kubectl: Kubectl, name: str) -> str:
    pod = json.loads(kubectl("get", "pod", name, "-o", "json"))
    cs = (pod.get("status") or {}).get("containerStatuses") or [{}]
    state = cs[0].get("state") or {}
    return "Running" if "running" in state else (state.get("waiting") or {}).get("reason", "")


def test_pull_through_mirror_with_registries_file_credentials(setup: dict) -> None:
    kubectl = setup["kubectl"]
    kubectl("run", "mirrored", "--image=nginx:1.16.0")
    wait_for(lambda: waiting_reason(kubectl, "mirrored") == "Running", 90, what="Running")
    events = kubectl("get", "events", "--field-selector", "involvedObject.name=mirrored")
    assert 'Successfully pulled image "nginx:1.16.0"' in events
    seen = [r for r in setup["mirror"].registry.requests if "/manifests/" in r.path]
    assert any(r.status == 200 for r in seen)


def test_missing_tag_is_err_image_pull_then_back_off(setup: dict) -> None:
    kubectl = setup["kubectl"]
    kubectl("run", "missing", "--image=nginx:1.17.23")
    wait_for(
        lambda: waiting_reason(kubectl, "missing") in ("ErrImagePull", "ImagePullBackOff"),
        60,
        what="ErrImagePull",
    )
    events = kubectl("get", "events", "--field-selector", "involvedObject.name=missing")
    assert 'Failed to pull image "nginx:1.17.23"' in events
    assert "not found" in events
    wait_for(lambda: waiting_reason(kubectl, "missing") == "ImagePullBackOff", 60, what="BackOff")


def test_image_pull_secrets_for_a_private_registry(setup: dict) -> None:
    kubectl = setup["kubectl"]
    host = setup["private"].url.split("://")[1]
    image = f"{host}/library/busybox:1.36"
    kubectl("run", "nosecret", f"--image={image}", "--", "sleep", "3600")
    wait_for(
        lambda: waiting_reason(kubectl, "nosecret") in ("ErrImagePull", "ImagePullBackOff"),
        60,
        what="401 without credentials",
    )
    kubectl(
        "create", "secret", "docker-registry", "regcred", f"--docker-server={host}",
        "--docker-username=app-user", "--docker-password=app-pw",
    )  # fmt: skip
    overrides = json.dumps({"spec": {"imagePullSecrets": [{"name": "regcred"}]}})
    kubectl("run", "withsecret", f"--image={image}", f"--overrides={overrides}", "--", "sleep", "3600")
    wait_for(lambda: waiting_reason(kubectl, "withsecret") == "Running", 90, what="Running")


def test_pull_policy_never(setup: dict) -> None:
    kubectl = setup["kubectl"]
    overrides = json.dumps(
        {"spec": {"containers": [{"name": "never", "image": "busybox:1.36", "imagePullPolicy": "Never"}]}}
    )
    kubectl("run", "never", "--image=busybox:1.36", f"--overrides={overrides}")
    wait_for(lambda: waiting_reason(kubectl, "never") == "ErrImageNeverPull", 60, what="NeverPull")
    events = kubectl("get", "events", "--field-selector", "involvedObject.name=never")
    assert 'Container image "busybox:1.36" is not present with pull policy of Never' in events
