"""The kubelet's HTTPS API: logs, exec, attach and port-forward streaming."""
