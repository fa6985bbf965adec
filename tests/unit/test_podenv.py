"""The container environment the kubelet computes (podenv) and `$(VAR)` expansion."""

from __future__ import annotations

import base64

import pytest
from volume_fakes import FakeLookup

from pyk8s.kubelet.podenv import EnvError, container_env, expand, expand_command


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def cm(name: str, data: dict, ns: str = "default") -> dict:
    return {("configmaps", ns, name): {"metadata": {"name": name, "namespace": ns}, "data": data}}


def secret(name: str, data: dict, ns: str = "default") -> dict:
    encoded = {k: b64(v) for k, v in data.items()}
    return {("secrets", ns, name): {"metadata": {"name": name, "namespace": ns}, "data": encoded}}


def pod_with(container: dict, **spec: object) -> dict:
    return {
        "metadata": {
            "name": "web-1",
            "namespace": "default",
            "uid": "0c9a-uid",
            "labels": {"app": "web", "tier": "front"},
            "annotations": {"example.com/note": 'say "hi"\n'},
        },
        "spec": {"nodeName": "w1-k8s", "serviceAccountName": "robot", "containers": [container]},
        **({"status": spec} if spec else {}),
    }


async def env_of(container: dict, lookup: FakeLookup | None = None, **kw: object) -> dict:
    pod = kw.pop("pod", None) or pod_with(container)
    kw.setdefault("pod_ip", "198.18.1.7")
    kw.setdefault("host_ip", "127.0.0.1")
    pairs = await container_env(pod, container, lookup or FakeLookup(), **kw)  # type: ignore[arg-type]
    names = [k for k, _ in pairs]
    assert len(names) == len(set(names)), "each name once"
    return dict(pairs)


# ------------------------------------------------------------------------ expansion

MAPPING = {"A": "a", "B": "b", "EMPTY": "", "REF": "$(A)"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(A)", "a"),
        ("$(A)-$(A)", "a-a"),
        ("x$(B)y", "xby"),
        ("$(A)_$(B)", "a_b"),
        ("$$(A)", "$(A)"),
        ("$$(A)_$(B)", "$(A)_b"),
        ("cost: $$5", "cost: $5"),
        ("$(UNKNOWN)", "$(UNKNOWN)"),
        ("pre$(EMPTY)post", "prepost"),
        ("$(REF)", "$(A)"),  # a value is not expanded again
        ("$A", "$A"),  # shell syntax is not ours
        ("${A}", "${A}"),
        ("$?_$!", "$?_$!"),
        ("$(A", "$(A"),  # unterminated
        ("$(A)tail$(", "atail$("),
        ("ends with $", "ends with $"),
        ("$$$$(X)", "$$(X)"),  # even: every pair escapes
        ("$$$(A)", "$a"),  # odd: the last one expands
        ("$(A$(B))", "$(A$(B))"),  # the name runs to the first ')'
        ("$(a$$b)", "$(a$$b)"),
        ("--$($($(--", "--$($($(--"),
        ("back\\$(A)", "back\\a"),  # backslash is no escape
        ("", ""),
        ("$", "$"),
    ],
)
def test_expand(text: str, expected: str) -> None:
    assert expand(text, MAPPING) == expected


def test_expand_with_function() -> None:
    assert expand("$(X)/$(Y)", lambda name: name.lower()) == "x/y"


def test_expand_command_uses_final_environment() -> None:
    env = [("GREETING", "hello"), ("NAME", "pod"), ("NAME", "last")]
    cmd = ["echo", "$(GREETING) $(NAME)", "$$(GREETING)", "$(MISSING)"]
    assert expand_command(cmd, env) == ["echo", "hello last", "$(GREETING)", "$(MISSING)"]


# ------------------------------------------------------------------------ env lists


async def test_values_expand_against_earlier_entries_only() -> None:
    container = {
        "name": "c",
        "env": [
            {"name": "A", "value": "x"},
            {"name": "B", "value": "$(A)-y"},
            {"name": "C", "value": "$(D)+$(A)"},  # D comes later: left as written
            {"name": "D", "value": "d"},
            {"name": "E", "value": "$$(A)"},
            {"name": "F"},  # no value, no source: empty
        ],
    }
    env = await env_of(container)
    assert env == {"A": "x", "B": "x-y", "C": "$(D)+x", "D": "d", "E": "$(A)", "F": ""}


