"""batch/v1 Job and CronJob."""

from __future__ import annotations

from typing import Any

from pyk8s.api.kinds._base import KindStrategy, spec_of
from pyk8s.api.kinds._util import Obj, as_dict, go_label_selector, invalid_rendered
from pyk8s.api.kinds._workload import (
    generation_changed_spec_only,
    normalized_selector,
    selector_immutable,
    validate_counts,
    validate_selector,
    validate_template,
)
from pyk8s.api.kinds.podspec import default_pod_template
from pyk8s.machinery.errors import (
    Cause,
    field_immutable,
    field_invalid,
    field_required,
    field_unsupported,
)

JOB_RESTART_POLICIES = ["OnFailure", "Never"]
CONCURRENCY_POLICIES = ["Allow", "Forbid", "Replace"]
COMPLETION_MODES = ["Indexed", "NonIndexed"]
UID_LABEL = "batch.kubernetes.io/controller-uid"
NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_UID_LABEL = "controller-uid"
LEGACY_NAME_LABEL = "job-name"
MAX_INT32 = 2147483647
CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


def default_job_spec(spec: Obj) -> None:
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    if spec.get("parallelism") is None:
        spec["parallelism"] = 1
    if spec.get("backoffLimit") is None:
        per_index = spec.get("backoffLimitPerIndex") is not None
        spec["backoffLimit"] = MAX_INT32 if per_index else 6
    if not spec.get("completionMode"):
        spec["completionMode"] = "NonIndexed"
    if spec.get("suspend") is None:
        spec["suspend"] = False
    if not spec.get("podReplacementPolicy"):
        failure_policy = spec.get("podFailurePolicy") is not None
        spec["podReplacementPolicy"] = "Failed" if failure_policy else "TerminatingOrFailed"
    default_pod_template(spec.get("template"))


class JobStrategy(KindStrategy):
    has_status = True

    def default(self, obj: Obj) -> None:
        spec = spec_of(obj)
        default_job_spec(spec)
        # A job without labels takes its pods' labels.
        meta = obj.setdefault("metadata", {})
        template_labels = as_dict(
            as_dict(as_dict(spec.get("template")).get("metadata")).get("labels")
        )
        if template_labels and not meta.get("labels"):
            meta["labels"] = dict(template_labels)

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        generate_selector(obj)

    def initial_status(self, obj: Obj) -> None:
        obj["status"] = {}

    def validate(self, obj: Obj) -> list[Cause]:
        # As upstream: the selector is (also) generated at validation, once the uid is known.
        generate_selector(obj)
        spec = as_dict(obj.get("spec"))
        errs = _validate_generated_selector(obj)
        errs += validate_job_spec(spec, "spec")
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        new_spec, old_spec = as_dict(new.get("spec")), as_dict(old.get("spec"))
        errs = selector_immutable(new, old)
        if new_spec.get("template") != old_spec.get("template"):
            errs.append(
                invalid_rendered("spec.template", "core.PodTemplateSpec{...}", "field is immutable")
            )
        if new_spec.get("completionMode") == "NonIndexed" and new_spec.get(
            "completions"
        ) != old_spec.get("completions"):
            errs.append(field_immutable("spec.completions", new_spec.get("completions")))
        if new_spec.get("completionMode") != old_spec.get("completionMode"):
            errs.append(field_immutable("spec.completionMode", new_spec.get("completionMode")))
        return errs

    def generation_changed(self, new: Obj, old: Obj) -> bool:
        return generation_changed_spec_only(new, old)


def generate_selector(job: Obj) -> None:
    """Select the job's pods by its uid; label the template to match (unless manualSelector)."""
    spec = spec_of(job)
    meta = as_dict(job.get("metadata"))
    uid, name = meta.get("uid"), meta.get("name")
    if spec.get("manualSelector") is True or not uid:
        return
    template = spec.setdefault("template", {})
    tmeta = template.setdefault("metadata", {})
    labels = tmeta.get("labels")
    if not isinstance(labels, dict):
        labels = tmeta["labels"] = {}
    for key in (LEGACY_NAME_LABEL, NAME_LABEL):
        labels.setdefault(key, name)
    for key in (LEGACY_UID_LABEL, UID_LABEL):
        labels.setdefault(key, uid)
    selector = spec.get("selector")
    if not isinstance(selector, dict):
        selector = spec["selector"] = {}
    match = selector.get("matchLabels")
    if not isinstance(match, dict):
        match = selector["matchLabels"] = {}
    match.setdefault(UID_LABEL, uid)


