"""Name/format checks and ObjectMeta validation, pinned to upstream's message texts."""

from __future__ import annotations

import pytest

from pyk8s.machinery.errors import invalid
from pyk8s.machinery.validation import (
    invalid_causes,
    is_c_identifier,
    is_config_map_key,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_env_var_name,
    is_qualified_name,
    is_valid_cidr,
    is_valid_ip,
    is_valid_label_value,
    is_valid_port_name,
    is_valid_port_num,
    name_is_dns1035_label,
    name_is_dns_label,
    name_is_dns_subdomain,
    validate_object_meta,
    validate_path_segment_name,
)

SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
    r"regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035 = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
NAME_PART = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


# ----------------------------------------------------------------- DNS names


@pytest.mark.parametrize("name", ["a", "nginx", "my-app.example.com", "0-1", "a" * 253])
def test_subdomain_accepts(name: str) -> None:
    assert is_dns1123_subdomain(name) == []


def test_subdomain_rejects_with_upstream_text() -> None:
    assert is_dns1123_subdomain("Bad_Name") == [SUBDOMAIN]
    assert is_dns1123_subdomain("a" * 254) == ["must be no more than 253 characters"]
    assert is_dns1123_subdomain("-a") == [SUBDOMAIN]
    assert is_dns1123_subdomain("a\n") == [SUBDOMAIN]  # no trailing-newline loophole


def test_label_rules() -> None:
    assert is_dns1123_label("kube-system") == []
    assert is_dns1123_label("a.b") == ["must not contain dots"]
    assert is_dns1123_label("UPPER") == [LABEL]
    assert is_dns1123_label("a" * 64) == ["must be no more than 63 characters"]


def test_dns1035_rules() -> None:
    assert is_dns1035_label("web-svc") == []
    assert is_dns1035_label("1web") == [DNS1035]


def test_name_validators_allow_trailing_dash_for_prefixes() -> None:
    assert name_is_dns_subdomain("web-", True) == []
    assert name_is_dns_subdomain("web-", False) == [SUBDOMAIN]
    assert name_is_dns_label("web-", True) == []
    assert name_is_dns1035_label("web-", True) == []
    assert validate_path_segment_name("..", False) == ["may not be '..'"]
    assert validate_path_segment_name("a/b%c", False) == [
        "may not contain '/'",
        "may not contain '%'",
    ]
    assert validate_path_segment_name("..", True) == []


# --------------------------------------------------------- qualified names/values


def test_qualified_name() -> None:
    assert is_qualified_name("app.kubernetes.io/name") == []
    assert is_qualified_name("My_Key.1") == []
    assert is_qualified_name("bad key") == [NAME_PART]
    assert is_qualified_name("/x") == ["prefix part must be non-empty"]
    assert is_qualified_name("x/") == [
        "name part must be non-empty",
        NAME_PART,
    ]
    assert is_qualified_name("Example.com/x") == ["prefix part " + SUBDOMAIN]
    assert is_qualified_name("k" * 64) == ["name part must be no more than 63 characters"]
    (too_many,) = is_qualified_name("a/b/c")
    assert too_many.startswith("a qualified name must consist of alphanumeric characters")
    assert too_many.endswith(
        "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') "
        "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
    )


def test_label_value() -> None:
    assert is_valid_label_value("") == []
    assert is_valid_label_value("v1.2_x-y") == []
    assert is_valid_label_value("v" * 64)[0] == "must be no more than 63 characters"
    assert is_valid_label_value("-x") == [
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
        "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
        "'my_value',  or '12345', regex used for validation is "
        "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
    ]


# ------------------------------------------------------------------ other formats


def test_c_identifier_and_env_names() -> None:
    assert is_c_identifier("MY_VAR1") == []
    assert is_c_identifier("1VAR") == [
        "a valid C identifier must start with alphabetic character or '_', followed by a string "
        "of alphanumeric characters or '_' (e.g. 'my_name',  or 'MY_NAME',  or 'MyName', regex "
        "used for validation is '[A-Za-z_][A-Za-z0-9_]*')"
    ]
    assert is_env_var_name("my.env-name") == []
    assert is_env_var_name("A=B") == [
        "a valid environment variable name must consist only of printable ASCII characters "
        "other than '='"
    ]
    assert is_env_var_name("") == ["environment variable name must be non-empty"]


def test_ports() -> None:
    assert is_valid_port_num(80) == [] and is_valid_port_num(65535) == []
    assert is_valid_port_num(0) == ["must be between 1 and 65535, inclusive"]
    assert is_valid_port_num(65536) == ["must be between 1 and 65535, inclusive"]
    assert is_valid_port_name("http") == []
    assert is_valid_port_name("80") == ["must contain at least one letter (a-z)"]
    assert is_valid_port_name("-a--b") == [
        "must not contain consecutive hyphens",
        "must not begin or end with a hyphen",
    ]


