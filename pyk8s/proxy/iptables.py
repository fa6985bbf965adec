"""Running iptables-restore / iptables-save without blocking the event loop, and the
sysctls the proxy depends on.

Whichever `iptables` the machine has (nft or legacy backend) is used, the same
one the CNI plugins use, so all rules land in one place. `-w` waits for the
xtables lock that the legacy backend and other tools take.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_WAIT = "5"  # seconds iptables-restore waits for the xtables lock


class IptablesError(RuntimeError):
    pass


class Iptables:
    def __init__(self, restore: str = "iptables-restore", save: str = "iptables-save") -> None:
        self.restore_cmd, self.save_cmd = restore, save

    @staticmethod
    def available() -> bool:
        return (
            shutil.which("iptables-restore") is not None
            and shutil.which("iptables-save") is not None
        )

    async def restore(self, text: str) -> None:
        """Apply iptables-restore input without flushing anything it does not name."""
        if not text:
            return
        await self._run([self.restore_cmd, "-w", LOCK_WAIT, "--noflush"], text, text)

    async def save(self) -> str:
        return await self._run([self.save_cmd], "", "")

    async def _run(self, argv: list[str], stdin: str, shown: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate(stdin.encode())
        if proc.returncode != 0:
            raise IptablesError(
                f"{argv[0]} exited {proc.returncode}: {_explain(err.decode(), shown)}"
            )
        return out.decode()


def _explain(err: str, text: str) -> str:
    """The error, with the input line it names (iptables-restore says 'line N failed')."""
    err = err.strip()
    lines = text.splitlines()
    for word in err.replace(":", " ").split():
        if word.isdigit() and "line" in err and 0 < int(word) <= len(lines):
            return f"{err} [line {word}: {lines[int(word) - 1]}]"
    return err


SYSCTL_ROOT = Path("/proc/sys")


def ensure_sysctl(name: str, value: str = "1", root: Path = SYSCTL_ROOT) -> bool:
    """Set a sysctl (dotted name) if it differs; False when it cannot be set."""
    path = root / name.replace(".", "/")
    try:
        if path.read_text().strip() != value:
            path.write_text(value)
            log.info("proxy: set %s=%s", name, value)
        return True
    except OSError as err:
        log.warning("proxy: cannot set %s=%s: %s", name, value, err)
        return False
