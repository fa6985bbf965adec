"""The service accounts controller: every active namespace has a ServiceAccount
named "default" (upstream's serviceaccounts-controller)."""

from __future__ import annotations

from typing import Any

from pyk8s.client import is_already_exists
from pyk8s.controllers.base import Controller
from pyk8s.machinery import meta

Obj = dict[str, Any]

DEFAULT_NAMES = ("default",)


class ServiceAccountsController(Controller):
    name = "serviceaccount"
    workers = 2

    def setup(self) -> None:
        self.names = tuple(self.options.get("names", DEFAULT_NAMES))
        self.namespaces = self.informer("v1", "namespaces")
        self.accounts = self.informer("v1", "serviceaccounts")
        self.namespaces.add_handler(
            on_add=self.enqueue, on_update=lambda _old, new: self.enqueue(new)
        )
        # A deleted default account comes back.
        self.accounts.add_handler(on_delete=lambda sa: self.enqueue_key(meta.namespace_of(sa)))

    async def sync(self, key: str) -> None:
        ns = self.namespaces.get(key)
        if ns is None or not _active(ns):
            return
        for name in self.names:
            if self.accounts.get(f"{key}/{name}") is None:
                await self._create(key, name)

    async def _create(self, namespace: str, name: str) -> None:
        body = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}
        try:
            await self.client.create(self.accounts.res, body, namespace)
        except Exception as e:
            # Already there (our cache lagged), or the namespace began terminating.
            if is_already_exists(e) or getattr(e, "code", 0) in (403, 404):
                return
            raise


def _active(ns: Obj) -> bool:
    if (ns.get("metadata") or {}).get("deletionTimestamp"):
        return False
    return (ns.get("status") or {}).get("phase", "Active") == "Active"
