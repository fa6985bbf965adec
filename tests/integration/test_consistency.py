"""Optimistic concurrency, watch ordering and durability, over real HTTP."""

from __future__ import annotations

import asyncio
import ssl
import threading
from pathlib import Path

import aiohttp
import orjson
from servers import ProcessServer


def _session(srv) -> aiohttp.ClientSession:
    ctx = ssl.create_default_context(cafile=srv.ca_file)
    return aiohttp.ClientSession(
        base_url=srv.url,
        headers={"Authorization": f"Bearer {srv.token}"},
        connector=aiohttp.TCPConnector(ssl=ctx, limit=64),
    )


CM = "/api/v1/namespaces/default/configmaps"


async def _create_cm(s: aiohttp.ClientSession, name: str, data: dict | None = None) -> dict:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data or {}}
    async with s.post(CM, json=body) as r:
        assert r.status == 201, await r.text()
        return await r.json()


async def test_two_updates_from_one_version_one_wins(fresh_server):
    async with _session(fresh_server) as s:
        cm = await _create_cm(s, "race", {"n": "0"})
        a = dict(cm, data={"n": "a"})
        b = dict(cm, data={"n": "b"})
        results = await asyncio.gather(s.put(f"{CM}/race", json=a), s.put(f"{CM}/race", json=b))
        codes = sorted(r.status for r in results)
        assert codes == [200, 409]
        loser = next(r for r in results if r.status == 409)
        status = await loser.json()
        assert status["reason"] == "Conflict"
        assert status["message"] == (
            'Operation cannot be fulfilled on configmaps "race": the object has been modified; '
            "please apply your changes to the latest version and try again"
        )
        for r in results:
            r.release()


async def _increment(s: aiohttp.ClientSession, mode: str, times: int) -> int:
    conflicts = 0
    done = 0
    while done < times:
        async with s.get(f"{CM}/counter") as r:
            cm = await r.json()
        n = int(cm["data"]["n"]) + 1
        rv = cm["metadata"]["resourceVersion"]
        if mode == "put":
            cm["data"]["n"] = str(n)
            req = s.put(f"{CM}/counter", json=cm)
        else:
            ct = {
                "merge": "application/merge-patch+json",
                "strategic": "application/strategic-merge-patch+json",
            }[mode]
            body = orjson.dumps({"metadata": {"resourceVersion": rv}, "data": {"n": str(n)}})
            req = s.patch(f"{CM}/counter", data=body, headers={"Content-Type": ct})
        async with req as r:
            if r.status == 409:
                conflicts += 1
                continue
            assert r.status == 200, await r.text()
            done += 1
    return conflicts


async def test_concurrent_increments_lose_nothing(fresh_server):
    clients, each = 8, 500
    async with _session(fresh_server) as s:
        await _create_cm(s, "counter", {"n": "0"})
        modes = ["put", "merge", "strategic"]
        conflicts = await asyncio.gather(
            *(_increment(s, modes[i % 3], each) for i in range(clients))
        )
        async with s.get(f"{CM}/counter") as r:
            final = await r.json()
    assert final["data"]["n"] == str(clients * each)
    assert sum(conflicts) > 0  # the clients really did race


async def _watch(
    s: aiohttp.ClientSession, rv: str, out: list, stop_after: int | None = None, slow: float = 0.0
) -> str:
    """Collect (type, name, rv) until the stream ends or stop_after events; returns last rv."""
    last = rv
    params = {"watch": "true", "resourceVersion": rv, "timeoutSeconds": "20"}
    async with s.get(CM, params=params) as r:
        async for line in r.content:
            ev = orjson.loads(line)
            if ev["type"] == "ERROR":
                out.append(("ERROR", ev["object"]["code"], ""))
                return last
            md = ev["object"]["metadata"]
            out.append((ev["type"], md["name"], md["resourceVersion"]))
            last = md["resourceVersion"]
            if slow:
                await asyncio.sleep(slow)
            if stop_after is not None and len(out) >= stop_after:
                return last
            if md["name"] == "done":
                return last
    return last


