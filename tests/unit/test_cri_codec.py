"""The CRI message codec: the generic encoder, proto3 decoding and the CRI tables."""

from __future__ import annotations

import grpc
import pytest

from pyk8s.kubelet.cri import CONTAINER_EXITED, NamespaceMode, Protocol, codec
from pyk8s.kubelet.cri.client import CriError, go_code_name, grpc_target
from pyk8s.machinery.protobuf.encode import EncodeError
from pyk8s.machinery.protobuf.wire import WireError

SANDBOX_CONFIG = {
    "metadata": {"name": "web", "uid": "u-1", "namespace": "default", "attempt": 2},
    "hostname": "web",
    "log_directory": "/var/log/pods/default_web_u-1",
    "dns_config": {"servers": ["198.18.0.10"], "searches": ["svc.cluster.local"], "options": []},
    "port_mappings": [
        {"protocol": Protocol.UDP, "container_port": 53, "host_port": 5353, "host_ip": ""},
        {"protocol": Protocol.TCP, "container_port": 80, "host_port": 8080, "host_ip": "127.0.0.1"},
    ],
    "labels": {"app": "web", "io.kubernetes.pod.name": "web"},
    "annotations": {"note": "ünïcode ✓"},
    "linux": {
        "cgroup_parent": "/pyk8s/pod-u-1",
        "security_context": {
            "namespace_options": {"network": NamespaceMode.NODE, "pid": NamespaceMode.CONTAINER},
            "privileged": True,
            "run_as_user": {"value": 0},
            "supplemental_groups": [1000, 2**40],
        },
        "sysctls": {"net.ipv4.ip_forward": "1"},
    },
}

CONTAINER_CONFIG = {
    "metadata": {"name": "nginx", "attempt": 1},
    "image": {"image": "docker.io/library/nginx:latest"},
    "command": ["nginx"],
    "args": ["-g", "daemon off;"],
    "working_dir": "/srv",
    "envs": [{"key": "A", "value": "1"}, {"key": "EMPTY", "value": ""}],
    "mounts": [
        {
            "container_path": "/data",
            "host_path": "/var/lib/data",
            "readonly": True,
            "selinux_relabel": False,
            "propagation": 1,
        }
    ],
    "labels": {"io.kubernetes.container.name": "nginx"},
    "log_path": "nginx/1.log",
    "stdin": True,
    "tty": True,
    "linux": {
        "resources": {
            "cpu_period": 100000,
            "cpu_quota": 50000,
            "cpu_shares": 512,
            "memory_limit_in_bytes": 2**35,
            "oom_score_adj": -998,
            "hugepage_limits": [{"page_size": "2MB", "limit": 2**63 + 5}],
            "unified": {"memory.high": "1G"},
        },
        "security_context": {
            "capabilities": {"add_capabilities": ["NET_ADMIN"], "drop_capabilities": ["ALL"]},
            "run_as_group": {"value": -1},
            "readonly_rootfs": True,
            "no_new_privs": True,
            "masked_paths": ["/proc/kcore"],
            "readonly_paths": ["/proc/sys"],
        },
    },
}