async def test_service_variables_have_lowest_precedence() -> None:
    services = {"KUBERNETES_SERVICE_HOST": "198.19.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    container = {
        "name": "c",
        "env": [
            {
                "name": "URL",
                "value": "https://$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)",
            },
            {"name": "KUBERNETES_SERVICE_PORT", "value": "8443"},
        ],
    }
    pod = pod_with(container)
    pairs = await container_env(
        pod,
        container,
        FakeLookup(),
        pod_ip="198.18.1.7",
        host_ip="127.0.0.1",
        service_env=services,
    )
    assert pairs == [
        ("URL", "https://198.19.0.1:443"),
        ("KUBERNETES_SERVICE_PORT", "8443"),
        ("KUBERNETES_SERVICE_HOST", "198.19.0.1"),
    ]


async def test_env_from_with_prefix_and_env_override() -> None:
    objects = {
        **cm("settings", {"MODE": "fast", "LEVEL": "3"}),
        **secret("creds", {"TOKEN": "s3cr3t"}),
    }
    container = {
        "name": "c",
        "envFrom": [
            {"configMapRef": {"name": "settings"}, "prefix": "APP_"},
            {"secretRef": {"name": "creds"}},
        ],
        "env": [{"name": "APP_LEVEL", "value": "9 (was $(APP_LEVEL))"}],
    }
    env = await env_of(container, FakeLookup(objects))
    assert env == {"APP_MODE": "fast", "APP_LEVEL": "9 (was 3)", "TOKEN": "s3cr3t"}


async def test_later_env_from_overrides_earlier() -> None:
    objects = {**cm("one", {"K": "1"}), **cm("two", {"K": "2"})}
    container = {
        "name": "c",
        "envFrom": [{"configMapRef": {"name": "one"}}, {"configMapRef": {"name": "two"}}],
    }
    assert await env_of(container, FakeLookup(objects)) == {"K": "2"}


async def test_optional_env_from_missing_is_skipped() -> None:
    container = {
        "name": "c",
        "envFrom": [
            {"configMapRef": {"name": "nope", "optional": True}},
            {"secretRef": {"name": "nope", "optional": True}},
        ],
        "env": [{"name": "X", "value": "1"}],
    }
    assert await env_of(container) == {"X": "1"}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"configMapRef": {"name": "x"}}, 'configmap "x" not found'),
        ({"secretRef": {"name": "s"}}, 'secret "s" not found'),
    ],
)
async def test_required_env_from_missing(source: dict, message: str) -> None:
    with pytest.raises(EnvError) as err:
        await env_of({"name": "c", "envFrom": [source]})
    assert str(err.value) == message


async def test_env_from_skips_names_that_cannot_be_env_names() -> None:
    warnings: list[tuple[str, str]] = []
    container = {"name": "c", "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "A="}]}
    env = await env_of(
        container,
        FakeLookup(cm("cfg", {"k2": "v", "k1": "v"})),
        warn=lambda reason, msg: warnings.append((reason, msg)),
    )
    assert env == {}
    assert warnings == [
        (
            "InvalidEnvironmentVariableNames",
            "Keys [A=k1, A=k2] from the EnvFrom configMap default/cfg were skipped since they "
            "are considered invalid environment variable names.",
        )
    ]


async def test_names_with_dots_and_leading_digits_are_kept() -> None:
    # Relaxed validation (upstream's default since 1.32) accepts any printable ASCII but '='.
    container = {"name": "c", "envFrom": [{"configMapRef": {"name": "cfg"}}]}
    env = await env_of(container, FakeLookup(cm("cfg", {"app.properties": "x", "1st": "y"})))
    assert env == {"app.properties": "x", "1st": "y"}


async def test_key_refs() -> None:
    objects = {**cm("cfg", {"color": "blue"}), **secret("pw", {"password": "hunter2"})}
    container = {
        "name": "c",
        "env": [
            {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "color"}}},
            {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "pw", "key": "password"}}},
        ],
    }
    lookup = FakeLookup(objects)
    assert await env_of(container, lookup) == {"COLOR": "blue", "PASS": "hunter2"}


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (
            {"configMapKeyRef": {"name": "cfg", "key": "k"}},
            "couldn't find key k in ConfigMap default/cfg",
        ),
        ({"secretKeyRef": {"name": "pw", "key": "k"}}, "couldn't find key k in Secret default/pw"),
        ({"configMapKeyRef": {"name": "gone", "key": "k"}}, 'configmap "gone" not found'),
        ({"secretKeyRef": {"name": "gone", "key": "k"}}, 'secret "gone" not found'),
    ],
)
async def test_key_ref_errors(ref: dict, message: str) -> None:
    objects = {**cm("cfg", {"other": "1"}), **secret("pw", {"other": "1"})}
    with pytest.raises(EnvError) as err:
        await env_of({"name": "c", "env": [{"name": "V", "valueFrom": ref}]}, FakeLookup(objects))
    assert str(err.value) == message


