"""OpenAPI documents: what kubectl reads for validation, apply and explain."""

from __future__ import annotations

import importlib.util
from typing import Any

import orjson
import pytest

from pyk8s.api import openapi
from pyk8s.api.resources import ResourceTable, ResourceType

V3 = openapi.V3_PREFIX


@pytest.fixture(scope="module")
def table() -> ResourceTable:
    return ResourceTable()


@pytest.fixture(scope="module")
def apps(table) -> dict[str, Any]:
    return openapi.openapi_v3_document(table, "apps", "v1")


def _refs(node: Any):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v
            else:  # (JSONSchemaProps has a *property* named "$ref")
                yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def _patch_op_for(doc: dict[str, Any], gvk: dict[str, str]) -> dict[str, Any] | None:
    """kubectl's test: a PATCH op with this GVK and a fieldValidation query parameter."""
    for item in doc["paths"].values():
        patch = item.get("patch")
        if not patch or patch.get("x-kubernetes-group-version-kind") != gvk:
            continue
        if any(p["name"] == "fieldValidation" and p["in"] == "query" for p in patch["parameters"]):
            return patch
    return None


def test_deployment_patch_op_declares_gvk_and_field_validation(apps):
    item = apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    patch = item["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "apps",
        "version": "v1",
        "kind": "Deployment",
    }
    assert patch["x-kubernetes-action"] == "patch"
    assert patch["operationId"] == "patchAppsV1NamespacedDeployment"
    assert {"name": "fieldValidation", "in": "query"}.items() <= patch["parameters"][2].items()
    assert "application/strategic-merge-patch+json" in patch["requestBody"]["content"]
    assert set(item) >= {"get", "put", "patch", "delete", "parameters"}
    coll = apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"]
    assert coll["get"]["x-kubernetes-action"] == "list"
    assert coll["post"]["x-kubernetes-action"] == "post"
    assert "/apis/apps/v1/deployments" in apps["paths"]
    scale = apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert scale["patch"]["x-kubernetes-group-version-kind"]["kind"] == "Scale"
    assert "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status" in apps["paths"]


def test_every_patchable_kind_passes_kubectls_check(table):
    for res in table:
        if "patch" not in res.verbs:
            continue
        doc = openapi.openapi_v3_document(table, res.group, res.version)
        gvk = {"group": res.group, "version": res.version, "kind": res.kind}
        assert _patch_op_for(doc, gvk) is not None, gvk


