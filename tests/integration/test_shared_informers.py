"""In one process the scheduler shares the controller manager's informers (each
resource watched and decoded once), and stopping the scheduler leaves them running."""

from __future__ import annotations

from pathlib import Path

from pyk8s.controlplane import ControlPlane, ControlPlaneConfig


async def test_scheduler_shares_and_leaves_the_managers_informers(tmp_path: Path) -> None:
    plane = ControlPlane(ControlPlaneConfig(data_dir=tmp_path, port=0, durable=False))
    await plane.start()
    try:
        factory = plane.manager.factory
        assert plane.scheduler.factory is factory
        pods = plane.scheduler.pod_informer
        assert pods is factory.informer(plane.client.resource("v1", "pods"))
        assert pods.has_synced()
        await plane.scheduler.stop()
        assert all(i._task is not None and not i._task.done() for i in factory.informers())
        plane.scheduler = None
    finally:
        await plane.stop()


async def test_over_https_the_scheduler_keeps_informers_of_its_own(tmp_path: Path) -> None:
    config = ControlPlaneConfig(data_dir=tmp_path, port=0, durable=False, in_process_clients=False)
    plane = ControlPlane(config)
    await plane.start()
    try:
        assert plane.scheduler.factory is not plane.manager.factory
    finally:
        await plane.stop()
