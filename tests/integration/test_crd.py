"""CustomResourceDefinitions end to end: the real kubectl, the official client and a
kopf operator against a real server.

The session server is shared by every test (and both kubectl builds), so each test
uses an API group of its own.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: myapps.{group}
spec:
  group: {group}
  scope: Namespaced
  names:
    plural: myapps
    singular: myapp
    kind: MyApp
    shortNames: [{short}]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {{}}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
    additionalPrinterColumns:
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    - name: Ready
      type: string
      jsonPath: .status.conditions[?(@.type=="Ready")].status
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [image]
            properties:
              image: {{type: string}}
              replicas: {{type: integer, minimum: 0, maximum: 10, default: 1}}
              mode: {{type: string, enum: [fast, slow], default: fast}}
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
"""

CR = """\
apiVersion: {group}/v1
kind: MyApp
metadata:
  name: {name}
spec:
{spec}
"""


def _short(group: str) -> str:
    """A short name of the group's own (kubectl picks one group for an ambiguous one)."""
    return "ma-" + group.split(".")[0]


def _crd(group: str) -> str:
    return CRD.format(group=group, short=_short(group))


def _group(kubectl, what: str) -> str:
    return f"{what}-k{kubectl.label.replace('.', '')}.example.com"


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _install_crd(kubectl, tmp_path: Path, group: str) -> None:
    out = kubectl("apply", "-f", _write(tmp_path, "crd.yaml", _crd(group)))
    assert f"customresourcedefinition.apiextensions.k8s.io/myapps.{group} created" in out
    kubectl("wait", "--for", "condition=established", f"crd/myapps.{group}", "--timeout=10s")


def _cr(tmp_path: Path, group: str, name: str, spec: str) -> str:
    return _write(tmp_path, f"{name}.yaml", CR.format(group=group, name=name, spec=spec))


def test_kubectl_crd_and_custom_resources(kubectl, tmp_path):
    group = _group(kubectl, "basics")
    _install_crd(kubectl, tmp_path, group)
    assert f"myapps.{group}" in kubectl("get", "crd")
    crd = json.loads(kubectl("get", "crd", f"myapps.{group}", "-o", "json"))
    conds = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conds == {"NamesAccepted": "True", "Established": "True"}
    assert crd["status"]["storedVersions"] == ["v1"]
    assert crd["status"]["acceptedNames"]["shortNames"] == [_short(group)]

    out = kubectl("apply", "-f", _cr(tmp_path, group, "web", "  image: nginx\n  replicas: 3"))
    assert out.strip() == f"myapp.{group}/web created"
    lines = kubectl("get", f"myapps.{group}").splitlines()
    assert lines[0].split() == ["NAME", "REPLICAS", "READY"]
    assert lines[1].split() == ["web", "3"]
    # Short name, and the schema's defaults applied.
    obj = yaml.safe_load(kubectl("get", _short(group), "web", "-o", "yaml"))
    assert obj["apiVersion"] == f"{group}/v1"
    assert obj["spec"] == {"image": "nginx", "replicas": 3, "mode": "fast"}
    assert obj["metadata"]["generation"] == 1

    # Spec changes bump generation; status changes (through /status) do not.
    kubectl("patch", f"myapps.{group}", "web", "--type=merge", "-p", '{"spec":{"replicas":5}}')
    status = {"status": {"replicas": 5, "conditions": [{"type": "Ready", "status": "True"}]}}
    kubectl(
        "patch", f"myapps.{group}", "web", "--subresource=status", "--type=merge",
        "-p", json.dumps(status),
    )  # fmt: skip
    obj = json.loads(kubectl("get", f"myapps.{group}", "web", "-o", "json"))
    assert obj["metadata"]["generation"] == 2
    assert obj["status"]["replicas"] == 5
    assert kubectl("get", f"myapps.{group}", "web", "--no-headers").split()[:3] == [
        "web",
        "5",
        "True",
    ]
    # Status is not writable through the main resource.
    kubectl("patch", f"myapps.{group}", "web", "--type=merge", "-p", '{"status":{"replicas":9}}')
    assert "5" == kubectl("get", f"myapps.{group}", "web", "-o", "jsonpath={.status.replicas}")

    kubectl("scale", f"myapps.{group}", "web", "--replicas=7")
    assert "7" == kubectl("get", f"myapps.{group}", "web", "-o", "jsonpath={.spec.replicas}")

    explain = kubectl("explain", f"myapps.{group}.spec")
    assert "KIND:       MyApp" in explain and "image\t<string> -required-" in explain


