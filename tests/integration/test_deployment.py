"""The Deployment controller end to end: a control plane with the deployment and
replica set controllers, pods made ready by a fake kubelet, real kubectl for the
rollout commands."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from deploy_helpers import (
    KUBECTL_132,
    FakeKubelet,
    control_plane,
    deployment_body,
    run_kubectl,
    wait_for,
)

from pyk8s.controllers.deployment.util import (
    DESIRED_REPLICAS,
    HASH_LABEL,
    MAX_REPLICAS,
    REVISION,
    REVISION_HISTORY,
)
from pyk8s.machinery import meta

NS = "default"


async def _rss(client, name: str, app: str | None = None) -> list[dict]:
    rs_res = client.resource("apps/v1", "replicasets")
    items = (await client.list(rs_res, NS, label_selector=f"app={app or name}"))["items"]
    return sorted(items, key=lambda r: int(r["metadata"]["annotations"].get(REVISION, "0")))


async def _deploy(client, name: str) -> dict:
    return await client.get(client.resource("apps/v1", "deployments"), name, NS)


def _cond(d: dict, type_: str) -> dict:
    return next(c for c in d["status"].get("conditions", []) if c["type"] == type_)


async def _complete(client, name: str) -> dict | None:
    d = await _deploy(client, name)
    st, want = d.get("status") or {}, d["spec"]["replicas"]
    done = (
        st.get("observedGeneration", 0) >= d["metadata"]["generation"]
        and st.get("updatedReplicas") == want
        and st.get("replicas") == want
        and st.get("availableReplicas") == want
    )
    return d if done else None


async def test_create_makes_replica_set_and_completes(tmp_path: Path) -> None:
    async with control_plane(tmp_path) as (cp, client), FakeKubelet(client):
        dres = client.resource("apps/v1", "deployments")
        created = await client.create(dres, deployment_body("web", replicas=3), NS)
        d = await wait_for(lambda: _complete(client, "web"))
        (rs,) = await _rss(client, "web")
        pod_hash = rs["metadata"]["labels"][HASH_LABEL]
        assert rs["metadata"]["name"] == f"web-{pod_hash}"
        assert 6 <= len(pod_hash) <= 10 and set(pod_hash) <= set("456789bcdf")
        assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", HASH_LABEL: pod_hash}
        template = dict(rs["spec"]["template"])
        assert template["metadata"]["labels"] == {"app": "web", HASH_LABEL: pod_hash}
        template["metadata"] = {"creationTimestamp": None, "labels": {"app": "web"}}
        assert template == created["spec"]["template"]  # a verbatim copy otherwise
        (owner,) = rs["metadata"]["ownerReferences"]
        assert owner["uid"] == created["metadata"]["uid"] and owner["controller"] is True
        ann = rs["metadata"]["annotations"]
        assert ann[REVISION] == "1" and ann[DESIRED_REPLICAS] == "3" and ann[MAX_REPLICAS] == "4"
        assert d["metadata"]["annotations"][REVISION] == "1"
        assert d["status"]["readyReplicas"] == 3
        assert d["status"].get("unavailableReplicas", 0) == 0
        avail, prog = _cond(d, "Available"), _cond(d, "Progressing")
        assert (avail["status"], avail["reason"]) == ("True", "MinimumReplicasAvailable")
        assert avail["message"] == "Deployment has minimum availability."
        assert (prog["status"], prog["reason"]) == ("True", "NewReplicaSetAvailable")
        assert (
            prog["message"] == f'ReplicaSet "{rs["metadata"]["name"]}" has successfully progressed.'
        )
        events = (await client.list(client.resource("v1", "events"), NS))["items"]
        msgs = [
            (e["source"]["component"], e["reason"], e["message"])
            for e in events
            if e["involvedObject"]["kind"] == "Deployment"
        ]
        expect = f"Scaled up replica set {rs['metadata']['name']} to 3"
        assert ("deployment-controller", "ScalingReplicaSet", expect) in msgs


def _pod_counts(pods: dict[str, dict]) -> tuple[int, int]:
    live = [p for p in pods.values() if not meta.is_being_deleted(p)]
    ready = [
        p
        for p in live
        if any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in (p.get("status") or {}).get("conditions") or []
        )
    ]
    return len(live), len(ready)


async def test_rolling_update_keeps_availability_and_surge_bounds(tmp_path: Path) -> None:
    """10 replicas, 25%/25%: at every watch event available >= 8 and total <= 13."""
    async with control_plane(tmp_path) as (cp, client), FakeKubelet(client, delay=0.05):
        dres, pres = client.resource("apps/v1", "deployments"), client.resource("v1", "pods")
        await client.create(dres, deployment_body("big", replicas=10), NS)
        await wait_for(lambda: _complete(client, "big"))
        pods: dict[str, dict] = {}
        listed = await client.list(pres, NS)
        for p in listed["items"]:
            pods[p["metadata"]["name"]] = p
        seen: list[tuple[int, int]] = []
        status_seen: list[dict] = []

        async def watch_pods() -> None:
            rv = listed["metadata"]["resourceVersion"]
            async for ev, p in client.watch(pres, NS, resource_version=rv):
                if ev == "DELETED":
                    pods.pop(p["metadata"]["name"], None)
                else:
                    pods[p["metadata"]["name"]] = p
                seen.append(_pod_counts(pods))

        async def watch_deploy() -> None:
            async for _ev, d in client.watch(dres, NS, field_selector="metadata.name=big"):
                status_seen.append(d.get("status") or {})

        tasks = [asyncio.create_task(watch_pods()), asyncio.create_task(watch_deploy())]
        await asyncio.sleep(0.2)
        patch = {
            "spec": {
                "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.16.0"}]}}
            }
        }
        await client.patch(dres, "big", patch, NS)
        d = await wait_for(lambda: _complete(client, "big"), timeout=30)
        await asyncio.sleep(0.2)
        for t in tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        assert len(seen) > 20  # the rollout really went through many steps
        for total, ready in seen:
            assert total <= 13, seen
            assert ready >= 8, seen
        for st in status_seen:
            assert st.get("availableReplicas", 10) >= 8, status_seen
            assert st.get("replicas", 10) <= 13, status_seen
        old, new = await _rss(client, "big")
        assert old["spec"]["replicas"] == 0 and new["spec"]["replicas"] == 10
        assert d["metadata"]["annotations"][REVISION] == "2"
        assert _cond(d, "Progressing")["reason"] == "NewReplicaSetAvailable"


ROLLOUT_YAML = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: rollout-nginx
spec:
  replicas: 3
  selector:
    matchLabels:
      app: nginx-updated
  template:
    metadata:
      labels:
        app: nginx-updated
    spec:
      containers:
      - name: nginx
        image: nginx:1.15.12
"""