def test_create_container_request_round_trip():
    request = {
        "pod_sandbox_id": "sb-1",
        "config": CONTAINER_CONFIG,
        "sandbox_config": SANDBOX_CONFIG,
    }
    decoded = codec.decode(
        "CreateContainerRequest", codec.encode("CreateContainerRequest", request)
    )
    assert decoded["pod_sandbox_id"] == "sb-1"
    config = decoded["config"]
    assert config["command"] == ["nginx"] and config["args"] == ["-g", "daemon off;"]
    assert config["envs"] == [{"key": "A", "value": "1"}, {"key": "EMPTY", "value": ""}]
    assert config["mounts"][0]["readonly"] is True and config["mounts"][0]["propagation"] == 1
    resources = config["linux"]["resources"]
    assert resources["oom_score_adj"] == -998
    assert resources["memory_limit_in_bytes"] == 2**35
    assert resources["hugepage_limits"] == [{"page_size": "2MB", "limit": 2**63 + 5}]
    assert resources["unified"] == {"memory.high": "1G"}
    security = config["linux"]["security_context"]
    assert security["run_as_group"] == {"value": -1}
    assert security["capabilities"]["drop_capabilities"] == ["ALL"]
    # proto3: what was not sent reads as zero / empty, messages stay absent
    assert config["stdin_once"] is False and config["devices"] == []
    assert "windows" not in config and "run_as_user" not in security
    sandbox = decoded["sandbox_config"]
    assert sandbox["metadata"] == SANDBOX_CONFIG["metadata"]
    assert sandbox["port_mappings"][0] == {
        "protocol": 1,
        "container_port": 53,
        "host_port": 5353,
        "host_ip": "",
    }
    assert sandbox["annotations"] == {"note": "ünïcode ✓"}
    sandbox_security = sandbox["linux"]["security_context"]
    assert sandbox_security["namespace_options"]["network"] == NamespaceMode.NODE
    assert sandbox_security["supplemental_groups"] == [1000, 2**40]
    assert sandbox_security["run_as_user"] == {"value": 0}  # a message, even when zero


def test_bytes_stay_bytes_and_negative_int32():
    response = {"stdout": b"\x00\xffbin\n", "stderr": b"", "exit_code": -1}
    data = codec.encode("ExecSyncResponse", response)
    assert data == b"\x0a\x06\x00\xffbin\n" + b"\x18" + b"\xff" * 9 + b"\x01"
    assert codec.decode("ExecSyncResponse", data) == response


def test_decode_hand_made_container_status():
    """Bytes written by hand from api.proto's numbers, not by our encoder."""
    status = bytes.fromhex(
        "0a03616263"  # id=1 "abc"
        "1205 0a016d 1001"  # metadata=2 {name "m", attempt 1}
        "1802"  # state=3 EXITED
        "20ac02"  # created_at=4 300
        "38ffffffffffffffffff01"  # exit_code=7 -1
        "420a 0a08 62757379626f7831"  # image=8 {image "busybox1"}
        "52024f4f"  # reason=10 "OO"
        "6206 0a016b 120176"  # labels=12 {k: v}
        "7206 0a012f 12012f"  # mounts=14 [{container_path "/", host_path "/"}]
        "9806 07"  # field 99 (unknown to us): skipped
    )
    info = bytes.fromhex("0a03706964 12023432")  # {pid: "42"}
    data = b"\x0a" + bytes([len(status)]) + status + b"\x12" + bytes([len(info)]) + info
    decoded = codec.decode("ContainerStatusResponse", data)
    assert decoded["info"] == {"pid": "42"}
    got = decoded["status"]
    assert got["id"] == "abc"
    assert got["metadata"] == {"name": "m", "attempt": 1}
    assert got["state"] == CONTAINER_EXITED
    assert got["created_at"] == 300 and got["exit_code"] == -1
    assert got["image"] == {
        "image": "busybox1",
        "annotations": {},
        "user_specified_image": "",
        "runtime_handler": "",
        "image_ref": "",
    }
    assert got["reason"] == "OO" and got["message"] == ""
    assert got["labels"] == {"k": "v"} and got["annotations"] == {}
    assert got["mounts"][0]["container_path"] == "/" and got["mounts"][0]["host_path"] == "/"
    assert got["started_at"] == 0 and got["finished_at"] == 0
    assert "resources" not in got


