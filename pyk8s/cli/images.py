"""`pyk8s images`: container images without a registry.

    pyk8s images import [--data-dir DIR] ARCHIVE...
    pyk8s images samples [--out FILE] [--import] [--data-dir DIR] [--list]
    pyk8s images list ARCHIVE...
    pyk8s images serve ARCHIVE...   (a registry on 127.0.0.1: pyk8s.cli.registry)

`import` loads OCI or docker archives into every node of the local cluster, as
`kind load image-archive` does: each running node's containerd (announced in
DIR/nodes/<node>/containerd.json) gets `ctr -n k8s.io images import`. Archives
over 50 MB are streamed to ctr with a progress line.

`samples` builds the sample images (busybox, nginx:latest/1.15.12/1.16.0,
sysnet4admin/echo-hname) from the host's packages into one archive, by default
DIR/images/samples.tar: the airgap folder every node imports when it starts.
"""

from __future__ import annotations

import argparse
import sys
import tarfile
from pathlib import Path
from typing import TextIO

from pyk8s.cli import registry
from pyk8s.cli.paths import default_data_dir
from pyk8s.images.cluster import (
    AIRGAP_DIR,
    ImportFailed,
    find_ctr,
    import_archive,
    node_sockets,
)
from pyk8s.images.hostbin import MissingHostPackage
from pyk8s.images.oci import archive_refs
from pyk8s.images.samples import build_samples, sample_refs

PROGRESS_THRESHOLD = 50 * 1024 * 1024
SAMPLES_FILE = "samples.tar"


class CliError(Exception):
    """Shown to the user as `error: <message>`, exit status 1."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("images", help="import and build container images (OCI archives)")
    p.set_defaults(func=lambda _args: _usage(p))
    isub = p.add_subparsers(dest="images_command", metavar="COMMAND")

    imp = isub.add_parser("import", help="import image archives into every node of the cluster")
    imp.add_argument("archives", nargs="+", type=Path, metavar="ARCHIVE")
    imp.add_argument("--data-dir", type=Path, default=None, help="the cluster's state directory")
    imp.set_defaults(func=cmd_import)

    sam = isub.add_parser("samples", help="build the sample images from host packages")
    sam.add_argument(
        "--out", type=Path, default=None, help=f"archive (default DIR/images/{SAMPLES_FILE})"
    )
    sam.add_argument("--import", dest="do_import", action="store_true", help="import it now")
    sam.add_argument("--data-dir", type=Path, default=None, help="the cluster's state directory")
    sam.add_argument("--list", action="store_true", help="only list the sample images")
    sam.set_defaults(func=cmd_samples)

    lst = isub.add_parser("list", help="list the images an archive carries")
    lst.add_argument("archives", nargs="+", type=Path, metavar="ARCHIVE")
    lst.set_defaults(func=cmd_list)

    registry.add_serve_parser(isub)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _fail(err: Exception) -> int:
    print(f"error: {err}", file=sys.stderr)
    return 1


def cmd_import(args: argparse.Namespace) -> int:
    try:
        import_into_cluster(args.data_dir or default_data_dir(), args.archives)
    except CliError as err:
        return _fail(err)
    return 0


def cmd_samples(args: argparse.Namespace) -> int:
    if args.list:
        print("\n".join(sample_refs()))
        return 0
    data_dir = args.data_dir or default_data_dir()
    out = args.out or data_dir / AIRGAP_DIR / SAMPLES_FILE
    try:
        build_samples(out)
    except MissingHostPackage as err:
        return _fail(err)
    print(f"wrote {out} ({_size(out.stat().st_size)}):")
    for ref in sample_refs():
        print(f"  {ref}")
    if not args.do_import:
        return 0
    try:
        import_into_cluster(data_dir, [out])
    except CliError as err:
        return _fail(err)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    for archive in args.archives:
        try:
            refs = archive_refs(archive)
        except FileNotFoundError:
            return _fail(CliError(f'the path "{archive}" does not exist'))
        except (OSError, ValueError, tarfile.TarError) as err:
            return _fail(CliError(f'cannot read "{archive}": {err}'))
        for ref in refs:
            print(ref)
    return 0


def import_into_cluster(data_dir: Path, archives: list[Path], out: TextIO | None = None) -> None:
    """Import every archive into every running node under `data_dir`.

    Raises CliError when nothing can be imported (archive missing, no cluster,
    no ctr) or when any import failed (after trying every node).
    """
    out = out or sys.stdout
    for archive in archives:
        if not archive.is_file():
            raise CliError(f'the path "{archive}" does not exist')
    running = running_nodes(data_dir)
    try:
        ctr = find_ctr()
    except ImportFailed as err:
        raise CliError(str(err)) from None
    failed = [
        node
        for archive in archives
        for node, socket in running.items()
        if not _import_one(ctr, node, socket, archive, out)
    ]
    if failed:
        raise CliError(f"import failed on node(s) {', '.join(sorted(set(failed)))}")


def running_nodes(data_dir: Path) -> dict[str, str]:
    """Nodes whose containerd socket exists; warns about the others."""
    sockets = node_sockets(data_dir)
    if not sockets:
        raise CliError(
            f"no cluster in {data_dir}: no node has announced its containerd "
            f"(start one with `pyk8s up --data-dir {data_dir}`)"
        )
    running = {node: sock for node, sock in sockets.items() if Path(sock).exists()}
    stopped = sorted(set(sockets) - set(running))
    if not running:
        raise CliError(f"no running cluster in {data_dir}: node(s) {', '.join(stopped)} are down")
    for node in stopped:
        print(
            f'warning: node "{node}" is not running; it imports {data_dir / AIRGAP_DIR}/*.tar '
            "when it starts",
            file=sys.stderr,
        )
    return running


def _import_one(ctr: str, node: str, socket: str, archive: Path, out: TextIO) -> bool:
    size = archive.stat().st_size
    print(f'Loading "{archive}" ({_size(size)}) into node "{node}"...', file=out, flush=True)
    progress = ProgressLine(out) if size > PROGRESS_THRESHOLD else None
    try:
        output = import_archive(socket, archive, progress=progress, ctr=ctr)
    except ImportFailed as err:
        if progress:
            progress.finish()
        print(f'error: node "{node}": {err}', file=sys.stderr)
        return False
    if progress:
        progress.finish()
    for line in output.splitlines():
        if line.strip():
            print(f"  {line.strip()}", file=out)
    return True


class ProgressLine:
    """Bytes sent so far: one line rewritten in place on a terminal, otherwise
    a line at every quarter."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.shown = -1

    def __call__(self, sent: int, total: int) -> None:
        pct = sent * 100 // max(total, 1)
        text = f"  {_size(sent)} / {_size(total)} ({pct}%)"
        if self.tty:
            print("\r" + text, end="", file=self.out, flush=True)
        elif pct // 25 > self.shown:
            self.shown = pct // 25
            print(text, file=self.out, flush=True)

    def finish(self) -> None:
        if self.tty:
            print(file=self.out, flush=True)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB"
