"""One pod's containers driven one step toward the spec, as the kubelet's SyncPod:
pull the image (with back-off), create and start, restart an exited container
per restartPolicy (with crash back-off), and post upstream's events.

`ContainerSyncer.advance` is called for one container at a time and returns how
long until that container needs another look (None: only an event will change it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from pyk8s.client.clock import Clock
from pyk8s.kubelet.backoff import Backoff, go_duration, go_seconds
from pyk8s.kubelet.podstatus import ContainerRecord
from pyk8s.kubelet.runtime.base import ContainerCreateError, ImagePullError, Runtime, Sandbox

Obj = dict[str, Any]
log = logging.getLogger(__name__)

NORMAL, WARNING = "Normal", "Warning"
# After a failed pull, look again this soon: the pod then shows ImagePullBackOff
# for the rest of the back-off, as upstream's pod worker re-syncs a failed pod.
ERROR_RESYNC = 1.0

EventFunc = Callable[[str, str, str], None]  # (type, reason, message)


def pod_ref(pod: Obj) -> str:
    """name_namespace(uid), as the kubelet names a pod in its messages."""
    md = pod.get("metadata") or {}
    return f"{md.get('name')}_{md.get('namespace')}({md.get('uid')})"


def default_pull_policy(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    if "@" in image:
        return "IfNotPresent"
    tag = last.partition(":")[2]
    return "Always" if not tag or tag == "latest" else "IfNotPresent"


def should_restart(pod_policy: str, rec: ContainerRecord) -> bool:
    """Whether an exited container starts again (init containers never restart on success)."""
    code = rec.exit.exit_code if rec.exit else 0
    if rec.init:
        return code != 0 and pod_policy != "Never"
    if pod_policy == "Always":
        return True
    return pod_policy == "OnFailure" and code != 0


class ContainerSyncer:
    def __init__(
        self,
        runtime: Runtime,
        clock: Clock,
        image_backoff: Backoff,
        crash_backoff: Backoff,
        error_resync: float = ERROR_RESYNC,
    ) -> None:
        self.runtime = runtime
        self.clock = clock
        self.image_backoff = image_backoff
        self.crash_backoff = crash_backoff
        self.error_resync = error_resync

    async def advance(
        self,
        pod: Obj,
        sandbox: Sandbox,
        rec: ContainerRecord,
        container: Obj,
        event: EventFunc,
        on_start: Callable[[ContainerRecord, str], None],
    ) -> float | None:
        if rec.state == "running" and not rec.probe_kill:
            return None
        policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
        if rec.state == "running" and not await self._kill_unhealthy(pod, rec, container, event):
            return None
        restarting = rec.has_run
        if restarting:
            if rec.state == "terminated" and not should_restart(policy, rec):
                return None
            wait = self._crash_backoff(pod, rec, event)
            if wait is not None:
                return wait
        wait = await self._ensure_image(pod, rec, container, event)
        if wait is not False:
            return wait
        try:
            cid = await self.runtime.create_container(
                sandbox.id, pod, container, rec.restart_count + int(restarting), rec.init
            )
            event(NORMAL, "Created", f"Created container {rec.name}")
            started = await self.runtime.start_container(cid)
        except ContainerCreateError as err:
            event(WARNING, "Failed", f"Error: {err}")
            rec.set_waiting(err.reason, str(err))
            return self.error_resync
        event(NORMAL, "Started", f"Started container {rec.name}")
        if restarting:
            rec.restart_count += 1
        rec.set_running(cid, started)
        rec.ready = not rec.init
        on_start(rec, cid)
        return None

    async def _kill_unhealthy(
        self, pod: Obj, rec: ContainerRecord, container: Obj, event: EventFunc
    ) -> bool:
        """Stop a container that failed its liveness or startup probe; True if it is
        to start again (any restartPolicy but Never, whatever its exit code)."""
        kind, cid = rec.probe_kill, rec.container_id
        restart = ((pod.get("spec") or {}).get("restartPolicy") or "Always") != "Never"
        message = f"Container {rec.name} failed {kind} probe"
        event(NORMAL, "Killing", f"{message}, will be restarted" if restart else message)
        exit_ = await self.runtime.stop_container(cid, kill_grace(pod, container, kind))
        if rec.container_id != cid:
            return False
        if rec.state == "running":
            rec.set_terminated(exit_)
        if restart:
            # Waiting, not terminated, until it runs again: a clean exit of a killed
            # container must not read as a pod that Succeeded.
            rec.set_waiting("ContainerCreating")
        rec.probe_kill = ""
        return restart

    def _crash_backoff(self, pod: Obj, rec: ContainerRecord, event: EventFunc) -> float | None:
        """None if the container may start again now; else the wait, and it waits
        in CrashLoopBackOff."""
        key = f"{pod['metadata']['uid']}_{rec.name}"
        if self.crash_backoff.in_backoff(key):
            delay = self.crash_backoff.get(key)
            if rec.reason != "CrashLoopBackOff" or rec.state != "waiting":
                event(
                    WARNING,
                    "BackOff",
                    f"Back-off restarting failed container {rec.name} in pod {pod_ref(pod)}",
                )
            rec.set_waiting(
                "CrashLoopBackOff",
                f"back-off {go_seconds(delay)} restarting failed container={rec.name} "
                f"pod={pod_ref(pod)}",
            )
            return self.crash_backoff.remaining(key)
        self.crash_backoff.next(key)
        return None

    async def _ensure_image(
        self, pod: Obj, rec: ContainerRecord, container: Obj, event: EventFunc
    ) -> float | None | bool:
        """False when the image is ready; otherwise the container waits (the wait)."""
        image = container.get("image") or ""
        policy = container.get("imagePullPolicy") or default_pull_policy(image)
        local = self.runtime.local_image(image)
        if policy == "Never" and not local:
            msg = f'Container image "{image}" is not present with pull policy of Never'
            event(WARNING, "ErrImageNeverPull", msg)
            event(WARNING, "Failed", "Error: ErrImageNeverPull")
            rec.set_waiting("ErrImageNeverPull", msg)
            return None
        if local and policy != "Always":
            event(NORMAL, "Pulled", f'Container image "{image}" already present on machine')
            rec.image_id = local
            return False
        key = f"{pod['metadata']['uid']}_{image}"
        if self.image_backoff.in_backoff(key):
            msg = f'Back-off pulling image "{image}"'
            event(NORMAL, "BackOff", msg)
            event(WARNING, "Failed", "Error: ImagePullBackOff")
            rec.set_waiting("ImagePullBackOff", msg)
            return self.image_backoff.remaining(key)
        event(NORMAL, "Pulling", f'Pulling image "{image}"')
        began = self.clock.now()
        try:
            pulled = await self.runtime.pull_image(image, pod)
        except ImagePullError as err:
            event(WARNING, "Failed", f'Failed to pull image "{image}": {err}')
            self.image_backoff.next(key)
            event(WARNING, "Failed", "Error: ErrImagePull")
            rec.set_waiting("ErrImagePull", str(err))
            return min(self.error_resync, self.image_backoff.remaining(key))
        took = go_duration(self.clock.now() - began)
        event(
            NORMAL,
            "Pulled",
            f'Successfully pulled image "{image}" in {took} ({took} including waiting). '
            f"Image size: {pulled.size} bytes.",
        )
        rec.image_id = pulled.image_id
        return False


def kill_grace(pod: Obj, container: Obj, kind: str) -> float:
    """The grace period of a container killed by its `kind` ("liveness" / "startup")
    probe: the probe's own terminationGracePeriodSeconds, else the pod's."""
    deleting = (pod.get("metadata") or {}).get("deletionGracePeriodSeconds")
    if deleting is not None:
        return float(deleting)
    pod_grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
    if pod_grace is None:
        return 2.0  # upstream's minimum when the pod sets none
    own = (container.get(f"{kind}Probe") or {}).get("terminationGracePeriodSeconds")
    return float(own if own is not None else pod_grace)


async def stop_all(
    runtime: Runtime, records: list[ContainerRecord], grace: float, event: EventFunc
) -> None:
    """Stop every running container at once, each with the pod's grace period."""
    running = [r for r in records if r.state == "running"]
    for rec in running:
        event(NORMAL, "Killing", f"Stopping container {rec.name}")
    exits = await asyncio.gather(
        *(runtime.stop_container(r.container_id, grace) for r in running), return_exceptions=True
    )
    for rec, exit_ in zip(running, exits, strict=True):
        if isinstance(exit_, BaseException):
            log.warning("stopping container %s failed: %s", rec.name, exit_)
            continue
        rec.set_terminated(exit_)