def test_kubectl_validation_pruning_and_strict_fields(kubectl, tmp_path):
    group = _group(kubectl, "validation")
    _install_crd(kubectl, tmp_path, group)
    bad = kubectl.run(
        "create", "-f", _cr(tmp_path, group, "x", '  image: nginx\n  replicas: "string"'),
        check=False,
    )  # fmt: skip
    assert bad.returncode != 0
    assert bad.stderr.strip() == (
        'The MyApp "x" is invalid: spec.replicas: Invalid value: "string": '
        'spec.replicas in body must be of type integer: "string"'
    )
    bad = kubectl.run(
        "create", "-f", _cr(tmp_path, group, "big", "  replicas: 30\n  mode: medium"), check=False
    )
    assert "* spec.image: Required value" in bad.stderr
    assert (
        '* spec.mode: Unsupported value: "medium": supported values: "fast", "slow"' in bad.stderr
    )
    assert (
        "* spec.replicas: Invalid value: 30: spec.replicas in body should be less than or equal to 10"
        in bad.stderr
    )

    extra = _cr(tmp_path, group, "extra", "  image: nginx\n  color: blue")
    strict = kubectl.run("create", "-f", extra, check=False)
    assert (
        'MyApp in version "v1" cannot be handled as a MyApp: strict decoding error: '
        'unknown field "spec.color"' in strict.stderr
    )
    kubectl("create", "-f", extra, "--validate=false")
    spec = json.loads(kubectl("get", f"myapps.{group}", "extra", "-o", "jsonpath={.spec}"))
    assert spec == {"image": "nginx", "replicas": 1, "mode": "fast"}


def test_kubectl_delete_crd_removes_resources_and_api(kubectl, tmp_path):
    group = _group(kubectl, "cleanup")
    _install_crd(kubectl, tmp_path, group)
    kubectl("create", "-f", _cr(tmp_path, group, "a", "  image: nginx"))
    kubectl("create", "-f", _cr(tmp_path, group, "b", "  image: nginx"), "-n", "kube-public")
    assert "a" in kubectl("get", f"myapps.{group}", "-A", "--no-headers")
    kubectl("delete", "crd", f"myapps.{group}", "--timeout=20s")
    assert f"myapps.{group}" not in kubectl("get", "crd")
    assert f"{group}/v1" not in kubectl("api-versions").split()
    gone = kubectl.run("get", f"myapps.{group}", check=False)
    assert gone.returncode != 0
    # Re-created, the API starts empty: the old objects were deleted, not hidden.
    _install_crd(kubectl, tmp_path, group)
    assert "No resources found" in kubectl.run("get", f"myapps.{group}", "-A").stderr


MULTI_VERSION_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.{group}
spec:
  group: {group}
  scope: Cluster
  names: {{plural: widgets, kind: Widget}}
  versions:
  - name: v1beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}
