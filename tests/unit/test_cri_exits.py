"""The containerd runtime notices container exits by relisting, and a stop that
settles the same exit while a relist is in flight must not break the relist."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pyk8s.kubelet.cni import NodeNetwork
from pyk8s.kubelet.cri import CONTAINER_EXITED, CONTAINER_RUNNING
from pyk8s.kubelet.runtime.cri import CriRuntime
from pyk8s.kubelet.runtime.crirecords import ContainerInfo


class SlowCri:
    """The first container_status waits until released, as a busy containerd may."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.calls = 0
        self.states = {"a": CONTAINER_RUNNING, "b": CONTAINER_RUNNING}

    async def list_containers(self, filter: dict | None = None) -> list[dict]:
        return [{"id": c} for c, s in self.states.items() if s == CONTAINER_RUNNING]

    async def container_status(self, cid: str) -> dict:
        self.calls += 1
        if self.calls == 1:
            await self.release.wait()
        return {"status": {"id": cid, "state": self.states[cid], "exit_code": 3}}

    async def stop_container(self, cid: str, timeout: int) -> None:
        self.states[cid] = CONTAINER_EXITED


def runtime(tmp_path: Path, cri: SlowCri) -> CriRuntime:
    rt = CriRuntime(cri, node_name="n", node_dir=tmp_path, network=NodeNetwork("n", tmp_path))  # type: ignore[arg-type]
    for cid in cri.states:
        rt.containers[cid] = ContainerInfo(cid, "sb", "ns", "p", "u", cid, 0, tmp_path / f"{cid}.log")
    return rt


async def test_stop_during_a_relist_does_not_break_it(tmp_path: Path) -> None:
    cri = SlowCri()
    rt = runtime(tmp_path, cri)
    waits = {cid: asyncio.create_task(rt.wait_container("containerd://" + cid)) for cid in cri.states}
    await asyncio.sleep(0)
    cri.states["a"] = cri.states["b"] = CONTAINER_EXITED  # both exit on their own
    relist = asyncio.create_task(rt._relist())
    await asyncio.sleep(0.01)  # the relist now waits on a's status
    # a is stopped (and its exit settled) while the relist still waits on it.
    await asyncio.wait_for(rt.stop_container("containerd://a", 0), 1)
    assert waits["a"].done()
    cri.release.set()
    await asyncio.wait_for(relist, 1)  # no InvalidStateError
    assert (await asyncio.wait_for(waits["a"], 1)).exit_code == 3
    assert (await asyncio.wait_for(waits["b"], 1)).exit_code == 3  # b still noticed
    assert rt.containers["a"].exited and rt.containers["b"].exited