async def test_optional_key_ref_missing_keeps_env_from_value() -> None:
    objects = cm("cfg", {"V": "from-envFrom"})
    container = {
        "name": "c",
        "envFrom": [{"configMapRef": {"name": "cfg"}}],
        "env": [
            {
                "name": "V",
                "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "no", "optional": True}},
            },
            {
                "name": "W",
                "valueFrom": {"secretKeyRef": {"name": "gone", "key": "k", "optional": True}},
            },
        ],
    }
    assert await env_of(container, FakeLookup(objects)) == {"V": "from-envFrom"}


async def test_each_object_is_fetched_once() -> None:
    lookup = FakeLookup(cm("cfg", {"a": "1", "b": "2"}))
    container = {
        "name": "c",
        "envFrom": [{"configMapRef": {"name": "cfg"}}],
        "env": [
            {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "a"}}},
            {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "b"}}},
        ],
    }
    await env_of(container, lookup)
    assert lookup.calls == [("configmaps", "default", "cfg")]


async def test_lookup_failure_is_an_env_error() -> None:
    container = {"name": "c", "envFrom": [{"configMapRef": {"name": "cfg"}}]}
    with pytest.raises(EnvError, match="connection refused"):
        await env_of(container, FakeLookup(fail=ConnectionError("connection refused")))


async def test_secret_values_are_decoded_bytes() -> None:
    objects = {("secrets", "default", "bin"): {"data": {"utf8": b64("héllo"), "raw": "/w=="}}}
    container = {"name": "c", "envFrom": [{"secretRef": {"name": "bin"}}]}
    env = await env_of(container, FakeLookup(objects))
    assert env == {"utf8": "héllo", "raw": "\ufffd"}


# ------------------------------------------------------------------------ downward API


def field(path: str, **extra: str) -> dict:
    return {"valueFrom": {"fieldRef": {"fieldPath": path, **extra}}}


async def test_field_refs() -> None:
    paths = {
        "NAME": "metadata.name",
        "NS": "metadata.namespace",
        "UID": "metadata.uid",
        "APP": "metadata.labels['app']",
        "NOLABEL": "metadata.labels['absent']",
        "NOTE": "metadata.annotations['example.com/note']",
        "NODE": "spec.nodeName",
        "SA": "spec.serviceAccountName",
        "HOST_IP": "status.hostIP",
        "HOST_IPS": "status.hostIPs",
        "POD_IP": "status.podIP",
        "POD_IPS": "status.podIPs",
    }
    container = {
        "name": "c",
        "env": [{"name": k, **field(v, apiVersion="v1")} for k, v in paths.items()],
    }
    env = await env_of(container, pod_ips=["198.18.1.7", "fd00::7"])
    assert env == {
        "NAME": "web-1",
        "NS": "default",
        "UID": "0c9a-uid",
        "APP": "web",
        "NOLABEL": "",
        "NOTE": 'say "hi"\n',
        "NODE": "w1-k8s",
        "SA": "robot",
        "HOST_IP": "127.0.0.1",
        "HOST_IPS": "127.0.0.1",
        "POD_IP": "198.18.1.7",
        "POD_IPS": "198.18.1.7,fd00::7",
    }


