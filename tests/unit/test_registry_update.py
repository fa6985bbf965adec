"""The generic registry's updates: a PUT (replace) and a read-modify-write (update) both
retry a lost race unless the client named a resourceVersion, which must then match."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pyk8s.apiserver.registry import Context
from pyk8s.apiserver.server import APIServer, open_store
from pyk8s.machinery import errors
from pyk8s.store.interface import RevisionMismatchError

CM = ("", "v1", "configmaps")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[APIServer]:
    srv = APIServer(open_store(tmp_path, durable=False), tokens=["t"])
    await srv.open()
    try:
        yield srv
    finally:
        await srv.stop()


def cm(data: dict[str, str], rv: str = "") -> dict[str, Any]:
    md: dict[str, Any] = {"name": "web", "namespace": "default"}
    if rv:
        md["resourceVersion"] = rv
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md, "data": data}


def lose_first_race(server: APIServer, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Another writer gets in just before the next update, which therefore fails."""
    real = server.store.update
    calls: list[int] = []

    async def update(key: str, value: bytes, rev: int) -> Any:
        calls.append(rev)
        if len(calls) == 1:
            stored = await server.store.get(key)  # the other writer stores it unchanged
            assert stored is not None
            await real(key, stored.value, rev)
            await server.cache.wait_fresh()
            raise RevisionMismatchError(key, None)
        return await real(key, value, rev)

    monkeypatch.setattr(server.store, "update", update)
    return calls


async def test_replace_without_resource_version_retries_a_lost_race(
    server: APIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    res = server.table.get(*CM)
    made = await server.registry.create(res, "default", cm({"a": "1"}), Context())
    calls = lose_first_race(server, monkeypatch)
    body = cm({"a": "2"})
    out = await server.registry.replace(res, "default", "web", body, Context())
    assert len(calls) == 2
    assert out["data"] == {"a": "2"}
    assert int(out["metadata"]["resourceVersion"]) > int(made["metadata"]["resourceVersion"])
    assert out["metadata"]["uid"] == made["metadata"]["uid"]
    assert "resourceVersion" not in body["metadata"]  # the caller's object is left as it was


async def test_replace_with_a_stale_resource_version_conflicts(server: APIServer) -> None:
    res = server.table.get(*CM)
    made = await server.registry.create(res, "default", cm({"a": "1"}), Context())
    rv = made["metadata"]["resourceVersion"]
    await server.registry.replace(res, "default", "web", cm({"a": "2"}, rv), Context())
    with pytest.raises(errors.StatusError) as err:
        await server.registry.replace(res, "default", "web", cm({"a": "3"}, rv), Context())
    assert err.value.code == 409


async def test_replace_that_changes_nothing_writes_nothing(server: APIServer) -> None:
    res = server.table.get(*CM)
    made = await server.registry.create(res, "default", cm({"a": "1"}), Context())
    out = await server.registry.replace(res, "default", "web", cm({"a": "1"}), Context())
    assert out["metadata"]["resourceVersion"] == made["metadata"]["resourceVersion"]


async def test_update_reads_the_current_object_again_after_a_lost_race(
    server: APIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    res = server.table.get(*CM)
    await server.registry.create(res, "default", cm({"n": "0"}), Context())
    calls = lose_first_race(server, monkeypatch)
    seen: list[str] = []

    def bump(current: dict[str, Any]) -> dict[str, Any]:
        seen.append(current["data"]["n"])
        current["data"]["n"] = str(int(current["data"]["n"]) + 1)
        return current

    out = await server.registry.update(res, "default", "web", bump, Context())
    assert out["data"] == {"n": "1"} and seen == ["0", "0"] and len(calls) == 2
