"""core/v1 Namespace: the `kubernetes` finalizer and the metadata.name label."""

from __future__ import annotations

from pyk8s.api.kinds._base import KindStrategy, spec_of
from pyk8s.api.kinds._util import Obj, as_dict, as_list
from pyk8s.machinery.errors import Cause
from pyk8s.machinery.validation import name_is_dns_label, validate_finalizers

NAME_LABEL = "kubernetes.io/metadata.name"
KUBERNETES_FINALIZER = "kubernetes"


class NamespaceStrategy(KindStrategy):
    has_status = True
    namespaced = False
    name_validator = staticmethod(name_is_dns_label)

    def default(self, obj: Obj) -> None:
        # Always the namespace's own name, whatever a client sent: selectors rely on it.
        meta = obj.setdefault("metadata", {})
        name = meta.get("name")
        if name:
            labels = meta.get("labels")
            if not isinstance(labels, dict):
                labels = meta["labels"] = {}
            labels[NAME_LABEL] = name

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        spec = spec_of(obj)
        finalizers = as_list(spec.get("finalizers"))
        if KUBERNETES_FINALIZER not in finalizers:
            spec["finalizers"] = finalizers + [KUBERNETES_FINALIZER]

    def initial_status(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Active"}

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        # spec.finalizers change only through the /finalize subresource.
        super().prepare_for_update(new, old)
        old_spec = as_dict(old.get("spec"))
        if "finalizers" in old_spec:
            spec_of(new)["finalizers"] = list(old_spec["finalizers"])
        elif isinstance(new.get("spec"), dict):
            new["spec"].pop("finalizers", None)

    def validate(self, obj: Obj) -> list[Cause]:
        finalizers = as_dict(obj.get("spec")).get("finalizers")
        return validate_finalizers(finalizers, "spec.finalizers")
