"""Printers for batch/v1: Job and CronJob."""

from __future__ import annotations

from pyk8s.api.printers.common import (
    CONTAINERS_DESC,
    IMAGES_DESC,
    NONE,
    UNSET,
    Cells,
    Obj,
    Printer,
    age,
    age_col,
    col,
    container_cells,
    dig,
    format_label_selector,
    is_deleting,
    name_col,
    name_of,
    parse_time,
    since,
    template_containers,
)
from pyk8s.machinery.meta import human_duration

JOB_SELECTOR_DESC = "Label query over pods that should match the pod count."

JOB_COLUMNS = (
    name_col(),
    col("Status", "string", "Status of the job."),
    col("Completions", "string", "Succeeded pods out of the completions wanted."),
    col("Duration", "string", "Time required to complete the job."),
    age_col(),
    col("Containers", "string", CONTAINERS_DESC, priority=1),
    col("Images", "string", IMAGES_DESC, priority=1),
    col("Selector", "string", JOB_SELECTOR_DESC, priority=1),
)


def _has_condition(job: Obj, ctype: str) -> bool:
    """hasJobCondition: the first condition of that type decides."""
    for c in dig(job, "status", "conditions", default=[]):
        if c.get("type") == ctype:
            return c.get("status") == "True"
    return False


def job_status(job: Obj) -> str:
    if _has_condition(job, "Complete"):
        return "Complete"
    if _has_condition(job, "Failed"):
        return "Failed"
    if is_deleting(job):
        return "Terminating"
    if _has_condition(job, "Suspended"):
        return "Suspended"
    if _has_condition(job, "FailureTarget"):
        return "FailureTarget"
    return "Running"


def job_completions(job: Obj) -> str:
    succeeded = dig(job, "status", "succeeded", default=0)
    completions = dig(job, "spec", "completions")
    if completions is not None:
        return f"{succeeded}/{completions}"
    parallelism = dig(job, "spec", "parallelism", default=0)
    if parallelism > 1:
        return f"{succeeded}/1 of {parallelism}"
    return f"{succeeded}/1"


def job_duration(job: Obj, now: float) -> str:
    start = parse_time(dig(job, "status", "startTime"))
    if start is None:
        return ""
    end = parse_time(dig(job, "status", "completionTime"))
    return human_duration((now if end is None else end) - start)


def job_cells(job: Obj, now: float) -> Cells:
    names, images = container_cells(template_containers(job))
    return [
        name_of(job),
        job_status(job),
        job_completions(job),
        job_duration(job, now),
        age(job, now),
        names,
        images,
        format_label_selector(dig(job, "spec", "selector")),
    ]


CRONJOB_COLUMNS = (
    name_col(),
    col("Schedule", "string", "The schedule in Cron format."),
    col("Timezone", "string", "The time zone the schedule is read in."),
    col("Suspend", "boolean", "Whether new runs are suspended."),
    col("Active", "integer", "Number of currently running jobs."),
    col("Last Schedule", "string", "When a job was last scheduled."),
    age_col(),
    col("Containers", "string", CONTAINERS_DESC, priority=1),
    col("Images", "string", IMAGES_DESC, priority=1),
    col("Selector", "string", JOB_SELECTOR_DESC, priority=1),
)


def _bool_ptr(value: object) -> str:
    """printBoolPtr: True / False / <unset>."""
    if value is None:
        return UNSET
    return "True" if value else "False"


def cronjob_cells(cj: Obj, now: float) -> Cells:
    spec = cj.get("spec") or {}
    job_spec = dig(spec, "jobTemplate", "spec", default={})
    names, images = container_cells(dig(job_spec, "template", "spec", "containers", default=[]))
    last = dig(cj, "status", "lastScheduleTime")
    return [
        name_of(cj),
        spec.get("schedule", ""),
        NONE if spec.get("timeZone") is None else spec["timeZone"],
        _bool_ptr(spec.get("suspend")),
        len(dig(cj, "status", "active", default=[])),
        NONE if not last else since(last, now),
        age(cj, now),
        names,
        images,
        format_label_selector(job_spec.get("selector")),
    ]


PRINTERS = {
    ("batch", "Job"): Printer(JOB_COLUMNS, job_cells),
    ("batch", "CronJob"): Printer(CRONJOB_COLUMNS, cronjob_cells),
}
