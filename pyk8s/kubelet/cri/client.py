"""An asyncio CRI v1 client (RuntimeService and ImageService) over grpc.aio.

Requests and responses are dicts keyed by api.proto's field names (see
messages.py); codec.py turns them into bytes, so no generated stubs are needed.
Responses follow proto3: absent scalars are zero, absent lists/maps empty,
absent messages missing from the dict.

Deadlines follow the kubelet's remote runtime client: one request timeout for
ordinary calls, twice that for RunPodSandbox, the request timeout plus the
container's own timeout for StopContainer and ExecSync, and none for PullImage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import grpc
import grpc.aio

from . import codec
from .messages import PACKAGE

DEFAULT_REQUEST_TIMEOUT = 120.0  # the kubelet's --runtime-request-timeout (2m)
MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # the kubelet's CRI message size limit
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
]
_NO_DEADLINE = -1.0  # marker: call without a deadline (None means "the default")


class CriError(Exception):
    """A failed CRI call: the gRPC status code and the runtime's own message.

    str() gives Go's form, `rpc error: code = NotFound desc = ...`, which the
    kubelet puts into container and event messages.
    """

    def __init__(self, code: grpc.StatusCode, details: str, method: str = "") -> None:
        self.code = code
        self.details = details
        self.method = method
        super().__init__(f"rpc error: code = {go_code_name(code)} desc = {details}")

    @property
    def not_found(self) -> bool:
        return self.code == grpc.StatusCode.NOT_FOUND


def go_code_name(code: grpc.StatusCode) -> str:
    """grpc-go's spelling of a status code (NOT_FOUND -> NotFound)."""
    if code == grpc.StatusCode.OK:
        return "OK"
    return "".join(part.capitalize() for part in code.name.split("_"))


def grpc_target(endpoint: str) -> str:
    """A grpc target for a CRI endpoint: unix:///path, unix:/path or a bare /path."""
    if endpoint.startswith("unix://"):
        return endpoint
    if endpoint.startswith("unix:"):
        return "unix://" + endpoint[len("unix:") :]
    if endpoint.startswith("/"):
        return "unix://" + endpoint
    raise ValueError(f"unsupported CRI endpoint {endpoint!r}: only unix sockets are")


