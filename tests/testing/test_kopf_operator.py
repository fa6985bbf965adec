"""A kopf operator tested with kopf.testing.KopfRunner against the fixture."""

from __future__ import annotations

import pytest
from kubernetes import client

from pyk8s.testing import wait_for

kopf_testing = pytest.importorskip("kopf.testing")

OPERATOR = str(__import__("pathlib").Path(__file__).with_name("kopf_operator.py"))
KOPF_ARGS = ["run", "--standalone", "--all-namespaces", "--verbose", OPERATOR]

GREETING_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "greetings.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "greetings", "singular": "greeting", "kind": "Greeting"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "properties": {"name": {"type": "string"}}},
                            "status": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            },
                        },
                    }
                },
                "subresources": {"status": {}},
            }
        ],
    },
}


def serves_crds(api_client: client.ApiClient) -> bool:
    groups = client.ApisApi(api_client).get_api_versions().groups
    return any(
        g.name == "apiextensions.k8s.io" and any(v.version == "v1" for v in g.versions)
        for g in groups
    )


def configmap_data(v1: client.CoreV1Api, name: str) -> dict | None:
    try:
        return v1.read_namespaced_config_map(name, "default").data
    except client.ApiException as err:
        if err.status == 404:
            return None
        raise


def test_kopf_operator_on_builtin_configmaps(kubeconfig_env, k8s_client):
    v1 = client.CoreV1Api(k8s_client)
    with kopf_testing.KopfRunner(KOPF_ARGS, timeout=60) as runner:
        v1.create_namespaced_config_map(
            "default",
            {
                "metadata": {"name": "ping", "labels": {"example.com/echo": "yes"}},
                "data": {"x": "1"},
            },
        )
        assert wait_for(lambda: configmap_data(v1, "ping-echo"), timeout=20) == {"x": "1"}
    assert runner.exit_code == 0, runner.output
    assert runner.exception is None


def test_kopf_operator_reacts_to_a_custom_resource(kubeconfig_env, k8s_client):
    if not serves_crds(k8s_client):
        pytest.skip("the API server does not serve apiextensions.k8s.io/v1 (CRDs) yet")
    ext = client.ApiextensionsV1Api(k8s_client)
    custom = client.CustomObjectsApi(k8s_client)
    v1 = client.CoreV1Api(k8s_client)
    ext.create_custom_resource_definition(GREETING_CRD)
    wait_for(
        lambda: custom.list_namespaced_custom_object("example.com", "v1", "default", "greetings")
    )
    with kopf_testing.KopfRunner(KOPF_ARGS, timeout=60) as runner:
        greeting = {
            "apiVersion": "example.com/v1",
            "kind": "Greeting",
            "metadata": {"name": "hi"},
            "spec": {"name": "pyk8s"},
        }
        custom.create_namespaced_custom_object(
            "example.com", "v1", "default", "greetings", greeting
        )
        data = wait_for(lambda: configmap_data(v1, "hi-greeting"), timeout=20)
        assert data == {"message": "Hello, pyk8s!"}

        def status_reported():
            obj = custom.get_namespaced_custom_object(
                "example.com", "v1", "default", "greetings", "hi"
            )
            return (obj.get("status") or {}).get("greet")

        assert wait_for(status_reported, timeout=20) == {"configmap": "hi-greeting"}
        custom.delete_namespaced_custom_object("example.com", "v1", "default", "greetings", "hi")
        # The ConfigMap the operator made is owned by the Greeting: collected with it.
        wait_for(lambda: configmap_data(v1, "hi-greeting") is None, timeout=20)
    assert runner.exit_code == 0, runner.output
