"""The controller manager: shared informers plus every enabled controller, run
inside `pyk8s server` (as kube-controller-manager, talking only through the API)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pyk8s.client import Client, SharedInformerFactory
from pyk8s.controllers.base import Controller

log = logging.getLogger(__name__)

ControllerFactory = Callable[..., Controller]


def default_controllers() -> dict[str, ControllerFactory]:
    """Every controller that ships, by name (upstream's --controllers names)."""
    from pyk8s.controllers import registry

    return registry.CONTROLLERS


class ControllerManager:
    def __init__(
        self,
        client: Client,
        *,
        enabled: list[str] | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.client = client
        self.factory = SharedInformerFactory(client)
        self.options = options or {}
        available = default_controllers()
        names = enabled if enabled is not None else list(available)
        self.controllers: list[Controller] = [
            available[n](client, self.factory, **self.options.get(n, {})) for n in names
        ]

    async def start(self) -> None:
        for c in self.controllers:
            c.setup()
        self.factory.start()
        await self.factory.wait_for_cache_sync()
        for c in self.controllers:
            c.start()
        log.info("controllers running: %s", ", ".join(c.name for c in self.controllers))

    async def stop(self) -> None:
        for c in self.controllers:
            await c.stop()
        await self.factory.stop()