class CriClient:
    """CRI RuntimeService and ImageService on one channel."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        endpoint: str,
        *,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    ) -> None:
        self._channel = channel
        self.endpoint = endpoint
        self.request_timeout = request_timeout
        self._methods: dict[str, Any] = {}

    @classmethod
    async def connect(
        cls,
        endpoint: str,
        timeout: float = 10.0,
        *,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    ) -> CriClient:
        """Open a channel and wait until it is connected (CriError UNAVAILABLE if not)."""
        channel = grpc.aio.insecure_channel(grpc_target(endpoint), options=_CHANNEL_OPTIONS)
        try:
            await asyncio.wait_for(channel.channel_ready(), timeout)
        except TimeoutError:
            await channel.close()
            raise CriError(
                grpc.StatusCode.UNAVAILABLE, f"cannot connect to {endpoint} within {timeout}s"
            ) from None
        return cls(channel, endpoint, request_timeout=request_timeout)

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> CriClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def call(
        self, service: str, method: str, request: Mapping, *, timeout: float | None = None
    ) -> dict:
        """One unary call, e.g. call("RuntimeService", "Version", {...})."""
        path = f"/{PACKAGE}.{service}/{method}"
        stub = self._methods.get(path)
        if stub is None:
            stub = self._channel.unary_unary(
                path,
                request_serializer=codec.serializer(f"{method}Request"),
                response_deserializer=codec.deserializer(f"{method}Response"),
            )
            self._methods[path] = stub
        deadline = self.request_timeout if timeout is None else timeout
        try:
            return await stub(request, timeout=None if deadline == _NO_DEADLINE else deadline)
        except grpc.aio.AioRpcError as exc:
            raise CriError(exc.code(), exc.details() or "", method) from None

    async def _runtime(self, method: str, request: Mapping, **kw: Any) -> dict:
        return await self.call("RuntimeService", method, request, **kw)

    async def _image(self, method: str, request: Mapping, **kw: Any) -> dict:
        return await self.call("ImageService", method, request, **kw)

    # RuntimeService: runtime

    async def version(self, api_version: str = "v1") -> dict:
        """{version, runtime_name, runtime_version, runtime_api_version}."""
        return await self._runtime("Version", {"version": api_version})

    async def status(self, verbose: bool = False) -> dict:
        """The whole StatusResponse: {status: {conditions: [...]}, info, ...}."""
        return await self._runtime("Status", {"verbose": verbose})

    async def update_runtime_config(self, pod_cidr: str) -> None:
        request = {"runtime_config": {"network_config": {"pod_cidr": pod_cidr}}}
        await self._runtime("UpdateRuntimeConfig", request)

    # RuntimeService: sandboxes

    async def run_pod_sandbox(self, config: Mapping, runtime_handler: str = "") -> str:
        request = {"config": config, "runtime_handler": runtime_handler}
        response = await self._runtime("RunPodSandbox", request, timeout=2 * self.request_timeout)
        return response["pod_sandbox_id"]

    async def stop_pod_sandbox(self, pod_sandbox_id: str) -> None:
        await self._runtime("StopPodSandbox", {"pod_sandbox_id": pod_sandbox_id})

    async def remove_pod_sandbox(self, pod_sandbox_id: str) -> None:
        await self._runtime("RemovePodSandbox", {"pod_sandbox_id": pod_sandbox_id})

    async def pod_sandbox_status(self, pod_sandbox_id: str, verbose: bool = False) -> dict:
        """The whole response: {status: PodSandboxStatus, info: {...}, ...}."""
        request = {"pod_sandbox_id": pod_sandbox_id, "verbose": verbose}
        return await self._runtime("PodSandboxStatus", request)

    async def list_pod_sandbox(self, filter: Mapping | None = None) -> list[dict]:
        response = await self._runtime("ListPodSandbox", {"filter": filter})
        return response["items"]

    async def port_forward(self, pod_sandbox_id: str, ports: list[int]) -> str:
        request = {"pod_sandbox_id": pod_sandbox_id, "port": list(ports)}
        return (await self._runtime("PortForward", request))["url"]

    # RuntimeService: containers

    async def create_container(
        self, pod_sandbox_id: str, config: Mapping, sandbox_config: Mapping
    ) -> str:
        request = {
            "pod_sandbox_id": pod_sandbox_id,
            "config": config,
            "sandbox_config": sandbox_config,
        }
        return (await self._runtime("CreateContainer", request))["container_id"]

    async def start_container(self, container_id: str) -> None:
        await self._runtime("StartContainer", {"container_id": container_id})

    async def stop_container(self, container_id: str, timeout: int) -> None:
        """Stop with a grace period of `timeout` seconds (0: kill at once)."""
        request = {"container_id": container_id, "timeout": timeout}
        await self._runtime("StopContainer", request, timeout=self.request_timeout + timeout)

    async def remove_container(self, container_id: str) -> None:
        await self._runtime("RemoveContainer", {"container_id": container_id})

    async def list_containers(self, filter: Mapping | None = None) -> list[dict]:
        response = await self._runtime("ListContainers", {"filter": filter})
        return response["containers"]

    async def container_status(self, container_id: str, verbose: bool = False) -> dict:
        """The whole response: {status: ContainerStatus, info: {...}}."""
        request = {"container_id": container_id, "verbose": verbose}
        return await self._runtime("ContainerStatus", request)

    async def update_container_resources(self, container_id: str, linux: Mapping) -> None:
        request = {"container_id": container_id, "linux": linux}
        await self._runtime("UpdateContainerResources", request)

    async def reopen_container_log(self, container_id: str) -> None:
        await self._runtime("ReopenContainerLog", {"container_id": container_id})

    async def exec_sync(
        self, container_id: str, cmd: list[str], timeout: int
    ) -> tuple[bytes, bytes, int]:
        """Run cmd in the container; (stdout, stderr, exit code). timeout 0: no limit."""
        request = {"container_id": container_id, "cmd": list(cmd), "timeout": timeout}
        deadline = self.request_timeout + timeout if timeout > 0 else _NO_DEADLINE
        response = await self._runtime("ExecSync", request, timeout=deadline)
        return response["stdout"], response["stderr"], response["exit_code"]

    async def exec(self, request: Mapping) -> str:
        """An ExecRequest dict -> the streaming server's URL."""
        return (await self._runtime("Exec", request))["url"]

    async def attach(self, request: Mapping) -> str:
        """An AttachRequest dict -> the streaming server's URL."""
        return (await self._runtime("Attach", request))["url"]

    # ImageService

    async def list_images(self, filter: Mapping | None = None) -> list[dict]:
        """Images, optionally filtered with an ImageFilter ({image: {image: ref}})."""
        return (await self._image("ListImages", {"filter": filter}))["images"]

    async def image_status(self, image: str, verbose: bool = False) -> dict | None:
        """The Image for a reference, or None when the runtime does not have it."""
        response = await self._image("ImageStatus", {"image": {"image": image}, "verbose": verbose})
        return response.get("image")

    async def pull_image(
        self,
        image: str,
        auth: Mapping | None = None,
        sandbox_config: Mapping | None = None,
    ) -> str:
        """Pull and return the image_ref. No deadline, as the kubelet's pulls have none."""
        request = {"image": {"image": image}, "auth": auth, "sandbox_config": sandbox_config}
        response = await self._image("PullImage", request, timeout=_NO_DEADLINE)
        return response["image_ref"]

    async def remove_image(self, image: str) -> None:
        await self._image("RemoveImage", {"image": {"image": image}})

    async def image_fs_info(self) -> dict:
        """{image_filesystems: [FilesystemUsage], container_filesystems: [...]}."""
        return await self._image("ImageFsInfo", {})