def test_ip_and_cidr() -> None:
    for ok in ["198.18.8.7", "2001:db8::ffff", "::1", "010.001.1.1"]:
        assert is_valid_ip(ok) == [], ok
    for bad in ["10.9.8", "256.1.1.1", "fe80::1%eth0", "host", ""]:
        assert is_valid_ip(bad) == ["must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"]
    assert is_valid_cidr("198.18.0.0/15") == [] and is_valid_cidr("fd00::/64") == []
    assert is_valid_cidr("198.18.0.0/33") == [
        "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
    ]


def test_config_map_key() -> None:
    assert is_config_map_key("app.properties") == []
    assert is_config_map_key("..data")[-1] == "must not start with '..'"


# -------------------------------------------------------------------- object meta


def messages(causes: list) -> list[str]:
    return [f"{c['field']}: {c['message']}" for c in causes]


def test_bad_name_matches_kubectl_output() -> None:
    causes = validate_object_meta({"name": "Bad_Name", "namespace": "default"}, True)
    err = invalid("Deployment", "apps", "Bad_Name", causes)
    assert err.code == 422
    assert (
        err.message
        == f'Deployment.apps "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": {SUBDOMAIN}'
    )


def test_name_or_generate_name_required() -> None:
    (cause,) = validate_object_meta({"namespace": "default"}, True)
    assert cause["reason"] == "FieldValueRequired"
    assert messages([cause]) == ["metadata.name: Required value: name or generateName is required"]


def test_generate_name_is_checked_as_a_prefix() -> None:
    assert (
        validate_object_meta({"generateName": "web-", "name": "web-x2k9f", "namespace": "d"}, True)
        == []
    )
    causes = validate_object_meta(
        {"generateName": "Web-", "name": "web-x2k9f", "namespace": "d"}, True
    )
    assert messages(causes) == [f'metadata.generateName: Invalid value: "Web-": {SUBDOMAIN}']


def test_namespace_by_scope() -> None:
    assert messages(validate_object_meta({"name": "x"}, True)) == [
        "metadata.namespace: Required value"
    ]
    assert messages(validate_object_meta({"name": "x", "namespace": "a.b"}, True)) == [
        'metadata.namespace: Invalid value: "a.b": must not contain dots'
    ]
    assert messages(validate_object_meta({"name": "x", "namespace": "d"}, False)) == [
        "metadata.namespace: Forbidden: not allowed on this type"
    ]
    assert validate_object_meta({"name": "node-1"}, False) == []


def test_custom_name_validator() -> None:
    causes = validate_object_meta(
        {"name": "web.svc", "namespace": "d"}, True, name_is_dns1035_label
    )
    assert messages(causes) == [f'metadata.name: Invalid value: "web.svc": {DNS1035}']


def test_labels_annotations_finalizers_generation() -> None:
    meta = {
        "name": "x",
        "namespace": "d",
        "generation": -1,
        "labels": {"app": "web", "bad key": "v"},
        "annotations": {"ok/Key": "v", "a b": "v"},
        "finalizers": ["kubernetes.io/pv-protection", "orphan", "foregroundDeletion", "bad name"],
    }
    assert messages(validate_object_meta(meta, True)) == [
        "metadata.generation: Invalid value: -1: must be greater than or equal to 0",
        f'metadata.labels: Invalid value: "bad key": {NAME_PART}',
        f'metadata.annotations: Invalid value: "a b": {NAME_PART}',
        f'metadata.finalizers: Invalid value: "bad name": {NAME_PART}',
        "metadata.finalizers: Invalid value: [...]: finalizer orphan and foregroundDeletion cannot be both set",
    ]


def test_owner_references() -> None:
    good = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": "rs",
        "uid": "u1",
        "controller": True,
    }
    meta = {"name": "p", "namespace": "d", "ownerReferences": [good]}
    assert validate_object_meta(meta, True) == []
    meta["ownerReferences"] = [good, {**good, "name": "rs2"}, {"apiVersion": "", "kind": ""}]
    assert messages(validate_object_meta(meta, True)) == [
        'metadata.ownerReferences: Invalid value: [...]: Only one reference can have Controller set to true. Found "true" in references for ReplicaSet/rs and ReplicaSet/rs2',
        'metadata.ownerReferences.apiVersion: Invalid value: "": version must not be empty',
        'metadata.ownerReferences.kind: Invalid value: "": must not be empty',
        'metadata.ownerReferences.name: Invalid value: "": must not be empty',
        'metadata.ownerReferences.uid: Invalid value: "": must not be empty',
    ]
    event_owner = {"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "u"}
    causes = validate_object_meta(
        {"name": "p", "namespace": "d", "ownerReferences": [event_owner]}, True
    )
    assert causes[0]["message"].endswith("/v1, Kind=Event is disallowed from being an owner")


def test_invalid_causes_helper() -> None:
    (cause,) = invalid_causes("spec.x", "v", ["bad"])
    assert cause == {
        "field": "spec.x",
        "reason": "FieldValueInvalid",
        "message": 'Invalid value: "v": bad',
    }
