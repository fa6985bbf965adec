"""The node agent (kubelet): node registration, lease heartbeats and node status
(`agent`), the pod lifecycle shared by every runtime (`podworker`), container
runtimes behind one interface (`runtime.base`; `runtime.sim` simulates, the
containerd runtime plugs in the same way), and `pool` for many simulated nodes in
one process."""

from pyk8s.kubelet.agent import Kubelet, NodeConfig
from pyk8s.kubelet.pool import NodePool

__all__ = ["Kubelet", "NodeConfig", "NodePool"]
