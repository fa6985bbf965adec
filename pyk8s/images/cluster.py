"""Importing image archives into the nodes' containerd, as `kind load` does.

Each node agent that runs its own containerd announces the socket in
`DATA_DIR/nodes/<node>/containerd.json` ({"socket": "/run/pyk8s/.../containerd.sock"},
written with write_node_socket_file); `pyk8s images import` reads them with
node_sockets and runs `ctr --address SOCK -n k8s.io images import` once per node.
Archives dropped in `DATA_DIR/images/*.tar` (airgap_archives) are imported by
every agent when it starts, as k3s does with agent/images/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

NAMESPACE = "k8s.io"  # the containerd namespace the CRI plugin serves
NODES_DIR = "nodes"
SOCKET_FILE = "containerd.json"
AIRGAP_DIR = "images"
CHUNK = 1 << 20

Progress = Callable[[int, int], None]  # (bytes sent, total bytes)


class ImportFailed(RuntimeError):
    """ctr could not import an archive (message carries ctr's own words)."""


def node_socket_file(data_dir: Path, node: str) -> Path:
    """Where a node's containerd socket is announced."""
    return data_dir / NODES_DIR / node / SOCKET_FILE


def write_node_socket_file(data_dir: Path, node: str, socket: str) -> Path:
    """Announce `node`'s containerd socket (the agent calls this once containerd is up).

    Written to a temporary file and renamed, so a reader never sees half of it.
    """
    path = node_socket_file(data_dir, node)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{SOCKET_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"socket": socket}) + "\n")
    os.replace(tmp, path)
    return path


def node_sockets(data_dir: Path) -> dict[str, str]:
    """Node name -> containerd socket for every node announced under `data_dir`
    (sorted by name; unreadable or malformed files are skipped)."""
    found: dict[str, str] = {}
    nodes = data_dir / NODES_DIR
    if not nodes.is_dir():
        return found
    for path in sorted(nodes.glob(f"*/{SOCKET_FILE}")):
        try:
            socket = json.loads(path.read_text()).get("socket")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(socket, str) and socket:
            found[path.parent.name] = socket
    return found


def airgap_archives(data_dir: Path) -> list[Path]:
    """The archives every agent imports when it starts: DATA_DIR/images/*.tar, sorted."""
    folder = data_dir / AIRGAP_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.tar") if p.is_file())


def find_ctr() -> str:
    """The ctr binary, or ImportFailed saying which package provides it."""
    ctr = shutil.which("ctr")
    if ctr is None:
        raise ImportFailed("ctr not found on PATH: install containerd (apt-get install containerd)")
    return ctr


def import_command(ctr: str, socket: str, source: str) -> list[str]:
    """The ctr command line importing `source` (a path, or "-" for stdin)."""
    return [ctr, "--address", socket, "-n", NAMESPACE, "images", "import", source]


def import_archive(
    socket: str, archive: Path, progress: Progress | None = None, ctr: str | None = None
) -> str:
    """Import `archive` into the containerd at `socket`; returns ctr's output.

    With `progress`, the archive is streamed to ctr's stdin (`images import -`,
    which ctr supports) and progress(sent, total) is called after each chunk;
    otherwise ctr reads the file itself. Raises ImportFailed with ctr's message.
    """
    ctr = ctr or find_ctr()
    if progress is None:
        cmd = import_command(ctr, socket, str(archive))
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        return _result(proc.returncode, proc.stdout, proc.stderr)
    return _stream(import_command(ctr, socket, "-"), archive, progress)


def _stream(cmd: list[str], archive: Path, progress: Progress) -> str:
    total = archive.stat().st_size
    sent = 0
    # ctr's output goes to files, not pipes: a full pipe while we are still
    # writing its stdin would block both sides.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        with subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out, stderr=err) as proc:
            assert proc.stdin is not None
            try:
                with archive.open("rb") as src:
                    while chunk := src.read(CHUNK):
                        proc.stdin.write(chunk)
                        sent += len(chunk)
                        progress(sent, total)
                proc.stdin.close()
            except BrokenPipeError:
                pass  # ctr gave up early; its stderr says why
            code = proc.wait()
        return _result(code, _read(out), _read(err))


def _read(f: IO[bytes]) -> str:
    f.seek(0)
    return f.read().decode(errors="replace")


def _result(code: int, out: str, err: str) -> str:
    if code != 0:
        message = err.strip() or out.strip() or f"ctr exited with status {code}"
        raise ImportFailed(message)
    return out
