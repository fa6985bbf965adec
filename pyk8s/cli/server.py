"""`pyk8s server`: the API server in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from pyk8s.apiserver.credentials import ensure_credentials, write_kubeconfig
from pyk8s.apiserver.server import APIServer, open_store
from pyk8s.cli.paths import default_data_dir

log = logging.getLogger("pyk8s")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("server", help="run the API server (foreground)")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="state directory (default: /var/lib/pyk8s as root, ~/.pyk8s otherwise)",
    )
    p.add_argument(
        "--bind-address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    p.add_argument(
        "--port", type=int, default=6443, help="HTTPS port (default 6443; 0 picks a free one)"
    )
    p.add_argument(
        "--no-fsync",
        action="store_true",
        help="skip fsync on writes (tests only: a crash may lose acknowledged writes)",
    )
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_server)


def cmd_server(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    data_dir: Path = args.data_dir or default_data_dir()
    try:
        asyncio.run(serve(data_dir, args.bind_address, args.port, durable=not args.no_fsync))
    except KeyboardInterrupt:
        pass
    return 0


async def serve(data_dir: Path, host: str, port: int, durable: bool = True) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    creds = ensure_credentials(data_dir, [host] if host not in ("0.0.0.0", "::") else [])
    server = APIServer(open_store(data_dir, durable=durable), tokens=[creds.token])
    await server.start(host, port, ssl_context=creds.ssl_context())
    connect_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"https://{connect_host}:{server.port}"
    kubeconfig = data_dir / "kubeconfig.yaml"
    write_kubeconfig(kubeconfig, creds, url)
    log.info("pyk8s API server listening on %s; kubeconfig: %s", url, kubeconfig)
    print(f"pyk8s server ready: {url} (KUBECONFIG={kubeconfig})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")
    await server.stop()
