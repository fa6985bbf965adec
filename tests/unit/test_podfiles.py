"""Kubelet-managed pod files: /etc/hosts and termination messages (podfiles)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pyk8s.kubelet.podfiles import (
    pod_hostname,
    read_cri_log_tail,
    read_termination_message,
    termination_log,
    write_etc_hosts,
)

LOCALHOST = (
    "# Kubernetes-managed hosts file.\n"
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "fe00::0\tip6-mcastprefix\n"
    "fe00::1\tip6-allnodes\n"
    "fe00::2\tip6-allrouters\n"
)


def make_pod(**spec: object) -> dict:
    return {"metadata": {"name": "web-1", "namespace": "shop"}, "spec": dict(spec)}


# ---------------------------------------------------------------------- /etc/hosts


def test_hosts_file(tmp_path: Path) -> None:
    path = write_etc_hosts(tmp_path, make_pod(), "198.18.1.7")
    assert path == tmp_path / "etc-hosts"
    assert path.read_text() == LOCALHOST + "198.18.1.7\tweb-1\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_hosts_file_with_hostname_subdomain_and_aliases(tmp_path: Path) -> None:
    pod = make_pod(
        hostname="db-0",
        subdomain="db",
        hostAliases=[
            {"ip": "198.18.9.9", "hostnames": ["foo.local", "bar.local"]},
            {"ip": "198.18.9.10", "hostnames": ["baz"]},
        ],
    )
    path = write_etc_hosts(tmp_path, pod, "198.18.1.7", pod_ips=["198.18.1.7", "fd00::7"])
    assert path is not None
    assert path.read_text() == (
        LOCALHOST
        + "198.18.1.7\tdb-0.db.shop.svc.cluster.local\tdb-0\n"
        + "fd00::7\tdb-0.db.shop.svc.cluster.local\tdb-0\n"
        + "\n# Entries added by HostAliases.\n"
        + "198.18.9.9\tfoo.local\tbar.local\n"
        + "198.18.9.10\tbaz\n"
    )


def test_host_network_pod_gets_the_node_hosts_file(tmp_path: Path) -> None:
    node_hosts = tmp_path / "node-hosts"
    node_hosts.write_text("127.0.0.1 localhost\n127.0.1.1 node-a\n")
    pod = make_pod(hostNetwork=True, hostAliases=[{"ip": "198.18.0.5", "hostnames": ["api"]}])
    path = write_etc_hosts(tmp_path / "pod", pod, None, node_hosts=node_hosts)
    assert path is not None
    assert path.read_text() == (
        "# Kubernetes-managed hosts file (host network).\n"
        "127.0.0.1 localhost\n127.0.1.1 node-a\n"
        "\n# Entries added by HostAliases.\n198.18.0.5\tapi\n"
    )


def test_no_hosts_file_before_the_pod_has_an_ip(tmp_path: Path) -> None:
    assert write_etc_hosts(tmp_path, make_pod(), "") is None
    assert not (tmp_path / "etc-hosts").exists()


def test_long_hostnames_are_cut_at_63() -> None:
    name = "a" * 62 + "-b" + "c" * 10
    pod = {"metadata": {"name": name, "namespace": "ns"}, "spec": {"subdomain": "s"}}
    host, domain = pod_hostname(pod, "example.test")
    assert host == "a" * 62 and domain == "s.ns.svc.example.test"


# ------------------------------------------------------------- termination message


def test_termination_log_files(tmp_path: Path) -> None:
    host, target = termination_log(tmp_path, {"name": "app"})
    again, _ = termination_log(tmp_path, {"name": "app"})
    assert target == "/dev/termination-log"
    assert host.parent == tmp_path / "containers" / "app" and host != again
    assert host.read_bytes() == b"" and stat.S_IMODE(os.stat(host).st_mode) == 0o666
    _, custom = termination_log(tmp_path, {"name": "app", "terminationMessagePath": "/tmp/why"})
    assert custom == "/tmp/why"


def cri_log(path: Path, entries: list[tuple[str, str, str]]) -> Path:
    lines = [
        f"2024-01-02T03:04:05.{i:09d}Z {s} {tag} {text}\n"
        for i, (s, tag, text) in enumerate(entries)
    ]
    path.write_text("".join(lines))
    return path


def test_message_from_the_file(tmp_path: Path) -> None:
    host, _ = termination_log(tmp_path, {"name": "app"})
    host.write_text("disk full")
    log = cri_log(tmp_path / "0.log", [("stdout", "F", "from log")])
    assert read_termination_message(host, "File", log) == "disk full"
    assert read_termination_message(host, "FallbackToLogsOnError", log) == "disk full"


def test_message_keeps_the_end_of_a_long_file(tmp_path: Path) -> None:
    host = tmp_path / "msg"
    host.write_bytes(b"x" * 5000 + b"END")
    message = read_termination_message(host, "File")
    assert len(message) == 4096 and message.endswith("END")


def test_fallback_to_logs(tmp_path: Path) -> None:
    host, _ = termination_log(tmp_path, {"name": "app"})
    log = cri_log(
        tmp_path / "0.log",
        [("stdout", "F", "starting"), ("stderr", "P", "pan"), ("stderr", "F", "ic: boom")],
    )
    assert read_termination_message(host, "File", log) == ""
    assert read_termination_message(host, "FallbackToLogsOnError", log) == "starting\npanic: boom\n"
    assert read_termination_message(tmp_path / "gone", "FallbackToLogsOnError", log).endswith(
        "boom\n"
    )
    assert read_termination_message(host, "FallbackToLogsOnError", None) == ""


def test_log_tail_is_80_lines_and_2048_bytes(tmp_path: Path) -> None:
    log = cri_log(tmp_path / "0.log", [("stdout", "F", f"line {i}") for i in range(200)])
    text = read_cri_log_tail(log)
    assert text.splitlines() == [f"line {i}" for i in range(120, 200)]
    wide = cri_log(tmp_path / "1.log", [("stdout", "F", f"{i:03d}" + "y" * 96) for i in range(50)])
    text = read_cri_log_tail(wide)
    assert len(text.encode()) == 2048 and text.endswith("049" + "y" * 96 + "\n")


def test_log_tail_reads_backwards_across_blocks(tmp_path: Path) -> None:
    # 30 lines of ~3 KB span two of the 64 KiB blocks read from the end.
    log = cri_log(tmp_path / "0.log", [("stdout", "F", "z" * 3000 + str(i)) for i in range(100)])
    lines = read_cri_log_tail(log, lines=30, max_bytes=10**6).splitlines()
    assert lines == ["z" * 3000 + str(i) for i in range(70, 100)]


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    directory = tmp_path / "dir"
    directory.mkdir()
    message = read_termination_message(directory, "File")
    assert message.startswith(f"Error on reading termination log {directory}: ")
