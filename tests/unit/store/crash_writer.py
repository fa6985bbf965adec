"""Subprocess for the crash test: writes with durable=True from concurrent tasks and
prints each key once its create is acknowledged, until killed."""

from __future__ import annotations

import asyncio
import sys

from pyk8s.store.sqlite import SQLiteStore


async def main(path: str) -> None:
    store = SQLiteStore(path, durable=True)
    await store.start()

    async def writer(w: int) -> None:
        for i in range(1_000_000):
            key = f"/crash/{w}/{i}"
            await store.create(key, b"v" * 200)
            sys.stdout.write(key + "\n")
            sys.stdout.flush()

    await asyncio.gather(*(writer(w) for w in range(16)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
