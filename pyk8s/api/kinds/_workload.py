"""Checks shared by the controllers' kinds (Deployment, ReplicaSet, DaemonSet,
StatefulSet, Job): selector vs template labels, the pod template itself, counts."""

from __future__ import annotations

from typing import Any

from pyk8s.api.kinds._util import (
    Obj,
    as_dict,
    go_label_selector,
    go_string_map,
    invalid_rendered,
    nonnegative,
)
from pyk8s.api.kinds.podspec_validation import validate_pod_spec
from pyk8s.machinery.errors import (
    Cause,
    StatusError,
    field_invalid,
    field_required,
    field_unsupported,
)
from pyk8s.machinery.labelselector import selector_from_label_selector, validate_label_selector
from pyk8s.machinery.validation import validate_annotations, validate_labels


def validate_selector(spec: Obj, kind_word: str, path: str = "spec.selector") -> list[Cause]:
    """Required, well-formed and non-empty (`empty selector is invalid for <kind_word>`)."""
    selector = spec.get("selector")
    if selector is None:
        return [field_required(path)]
    if not isinstance(selector, dict):
        return [field_invalid(path, selector, "invalid label selector")]
    errs = validate_label_selector(selector, path)
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        errs.append(
            invalid_rendered(
                path, go_label_selector(selector), f"empty selector is invalid for {kind_word}"
            )
        )
    return errs


def validate_template(
    spec: Obj,
    path: str = "spec.template",
    restart_policies: list[str] | None = None,
    check_selector: bool = True,
) -> list[Cause]:
    """A pod template: labels match the selector, PodSpec valid, restartPolicy allowed.

    `restart_policies` defaults to ["Always"], what every long-running controller needs.
    """
    template = spec.get("template")
    if not isinstance(template, dict):
        return [field_required(path)]
    meta = as_dict(template.get("metadata"))
    labels = meta.get("labels")
    errs: list[Cause] = []
    if check_selector and _selector_rejects(spec.get("selector"), labels):
        errs.append(
            invalid_rendered(
                f"{path}.metadata.labels",
                go_string_map(labels),
                "`selector` does not match template `labels`",
            )
        )
    errs += validate_labels(labels, f"{path}.metadata.labels")
    errs += validate_annotations(meta.get("annotations"), f"{path}.metadata.annotations")
    pod_spec = template.get("spec")
    errs += validate_pod_spec(pod_spec, f"{path}.spec")
    allowed = restart_policies or ["Always"]
    policy = as_dict(pod_spec).get("restartPolicy")
    if policy and policy not in allowed:
        errs.append(field_unsupported(f"{path}.spec.restartPolicy", policy, allowed))
    return errs


def validate_long_running_template(
    spec: Obj, kind: str = "ReplicaSet", path: str = "spec.template"
) -> list[Cause]:
    """Templates of controllers whose pods never finish: no activeDeadlineSeconds.

    `kind` names the controller in the message (Deployments say "ReplicaSet", as upstream).
    """
    errs = validate_template(spec, path)
    deadline = as_dict(as_dict(spec.get("template")).get("spec")).get("activeDeadlineSeconds")
    if deadline is not None:
        errs.append(
            field_invalid(
                f"{path}.spec.activeDeadlineSeconds",
                deadline,
                f"activeDeadlineSeconds in {kind} is not Supported",
            )
        )
    return errs


def _selector_rejects(selector: Any, labels: Any) -> bool:
    """True when a (well-formed, non-empty) selector does not match the labels.

    A missing selector matches nothing (upstream reports both errors then); an empty
    one is reported on spec.selector alone.
    """
    if selector is not None and not isinstance(selector, dict):
        return False
    try:
        sel = selector_from_label_selector(selector)
    except StatusError:  # malformed selector: already reported by validate_selector
        return False
    if sel.empty():
        return False
    return not sel.matches(as_dict(labels))


def validate_counts(spec: Obj, *keys: str, path: str = "spec") -> list[Cause]:
    errs: list[Cause] = []
    for key in keys:
        errs += nonnegative(spec.get(key), f"{path}.{key}")
    return errs


def normalized_selector(selector: Any) -> Any:
    """Semantic equality as upstream's: empty and missing lists/maps are the same."""
    if not isinstance(selector, dict):
        return selector
    return {k: v for k, v in selector.items() if v not in (None, [], {})}


def selector_immutable(new: Obj, old: Obj, path: str = "spec.selector") -> list[Cause]:
    new_sel = as_dict(new.get("spec")).get("selector")
    old_sel = as_dict(old.get("spec")).get("selector")
    if normalized_selector(new_sel) != normalized_selector(old_sel):
        return [invalid_rendered(path, go_label_selector(new_sel), "field is immutable")]
    return []


def generation_changed_spec_only(new: Obj, old: Obj) -> bool:
    return new.get("spec") != old.get("spec")