async def test_field_ref_values_are_not_expanded() -> None:
    pod = pod_with({"name": "c"})
    pod["metadata"]["labels"]["app"] = "$(X)"
    container = {
        "name": "c",
        "env": [{"name": "X", "value": "1"}, {"name": "APP", **field("metadata.labels['app']")}],
    }
    assert (await env_of(container, pod=pod))["APP"] == "$(X)"


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ({"fieldPath": "spec.containers"}, "field label not supported: spec.containers"),
        ({"fieldPath": "metadata.name", "apiVersion": "v2"}, "unsupported pod version: v2"),
        (
            {"fieldPath": "spec.nodeName['x']"},
            "field label does not support subscript: spec.nodeName['x']",
        ),
        ({"fieldPath": "spec.restartPolicy"}, "unsupported fieldPath: spec.restartPolicy"),
    ],
)
async def test_field_ref_errors(ref: dict, message: str) -> None:
    container = {"name": "c", "env": [{"name": "V", "valueFrom": {"fieldRef": ref}}]}
    with pytest.raises(EnvError) as err:
        await env_of(container)
    assert str(err.value) == message


def resource(res: str, divisor: str | None = None, container: str | None = None) -> dict:
    ref: dict = {"resource": res}
    if divisor is not None:
        ref["divisor"] = divisor
    if container is not None:
        ref["containerName"] = container
    return {"valueFrom": {"resourceFieldRef": ref}}


async def test_resource_field_refs() -> None:
    container = {
        "name": "app",
        "resources": {
            "limits": {"cpu": "250m", "memory": "64Mi", "ephemeral-storage": "1Gi"},
            "requests": {"cpu": "100m", "memory": "1000000"},
        },
        "env": [
            {"name": "CPU", **resource("limits.cpu")},  # 0.25 cores, rounded up
            {"name": "CPU_M", **resource("limits.cpu", "1m")},
            {"name": "CPU_ZERO_DIVISOR", **resource("limits.cpu", "0")},  # "0" means 1
            {"name": "MEM_MI", **resource("limits.memory", "1Mi")},
            {"name": "MEM", **resource("limits.memory")},
            {"name": "DISK_GI", **resource("limits.ephemeral-storage", "1Gi")},
            {"name": "REQ_CPU_M", **resource("requests.cpu", "1m")},
            {"name": "REQ_MEM_MI", **resource("requests.memory", "1Mi")},  # 0.95Mi -> 1
            {"name": "REQ_DISK", **resource("requests.ephemeral-storage")},  # unset: 0
        ],
    }
    env = await env_of(container)
    assert env == {
        "CPU": "1",
        "CPU_M": "250",
        "CPU_ZERO_DIVISOR": "1",
        "MEM_MI": "64",
        "MEM": str(64 * 2**20),
        "DISK_GI": "1",
        "REQ_CPU_M": "100",
        "REQ_MEM_MI": "1",
        "REQ_DISK": "0",
    }


async def test_unset_limits_read_as_node_allocatable() -> None:
    container = {
        "name": "app",
        "resources": {"limits": {"cpu": "0"}},
        "env": [
            {"name": "CPU", **resource("limits.cpu", "1m")},
            {"name": "MEM", **resource("limits.memory", "1Mi")},
            {"name": "MEM_NO_NODE", **resource("limits.memory")},
        ],
    }
    env = await env_of(container, node_allocatable={"cpu": "3500m", "memory": "2Gi"})
    assert env["CPU"] == "3500" and env["MEM"] == "2048"
    assert (await env_of(container))["MEM_NO_NODE"] == "0"


async def test_resource_ref_to_another_container() -> None:
    sidecar = {"name": "side", "resources": {"limits": {"memory": "128Mi"}}}
    main = {
        "name": "main",
        "env": [{"name": "SIDE_MEM", **resource("limits.memory", "1Mi", "side")}],
    }
    pod = pod_with(main)
    pod["spec"]["containers"].append(sidecar)
    assert (await env_of(main, pod=pod))["SIDE_MEM"] == "128"


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (resource("limits.gpu"), "unsupported container resource : limits.gpu"),
        (resource("limits.cpu", container="ghost"), "container ghost not found"),
    ],
)
async def test_resource_ref_errors(ref: dict, message: str) -> None:
    with pytest.raises(EnvError) as err:
        await env_of({"name": "c", "env": [{"name": "V", **ref}]})
    assert str(err.value) == message