def _history(out: str) -> list[tuple[str, str]]:
    rows = [line.split(None, 1) for line in out.splitlines()[2:] if line.strip()]
    return [(r[0], r[1].strip() if len(r) > 1 else "") for r in rows]


@pytest.mark.skipif(not Path(KUBECTL_132).exists(), reason="kubectl 1.32 not installed")
async def test_seed_rollout_history_undo(tmp_path: Path) -> None:
    """The seed's 3.2.10 walkthrough: set image --record, a stalled rollout on a
    missing image, undo, undo --to-revision=1, with the seed's revision numbers."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "rollout-nginx.yaml").write_text(ROLLOUT_YAML)
    async with (
        control_plane(tmp_path / "cp") as (cp, client),
        FakeKubelet(client, delay=0.05, unpullable=("nginx:1.17.23",)),
    ):

        async def kubectl(*args: str, ok: bool = True, timeout: float = 30.0) -> str:
            rc, out, err = await run_kubectl(cp, *args, cwd=work, timeout=timeout)
            if ok:
                assert rc == 0, (args, out, err)
            return out + err

        await kubectl("apply", "-f", "./rollout-nginx.yaml", "--record")
        out = await kubectl("rollout", "status", "deployment", "rollout-nginx", timeout=20)
        assert 'deployment "rollout-nginx" successfully rolled out' in out
        out = await kubectl(
            "set", "image", "deployment", "rollout-nginx", "nginx=nginx:1.16.0", "--record"
        )
        assert "deployment.apps/rollout-nginx image updated" in out
        out = await kubectl("rollout", "status", "deployment", "rollout-nginx", timeout=20)
        assert out.rstrip().endswith('deployment "rollout-nginx" successfully rolled out')
        out = await kubectl("rollout", "history", "deployment", "rollout-nginx")
        assert _history(out) == [
            ("1", "kubectl apply --filename=./rollout-nginx.yaml --record=true"),
            ("2", "kubectl set image deployment rollout-nginx nginx=nginx:1.16.0 --record=true"),
        ]

        # A missing image: one new pod, stuck; the rollout waits at "1 out of 3".
        await kubectl(
            "set", "image", "deployment", "rollout-nginx", "nginx=nginx:1.17.23", "--record"
        )
        out = await kubectl(
            "rollout", "status", "deployment", "rollout-nginx", "--timeout=3s", ok=False
        )
        assert (
            'Waiting for deployment "rollout-nginx" rollout to finish: '
            "1 out of 3 new replicas have been updated..."
        ) in out
        assert "successfully rolled out" not in out
        desc = await kubectl("describe", "deployment", "rollout-nginx")
        lines = [" ".join(line.split()) for line in desc.splitlines()]
        assert "Available True MinimumReplicasAvailable" in lines
        assert "Progressing True ReplicaSetUpdated" in lines
        rss = await _rss(client, "rollout-nginx", "nginx-updated")
        old2, new3 = rss[1]["metadata"]["name"], rss[2]["metadata"]["name"]
        # kubectl 1.32 lists every old set, scaled-down ones as (0/0 ...) too.
        (old_line,) = [line for line in lines if line.startswith("OldReplicaSets:")]
        assert f"{old2} (3/3 replicas created)" in old_line
        assert f"NewReplicaSet: {new3} (1/1 replicas created)" in lines
        assert any(f"Scaled up replica set {new3} to 1" in line for line in lines)
        out = await kubectl("rollout", "history", "deployment", "rollout-nginx")
        assert [r for r, _ in _history(out)] == ["1", "2", "3"]

        out = await kubectl("rollout", "undo", "deployment", "rollout-nginx")
        assert "deployment.apps/rollout-nginx rolled back" in out
        out = await kubectl("rollout", "status", "deployment", "rollout-nginx", timeout=20)
        assert 'deployment "rollout-nginx" successfully rolled out' in out
        out = await kubectl("rollout", "history", "deployment", "rollout-nginx")
        assert _history(out) == [
            ("1", "kubectl apply --filename=./rollout-nginx.yaml --record=true"),
            ("3", "kubectl set image deployment rollout-nginx nginx=nginx:1.17.23 --record=true"),
            ("4", "kubectl set image deployment rollout-nginx nginx=nginx:1.16.0 --record=true"),
        ]
        reused = next(
            r
            for r in await _rss(client, "rollout-nginx", "nginx-updated")
            if r["metadata"]["name"] == old2
        )
        assert reused["metadata"]["annotations"][REVISION] == "4"
        assert reused["metadata"]["annotations"][REVISION_HISTORY] == "2"
        desc = await kubectl("describe", "deployment", "rollout-nginx")
        lines = [" ".join(line.split()) for line in desc.splitlines()]
        assert "Progressing True NewReplicaSetAvailable" in lines
        assert f"NewReplicaSet: {old2} (3/3 replicas created)" in lines

        out = await kubectl("rollout", "undo", "deployment", "rollout-nginx", "--to-revision=1")
        assert "deployment.apps/rollout-nginx rolled back" in out
        await kubectl("rollout", "status", "deployment", "rollout-nginx", timeout=20)
        out = await kubectl("rollout", "history", "deployment", "rollout-nginx")
        assert _history(out) == [
            ("3", "kubectl set image deployment rollout-nginx nginx=nginx:1.17.23 --record=true"),
            ("4", "kubectl set image deployment rollout-nginx nginx=nginx:1.16.0 --record=true"),
            ("5", "kubectl apply --filename=./rollout-nginx.yaml --record=true"),
        ]


async def _wait_rs_sizes(client, name: str, want: list[int]) -> list[dict]:
    async def check():
        rss = await _rss(client, name)
        return rss if [r["spec"]["replicas"] for r in rss] == want else None

    return await wait_for(check, timeout=20)


def _image_patch(image: str) -> dict:
    return {"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": image}]}}}}


async def test_stuck_rollout_scales_proportionally(tmp_path: Path) -> None:
    """A rollout stuck on a missing image holds at replicas + maxSurge; scaling the
    deployment then shares the change between old and new sets by size."""
    async with (
        control_plane(tmp_path) as (cp, client),
        FakeKubelet(client, delay=0.02, unpullable=("*:missing",)),
    ):
        dres = client.resource("apps/v1", "deployments")
        await client.create(dres, deployment_body("prop", replicas=10), NS)
        await wait_for(lambda: _complete(client, "prop"))
        await client.patch(dres, "prop", _image_patch("nginx:missing"), NS)
        await _wait_rs_sizes(client, "prop", [8, 5])  # 13 = 10 + surge 3; 8 = 10 - 2
        await asyncio.sleep(0.3)
        await _wait_rs_sizes(client, "prop", [8, 5])  # and it stays there
        await client.patch_scale(dres, "prop", {"spec": {"replicas": 20}}, NS)
        old, new = await _wait_rs_sizes(client, "prop", [15, 10])  # 25 = 20 + surge 5
        assert old["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "20"
        assert new["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "25"

        async def available():  # 15 ready old pods >= 20 - maxUnavailable 5
            return _cond(await _deploy(client, "prop"), "Available")["status"] == "True"

        await wait_for(available)


async def test_progress_deadline_exceeded(tmp_path: Path) -> None:
    async with (
        control_plane(tmp_path) as (cp, client),
        FakeKubelet(client, delay=0.02, unpullable=("*:missing",)),
    ):
        dres = client.resource("apps/v1", "deployments")
        body = deployment_body("slow", replicas=2, progressDeadlineSeconds=1)
        await client.create(dres, body, NS)
        await wait_for(lambda: _complete(client, "slow"))
        await client.patch(dres, "slow", _image_patch("nginx:missing"), NS)

        async def timed_out():
            d = await _deploy(client, "slow")
            cond = _cond(d, "Progressing")
            return d if cond["reason"] == "ProgressDeadlineExceeded" else None

        d = await wait_for(timed_out, timeout=10)
        cond = _cond(d, "Progressing")
        new_rs = (await _rss(client, "slow"))[-1]["metadata"]["name"]
        assert cond["status"] == "False"
        assert cond["message"] == f'ReplicaSet "{new_rs}" has timed out progressing.'
        if Path(KUBECTL_132).exists():
            rc, out, err = await run_kubectl(cp, "rollout", "status", "deployment", "slow")
            assert rc == 1
            assert 'error: deployment "slow" exceeded its progress deadline' in err


async def test_paused_deployment_scales_but_does_not_roll_out(tmp_path: Path) -> None:
    async with control_plane(tmp_path) as (cp, client), FakeKubelet(client, delay=0.02):
        dres = client.resource("apps/v1", "deployments")
        await client.create(dres, deployment_body("p", replicas=2), NS)
        await wait_for(lambda: _complete(client, "p"))
        await client.patch(dres, "p", {"spec": {"paused": True}}, NS)

        async def paused_cond():
            d = await _deploy(client, "p")
            return _cond(d, "Progressing")["reason"] == "DeploymentPaused" and d

        d = await wait_for(paused_cond)
        assert _cond(d, "Progressing")["status"] == "Unknown"
        await client.patch(dres, "p", _image_patch("nginx:1.16.0"), NS)
        await client.patch_scale(dres, "p", {"spec": {"replicas": 4}}, NS)
        (rs,) = await _wait_rs_sizes(client, "p", [4])
        await asyncio.sleep(0.3)
        assert len(await _rss(client, "p")) == 1  # no rollout while paused
        await client.patch(dres, "p", {"spec": {"paused": False}}, NS)
        d = await wait_for(lambda: _complete(client, "p"))
        old, new = await _rss(client, "p")
        assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (0, 4)
        assert new["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.16.0"


async def test_recreate_never_runs_old_and_new_together(tmp_path: Path) -> None:
    async with control_plane(tmp_path) as (cp, client), FakeKubelet(client, delay=0.02):
        dres, pres = client.resource("apps/v1", "deployments"), client.resource("v1", "pods")
        body = deployment_body("re", replicas=3, strategy={"type": "Recreate"})
        await client.create(dres, body, NS)
        await wait_for(lambda: _complete(client, "re"))
        listed = await client.list(pres, NS)
        pods = {p["metadata"]["name"]: p for p in listed["items"]}
        mixes: list[set[str]] = []

        async def watch() -> None:
            rv = listed["metadata"]["resourceVersion"]
            async for ev, p in client.watch(pres, NS, resource_version=rv):
                if ev == "DELETED":
                    pods.pop(p["metadata"]["name"], None)
                else:
                    pods[p["metadata"]["name"]] = p
                mixes.append({q["spec"]["containers"][0]["image"] for q in pods.values()})

        task = asyncio.create_task(watch())
        await asyncio.sleep(0.1)
        await client.patch(dres, "re", _image_patch("nginx:1.16.0"), NS)
        await wait_for(lambda: _complete(client, "re"))
        await asyncio.sleep(0.1)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert mixes and all(len(m) <= 1 for m in mixes), mixes
        assert mixes[-1] == {"nginx:1.16.0"}


async def test_revision_history_limit_cleans_old_sets(tmp_path: Path) -> None:
    async with control_plane(tmp_path) as (cp, client), FakeKubelet(client, delay=0.02):
        dres = client.resource("apps/v1", "deployments")
        await client.create(dres, deployment_body("h", replicas=1, revisionHistoryLimit=1), NS)
        for tag in ("1.16.0", "1.17.0", "1.18.0"):
            await wait_for(lambda: _complete(client, "h"))
            await client.patch(dres, "h", _image_patch(f"nginx:{tag}"), NS)
        await wait_for(lambda: _complete(client, "h"))

        async def two_left():
            rss = await _rss(client, "h")
            return rss if len(rss) == 2 else None

        old, new = await wait_for(two_left)
        assert (
            old["metadata"]["annotations"][REVISION],
            new["metadata"]["annotations"][REVISION],
        ) == ("3", "4")


async def test_adopts_orphan_replica_set(tmp_path: Path) -> None:
    """A matching replica set nobody controls is adopted, and being of the same
    template it becomes the deployment's new set (no second set is created)."""
    async with control_plane(tmp_path) as (cp, client), FakeKubelet(client, delay=0.02):
        dres, rs_res = (
            client.resource("apps/v1", "deployments"),
            client.resource("apps/v1", "replicasets"),
        )
        body = deployment_body("a", replicas=2)
        orphan = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "a-orphan", "labels": {"app": "a"}},
            "spec": {k: body["spec"][k] for k in ("replicas", "selector", "template")},
        }
        await client.create(rs_res, orphan, NS)
        created = await client.create(dres, body, NS)

        async def adopted():
            cur = await client.get(rs_res, "a-orphan", NS)
            refs = cur["metadata"].get("ownerReferences") or []
            return any(r["uid"] == created["metadata"]["uid"] and r["controller"] for r in refs)

        await wait_for(adopted)
        await wait_for(lambda: _complete(client, "a"))
        (rs,) = await _rss(client, "a")
        assert rs["metadata"]["name"] == "a-orphan"
        assert rs["metadata"]["annotations"][REVISION] == "1"
