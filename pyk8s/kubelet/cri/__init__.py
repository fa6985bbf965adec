"""The CRI v1 client the node agent uses to drive containerd.

No generated stubs: the CRI messages are field tables (messages.py) in the
notation of pyk8s/machinery/protobuf/schema.py, encoded by
pyk8s/machinery/protobuf/encode.py and decoded by its decoder (codec.py);
client.py makes the gRPC calls with grpc.aio. See docs/design.md, "CRI".
"""

from .client import CriClient, CriError
from .messages import (
    CONTAINER_CREATED,
    CONTAINER_EXITED,
    CONTAINER_RUNNING,
    CONTAINER_UNKNOWN,
    SANDBOX_NOTREADY,
    SANDBOX_READY,
    ContainerState,
    MountPropagation,
    NamespaceMode,
    PodSandboxState,
    ProfileType,
    Protocol,
)

__all__ = [
    "CONTAINER_CREATED",
    "CONTAINER_EXITED",
    "CONTAINER_RUNNING",
    "CONTAINER_UNKNOWN",
    "SANDBOX_NOTREADY",
    "SANDBOX_READY",
    "ContainerState",
    "CriClient",
    "CriError",
    "MountPropagation",
    "NamespaceMode",
    "PodSandboxState",
    "ProfileType",
    "Protocol",
]
