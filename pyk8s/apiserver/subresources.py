"""Subresources: status, scale, pods/binding, pods/eviction, namespaces/finalize, and the
streaming ones (log, exec, attach, portforward), which need a node agent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from pyk8s.apiserver import conversion, handlers, response
from pyk8s.apiserver import request as rq
from pyk8s.apiserver.registry import Context
from pyk8s.machinery import errors, labelselector, meta

if TYPE_CHECKING:
    from pyk8s.apiserver.server import APIServer

Obj = dict[str, Any]
STREAMING = {"log", "exec", "attach", "portforward", "proxy"}


async def handle(
    server: APIServer, request: web.Request, info: rq.RequestInfo
) -> web.StreamResponse:
    sub = info.res.subresources[info.subresource]
    method_verb = {
        "GET": "get",
        "PUT": "update",
        "PATCH": "patch",
        "POST": "create",
        "DELETE": "delete",
    }
    verb = method_verb.get(request.method, request.method.lower())
    if info.subresource in STREAMING:
        return await _streaming(server, request, info)
    if verb not in sub.verbs:
        raise errors.method_not_allowed(verb, f"{info.res.plural}/{info.subresource}")
    if info.subresource == "status":
        return await _status(server, request, info, verb)
    if info.subresource == "scale":
        return await _scale(server, request, info, verb)
    if info.subresource == "binding":
        return await _binding(server, request, info)
    if info.subresource == "eviction":
        return await _eviction(server, request, info)
    if info.subresource == "finalize":
        return await _finalize(server, request, info)
    raise errors.method_not_allowed(verb, f"{info.res.plural}/{info.subresource}")


async def _status(
    server: APIServer, request: web.Request, info: rq.RequestInfo, verb: str
) -> web.StreamResponse:
    if verb == "get":
        entry = await server.registry.get_entry(info.res, info.namespace, info.name)
        return response.json_response(conversion.served_raw(info.res, entry.raw))
    if verb == "update":
        return await handlers._update(server, request, info)
    return await handlers._patch(server, request, info)


# -- scale --------------------------------------------------------------------------------


def _selector_string(obj: Obj) -> str:
    sel = (obj.get("spec") or {}).get("selector")
    if sel is None:
        return ""
    if obj.get("kind") == "ReplicationController":
        return ",".join(f"{k}={v}" for k, v in sorted(sel.items()))
    return str(labelselector.selector_from_label_selector(sel))


def _dotted(obj: Obj, path: str) -> Any:
    cur: Any = obj
    for part in path.strip(".").split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _set_dotted(obj: Obj, path: str, value: Any) -> None:
    parts = path.strip(".").split(".")
    cur = obj
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = cur[part] = {}
        cur = nxt
    cur[parts[-1]] = value


def to_scale(obj: Obj, paths: Obj | None = None) -> Obj:
    """The autoscaling/v1 Scale of an object; `paths` are a custom resource's scale paths
    (specReplicasPath, statusReplicasPath, labelSelectorPath)."""
    if paths:
        scale = to_scale({"metadata": obj["metadata"]})
        scale["spec"]["replicas"] = _dotted(obj, paths["specReplicasPath"]) or 0
        scale["status"]["replicas"] = _dotted(obj, paths.get("statusReplicasPath", "")) or 0
        selector = (
            _dotted(obj, paths["labelSelectorPath"]) if paths.get("labelSelectorPath") else None
        )
        scale["status"]["selector"] = selector if isinstance(selector, str) else ""
        return scale
    md = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: md[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in md
        },
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": _selector_string(obj),
        },
    }


def _scale_replicas(scale: Any, name: str) -> int:
    if not isinstance(scale, dict):
        raise errors.bad_request("the body of the request must be a Scale object")
    replicas = (scale.get("spec") or {}).get("replicas", 0)
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        raise errors.bad_request(
            f'Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal {type(replicas).__name__} into Go struct field ScaleSpec.spec.replicas of type int32'
        )
    if replicas < 0:
        raise errors.invalid(
            "Scale",
            "autoscaling",
            name,
            [errors.field_invalid("spec.replicas", replicas, "must be greater than or equal to 0")],
        )
    return replicas


async def _scale(
    server: APIServer, request: web.Request, info: rq.RequestInfo, verb: str
) -> web.StreamResponse:
    paths = getattr(info.res.strategy, "scale_paths", None)
    if verb == "get":
        entry = await server.registry.get_entry(info.res, info.namespace, info.name)
        return response.json_response(to_scale(entry.obj, paths))
    ctx = Context(dry_run=rq.dry_run(request.query))
    body = await rq.read_body(request)
    if verb == "update":
        desired_scale = rq.decode_object(body, rq.media_type(request))
        patch_kind, patch_body = "", None
    else:
        patch_kind, patch_body = handlers.decode_patch(request, body)
        desired_scale = None

    def mutate(current: Obj) -> Obj:
        scale = to_scale(current, paths)
        if patch_kind:
            new_scale = handlers.apply_patch(_SCALE_RES, patch_kind, scale, patch_body)
        else:
            new_scale = desired_scale
        replicas = _scale_replicas(new_scale, info.name)
        if paths:
            _set_dotted(current, paths["specReplicasPath"], replicas)
        else:
            current.setdefault("spec", {})["replicas"] = replicas
        wanted = ((new_scale or {}).get("metadata") or {}).get("resourceVersion")
        if wanted:
            current["metadata"]["resourceVersion"] = wanted
        return current

    updated = await server.registry.update(info.res, info.namespace, info.name, mutate, ctx)
    return response.json_response(to_scale(updated, paths))


class _ScaleRes:
    group, version, kind = "autoscaling", "v1", "Scale"


_SCALE_RES: Any = _ScaleRes()


# -- pods/binding -------------------------------------------------------------------------


async def _binding(
    server: APIServer, request: web.Request, info: rq.RequestInfo
) -> web.StreamResponse:
    body = rq.decode_object(await rq.read_body(request), rq.media_type(request))
    target = (body.get("target") or {}).get("name", "")
    if not target:
        raise errors.invalid("Binding", "", info.name, [errors.field_required("target.name")])
    await bind_pod(server, info.namespace, info.name, target, rq.dry_run(request.query))
    return response.json_response(
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
        status=201,
    )


async def bind_pod(
    server: APIServer, namespace: str, name: str, node: str, dry_run: bool = False
) -> Obj:
    pods = server.table.get("", "v1", "pods")
    assert pods is not None

    def assign(pod: Obj) -> Obj:
        if pod["metadata"].get("deletionTimestamp"):
            raise errors.conflict(
                "pods/binding",
                "",
                name,
                f"pod {name} is being deleted, cannot be assigned to a host",
            )
        spec = pod.setdefault("spec", {})
        if spec.get("nodeName"):
            raise errors.conflict(
                "pods/binding",
                "",
                name,
                f'pod {name} is already assigned to node "{spec["nodeName"]}"',
            )
        spec["nodeName"] = node
        status = pod.setdefault("status", {})
        conds = [c for c in status.get("conditions", []) if c.get("type") != "PodScheduled"]
        conds.append(
            {
                "type": "PodScheduled",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": meta.now_rfc3339(),
            }
        )
        status["conditions"] = conds
        return pod

    # Binding writes spec and status together, bypassing the pod strategy's update rules.
    return await server.registry.update(
        pods, namespace, name, assign, Context(dry_run=dry_run), subresource="binding"
    )


# -- pods/eviction ------------------------------------------------------------------------


async def _eviction(
    server: APIServer, request: web.Request, info: rq.RequestInfo
) -> web.StreamResponse:
    body = rq.decode_object(await rq.read_body(request), rq.media_type(request))
    if body.get("kind") not in (None, "Eviction"):
        raise errors.bad_request(
            f"the body of the request must be an Eviction, got {body.get('kind')}"
        )
    ctx = Context(dry_run=rq.dry_run(request.query))
    await server.evictions.evict(info.namespace, info.name, body.get("deleteOptions") or {}, ctx)
    return response.json_response(
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
        status=201,
    )


# -- namespaces/finalize ------------------------------------------------------------------


async def _finalize(
    server: APIServer, request: web.Request, info: rq.RequestInfo
) -> web.StreamResponse:
    body = rq.decode_object(await rq.read_body(request), rq.media_type(request))
    finalizers = (body.get("spec") or {}).get("finalizers") or []

    def set_finalizers(ns: Obj) -> Obj:
        ns.setdefault("spec", {})["finalizers"] = list(finalizers)
        if not finalizers:
            ns["spec"].pop("finalizers")
        return ns

    updated = await server.registry.update(
        info.res,
        "",
        info.name,
        set_finalizers,
        Context(dry_run=rq.dry_run(request.query)),
        subresource="finalize",
    )
    return response.json_response(updated)


# -- streaming ----------------------------------------------------------------------------


async def _streaming(
    server: APIServer, request: web.Request, info: rq.RequestInfo
) -> web.StreamResponse:
    """Logs, exec, attach and port-forward are served by the pod's node agent."""
    if info.res.kind == "Pod":
        pod = await server.registry.get(info.res, info.namespace, info.name)
        proxy = server.node_proxy
        if proxy is not None:
            return await proxy(request, info, pod)
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            raise errors.bad_request(f"pod {info.name} does not have a host assigned")
        raise errors.bad_request(
            f'no node agent serves node "{node}": {info.subresource} needs a running kubelet'
        )
    raise errors.bad_request(f"{info.subresource} is not supported for {info.res.plural}")