def test_kind_schema_for_explain(apps):
    schemas = apps["components"]["schemas"]
    dep = schemas["io.k8s.api.apps.v1.Deployment"]
    assert dep["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}
    ]
    spec_ref = dep["properties"]["spec"]["allOf"][0]["$ref"]
    assert spec_ref == V3 + "io.k8s.api.apps.v1.DeploymentSpec"
    replicas = schemas["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["replicas"]
    assert replicas["type"] == "integer" and replicas["format"] == "int32"
    assert "desired pods" in replicas["description"]
    assert schemas["io.k8s.api.apps.v1.DeploymentList"]["x-kubernetes-group-version-kind"]


def test_upstream_extensions_and_scalars(apps):
    schemas = apps["components"]["schemas"]
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["items"] == {"$ref": V3 + "io.k8s.api.core.v1.Container"}
    strategy = schemas["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"]
    assert strategy["x-kubernetes-patch-strategy"] == "retainKeys"
    intstr = schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    assert intstr["format"] == "int-or-string"
    assert intstr["oneOf"] == [{"type": "integer"}, {"type": "string"}]
    quantity = schemas["io.k8s.apimachinery.pkg.api.resource.Quantity"]
    assert quantity["oneOf"] == [{"type": "string"}, {"type": "number"}]
    # A field pointing at a definition carries only its own description (none here).
    assert "description" not in schemas["io.k8s.api.apps.v1.Deployment"]["properties"]["spec"]
    assert schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["format"] == "date-time"
    limits = schemas["io.k8s.api.core.v1.ResourceRequirements"]["properties"]["limits"]
    assert limits["additionalProperties"] == {
        "$ref": V3 + "io.k8s.apimachinery.pkg.api.resource.Quantity"
    }
    assert schemas["io.k8s.api.apps.v1.DeploymentSpec"]["required"] == ["selector", "template"]


def test_no_dangling_refs_in_any_document(table):
    for path in openapi.document_paths(table):
        doc = openapi.openapi_v3_path_document(table, path)
        schemas = doc["components"]["schemas"]
        for ref in _refs(doc):
            assert ref.startswith(V3) and ref[len(V3) :] in schemas, (path, ref)
    v2 = openapi.openapi_v2(table)
    for ref in _refs(v2):
        assert ref[len("#/definitions/") :] in v2["definitions"], ref


def test_index_lists_every_group_version_with_hash(table):
    index = openapi.openapi_v3_index(table)["paths"]
    assert {"api", "api/v1", "apis", "apis/apps", "apis/apps/v1", "apis/batch/v1"} <= set(index)
    url = index["apis/apps/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/apps/v1?hash=")
    digest = url.split("hash=")[1]
    assert len(digest) == 128 and digest == digest.upper()
    _, again = openapi.serialize(openapi.openapi_v3_document(table, "apps", "v1"))
    assert again == digest
    assert openapi.openapi_v3_path_document(table, "apis/nope/v1") is None


def test_root_documents(table):
    apis = openapi.openapi_v3_path_document(table, "apis")
    assert apis["paths"]["/apis/"]["get"]["operationId"] == "getAPIVersions"
    group = openapi.openapi_v3_path_document(table, "apis/coordination.k8s.io")
    assert "/apis/coordination.k8s.io/" in group["paths"]
    core = openapi.openapi_v3_document(table, "", "v1")
    assert "/api/v1/namespaces/{namespace}/pods/{name}/eviction" in core["paths"]
    assert "/api/v1/nodes/{name}" in core["paths"]
    assert "/api/v1/namespaces/{namespace}/pods/{name}/exec" in core["paths"]


def test_v2_document(table):
    v2 = openapi.openapi_v2(table)
    assert v2["swagger"] == "2.0"
    patch = v2["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    names = [p["name"] for p in patch["parameters"]]
    assert names[0] == "body" and "fieldValidation" in names
    assert "application/strategic-merge-patch+json" in patch["consumes"]
    spec = v2["definitions"]["io.k8s.api.apps.v1.Deployment"]["properties"]["spec"]
    assert spec["$ref"] == "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"
    intstr = v2["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    assert (intstr["type"], intstr["format"]) == ("string", "int-or-string")
    assert v2["definitions"]["io.k8s.api.core.v1.Pod"]["x-kubernetes-group-version-kind"]


def test_cache_serves_bytes_and_invalidates_on_table_change():
    table = ResourceTable()
    cache = openapi.OpenAPICache(table)
    body, digest = cache.document("apis/apps/v1")
    assert cache.document("/apis/apps/v1/") == (body, digest)
    assert orjson.loads(body)["openapi"] == "3.0.0"
    index = orjson.loads(cache.index())
    assert index["paths"]["apis/apps/v1"]["serverRelativeURL"].endswith(digest)
    assert cache.document("apis/nope/v1") is None
    assert orjson.loads(cache.v2())["swagger"] == "2.0"

    table.add(ResourceType("apps", "v1", "Widget", "widgets", True))
    body2, digest2 = cache.document("apis/apps/v1")
    assert digest2 != digest
    assert "/apis/apps/v1/namespaces/{namespace}/widgets/{name}" in orjson.loads(body2)["paths"]
    assert (
        "/apis/apps/v1/namespaces/{namespace}/widgets/{name}" in orjson.loads(cache.v2())["paths"]
    )


@pytest.mark.skipif(
    importlib.util.find_spec("openapi_spec_validator") is None,
    reason="openapi-spec-validator not installed",
)
def test_documents_are_valid_openapi(table, apps):
    from openapi_spec_validator import validate

    validate(apps)
    validate(openapi.openapi_v3_path_document(table, "apis"))