"""


def test_kubectl_versions_share_storage(kubectl, tmp_path):
    group = _group(kubectl, "versions")
    kubectl("apply", "-f", _write(tmp_path, "crd.yaml", MULTI_VERSION_CRD.format(group=group)))
    kubectl("wait", "--for", "condition=established", f"crd/widgets.{group}", "--timeout=10s")
    widget = f"apiVersion: {group}/v1beta1\nkind: Widget\nmetadata:\n  name: w\nsize: 3\n"
    kubectl("create", "-f", _write(tmp_path, "w.yaml", widget))
    v1 = json.loads(kubectl("get", f"widgets.v1.{group}", "w", "-o", "json"))
    beta = json.loads(kubectl("get", f"widgets.v1beta1.{group}", "w", "-o", "json"))
    assert (v1["apiVersion"], v1["size"]) == (f"{group}/v1", 3)
    assert beta["apiVersion"] == f"{group}/v1beta1"
    # The preferred version is the GA one, whatever the CRD's order.
    preferred = kubectl("get", f"widgets.{group}", "w", "-o", "jsonpath={.apiVersion}")
    assert preferred == f"{group}/v1"
    kubectl("patch", f"widgets.v1beta1.{group}", "w", "--type=merge", "-p", '{"size":4}')
    assert "4" == kubectl("get", f"widgets.v1.{group}", "w", "-o", "jsonpath={.size}")


def test_kubectl_invalid_crd(kubectl, tmp_path):
    group = _group(kubectl, "invalid")
    bad = _crd(group).replace(f"name: myapps.{group}", f"name: apps.{group}")
    bad = bad.replace("    storage: true", "    storage: false")
    out = kubectl.run("create", "-f", _write(tmp_path, "bad.yaml", bad), check=False)
    assert out.returncode != 0
    assert (
        f'* metadata.name: Invalid value: "apps.{group}": must be spec.names.plural+"."+spec.group'
        in out.stderr
    )
    assert "must have exactly one version marked as storage version" in out.stderr


# -- the official client ---------------------------------------------------------------


@pytest.fixture
def official(api_server):
    api = k8s_config.new_client_from_config(config_file=api_server.kubeconfig)
    yield api
    api.close()


def _create_crd(api, group: str, timeout: float = 10.0) -> None:
    ext = k8s.ApiextensionsV1Api(api)
    ext.create_custom_resource_definition(yaml.safe_load(_crd(group)))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        crd = ext.read_custom_resource_definition(f"myapps.{group}")
        if any(c.type == "Established" for c in (crd.status.conditions or [])):
            return
        time.sleep(0.05)
    raise AssertionError("the CRD was not established")


def test_official_client_custom_objects(official):
    group = "official.example.com"
    _create_crd(official, group)
    co = k8s.CustomObjectsApi(official)
    args = (group, "v1", "default", "myapps")
    body = {"apiVersion": f"{group}/v1", "kind": "MyApp", "metadata": {"name": "py"},
            "spec": {"image": "nginx", "junk": 1}}  # fmt: skip
    created = co.create_namespaced_custom_object(*args, body)
    assert created["spec"] == {"image": "nginx", "replicas": 1, "mode": "fast"}
    listed = co.list_namespaced_custom_object(*args)
    assert [o["metadata"]["name"] for o in listed["items"]] == ["py"]
    start = listed["metadata"]["resourceVersion"]

    co.patch_namespaced_custom_object(*args, "py", {"spec": {"replicas": 2}})
    co.patch_namespaced_custom_object_status(*args, "py", {"status": {"phase": "Ready"}})
    got = co.get_namespaced_custom_object(*args, "py")
    assert got["spec"]["replicas"] == 2 and got["status"] == {"phase": "Ready"}
    assert got["metadata"]["generation"] == 2

    w = k8s_watch.Watch()
    seen = []
    stream = w.stream(co.list_namespaced_custom_object, *args, resource_version=start,
                      timeout_seconds=3)  # fmt: skip
    for ev in stream:
        seen.append((ev["type"], ev["object"]["spec"]["replicas"]))
        if len(seen) == 2:
            w.stop()
    assert seen == [("MODIFIED", 2), ("MODIFIED", 2)]

    with pytest.raises(k8s.ApiException) as exc:
        co.patch_namespaced_custom_object(*args, "py", {"spec": {"replicas": -1}})
    assert exc.value.status == 422
    co.delete_namespaced_custom_object(*args, "py")
    with pytest.raises(k8s.ApiException) as exc:
        co.get_namespaced_custom_object(*args, "py")
    assert exc.value.status == 404


# -- kopf --------------------------------------------------------------------------------

OPERATOR = """\
import kopf

@kopf.on.login()
def login(**_):
    return kopf.ConnectionInfo(
        server="{url}", scheme="Bearer", token="{token}", ca_path="{ca_file}"
    )

@kopf.on.startup()
def configure(settings, **_):
    settings.watching.server_timeout = 10

@kopf.on.create("{group}", "v1", "myapps")
def on_create(spec, patch, **_):
    patch.status["phase"] = "Ready"
    return {{"image": spec["image"]}}
"""


def test_kopf_operator_reacts_to_custom_resource(official, api_server, tmp_path):
    import kopf
    from kopf.testing import KopfRunner

    group = "kopf.example.com"
    _create_crd(official, group)
    srv = api_server
    text = OPERATOR.format(group=group, url=srv.url, token=srv.token, ca_file=srv.ca_file)
    operator = _write(tmp_path, "operator.py", text)
    co = k8s.CustomObjectsApi(official)
    args = (group, "v1", "default", "myapps")
    status: dict = {}
    # kopf's default registry is global to the process: the operator's handlers (its
    # login handler among them) go into a fresh one, restored afterwards.
    previous = kopf.get_default_registry()
    kopf.set_default_registry(kopf.OperatorRegistry())
    try:
        with KopfRunner(["run", "--standalone", "-A", operator], timeout=60) as runner:
            body = {"apiVersion": f"{group}/v1", "kind": "MyApp", "metadata": {"name": "op"},
                    "spec": {"image": "busybox"}}  # fmt: skip
            co.create_namespaced_custom_object(*args, body)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                status = co.get_namespaced_custom_object(*args, "op").get("status") or {}
                if status.get("phase") == "Ready":
                    break
                time.sleep(0.1)
            # kopf's finalizer goes once the operator has seen the deletion.
            co.delete_namespaced_custom_object(*args, "op")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if not co.list_namespaced_custom_object(*args)["items"]:
                    break
                time.sleep(0.1)
    finally:
        kopf.set_default_registry(previous)
    assert runner.exit_code == 0, runner.output
    assert runner.exception is None
    assert status == {"phase": "Ready", "on_create": {"image": "busybox"}}
    assert not co.list_namespaced_custom_object(*args)["items"]
    assert "Handler 'on_create' succeeded." in runner.output
