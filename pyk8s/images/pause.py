"""The sandbox ("pause") image, built from source on first use.

Every pod sandbox runs one tiny process that holds the pod's namespaces open
(`pause.c`, next to this file). Nothing is fetched: the first call compiles it
with the host's C compiler (`gcc -static -Os`, or `cc`), wraps the binary in a
one-layer OCI archive named PAUSE_IMAGE and caches that archive under the given
directory, keyed by the source's hash, so later starts reuse it.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import threading
from importlib import resources
from pathlib import Path

from pyk8s.images.oci import Image, ImageConfig, Layer, file, host_architecture, write_archive

PAUSE_IMAGE = "localhost/pyk8s/pause:3.10"
COMPILERS = ("gcc", "cc")
CFLAGS = ("-static", "-Os", "-s", "-Wall")


class BuildError(RuntimeError):
    """The sandbox image cannot be built here (message says what to install)."""


def pause_source() -> bytes:
    """The C source of the pause process (package data)."""
    return resources.files("pyk8s.images").joinpath("pause.c").read_bytes()


def cache_key(source: bytes) -> str:
    """What the cached archive depends on: source, flags, image name and architecture."""
    h = hashlib.sha256(source)
    for part in (*CFLAGS, PAUSE_IMAGE, host_architecture()):
        h.update(b"\0" + part.encode())
    return h.hexdigest()[:16]


def find_compiler() -> str:
    """The first C compiler on PATH, or BuildError saying which packages give one."""
    for name in COMPILERS:
        path = shutil.which(name)
        if path:
            return path
    raise BuildError(
        "cannot build the pause image: no C compiler found (gcc or cc); "
        "install one, e.g. `apt-get install gcc libc6-dev`"
    )


def compile_pause(source: bytes, out: Path) -> Path:
    """Compile `source` into a static binary at `out`."""
    compiler = find_compiler()
    src = out.with_suffix(".c")
    src.write_bytes(source)
    cmd = [compiler, *CFLAGS, "-o", str(out), str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        hint = ""
        if "No such file" in proc.stderr or "cannot find -lc" in proc.stderr:
            hint = (
                " (the C library headers and static libc are missing: `apt-get install libc6-dev`)"
            )
        raise BuildError(
            f"cannot build the pause image: {' '.join(cmd)} failed{hint}:\n{proc.stderr.strip()}"
        )
    return out


def pause_image(binary: Path) -> Image:
    """The sandbox image around a built pause binary."""
    layer = Layer([file("/pause", binary.read_bytes(), 0o755)], "pyk8s: pause built from pause.c")
    config = ImageConfig(entrypoint=["/pause"], env=(), labels={"io.pyk8s.image": "pause"})
    return Image([layer], config)


_BUILDING = threading.Lock()


def ensure_pause_archive(cache_dir: Path) -> Path:
    """The OCI archive of PAUSE_IMAGE, building and caching it on first use.

    Raises BuildError (with the package to install) when no C compiler works.
    """
    source = pause_source()
    archive = cache_dir / f"pause-{cache_key(source)}.tar"
    with _BUILDING:  # the nodes of one `pyk8s up` ask at the same time: build once
        if archive.is_file():
            return archive
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="pyk8s-pause-") as tmp:
            binary = compile_pause(source, Path(tmp) / "pause")
            write_archive(archive, {PAUSE_IMAGE: pause_image(binary)})
    return archive
