"""Wire-level behaviour of the protobuf decoder: varints, packing, limits, malformed input."""

import time

import pytest
from protobuf_encoder import encode_message, envelope, key, length_delimited, varint

from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.protobuf import decode as decode_module
from pyk8s.machinery.protobuf import decode_message, decode_object, is_protobuf_envelope
from pyk8s.machinery.protobuf.special import go_duration, int_or_string_json, time_json
from pyk8s.machinery.protobuf.wire import WireError, read_varint

CONTAINER_PORT = "k8s.io.api.core.v1.ContainerPort"
DELETE_OPTIONS = "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions"
POD_SECURITY = "k8s.io.api.core.v1.PodSecurityContext"
DEPLOYMENT = "k8s.io.api.apps.v1.Deployment"


def bad_request(fn, *args, **kwargs) -> StatusError:
    with pytest.raises(StatusError) as err:
        fn(*args, **kwargs)
    assert err.value.code == 400 and err.value.reason == "BadRequest"
    return err.value


def test_multi_byte_varint():
    # containerPort (field 3) = 8080 -> 0x18 0x90 0x3f
    data = bytes([0x18, 0x90, 0x3F])
    assert decode_message(CONTAINER_PORT, data) == {"containerPort": 8080}


def test_two_byte_field_key():
    # PodSpec.ephemeralContainers is field 34: key (34<<3|2) = 274 -> 0x92 0x02
    # (EphemeralContainer inlines EphemeralContainerCommon as its field 1.)
    data = bytes([0x92, 0x02, 0x05, 0x0A, 0x03, 0x0A, 0x01, ord("d")])
    assert decode_message("k8s.io.api.core.v1.PodSpec", data) == {
        "ephemeralContainers": [{"name": "d"}]
    }


def test_negative_int64_is_a_ten_byte_varint():
    data = bytes([0x08]) + bytes([0xFF] * 9) + bytes([0x01])  # gracePeriodSeconds = -1
    assert len(varint(-1)) == 10
    assert decode_message(DELETE_OPTIONS, data) == {"gracePeriodSeconds": -1}


def test_negative_int32_is_sign_extended():
    data = key(2, 0) + varint(-5)  # ContainerPort.hostPort, int32
    assert decode_message(CONTAINER_PORT, data) == {"hostPort": -5}


def test_zero_values_on_the_wire_are_kept():
    data = key(1, 0) + varint(0) + key(3, 0) + varint(0) + length_delimited(2, b"")
    assert decode_message(DELETE_OPTIONS, data) == {
        "gracePeriodSeconds": 0,
        "orphanDependents": False,
        "preconditions": {},
    }


def test_packed_and_unpacked_repeated_scalars_both_decode():
    unpacked = key(4, 0) + varint(1) + key(4, 0) + varint(300)
    packed = length_delimited(4, varint(1) + varint(300))
    mixed = key(4, 0) + varint(1) + length_delimited(4, varint(300))
    for data in (unpacked, packed, mixed):
        assert decode_message(POD_SECURITY, data) == {"supplementalGroups": [1, 300]}


def test_last_scalar_wins_and_split_messages_merge():
    data = length_delimited(1, b"a") + length_delimited(1, b"b")
    assert decode_message("k8s.io.api.core.v1.LocalObjectReference", data) == {"name": "b"}
    meta = "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    part1 = encode_message(meta, {"name": "x", "labels": {"a": "1"}})
    part2 = encode_message(meta, {"namespace": "ns", "labels": {"b": "2"}})
    pod = length_delimited(1, part1) + length_delimited(1, part2)
    assert decode_message("k8s.io.api.core.v1.Pod", pod) == {
        "metadata": {"name": "x", "namespace": "ns", "labels": {"a": "1", "b": "2"}}
    }


def test_map_entries_with_missing_key_or_value():
    entry_without_value = length_delimited(1, b"k")
    entry_without_key = length_delimited(2, b"v")
    data = length_delimited(11, entry_without_value) + length_delimited(11, entry_without_key)
    meta = "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    assert decode_message(meta, data) == {"labels": {"k": "", "": "v"}}


