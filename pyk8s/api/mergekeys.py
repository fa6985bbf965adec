"""Upstream strategic-merge-patch metadata: patch strategies and merge keys.

These are the `patchStrategy` / `patchMergeKey` struct tags of upstream's Go
types (published as x-kubernetes-patch-strategy / x-kubernetes-patch-merge-key
in its OpenAPI). The Python client drops them, so they are kept here, keyed by
(OpenAPI definition, JSON field name). Fields absent from the table are
replaced wholesale by a strategic merge patch (lists are atomic), e.g.
PodSpec.tolerations, NodeSpec.taints and Container.resizePolicy (listType=atomic).
"""

from __future__ import annotations

CORE = "io.k8s.api.core.v1."
APPS = "io.k8s.api.apps.v1."
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
POLICY = "io.k8s.api.policy.v1."

MERGE = "merge"
RETAIN_KEYS = "retainKeys"
MERGE_RETAIN_KEYS = "merge,retainKeys"
REPLACE = "replace"

# Fields shared by Container and EphemeralContainer (EphemeralContainerCommon).
_CONTAINER_LISTS = {
    "ports": (MERGE, "containerPort"),
    "env": (MERGE, "name"),
    "volumeMounts": (MERGE, "mountPath"),
    "volumeDevices": (MERGE, "devicePath"),
}

# (definition, field) -> (strategy, merge key or None for lists of scalars).
PATCH_STRATEGIES: dict[tuple[str, str], tuple[str, str | None]] = {
    (META + "ObjectMeta", "finalizers"): (MERGE, None),
    (META + "ObjectMeta", "ownerReferences"): (MERGE, "uid"),
    (CORE + "PodSpec", "containers"): (MERGE, "name"),
    (CORE + "PodSpec", "initContainers"): (MERGE, "name"),
    (CORE + "PodSpec", "ephemeralContainers"): (MERGE, "name"),
    (CORE + "PodSpec", "volumes"): (MERGE_RETAIN_KEYS, "name"),
    (CORE + "PodSpec", "imagePullSecrets"): (MERGE, "name"),
    (CORE + "PodSpec", "hostAliases"): (MERGE, "ip"),
    (CORE + "PodSpec", "topologySpreadConstraints"): (MERGE, "topologyKey"),
    (CORE + "PodSpec", "schedulingGates"): (MERGE, "name"),
    (CORE + "PodSpec", "resourceClaims"): (MERGE_RETAIN_KEYS, "name"),
    (CORE + "PodStatus", "conditions"): (MERGE, "type"),
    (CORE + "PodStatus", "podIPs"): (MERGE, "ip"),
    (CORE + "PodStatus", "hostIPs"): (MERGE, "ip"),
    (CORE + "PodStatus", "resourceClaimStatuses"): (MERGE_RETAIN_KEYS, "name"),
    (CORE + "NodeSpec", "podCIDRs"): (MERGE, None),
    (CORE + "NodeStatus", "conditions"): (MERGE, "type"),
    (CORE + "NodeStatus", "addresses"): (MERGE, "type"),
    (CORE + "ServiceSpec", "ports"): (MERGE, "port"),
    (CORE + "ServiceAccount", "secrets"): (MERGE, "name"),
    (APPS + "DeploymentSpec", "strategy"): (RETAIN_KEYS, None),
    # The selector is replaced as a whole, never merged key by key.
    (POLICY + "PodDisruptionBudgetSpec", "selector"): (REPLACE, None),
}
for _owner in ("Container", "EphemeralContainer"):
    for _field, _tag in _CONTAINER_LISTS.items():
        PATCH_STRATEGIES[(CORE + _owner, _field)] = _tag


def patch_metadata(
    definition: str, field: str, item_fields: frozenset[str] | None = None
) -> tuple[str | None, str | None]:
    """(strategy, merge key) of `definition.field`, or (None, None).

    Beyond the table, every `conditions` list of a status type whose elements
    carry a `type` is merged by type, as upstream tags all of them.
    """
    tag = PATCH_STRATEGIES.get((definition, field))
    if tag is not None:
        return tag
    if (
        field == "conditions"
        and definition.endswith("Status")
        and item_fields is not None
        and "type" in item_fields
    ):
        return MERGE, "type"
    return None, None
