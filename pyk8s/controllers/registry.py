"""The controllers that ship, by name (upstream's --controllers names)."""

from __future__ import annotations

from collections.abc import Callable

from pyk8s.controllers.base import Controller
from pyk8s.controllers.replicaset import ReplicaSetController
from pyk8s.controllers.replicationcontroller import ReplicationControllerController

CONTROLLERS: dict[str, Callable[..., Controller]] = {
    "replicaset": ReplicaSetController,
    "replicationcontroller": ReplicationControllerController,
}