def test_special_types():
    assert time_json(memoryview(b"")) is None
    assert time_json(memoryview(key(1, 0) + varint(1704164645))) == "2024-01-02T03:04:05Z"
    assert int_or_string_json(memoryview(key(2, 0) + varint(80))) == 80
    assert (
        int_or_string_json(memoryview(key(1, 0) + varint(1) + length_delimited(3, b"25%"))) == "25%"
    )
    quantity = length_delimited(1, b"")  # EmptyDir.sizeLimit with an empty Quantity
    assert decode_message(
        "k8s.io.api.core.v1.EmptyDirVolumeSource", length_delimited(2, quantity)
    ) == {"sizeLimit": "0"}
    assert decode_message(
        "k8s.io.api.coordination.v1.Lease", length_delimited(2, length_delimited(4, b""))
    ) == {"spec": {"renewTime": None}}


@pytest.mark.parametrize(
    "ns,text",
    [
        (0, "0s"),
        (1, "1ns"),
        (1_500, "1.5µs"),
        (2_000_000, "2ms"),
        (1_500_000_000, "1.5s"),
        (90 * 10**9, "1m30s"),
        (3600 * 10**9, "1h0m0s"),
        (-(3723 * 10**9 + 5 * 10**8), "-1h2m3.5s"),
    ],
)
def test_go_duration_strings(ns, text):
    assert go_duration(ns) == text


def test_bad_magic():
    err = bad_request(decode_object, b'{"kind":"Pod"}')
    assert "does not appear to be a protobuf message" in err.message
    assert not is_protobuf_envelope(b"k8s")


def test_unregistered_kind():
    body = envelope("v1", "Foo", b"")
    err = bad_request(decode_object, body)
    assert err.message.startswith('no kind "Foo" is registered for version "v1" in scheme ')


def test_missing_kind():
    err = bad_request(decode_object, envelope("v1", "", b""))
    assert err.message.startswith("Object 'Kind' is missing in")


@pytest.mark.parametrize(
    "raw,fragment",
    [
        (b"\x0a\x05a", "unexpected EOF"),  # metadata length past the end
        (b"\x12\x80", "unexpected EOF"),  # truncated length varint
        (b"\x0a" + varint(1 << 40) + b"x", "unexpected EOF"),  # huge declared length
        (b"\x00\x00", "illegal tag 0"),
        (b"\x0b", "illegal wireType 3"),  # a group
        (length_delimited(1, b"\x08\x01"), "wrong wireType = 0 for field name"),
        (b"\x10" + b"\xff" * 10 + b"\x01", "integer overflow"),
    ],
)
def test_malformed_objects_are_bad_requests(raw, fragment):
    err = bad_request(decode_object, envelope("v1", "Pod", raw))
    assert err.message.startswith('Pod in version "v1" cannot be handled as a Pod: ')
    assert fragment in err.message


def test_truncated_envelope_never_escapes_as_another_error():
    body = envelope("apps/v1", "Deployment", encode_message(DEPLOYMENT, {"spec": {"replicas": 3}}))
    for cut in range(len(body)):
        try:
            assert isinstance(decode_object(body[:cut]), dict)
        except StatusError as err:
            assert err.code == 400
    for cut in range(5, 20):  # inside the typeMeta: always an error
        bad_request(decode_object, body[:cut])


def test_read_varint_rejects_more_than_ten_bytes():
    with pytest.raises(WireError, match="overflow"):
        read_varint(memoryview(bytes([0x80] * 11) + b"\x01"), 0, 12)


def test_deep_nesting_is_refused():
    # ControllerRevision.data may embed another envelope: nest them far too deep.
    raw = b""
    for _ in range(300):
        inner = envelope("apps/v1", "ControllerRevision", raw)
        raw = length_delimited(2, length_delimited(1, inner))
    started = time.monotonic()
    err = bad_request(decode_object, envelope("apps/v1", "ControllerRevision", raw))
    assert "max nesting depth" in err.message
    assert time.monotonic() - started < 2


def test_depth_limit_applies_to_plain_nesting(monkeypatch):
    monkeypatch.setattr(decode_module, "MAX_DEPTH", 3)
    deployment = {"spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}}
    data = encode_message("k8s.io.api.apps.v1.Deployment", deployment)
    bad_request(decode_message, "k8s.io.api.apps.v1.Deployment", data)


def test_oversized_body_is_rejected_before_parsing():
    body = envelope("v1", "ConfigMap", b"\x00" * (decode_module.MAX_BODY_BYTES + 1))
    with pytest.raises(StatusError) as err:
        decode_object(body)
    assert err.value.code == 413


def test_unknown_message_name():
    err = bad_request(decode_message, "k8s.io.api.nope.v1.Thing", b"")
    assert "unknown protobuf message" in err.message
