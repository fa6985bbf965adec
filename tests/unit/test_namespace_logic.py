"""Namespace deletion conditions and the garbage collector's graph."""

from __future__ import annotations

from pyk8s.api.resources import builtin_resources
from pyk8s.controllers import garbagecollector as gc
from pyk8s.controllers import namespace as nsc


def _res(plural: str):
    return next(r for r in builtin_resources() if r.plural == plural and r.group in ("", "apps"))


def test_conditions_all_clear():
    conds = nsc.content_conditions(nsc.Remaining(), "t", [])
    assert [c["type"] for c in conds] == [t for t, _, _ in nsc.OK_CONDITIONS]
    assert all(c["status"] == "False" for c in conds)
    assert conds[3]["reason"] == "ContentRemoved"


def test_conditions_report_remaining_content_and_finalizers():
    rem = nsc.Remaining()
    pods = [{"metadata": {"name": "p"}}, {"metadata": {"name": "q", "finalizers": ["orphan"]}}]
    rem.add(_res("pods"), pods)
    rem.add(_res("replicasets"), [{"metadata": {"name": "r"}}])
    conds = {c["type"]: c for c in nsc.content_conditions(rem, "t", [])}
    content = conds["NamespaceContentRemaining"]
    assert (content["status"], content["reason"]) == ("True", "SomeResourcesRemain")
    assert content["message"] == (
        "Some resources are remaining: pods. has 2 resource instances, "
        "replicasets.apps has 1 resource instances"
    )
    fins = conds["NamespaceFinalizersRemaining"]
    assert (
        fins["message"]
        == "Some content in the namespace has finalizers remaining: orphan in 1 resource instances"
    )


def test_condition_transition_time_kept_while_unchanged():
    first = nsc.content_conditions(nsc.Remaining(), "t1", [])
    again = nsc.content_conditions(nsc.Remaining(), "t2", first)
    assert {c["lastTransitionTime"] for c in again} == {"t1"}


def test_namespaced_resources_cover_workloads_but_not_cluster_scoped():
    plurals = {r.plural for r in nsc.namespaced_resources()}
    assert {"pods", "deployments", "replicasets", "configmaps", "events"} <= plurals
    assert "nodes" not in plurals and "namespaces" not in plurals and "bindings" not in plurals


def test_graph_tracks_dependents_by_owner_uid():
    g = gc.Graph()
    pods = _res("pods")
    owned = {
        "metadata": {
            "name": "p",
            "namespace": "n",
            "uid": "p1",
            "ownerReferences": [{"uid": "rs1"}],
        }
    }
    g.upsert(pods, owned)
    assert g.dependents_of("rs1") == ["p1"]
    owned["metadata"]["ownerReferences"] = [{"uid": "rs2"}]
    g.upsert(pods, owned)
    assert g.dependents_of("rs1") == [] and g.dependents_of("rs2") == ["p1"]
    g.remove(owned)
    assert g.dependents_of("rs2") == [] and "p1" not in g.nodes


def test_collected_resources_skip_events_and_resolve_owner_kinds():
    plurals = {(r.group, r.plural) for r in gc.collected_resources()}
    assert ("", "events") not in plurals and ("apps", "replicasets") in plurals
    assert (
        gc.resource_for_ref({"apiVersion": "apps/v1", "kind": "Deployment"}).plural == "deployments"
    )
    assert gc.resource_for_ref({"apiVersion": "example.com/v1", "kind": "Thing"}) is None
