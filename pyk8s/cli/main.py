"""The `pyk8s` command."""

from __future__ import annotations

import argparse
import sys

from pyk8s.cli import agent, images, kubectl, server, setup, up


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pyk8s", description="Kubernetes, implemented in Python.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    server.add_parser(sub)
    agent.add_parser(sub)
    up.add_parser(sub)
    kubectl.add_parser(sub)
    images.add_parser(sub)
    setup.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "kubectl":
        # Everything after `kubectl` belongs to kubectl, flags included.
        return kubectl.run(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
