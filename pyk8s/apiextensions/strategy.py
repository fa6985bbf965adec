"""The strategy of one served version of a custom resource: structural pruning,
schema defaults and validation, the status subresource, and generation tracking,
as upstream's customresource strategy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyk8s.api.strategy import Obj, Strategy
from pyk8s.apiextensions import schema as structural
from pyk8s.machinery.errors import Cause, StatusError


def _without(obj: Obj, *keys: str) -> Obj:
    return {k: v for k, v in obj.items() if k not in keys}


class CustomResourceStrategy(Strategy):
    tracks_generation = True

    def __init__(
        self,
        schema: dict[str, Any] | None,
        *,
        has_status: bool = False,
        scale_paths: dict[str, str] | None = None,
        storage_api_version: str = "",
        convertible: bool = False,
        terminating: Callable[[], bool] = lambda: False,
    ) -> None:
        self.schema = schema
        self.has_status = has_status
        self.scale_paths = scale_paths
        self.storage_api_version = storage_api_version
        self.convertible = convertible
        self._terminating = terminating

    def prune_unknown(self, obj: Obj) -> list[str]:
        """Drop (and name) the fields the version's schema does not specify."""
        schema = self.schema if self.schema is not None else {structural.PRESERVE: True}
        return structural.prune(obj, schema)

    def default(self, obj: Obj) -> None:
        if self.schema is not None:
            structural.apply_defaults(obj, self.schema)

    def prepare_for_create(self, obj: Obj) -> None:
        if self._terminating():
            raise StatusError(
                405,
                "MethodNotAllowed",
                "create not allowed while custom resource definition is terminating",
                {},
            )
        super().prepare_for_create(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        if self.schema is None:
            return []
        return structural.validate(obj, self.schema)

    def generation_changed(self, new: Obj, old: Obj) -> bool:
        """With a status subresource, spec-like changes bump generation; without one,
        any change outside metadata does (status included), as upstream."""
        if self.has_status:
            return super().generation_changed(new, old)
        return _without(new, "metadata") != _without(old, "metadata")