async def test_watchers_see_every_event_once_in_order(fresh_server):
    async with _session(fresh_server) as s:
        async with s.get(CM) as r:
            start_rv = (await r.json())["metadata"]["resourceVersion"]
        fast, slow, part1, part2 = [], [], [], []
        committed: list[tuple[str, str, str]] = []

        async def writer():
            for i in range(60):
                cm = await _create_cm(s, f"w{i}", {"i": str(i)})
                committed.append(
                    ("ADDED", cm["metadata"]["name"], cm["metadata"]["resourceVersion"])
                )
                if i % 3 == 0:
                    cm["data"]["i"] = "changed"
                    async with s.put(f"{CM}/w{i}", json=cm) as r:
                        upd = await r.json()
                    committed.append(("MODIFIED", f"w{i}", upd["metadata"]["resourceVersion"]))
                if i % 5 == 0:
                    async with s.delete(f"{CM}/w{i}") as r:
                        assert r.status == 200
            done = await _create_cm(s, "done")
            committed.append(("ADDED", "done", done["metadata"]["resourceVersion"]))

        async def resuming():
            last = await _watch(s, start_rv, part1, stop_after=20)
            await asyncio.sleep(0.3)  # disconnected while writes go on
            await _watch(s, last, part2)

        await asyncio.gather(
            writer(), _watch(s, start_rv, fast), _watch(s, start_rv, slow, slow=0.01), resuming()
        )

    def strip(events):
        return [(t, n) for t, n, _ in events]

    expected_order = [(t, n) for t, n, _ in committed]
    # Deletions are not in `committed` with their revision; check them by order of names.
    for seen in (fast, slow, part1 + part2):
        non_delete = [e for e in strip(seen) if e[0] != "DELETED"]
        assert non_delete == expected_order
        rvs = [int(rv) for _, _, rv in seen]
        assert rvs == sorted(rvs) and len(set(rvs)) == len(rvs)
        assert len([e for e in seen if e[0] == "DELETED"]) == 12


async def test_resume_after_compaction_is_gone_and_relist_converges(fresh_server):
    async with _session(fresh_server) as s:
        first = await _create_cm(s, "old")
        old_rv = first["metadata"]["resourceVersion"]
        for i in range(5):
            await _create_cm(s, f"later{i}")
        async with s.get(CM) as r:
            rv_now = int((await r.json())["metadata"]["resourceVersion"])
        fresh_server.call(fresh_server.server.compact(rv_now))
        events: list = []
        await _watch(s, old_rv, events)
        assert events == [("ERROR", 410, "")]
        async with s.get(CM) as r:
            listing = await r.json()
        names = {i["metadata"]["name"] for i in listing["items"]}
        assert {"old", "later0", "later4"} <= names
        resumed: list = []
        waiter = asyncio.create_task(_watch(s, listing["metadata"]["resourceVersion"], resumed))
        await asyncio.sleep(0.2)
        await _create_cm(s, "done")
        await waiter
        assert [(t, n) for t, n, _ in resumed] == [("ADDED", "done")]


def test_kill9_keeps_every_acknowledged_write(tmp_path: Path):
    srv = ProcessServer(tmp_path / "data").start()
    acked: list[str] = []
    stop = threading.Event()

    async def write_until_stopped(prefix: str):
        async with _session(srv) as s:
            i = 0
            while not stop.is_set():
                name = f"{prefix}-{i}"
                try:
                    await _create_cm(s, name, {"payload": "x" * 200})
                except (aiohttp.ClientError, AssertionError):
                    return
                acked.append(name)
                i += 1

    def run_writers():
        async def main():
            await asyncio.gather(*(write_until_stopped(f"c{k}") for k in range(6)))

        asyncio.run(main())

    t = threading.Thread(target=run_writers)
    t.start()
    try:
        import time

        deadline = time.monotonic() + 20
        while len(acked) < 300 and time.monotonic() < deadline:
            time.sleep(0.05)
        srv.kill()  # SIGKILL mid-stream
    finally:
        stop.set()
        t.join(30)
    assert len(acked) >= 300
    srv2 = ProcessServer(tmp_path / "data").start(port=0)
    try:

        async def check():
            async with _session(srv2) as s:
                async with s.get(CM) as r:
                    items = (await r.json())["items"]
            return {i["metadata"]["name"]: i for i in items}

        stored = asyncio.run(check())
        missing = [n for n in acked if n not in stored]
        assert not missing
        assert all(obj["data"]["payload"] == "x" * 200 for obj in stored.values())
    finally:
        srv2.stop()
