"""Relaying one WebSocket to another, frame by frame, as the API server relays exec,
attach and port-forward streams to a kubelet and the kubelet relays them to the
container runtime's streaming server.

Each direction may rewrite or drop frames (a filter returns the bytes to send, or
None to drop). When either side closes, the other is closed with the same code.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType

# A filter sees a binary frame's bytes and returns what to forward (None: nothing).
Filter = Callable[[bytes], bytes | None]

NORMAL_CLOSURE = 1000
# Codes a peer may report but an endpoint must not send (RFC 6455 section 7.4.1).
_UNSENDABLE = {1005, 1006, 1015}


def close_code(code: int | None) -> int:
    """The code to close the other side with when one side closed with `code`."""
    if code is None or code in _UNSENDABLE or code < 1000:
        return NORMAL_CLOSURE
    return code


async def pump(src: Any, dst: Any, flt: Filter | None = None) -> None:
    """Copy src's frames to dst until src closes."""
    async for msg in src:
        if msg.type == WSMsgType.BINARY:
            data = msg.data if flt is None else flt(msg.data)
            if data is not None:
                await dst.send_bytes(data)
        elif msg.type == WSMsgType.TEXT:
            await dst.send_str(msg.data)
        elif msg.type == WSMsgType.ERROR:
            break


async def relay(a: Any, b: Any, a_to_b: Filter | None = None, b_to_a: Filter | None = None) -> None:
    """Relay frames between two open WebSockets (aiohttp client or server side) until one
    closes; then close the other with the same code and return."""
    forward = asyncio.create_task(pump(a, b, a_to_b), name="ws-relay-forward")
    backward = asyncio.create_task(pump(b, a, b_to_a), name="ws-relay-backward")
    try:
        await asyncio.wait({forward, backward}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        first = forward if forward.done() else backward
        source, other = (a, b) if first is forward else (b, a)
        for task in (forward, backward):
            if not task.done():
                task.cancel()
        for task in (forward, backward):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await other.close(code=close_code(source.close_code))
        with contextlib.suppress(Exception):
            await source.close()
