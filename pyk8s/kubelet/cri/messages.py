"""CRI v1 message tables (package runtime.v1) and the enum values the agent uses.

Source of every name and number: the CRI API's api.proto,
k8s.io/cri-api/pkg/apis/runtime/v1/api.proto (kubernetes/kubernetes
staging/src/k8s.io/cri-api). Names are the proto field names exactly as that
file spells them (snake_case, with its few exceptions such as `uidMappings`
and `CDI_devices`); numbers are its field numbers. The notation is the one of
pyk8s/machinery/protobuf/schema.py: `name=number:type`, `s` string (default),
`b` bool, `i` int32/int64 and enums, `u` uint32/uint64, `y` bytes, `[T]`
repeated, `{K,V}` map, other names are messages of this package.

Only the messages the node agent sends or reads are listed, without the Windows
ones; fields a server adds later are skipped on decoding.
"""

from __future__ import annotations

from enum import IntEnum

PACKAGE = "runtime.v1"

_RUNTIME: dict[str, str] = {
    "VersionRequest": "version=1",
    "VersionResponse": "version=1 runtime_name=2 runtime_version=3 runtime_api_version=4",
    "StatusRequest": "verbose=1:b",
    "StatusResponse": "status=1:RuntimeStatus info=2:{s,s} runtime_handlers=3:[RuntimeHandler]"
    " features=4:RuntimeFeatures",
    "RuntimeStatus": "conditions=1:[RuntimeCondition]",
    "RuntimeCondition": "type=1 status=2:b reason=3 message=4",
    "RuntimeHandler": "name=1 features=2:RuntimeHandlerFeatures",
    "RuntimeHandlerFeatures": "recursive_read_only_mounts=1:b user_namespaces=2:b",
    "RuntimeFeatures": "supplemental_groups_policy=1:b user_namespaces_host_network=2:b",
    "UpdateRuntimeConfigRequest": "runtime_config=1:RuntimeConfig",
    "UpdateRuntimeConfigResponse": "",
    "RuntimeConfig": "network_config=1:NetworkConfig",
    "NetworkConfig": "pod_cidr=1",
}

_SANDBOX: dict[str, str] = {
    "PodSandboxMetadata": "name=1 uid=2 namespace=3 attempt=4:u",
    "DNSConfig": "servers=1:[s] searches=2:[s] options=3:[s]",
    "PortMapping": "protocol=1:i container_port=2:i host_port=3:i host_ip=4",
    "PodSandboxConfig": "metadata=1:PodSandboxMetadata hostname=2 log_directory=3"
    " dns_config=4:DNSConfig port_mappings=5:[PortMapping] labels=6:{s,s}"
    " annotations=7:{s,s} linux=8:LinuxPodSandboxConfig",
    "LinuxPodSandboxConfig": "cgroup_parent=1 security_context=2:LinuxSandboxSecurityContext"
    " sysctls=3:{s,s} overhead=4:LinuxContainerResources resources=5:LinuxContainerResources",
    "LinuxSandboxSecurityContext": "namespace_options=1:NamespaceOption"
    " selinux_options=2:SELinuxOption run_as_user=3:Int64Value run_as_group=8:Int64Value"
    " readonly_rootfs=4:b supplemental_groups=5:[i] supplemental_groups_policy=11:i"
    " privileged=6:b seccomp=9:SecurityProfile apparmor=10:SecurityProfile"
    " seccomp_profile_path=7",
    "NamespaceOption": "network=1:i pid=2:i ipc=3:i target_id=4 userns_options=5:UserNamespace",
    "UserNamespace": "mode=1:i uids=2:[IDMapping] gids=3:[IDMapping]",
    "IDMapping": "host_id=1:u container_id=2:u length=3:u",
    "SELinuxOption": "user=1 role=2 type=3 level=4",
    "SecurityProfile": "profile_type=1:i localhost_ref=2",
    "Int64Value": "value=1:i",
    "RunPodSandboxRequest": "config=1:PodSandboxConfig runtime_handler=2",
    "RunPodSandboxResponse": "pod_sandbox_id=1",
    "StopPodSandboxRequest": "pod_sandbox_id=1",
    "StopPodSandboxResponse": "",
    "RemovePodSandboxRequest": "pod_sandbox_id=1",
    "RemovePodSandboxResponse": "",
    "PodSandboxStatusRequest": "pod_sandbox_id=1 verbose=2:b",
    "PodSandboxStatusResponse": "status=1:PodSandboxStatus info=2:{s,s}"
    " containers_statuses=3:[ContainerStatus] timestamp=4:i",
    "PodSandboxStatus": "id=1 metadata=2:PodSandboxMetadata state=3:i created_at=4:i"
    " network=5:PodSandboxNetworkStatus linux=6:LinuxPodSandboxStatus labels=7:{s,s}"
    " annotations=8:{s,s} runtime_handler=9",
    "PodSandboxNetworkStatus": "ip=1 additional_ips=2:[PodIP]",
    "PodIP": "ip=1",
    "LinuxPodSandboxStatus": "namespaces=1:Namespace",
    "Namespace": "options=2:NamespaceOption",
    "PodSandboxStateValue": "state=1:i",
    "PodSandboxFilter": "id=1 state=2:PodSandboxStateValue label_selector=3:{s,s}",
    "ListPodSandboxRequest": "filter=1:PodSandboxFilter",
    "ListPodSandboxResponse": "items=1:[PodSandbox]",
    "PodSandbox": "id=1 metadata=2:PodSandboxMetadata state=3:i created_at=4:i labels=5:{s,s}"
    " annotations=6:{s,s} runtime_handler=7",
    "PortForwardRequest": "pod_sandbox_id=1 port=2:[i]",
    "PortForwardResponse": "url=1",
}

