"""The options of pods/log, pods/exec, pods/attach and pods/portforward: parsing and
validating the client's query, choosing the container, and the query the kubelet gets.

Messages follow upstream: the API server's container choice and option validation
(pkg/registry/core/pod/strategy.go, ValidatePodLogOptions) and the kubelet's check of
the container's state before it reads a log (validateContainerLogStatus), which here
reads the pod's status as the kubelet last reported it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pyk8s.apiserver import request as rq
from pyk8s.machinery import errors

Obj = dict[str, Any]
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)\Z")


def container_names(pod: Obj) -> list[str]:
    """Init, regular and ephemeral containers, in upstream's VisitContainers order."""
    spec = pod.get("spec") or {}
    return [
        c.get("name", "")
        for key in ("initContainers", "containers", "ephemeralContainers")
        for c in spec.get(key) or []
    ]


def validate_container(container: str, pod: Obj) -> str:
    """The container a request is for: the one named, or the only one."""
    name = pod["metadata"]["name"]
    if container:
        if container not in container_names(pod):
            raise errors.bad_request(f"container {container} is not valid for pod {name}")
        return container
    containers = (pod.get("spec") or {}).get("containers") or []
    if len(containers) == 1:
        return containers[0].get("name", "")
    if not containers:
        raise errors.bad_request(f"a container name must be specified for pod {name}")
    names = " ".join(container_names(pod))
    raise errors.bad_request(
        f"a container name must be specified for pod {name}, choose one of: [{names}]"
    )


def _container_status(pod: Obj, container: str) -> Obj | None:
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for cs in status.get(key) or []:
            if cs.get("name") == container:
                return cs
    return None


def log_status_error(pod: Obj, container: str, previous: bool) -> str | None:
    """Why there is no log to read for this container yet (None: there is one)."""
    name = pod["metadata"]["name"]
    cs = _container_status(pod, container)
    if cs is None:
        return f'container "{container}" in pod "{name}" is not available'
    last = (cs.get("lastState") or {}).get("terminated")
    state = cs.get("state") or {}
    if previous:
        if not last or not last.get("containerID"):
            return f'previous terminated container "{container}" in pod "{name}" not found'
        return None
    if state.get("running") is not None:
        return None
    terminated = state.get("terminated")
    if terminated is not None or last is not None:
        has_id = (terminated or {}).get("containerID") or (last or {}).get("containerID")
        return None if has_id else f'container "{container}" in pod "{name}" is terminated'
    waiting = state.get("waiting")
    if waiting is not None:
        reason = waiting.get("reason", "")
        why = {
            "ErrImagePull": "image can't be pulled",
            "ImagePullBackOff": "trying and failing to pull image",
        }.get(reason, reason)
        return f'container "{container}" in pod "{name}" is waiting to start: {why}'
    return f'container "{container}" in pod "{name}" is waiting to start - no logs yet'


def _optional_int(query: Mapping[str, str], name: str) -> int | None:
    return rq.int_param(query, name) if query.get(name, "") != "" else None


@dataclass
class LogRequest:
    container: str = ""
    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    since_seconds: int | None = None
    since_time: str | None = None
    tail_lines: int | None = None
    limit_bytes: int | None = None

    def kubelet_query(self) -> list[tuple[str, str]]:
        q = [(k, "true") for k in ("follow", "previous", "timestamps") if getattr(self, k)]
        for key, value in (
            ("sinceSeconds", self.since_seconds),
            ("sinceTime", self.since_time),
            ("tailLines", self.tail_lines),
            ("limitBytes", self.limit_bytes),
        ):
            if value is not None:
                q.append((key, str(value)))
        return q


def log_request(query: Mapping[str, str], pod_name: str) -> LogRequest:
    """PodLogOptions from the client's query, validated as upstream does."""
    req = LogRequest(
        container=query.get("container", ""),
        follow=rq.bool_param(query, "follow"),
        previous=rq.bool_param(query, "previous"),
        timestamps=rq.bool_param(query, "timestamps"),
        since_seconds=_optional_int(query, "sinceSeconds"),
        since_time=query.get("sinceTime") or None,
        tail_lines=_optional_int(query, "tailLines"),
        limit_bytes=_optional_int(query, "limitBytes"),
    )
    if req.since_time is not None and not _RFC3339.match(req.since_time):
        raise errors.bad_request(
            f'parsing time "{req.since_time}" as "2006-01-02T15:04:05Z07:00": cannot parse'
        )
    causes = []
    if req.tail_lines is not None and req.tail_lines < 0:
        causes.append(
            errors.field_invalid("tailLines", req.tail_lines, "must be greater than or equal to 0")
        )
    if req.limit_bytes is not None and req.limit_bytes < 1:
        causes.append(errors.field_invalid("limitBytes", req.limit_bytes, "must be greater than 0"))
    if req.since_seconds is not None and req.since_time is not None:
        causes.append(
            errors.field_forbidden(
                "", "at most one of `sinceTime` or `sinceSeconds` may be specified"
            )
        )
    elif req.since_seconds is not None and req.since_seconds < 1:
        causes.append(
            errors.field_invalid("sinceSeconds", req.since_seconds, "must be greater than 0")
        )
    if causes:
        raise errors.invalid("PodLogOptions", "", pod_name, causes)
    return req


@dataclass
class ExecRequest:
    container: str = ""
    command: list[str] = field(default_factory=list)
    stdin: bool = False
    stdout: bool = False
    stderr: bool = False
    tty: bool = False

    def kubelet_query(self) -> list[tuple[str, str]]:
        """The kubelet's spelling (upstream's streamParams: input, output, error, tty)."""
        q = [
            (key, "1")
            for key, on in (
                ("input", self.stdin),
                ("output", self.stdout),
                ("error", self.stderr),
                ("tty", self.tty),
            )
            if on
        ]
        return q + [("command", c) for c in self.command]


def exec_request(query: Any) -> ExecRequest:
    """PodExecOptions / PodAttachOptions from the client's query."""
    return ExecRequest(
        container=query.get("container", ""),
        command=list(query.getall("command", [])),
        stdin=rq.bool_param(query, "stdin"),
        stdout=rq.bool_param(query, "stdout"),
        stderr=rq.bool_param(query, "stderr"),
        tty=rq.bool_param(query, "tty"),
    )


def portforward_query(query: Any) -> list[tuple[str, str]]:
    """PodPortForwardOptions.ports, as the kubelet reads them (`port`, comma-joined)."""
    ports = [p for value in query.getall("ports", []) for p in value.split(",") if p]
    for p in ports:
        if not p.isdigit() or not 0 < int(p) < 65536:
            raise errors.bad_request(f'invalid port "{p}"')
    return [("port", ",".join(ports))] if ports else []
