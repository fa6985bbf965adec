"""The containerd runtime's side of an agent restart (adopting the sandboxes and
containers it finds) and of the kubelet API (finding a pod's containers for logs,
exec, attach and port-forward). A mixin of CriRuntime, over its `cri`,
`sandboxes`, `containers` and `_existing` (what was running at start)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyk8s.kubelet.cri import CONTAINER_RUNNING, SANDBOX_READY, CriClient
from pyk8s.kubelet.runtime import crispec
from pyk8s.kubelet.runtime.base import AdoptedContainer, Sandbox
from pyk8s.kubelet.runtime.crirecords import PREFIX, ContainerInfo, SandboxInfo, strip_id
from pyk8s.kubelet.server.backend import ContainerRef, PodRef

Obj = dict[str, Any]


class CriBackend:
    cri: CriClient
    node_dir: Path
    cgroup_root: str
    sandboxes: dict[str, SandboxInfo]
    containers: dict[str, ContainerInfo]
    _existing: dict[str, tuple[Obj, list[Obj]]]

    async def _remove_sandbox(self, sandbox_id: str, keep_files: bool = False) -> None:
        raise NotImplementedError

    # -- adoption after an agent restart ---------------------------------------

    async def _load_existing(self) -> None:
        sandboxes = {
            s["id"]: s for s in await self.cri.list_pod_sandbox({"state": {"state": SANDBOX_READY}})
        }
        by_sandbox: dict[str, list[Obj]] = {}
        for c in await self.cri.list_containers():
            by_sandbox.setdefault(c.get("pod_sandbox_id", ""), []).append(c)
        for sid, sandbox in sandboxes.items():
            uid = (sandbox.get("labels") or {}).get(crispec.POD_UID, "")
            if uid:
                self._existing[uid] = (sandbox, by_sandbox.get(sid, []))

    def adopt(self, pod: Obj) -> tuple[Sandbox, list[AdoptedContainer]] | None:
        found = self._existing.pop(pod["metadata"].get("uid", ""), None)
        if found is None:
            return None
        sandbox, containers = found
        meta = pod["metadata"]
        ip = ((pod.get("status") or {}).get("podIP")) or ""
        info = SandboxInfo.of_pod(sandbox["id"], pod, ip, {}, self.node_dir)
        info.config = crispec.sandbox_config(
            pod, attempt=0, log_directory=str(info.log_dir), cgroup_root=self.cgroup_root
        )
        self.sandboxes[sandbox["id"]] = info
        log_dir = info.log_dir
        adopted = []
        specs = {c["name"]: c for c in (pod.get("spec") or {}).get("containers") or []}
        for c in containers:
            name = (c.get("labels") or {}).get(crispec.CONTAINER_NAME, "")
            attempt = int((c.get("metadata") or {}).get("attempt") or 0)
            self.containers[c["id"]] = ContainerInfo(
                c["id"],
                sandbox["id"],
                meta.get("namespace", ""),
                meta["name"],
                meta["uid"],
                name,
                attempt,
                log_dir / name / f"{attempt}.log",
                spec=specs.get(name, {}),
            )
            if int(c.get("state") or 0) == CONTAINER_RUNNING and name in specs:
                adopted.append(
                    AdoptedContainer(
                        name,
                        PREFIX + c["id"],
                        c.get("image_ref") or "",
                        crispec.rfc3339_from_nanos(int(c.get("created_at") or 0)),
                    )
                )
        return Sandbox(sandbox["id"], ip), adopted

    def forget_unadopted(self) -> list[str]:
        """Sandboxes found at start whose pods never showed up (deleted meanwhile)."""
        ids = [sandbox["id"] for sandbox, _ in self._existing.values()]
        self._existing.clear()
        return ids

    async def remove_orphans(self) -> None:
        for sandbox_id in self.forget_unadopted():
            await self._remove_sandbox(sandbox_id)

    # -- the kubelet API's backend ---------------------------------------------

    def find_container(
        self, namespace: str, pod: str, container: str, previous: bool
    ) -> ContainerRef | None:
        instances = sorted(
            (
                c
                for c in self.containers.values()
                if c.namespace == namespace and c.pod == pod and c.name == container
            ),
            key=lambda c: c.attempt,
        )
        if previous:
            instances = instances[:-1]
        if not instances:
            return None
        c = instances[-1]
        running = not previous and not c.exited
        sandbox = self.sandboxes.get(c.sandbox_id)
        return ContainerRef(c.id, c.log_path, running, sandbox.ip if sandbox else "")

    def pod_ref(self, namespace: str, pod: str) -> PodRef | None:
        for s in self.sandboxes.values():
            if s.namespace == namespace and s.name == pod:
                return PodRef(s.id, s.ip)
        return None

    async def exec_url(
        self,
        container_id: str,
        cmd: list[str],
        tty: bool,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> str:
        return await self.cri.exec(
            {
                "container_id": strip_id(container_id),
                "cmd": cmd,
                "tty": tty,
                "stdin": stdin,
                "stdout": stdout,
                "stderr": stderr and not tty,
            }
        )

    async def attach_url(
        self, container_id: str, tty: bool, stdin: bool, stdout: bool, stderr: bool
    ) -> str:
        return await self.cri.attach(
            {
                "container_id": strip_id(container_id),
                "tty": tty,
                "stdin": stdin,
                "stdout": stdout,
                "stderr": stderr and not tty,
            }
        )
