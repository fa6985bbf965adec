"""Host binaries as image entries: a program plus the shared libraries it loads.

Sample images are assembled from Debian packages already installed on the host
(busybox-static, nginx-light) instead of being pulled: the binary is copied at
its path, with every library `ldd` resolves and the dynamic loader, each at the
path the loader will look for it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from pyk8s.images.oci import Entry, file, host_file, symlink


class MissingHostPackage(RuntimeError):
    """A host program a sample image is built from is not installed."""


def find_program(name: str, package: str, fallbacks: tuple[str, ...] = ()) -> Path:
    """The host path of `name` (PATH, then `fallbacks`), or MissingHostPackage
    naming the Debian package that provides it."""
    found = shutil.which(name)
    if found:
        return Path(found)
    for candidate in fallbacks:
        if Path(candidate).is_file():
            return Path(candidate)
    raise MissingHostPackage(
        f"{name} not found on this host: install it with `apt-get install {package}`"
    )


def shared_libraries(binary: Path) -> list[str]:
    """Absolute paths of the libraries (and loader) `binary` needs, as ldd lists
    them; [] for a static binary."""
    ldd = shutil.which("ldd")
    if ldd is None:
        raise MissingHostPackage("ldd not found: install it with `apt-get install libc-bin`")
    proc = subprocess.run([ldd, str(binary)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        if "not a dynamic executable" in proc.stdout + proc.stderr:
            return []
        raise RuntimeError(f"ldd {binary} failed: {proc.stderr.strip()}")
    return parse_ldd(proc.stdout, binary)


def parse_ldd(output: str, binary: Path) -> list[str]:
    """The library paths in ldd's output (the vDSO has none and is skipped)."""
    paths: list[str] = []
    for line in output.splitlines():
        name, arrow, rest = line.strip().partition("=>")
        where = rest.split() if arrow else name.split()
        if arrow and (not where or where[0] == "not"):
            raise MissingHostPackage(f"{binary} needs {name.strip()}, which is not installed")
        if where and where[0].startswith("/"):
            paths.append(where[0])
    return sorted(set(paths))


def binary_entries(binary: Path, image_path: str) -> list[Entry]:
    """`binary` at `image_path` (mode 0755) plus its libraries at their own paths.

    Library symlinks on the host (libc.so.6 -> libc-2.36.so, or /lib -> usr/lib on
    merged-/usr hosts) are resolved: the image gets the real content at the path
    the loader asks for, which is all the loader needs.
    """
    entries = [host_file(image_path, binary, 0o755)]
    for lib in shared_libraries(binary):
        entries.append(host_file(lib, Path(lib).resolve()))
    return entries


def busybox_entries(busybox: Path) -> list[Entry]:
    """/bin/busybox plus a symlink for each applet, at the paths its own
    `--list-full` gives (bin/sh, usr/bin/env, sbin/ip, ...). Busybox picks the
    applet from argv[0], so a symlink named after the applet runs it."""
    entries = binary_entries(busybox, "/bin/busybox")
    for applet in busybox_applets(busybox):
        # linuxrc is busybox-as-initrd-init: a symlink at / that no container wants.
        if applet not in ("bin/busybox", "linuxrc"):
            entries.append(symlink("/" + applet, "/bin/busybox"))
    return entries


def busybox_applets(busybox: Path) -> list[str]:
    """Applet paths relative to / ("bin/sh"); busyboxes without --list-full get
    everything in bin/."""
    proc = subprocess.run(
        [str(busybox), "--list-full"], capture_output=True, text=True, check=False
    )
    if proc.returncode == 0 and proc.stdout.strip():
        return sorted(line.strip() for line in proc.stdout.splitlines() if line.strip())
    proc = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True)
    return sorted("bin/" + line.strip() for line in proc.stdout.splitlines() if line.strip())


def has_applet(busybox: Path, applet: str) -> bool:
    """Whether this busybox build carries `applet` (Debian's has no bash, for one)."""
    return any(path.rsplit("/", 1)[-1] == applet for path in busybox_applets(busybox))


def shell_alias(path: str) -> Entry:
    """A shell script that hands everything to busybox sh: a symlink would not do,
    busybox would look up an applet named after the link and find none."""
    return file(path, '#!/bin/sh\nexec /bin/sh "$@"\n', 0o755)
