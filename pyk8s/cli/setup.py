"""`pyk8s setup`: the system packages real containers need, installed (as root,
with apt) or listed exactly (otherwise).

    pyk8s setup            # as root on Debian/Ubuntu: apt-get install what is missing
    pyk8s setup --check    # only say what is missing (exit 1 if anything is)

Stdlib only, so CI can run it before pyk8s is installed:
`python3 -m pyk8s.cli.setup` from the source tree.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

# (what must exist, the Debian package that brings it, why)
REQUIREMENTS: list[tuple[str, str, str]] = [
    ("containerd", "containerd", "the container runtime each node runs"),
    ("runc", "runc", "containerd's OCI runtime"),
    ("ctr", "containerd", "image imports (pyk8s images import)"),
    ("/usr/lib/cni/bridge", "containernetworking-plugins", "pod networks (CNI)"),
    ("iptables", "iptables", "pod masquerade and service rules"),
    ("ip", "iproute2", "removing a node's bridge"),
    ("gcc", "gcc", "building the sandbox (pause) image from source"),
    ("/usr/lib/x86_64-linux-gnu/libc.a", "libc6-dev", "linking the pause binary statically"),
    ("busybox", "busybox-static", "the sample images (pyk8s images samples)"),
    ("nginx", "nginx-light", "the sample nginx images"),
]


def _present(what: str) -> bool:
    if what.startswith("/"):
        if "x86_64-linux-gnu" in what:  # libc.a lives under the host's multiarch dir
            return any(Path("/usr/lib").glob("*-linux-gnu/libc.a"))
        return Path(what).exists()
    return shutil.which(what) is not None or Path(f"/usr/sbin/{what}").exists()


def missing() -> list[tuple[str, str, str]]:
    return [req for req in REQUIREMENTS if not _present(req[0])]


def packages(reqs: list[tuple[str, str, str]]) -> list[str]:
    return sorted({pkg for _, pkg, _ in reqs})


def install(pkgs: list[str]) -> int:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    update = subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
    if update.returncode != 0:
        return update.returncode
    cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *pkgs]
    return subprocess.run(cmd, env=env, check=False).returncode


def run(check_only: bool, extra: list[str] | None = None) -> int:
    gaps = missing()
    # `extra`: more packages named by their command (CI's wrk), installed when absent.
    pkgs = packages(gaps) + sorted(p for p in set(extra or []) if shutil.which(p) is None)
    if not pkgs:
        print("pyk8s setup: everything real containers need is installed")
        return 0
    for what, pkg, why in gaps:
        print(f"missing: {what} (package {pkg}: {why})")
    if check_only or os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(f"install with: apt-get install {' '.join(pkgs)}")
        if check_only:
            return 1
        # Not fatal: `pyk8s up` then runs simulated nodes (and says so).
        print("(as root, `pyk8s setup` installs them; until then pyk8s up simulates nodes)")
        return 0
    print(f"pyk8s setup: apt-get install {' '.join(pkgs)}", flush=True)
    rc = install(pkgs)
    left = missing()
    if rc != 0 or left:
        print(f"pyk8s setup: still missing: {', '.join(w for w, _, _ in left) or 'see apt output'}")
        return 1
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("setup", help="install the system packages real containers need")
    p.add_argument("--check", action="store_true", help="only report what is missing")
    p.set_defaults(func=lambda args: run(args.check))


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m pyk8s.cli.setup")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--also", nargs="*", default=[], help="more packages (CI's own tools)")
    args = ap.parse_args()
    return run(args.check, args.also)


if __name__ == "__main__":
    sys.exit(main())