def _validate_generated_selector(job: Obj) -> list[Cause]:
    spec = as_dict(job.get("spec"))
    if spec.get("manualSelector") is True:
        return []
    uid = as_dict(job.get("metadata")).get("uid")
    if not uid:
        return [field_required("metadata.uid")]
    match = as_dict(as_dict(spec.get("selector")).get("matchLabels"))
    if match.get(UID_LABEL) != uid:
        rendered = _render_selector(spec.get("selector"))
        return [invalid_rendered("spec.selector", rendered, "`selector` not auto-generated")]
    return []


def _render_selector(selector: Any) -> str:
    return go_label_selector(normalized_selector(selector))


def validate_job_spec(spec: Obj, path: str) -> list[Cause]:
    errs = validate_counts(spec, "parallelism", "completions", "backoffLimit", path=path)
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and (not isinstance(deadline, int) or deadline <= 0):
        errs.append(
            field_invalid(f"{path}.activeDeadlineSeconds", deadline, "must be greater than 0")
        )
    mode = spec.get("completionMode")
    if mode not in COMPLETION_MODES:
        errs.append(field_unsupported(f"{path}.completionMode", mode or "", COMPLETION_MODES))
    elif mode == "Indexed" and spec.get("completions") is None:
        detail = "when completion mode is Indexed"
        errs.append(Cause(f"{path}.completions", "FieldValueRequired", f"Required value: {detail}"))
    errs += validate_selector(spec, "job", f"{path}.selector")
    errs += validate_template(spec, f"{path}.template", JOB_RESTART_POLICIES)
    return errs


class CronJobStrategy(KindStrategy):
    has_status = True

    def default(self, obj: Obj) -> None:
        spec = spec_of(obj)
        if not spec.get("concurrencyPolicy"):
            spec["concurrencyPolicy"] = "Allow"
        if spec.get("suspend") is None:
            spec["suspend"] = False
        if spec.get("successfulJobsHistoryLimit") is None:
            spec["successfulJobsHistoryLimit"] = 3
        if spec.get("failedJobsHistoryLimit") is None:
            spec["failedJobsHistoryLimit"] = 1
        job_spec = as_dict(spec.get("jobTemplate")).get("spec")
        if isinstance(job_spec, dict):
            default_pod_template(job_spec.get("template"))

    def initial_status(self, obj: Obj) -> None:
        obj["status"] = {}

    def validate(self, obj: Obj) -> list[Cause]:
        errs: list[Cause] = []
        name = as_dict(obj.get("metadata")).get("name") or ""
        if len(name) > 52:
            errs.append(field_invalid("metadata.name", name, "must be no more than 52 characters"))
        spec = as_dict(obj.get("spec"))
        errs += validate_schedule(spec.get("schedule"))
        policy = spec.get("concurrencyPolicy")
        if policy not in CONCURRENCY_POLICIES:
            errs.append(
                field_unsupported("spec.concurrencyPolicy", policy or "", CONCURRENCY_POLICIES)
            )
        errs += validate_counts(
            spec, "startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"
        )
        job_spec = as_dict(as_dict(spec.get("jobTemplate")).get("spec"))
        errs += validate_template(
            job_spec, "spec.jobTemplate.spec.template", JOB_RESTART_POLICIES, check_selector=False
        )
        return errs

    def generation_changed(self, new: Obj, old: Obj) -> bool:
        return generation_changed_spec_only(new, old)


def validate_schedule(schedule: Any) -> list[Cause]:
    if not schedule:
        return [field_required("spec.schedule")]
    if not isinstance(schedule, str):
        return [field_invalid("spec.schedule", schedule, "must be a string")]
    text = schedule
    if text.startswith(("TZ=", "CRON_TZ=")):
        detail = "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
        return [field_invalid("spec.schedule", schedule, detail)]
    if text.startswith("@"):
        if text in CRON_MACROS or text.startswith("@every "):
            return []
        return [field_invalid("spec.schedule", schedule, f"unrecognized descriptor: {text}")]
    fields = text.split()
    if len(fields) != 5:
        shown = "[" + " ".join(fields) + "]"
        detail = f"expected exactly 5 fields, found {len(fields)}: {shown}"
        return [field_invalid("spec.schedule", schedule, detail)]
    return []
