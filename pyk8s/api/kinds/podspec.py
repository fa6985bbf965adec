"""PodSpec defaults shared by Pod and every kind with a pod template
(upstream pkg/apis/core/v1/defaults.go: SetDefaults_PodSpec, _Container, _Probe, _Volume...)."""

from __future__ import annotations

from typing import Any

from pyk8s.api.kinds._util import Obj, as_dict, as_list, set_default

DEFAULT_TERMINATION_GRACE = 30
DEFAULT_FILE_MODE = 0o644  # 420, what upstream shows for configMap/secret volumes


def default_pod_template(template: Any) -> None:
    """A pod template (spec.template of workloads): defaults of its PodSpec.

    Upstream (v1.32) serialises a template's zero creationTimestamp as null, so
    templates always show `creationTimestamp: null`; ours do too.
    """
    if not isinstance(template, dict):
        return
    md = template.get("metadata")
    if md is None:
        md = template["metadata"] = {}
    if isinstance(md, dict):
        md.setdefault("creationTimestamp", None)
    if isinstance(template.get("spec"), dict):
        default_pod_spec(template["spec"])


def default_pod_spec(spec: Obj) -> None:
    set_default(spec, "dnsPolicy", "ClusterFirst")
    set_default(spec, "restartPolicy", "Always")
    set_default(spec, "schedulerName", "default-scheduler")
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = DEFAULT_TERMINATION_GRACE
    host_network = spec.get("hostNetwork") is True
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for ctr in as_list(spec.get(key)):
            if isinstance(ctr, dict):
                default_container(ctr, host_network and key != "ephemeralContainers")
    for vol in as_list(spec.get("volumes")):
        if isinstance(vol, dict):
            default_volume(vol)


def image_pull_policy_for(image: str) -> str:
    """Always for `:latest` or an untagged image, IfNotPresent otherwise (digests included)."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        tag = last.rsplit(":", 1)[1]
    else:
        tag = "" if digest else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def default_container(ctr: Obj, host_network: bool = False) -> None:
    if not ctr.get("imagePullPolicy") and isinstance(ctr.get("image"), str):
        ctr["imagePullPolicy"] = image_pull_policy_for(ctr["image"])
    set_default(ctr, "terminationMessagePath", "/dev/termination-log")
    set_default(ctr, "terminationMessagePolicy", "File")
    if ctr.get("resources") is None:
        ctr["resources"] = {}
    for port in as_list(ctr.get("ports")):
        if isinstance(port, dict):
            set_default(port, "protocol", "TCP")
            # With the host's network the container port is the host port.
            if host_network and not port.get("hostPort"):
                if port.get("containerPort"):
                    port["hostPort"] = port["containerPort"]
    for env in as_list(ctr.get("env")):
        if isinstance(env, dict):
            default_env_source(as_dict(env.get("valueFrom")))
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(ctr.get(key), dict):
            default_probe(ctr[key])
    lifecycle = as_dict(ctr.get("lifecycle"))
    for key in ("postStart", "preStop"):
        if isinstance(lifecycle.get(key), dict):
            default_handler(lifecycle[key])


def default_env_source(source: Obj) -> None:
    if isinstance(source.get("fieldRef"), dict):
        set_default(source["fieldRef"], "apiVersion", "v1")
    if isinstance(source.get("resourceFieldRef"), dict):
        set_default(source["resourceFieldRef"], "divisor", "0")


def default_probe(probe: Obj) -> None:
    for key, value in (
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ):
        if not probe.get(key):
            probe[key] = value
    default_handler(probe)


def default_handler(handler: Obj) -> None:
    """httpGet path/scheme and grpc service, for probes and lifecycle hooks alike."""
    http = handler.get("httpGet")
    if isinstance(http, dict):
        set_default(http, "path", "/")
        set_default(http, "scheme", "HTTP")
    grpc = handler.get("grpc")
    if isinstance(grpc, dict) and grpc.get("service") is None:
        grpc["service"] = ""


_VOLUME_SOURCES = (
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
)


def volume_source_keys(vol: Obj) -> list[str]:
    return [k for k in _VOLUME_SOURCES if vol.get(k) is not None]


def default_volume(vol: Obj) -> None:
    if not volume_source_keys(vol):
        vol["emptyDir"] = {}
    for key in ("secret", "configMap", "downwardAPI", "projected"):
        if isinstance(vol.get(key), dict) and vol[key].get("defaultMode") is None:
            vol[key]["defaultMode"] = DEFAULT_FILE_MODE
    if isinstance(vol.get("hostPath"), dict) and vol["hostPath"].get("type") is None:
        vol["hostPath"]["type"] = ""
    if isinstance(vol.get("downwardAPI"), dict):
        for item in as_list(vol["downwardAPI"].get("items")):
            default_env_source(as_dict(item))
    if isinstance(vol.get("projected"), dict):
        for source in as_list(vol["projected"].get("sources")):
            _default_projection(as_dict(source))
    if isinstance(vol.get("iscsi"), dict):
        set_default(vol["iscsi"], "iscsiInterface", "default")
    if isinstance(vol.get("image"), dict):
        ref = vol["image"].get("reference")
        if not vol["image"].get("pullPolicy") and isinstance(ref, str):
            vol["image"]["pullPolicy"] = image_pull_policy_for(ref)


def _default_projection(source: Obj) -> None:
    token = source.get("serviceAccountToken")
    if isinstance(token, dict) and token.get("expirationSeconds") is None:
        token["expirationSeconds"] = 3600
    if isinstance(source.get("downwardAPI"), dict):
        for item in as_list(source["downwardAPI"].get("items")):
            default_env_source(as_dict(item))


def default_pod_only(spec: Obj) -> None:
    """What SetDefaults_Pod adds on top of the PodSpec defaults (not for templates)."""
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    for key in ("initContainers", "containers"):
        for ctr in as_list(spec.get(key)):
            if isinstance(ctr, dict):
                _requests_from_limits(ctr)


def _requests_from_limits(ctr: Obj) -> None:
    """A limit without a request makes the request equal to the limit."""
    resources = ctr.get("resources")
    if not isinstance(resources, dict) or not isinstance(resources.get("limits"), dict):
        return
    limits = resources["limits"]
    if not limits:
        return
    requests = resources.setdefault("requests", {})
    if not isinstance(requests, dict):
        return
    for name, value in limits.items():
        requests.setdefault(name, value)
