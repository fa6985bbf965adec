"""`pyk8s images serve`: a read-only registry on 127.0.0.1 serving image archives.

    pyk8s images serve [--host 127.0.0.1] [--port 5000] [--user USER:PASSWORD]
                       [--hosts-dir DIR [--mirror HOST]...] ARCHIVE...

Serves the images of OCI or docker archives over the OCI distribution API
(pull only) until Ctrl-C or SIGTERM. With `--hosts-dir`, writes containerd
hosts.toml files there that send every pull for docker.io, registry.k8s.io,
quay.io, ghcr.io and gcr.io (or the `--mirror` hosts given), and for the
registry's own address, to this registry and nowhere else; point
`ctr images pull --hosts-dir DIR` or containerd's CRI `registry.config_path`
at it. `--user` makes every request need those basic-auth credentials (the
password shows in `ps`: for tests and throwaway clusters).

Also runnable alone: `python -m pyk8s.cli.registry ARCHIVE...`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from pyk8s.images.registry import DEFAULT_MIRRORED_HOSTS, LocalRegistry, write_mirror_config
from pyk8s.images.tarstore import ArchiveError

DEFAULT_PORT = 5000


def add_serve_parser(images_sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `serve` to the `pyk8s images` subcommands."""
    p = images_sub.add_parser(
        "serve",
        help="serve image archives from a read-only registry on 127.0.0.1",
        description="Serve the images of OCI or docker archives over the OCI distribution API.",
    )
    configure(p)
    return p


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("archives", nargs="+", type=Path, metavar="ARCHIVE")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks one)"
    )
    p.add_argument("--user", metavar="USER:PASSWORD", help="require these basic-auth credentials")
    p.add_argument("--hosts-dir", type=Path, help="write containerd hosts.toml mirror files here")
    p.add_argument(
        "--mirror",
        action="append",
        metavar="HOST",
        help="a registry host to mirror (repeatable; default: "
        + ", ".join(DEFAULT_MIRRORED_HOSTS)
        + ")",
    )
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    auth = None
    if args.user:
        user, sep, password = args.user.partition(":")
        if not sep or not user:
            return _fail("--user takes USER:PASSWORD")
        auth = (user, password)
    registry = LocalRegistry(host=args.host, port=args.port, auth=auth)
    try:
        for archive in args.archives:
            registry.add_archive(archive)
        return asyncio.run(_serve(registry, args))
    except FileNotFoundError as err:
        return _fail(f'the path "{err.filename}" does not exist')
    except (ArchiveError, OSError) as err:
        return _fail(str(err))
    finally:
        registry.close()


async def _serve(registry: LocalRegistry, args: argparse.Namespace) -> int:
    try:
        await registry.start()
    except OSError as err:
        return _fail(f"cannot listen on {args.host}:{args.port}: {err.strerror or err}")
    try:
        print(f"serving on {registry.url}", flush=True)
        for ref in registry.refs:
            print(f"  {ref}", flush=True)
        if args.hosts_dir:
            hosts = args.mirror or list(DEFAULT_MIRRORED_HOSTS)
            write_mirror_config(args.hosts_dir, registry.url, hosts)
            print(
                f"containerd mirror config for {', '.join(hosts)} in {args.hosts_dir}", flush=True
            )
        await _until_stopped()
    finally:
        await registry.stop()
    return 0


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyk8s images serve", description=__doc__.split("\n")[0])
    configure(parser)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