def test_encoder_canonical_bytes():
    """Field order, zero scalars left out, empty messages kept, packed numbers, sorted maps."""
    request = {
        "filter": {
            "id": "",
            "state": {"state": 0},
            "pod_sandbox_id": "p",
            "label_selector": {"b": "2", "a": "1"},
        }
    }
    expected = bytes.fromhex(
        "0a15"
        "1200"  # state=2: an empty message, still present
        "1a0170"  # pod_sandbox_id=3 "p"
        "2206 0a0161 120131"  # label_selector entries sorted: a, b
        "2206 0a0162 120132"
    )
    assert codec.encode("ListContainersRequest", request) == expected
    ports = codec.encode("PortForwardRequest", {"pod_sandbox_id": "", "port": [80, 300]})
    assert ports == bytes.fromhex("1203 50ac02")  # packed: 80, 300
    assert codec.decode("PortForwardRequest", ports)["port"] == [80, 300]
    unpacked = bytes.fromhex("1050 10ac02")  # what a proto2 writer would send
    assert codec.decode("PortForwardRequest", unpacked)["port"] == [80, 300]
    assert codec.encode("VersionRequest", {"version": ""}) == b""
    assert codec.decode("StopPodSandboxResponse", b"") == {}


@pytest.mark.parametrize(
    ("name", "obj", "message"),
    [
        ("VersionRequest", {"versoin": "v1"}, r"unknown field\(s\) versoin"),
        ("StopContainerRequest", {"container_id": 5}, "expected a string"),
        ("StopContainerRequest", {"timeout": "10"}, "expected an integer"),
        ("StopContainerRequest", {"timeout": True}, "expected an integer"),
        ("ExecRequest", {"tty": 1}, "expected a bool"),
        ("ExecSyncResponse", {"stdout": "text"}, "expected bytes"),
        ("PodSandboxMetadata", {"attempt": -1}, "out of range"),
        ("Int64Value", {"value": 2**63}, "out of range"),
        ("ExecRequest", {"cmd": "ls"}, "expected a list"),
        ("PodSandboxConfig", {"labels": ["a"]}, "expected a dict"),
        ("PodSandboxConfig", {"metadata": "web"}, "expected a dict"),
    ],
)
def test_encoder_rejects_what_does_not_fit(name, obj, message):
    with pytest.raises(EncodeError, match=message):
        codec.encode(name, obj)


def test_malformed_response_and_unknown_message():
    with pytest.raises(WireError):
        codec.decode("VersionResponse", b"\x0a\x05ab")  # length past the end
    with pytest.raises(KeyError):
        codec.decode("NoSuchResponse", b"")
    with pytest.raises(KeyError):
        codec.serializer("NoSuchRequest")


def test_every_rpc_message_pair_is_declared():
    registry = codec.registry()
    rpcs = (
        "Version Status RunPodSandbox StopPodSandbox RemovePodSandbox PodSandboxStatus"
        " ListPodSandbox CreateContainer StartContainer StopContainer RemoveContainer"
        " ListContainers ContainerStatus ExecSync Exec Attach PortForward ReopenContainerLog"
        " UpdateContainerResources UpdateRuntimeConfig ListImages ImageStatus PullImage"
        " RemoveImage ImageFsInfo"
    ).split()
    for rpc in rpcs:
        assert f"runtime.v1.{rpc}Request" in registry
        assert f"runtime.v1.{rpc}Response" in registry


def test_error_text_and_endpoints():
    error = CriError(grpc.StatusCode.NOT_FOUND, 'container "x": not found')
    assert error.not_found and error.details == 'container "x": not found'
    assert str(error) == 'rpc error: code = NotFound desc = container "x": not found'
    assert go_code_name(grpc.StatusCode.DEADLINE_EXCEEDED) == "DeadlineExceeded"
    assert go_code_name(grpc.StatusCode.OK) == "OK"
    assert not CriError(grpc.StatusCode.UNKNOWN, "x").not_found
    assert grpc_target("/run/c.sock") == "unix:///run/c.sock"
    assert grpc_target("unix:///run/c.sock") == "unix:///run/c.sock"
    assert grpc_target("unix:/run/c.sock") == "unix:///run/c.sock"
    with pytest.raises(ValueError):
        grpc_target("tcp://127.0.0.1:1")
