"""Backends for the store conformance suite.

Every test that takes `store` (or `backend`) runs once per backend. To add a backend
(e.g. etcd), add a param to `backend` whose `open()` returns a started store over the
same data each time it is called (so restart tests can reopen it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pyk8s.store.interface import Store
from pyk8s.store.sqlite import SQLiteStore


@dataclass
class Backend:
    name: str
    factory: Callable[[], Store]
    opened: list[Store] = field(default_factory=list)

    async def open(self) -> Store:
        store = self.factory()
        await store.start()
        self.opened.append(store)
        return store

    async def close_all(self) -> None:
        for store in self.opened:
            await store.close()


def _sqlite(durable: bool) -> Callable[[Path], Callable[[], Store]]:
    def make(tmp_path: Path) -> Callable[[], Store]:
        path = str(tmp_path / "store.db")
        return lambda: SQLiteStore(path, durable=durable)

    return make


BACKENDS: dict[str, Callable[[Path], Callable[[], Store]]] = {
    "sqlite-durable": _sqlite(True),
    "sqlite-nosync": _sqlite(False),
}


@pytest.fixture(params=sorted(BACKENDS))
async def backend(request, tmp_path) -> AsyncIterator[Backend]:
    b = Backend(request.param, BACKENDS[request.param](tmp_path))
    yield b
    await b.close_all()


@pytest.fixture
async def store(backend: Backend) -> Store:
    return await backend.open()
