"""Container runtimes the kubelet drives through `runtime.base.Runtime`."""

from pyk8s.kubelet.runtime.base import (
    ContainerExit,
    ImagePullError,
    PulledImage,
    Runtime,
    Sandbox,
)

__all__ = ["ContainerExit", "ImagePullError", "PulledImage", "Runtime", "Sandbox"]