_CONTAINER: dict[str, str] = {
    "ContainerMetadata": "name=1 attempt=2:u",
    "ImageSpec": "image=1 annotations=2:{s,s} user_specified_image=18 runtime_handler=19"
    " image_ref=20",
    "KeyValue": "key=1 value=2",
    "Mount": "container_path=1 host_path=2 readonly=3:b selinux_relabel=4:b propagation=5:i"
    " uidMappings=6:[IDMapping] gidMappings=7:[IDMapping] recursive_read_only=8:b"
    " image=9:ImageSpec image_sub_path=10",
    "Device": "container_path=1 host_path=2 permissions=3",
    "CDIDevice": "name=1",
    "ContainerConfig": "metadata=1:ContainerMetadata image=2:ImageSpec command=3:[s] args=4:[s]"
    " working_dir=5 envs=6:[KeyValue] mounts=7:[Mount] devices=8:[Device] labels=9:{s,s}"
    " annotations=10:{s,s} log_path=11 stdin=12:b stdin_once=13:b tty=14:b"
    " linux=15:LinuxContainerConfig CDI_devices=17:[CDIDevice] stop_signal=18:i",
    "LinuxContainerConfig": "resources=1:LinuxContainerResources"
    " security_context=2:LinuxContainerSecurityContext",
    "LinuxContainerResources": "cpu_period=1:i cpu_quota=2:i cpu_shares=3:i"
    " memory_limit_in_bytes=4:i oom_score_adj=5:i cpuset_cpus=6 cpuset_mems=7"
    " hugepage_limits=8:[HugepageLimit] unified=9:{s,s} memory_swap_limit_in_bytes=10:i",
    "HugepageLimit": "page_size=1 limit=2:u",
    "LinuxContainerSecurityContext": "capabilities=1:Capability privileged=2:b"
    " namespace_options=3:NamespaceOption selinux_options=4:SELinuxOption"
    " run_as_user=5:Int64Value run_as_group=12:Int64Value run_as_username=6"
    " readonly_rootfs=7:b supplemental_groups=8:[i] supplemental_groups_policy=17:i"
    " no_new_privs=11:b masked_paths=13:[s] readonly_paths=14:[s] seccomp=15:SecurityProfile"
    " apparmor=16:SecurityProfile apparmor_profile=9 seccomp_profile_path=10",
    "Capability": "add_capabilities=1:[s] drop_capabilities=2:[s] add_ambient_capabilities=3:[s]",
    "CreateContainerRequest": "pod_sandbox_id=1 config=2:ContainerConfig"
    " sandbox_config=3:PodSandboxConfig",
    "CreateContainerResponse": "container_id=1",
    "StartContainerRequest": "container_id=1",
    "StartContainerResponse": "",
    "StopContainerRequest": "container_id=1 timeout=2:i",
    "StopContainerResponse": "",
    "RemoveContainerRequest": "container_id=1",
    "RemoveContainerResponse": "",
    "ContainerStateValue": "state=1:i",
    "ContainerFilter": "id=1 state=2:ContainerStateValue pod_sandbox_id=3 label_selector=4:{s,s}",
    "ListContainersRequest": "filter=1:ContainerFilter",
    "ListContainersResponse": "containers=1:[Container]",
    "Container": "id=1 pod_sandbox_id=2 metadata=3:ContainerMetadata image=4:ImageSpec"
    " image_ref=5 state=6:i created_at=7:i labels=8:{s,s} annotations=9:{s,s} image_id=10",
    "ContainerStatusRequest": "container_id=1 verbose=2:b",
    "ContainerStatusResponse": "status=1:ContainerStatus info=2:{s,s}",
    "ContainerStatus": "id=1 metadata=2:ContainerMetadata state=3:i created_at=4:i"
    " started_at=5:i finished_at=6:i exit_code=7:i image=8:ImageSpec image_ref=9 reason=10"
    " message=11 labels=12:{s,s} annotations=13:{s,s} mounts=14:[Mount] log_path=15"
    " resources=16:ContainerResources image_id=17 user=18:ContainerUser stop_signal=19:i",
    "ContainerResources": "linux=1:LinuxContainerResources",
    "ContainerUser": "linux=1:LinuxContainerUser",
    "LinuxContainerUser": "uid=1:i gid=2:i supplemental_groups=3:[i]",
    "UpdateContainerResourcesRequest": "container_id=1 linux=2:LinuxContainerResources"
    " annotations=4:{s,s}",
    "UpdateContainerResourcesResponse": "",
    "ReopenContainerLogRequest": "container_id=1",
    "ReopenContainerLogResponse": "",
    "ExecSyncRequest": "container_id=1 cmd=2:[s] timeout=3:i",
    "ExecSyncResponse": "stdout=1:y stderr=2:y exit_code=3:i",
    "ExecRequest": "container_id=1 cmd=2:[s] tty=3:b stdin=4:b stdout=5:b stderr=6:b"
    " audit_request_id=7",
    "ExecResponse": "url=1",
    "AttachRequest": "container_id=1 stdin=2:b tty=3:b stdout=4:b stderr=5:b audit_request_id=6",
    "AttachResponse": "url=1",
}

