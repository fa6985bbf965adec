"""pods/eviction: a delete that first asks the pod's PodDisruptionBudget, as upstream's
eviction REST handler does (429 TooManyRequests when the budget allows no disruption)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyk8s.apiserver.registry import Context
from pyk8s.machinery import errors, labelselector, meta

if TYPE_CHECKING:
    from pyk8s.apiserver.server import APIServer

Obj = dict[str, Any]
BUDGET_VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."


class Evictions:
    def __init__(self, server: APIServer) -> None:
        self.server = server

    async def evict(self, namespace: str, name: str, delete_options: Obj, ctx: Context) -> None:
        reg = self.server.registry
        pods = self.server.table.get("", "v1", "pods")
        assert pods is not None
        pod = await reg.get(pods, namespace, name)
        if not self._budget_applies(pod):
            await reg.delete(pods, namespace, name, delete_options, ctx)
            return
        budgets = await self._matching_budgets(namespace, pod)
        if len(budgets) > 1:
            raise errors.StatusError(
                500,
                "InternalError",
                "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
            )
        if budgets:
            await self._take_disruption(budgets[0], name, ctx)
        await reg.delete(pods, namespace, name, delete_options, ctx)

    @staticmethod
    def _budget_applies(pod: Obj) -> bool:
        # Terminal, unscheduled and already-deleting pods disrupt nothing.
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed", "Pending"):
            return False
        return not pod["metadata"].get("deletionTimestamp")

    async def _matching_budgets(self, namespace: str, pod: Obj) -> list[Obj]:
        pdbs = self.server.table.get("policy", "v1", "poddisruptionbudgets")
        assert pdbs is not None
        await self.server.cache.wait_fresh()
        prefix = f"{pdbs.store_prefix()}{namespace}/"
        pod_labels = pod["metadata"].get("labels") or {}
        out = []
        for entry in self.server.cache.cache(pdbs.store_prefix()).snapshot(prefix):
            sel = (entry.obj.get("spec") or {}).get("selector")
            if sel is None:
                continue
            selector = labelselector.selector_from_label_selector(sel)
            if not selector.empty() and selector.matches(pod_labels):
                out.append(entry.obj)
        return out

    async def _take_disruption(self, pdb: Obj, pod_name: str, ctx: Context) -> None:
        pdbs = self.server.table.get("policy", "v1", "poddisruptionbudgets")
        assert pdbs is not None
        pdb_name = pdb["metadata"]["name"]

        def take(current: Obj) -> Obj:
            status = current.setdefault("status", {})
            if status.get("observedGeneration", 0) < current["metadata"].get("generation", 1):
                raise _refused(
                    f"The disruption budget {pdb_name} is still being processed by the server."
                )
            if status.get("disruptionsAllowed", 0) <= 0:
                raise _refused(
                    f"The disruption budget {pdb_name} needs {status.get('desiredHealthy', 0)} healthy "
                    f"pods and has {status.get('currentHealthy', 0)} currently"
                )
            status["disruptionsAllowed"] -= 1
            status.setdefault("disruptedPods", {})[pod_name] = meta.now_rfc3339()
            return current

        await self.server.registry.update(
            pdbs, pdb["metadata"]["namespace"], pdb_name, take, ctx, subresource="status"
        )


def _refused(cause: str) -> errors.StatusError:
    return errors.StatusError(
        429,
        "TooManyRequests",
        BUDGET_VIOLATION,
        {"causes": [{"reason": "DisruptionBudget", "message": cause}]},
    )
