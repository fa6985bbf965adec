"""The controllers that ship, by name. Each module adds its entry here."""

from __future__ import annotations

from collections.abc import Callable

from pyk8s.controllers.base import Controller

CONTROLLERS: dict[str, Callable[..., Controller]] = {}