_IMAGE: dict[str, str] = {
    "ImageFilter": "image=1:ImageSpec",
    "ListImagesRequest": "filter=1:ImageFilter",
    "ListImagesResponse": "images=1:[Image]",
    "Image": "id=1 repo_tags=2:[s] repo_digests=3:[s] size=4:u uid=5:Int64Value username=6"
    " spec=7:ImageSpec pinned=8:b",
    "ImageStatusRequest": "image=1:ImageSpec verbose=2:b",
    "ImageStatusResponse": "image=1:Image info=2:{s,s}",
    "AuthConfig": "username=1 password=2 auth=3 server_address=4 identity_token=5 registry_token=6",
    "PullImageRequest": "image=1:ImageSpec auth=2:AuthConfig sandbox_config=3:PodSandboxConfig",
    "PullImageResponse": "image_ref=1",
    "RemoveImageRequest": "image=1:ImageSpec",
    "RemoveImageResponse": "",
    "ImageFsInfoRequest": "",
    "ImageFsInfoResponse": "image_filesystems=1:[FilesystemUsage]"
    " container_filesystems=2:[FilesystemUsage]",
    "FilesystemUsage": "timestamp=1:i fs_id=2:FilesystemIdentifier used_bytes=3:UInt64Value"
    " inodes_used=4:UInt64Value",
    "FilesystemIdentifier": "mountpoint=1",
    "UInt64Value": "value=1:u",
}

MESSAGES: dict[str, str] = {**_RUNTIME, **_SANDBOX, **_CONTAINER, **_IMAGE}


class ContainerState(IntEnum):
    CONTAINER_CREATED = 0
    CONTAINER_RUNNING = 1
    CONTAINER_EXITED = 2
    CONTAINER_UNKNOWN = 3


class PodSandboxState(IntEnum):
    SANDBOX_READY = 0
    SANDBOX_NOTREADY = 1


class Protocol(IntEnum):
    TCP = 0
    UDP = 1
    SCTP = 2


class NamespaceMode(IntEnum):
    POD = 0
    CONTAINER = 1
    NODE = 2
    TARGET = 3


class MountPropagation(IntEnum):
    PROPAGATION_PRIVATE = 0
    PROPAGATION_HOST_TO_CONTAINER = 1
    PROPAGATION_BIDIRECTIONAL = 2


class ProfileType(IntEnum):
    """SecurityProfile.ProfileType."""

    RuntimeDefault = 0
    Unconfined = 1
    Localhost = 2


# Proto enum values live in the package scope; the same names at module level.
CONTAINER_CREATED, CONTAINER_RUNNING, CONTAINER_EXITED, CONTAINER_UNKNOWN = ContainerState
SANDBOX_READY, SANDBOX_NOTREADY = PodSandboxState
