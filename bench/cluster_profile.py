"""py-spy profiles of benchmark processes: record one process for a while in the
background, then summarise the raw (collapsed stacks) output by self time and by
inclusive time of pyk8s functions.

    python -m bench.cluster_profile out.txt [N]     # summarise a raw profile
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path


def record(pid: int, out: Path, seconds: int, rate: int = 100) -> subprocess.Popen:
    """Start `py-spy record` on `pid` (returns at once; wait() on the result)."""
    args = ["py-spy", "record", "--format", "raw", "-o", str(out), "-p", str(pid)]
    args += ["--duration", str(seconds), "--rate", str(rate), "--nonblocking"]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _short(frame: str) -> str:
    """'fn (/long/path/pyk8s/x/y.py:12)' -> 'fn (pyk8s/x/y.py:12)'."""
    for marker in ("/pyk8s/pyk8s/", "/main/pyk8s/", "site-packages/", "lib/python3.11/"):
        if marker in frame:
            head, tail = frame.split(marker, 1)
            prefix = "pyk8s/" if "pyk8s/" in marker else ""
            return head.split("(")[0] + "(" + prefix + tail
    return frame


def summarise(raw: Path, n: int = 15) -> str:
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_short(f) for f in stack.split(";")]
        total += int(count)
        self_time[frames[-1]] += int(count)
        for f in set(frames):
            inclusive[f] += int(count)
    out = [f"{total} samples", "", "self %  frame"]
    out += [f"{100 * c / total:5.1f}  {f}" for f, c in self_time.most_common(n)]
    ours = [(f, c) for f, c in inclusive.most_common() if "(pyk8s/" in f][:n]
    out += ["", "incl %  pyk8s function"]
    out += [f"{100 * c / total:5.1f}  {f}" for f, c in ours]
    return "\n".join(out)


if __name__ == "__main__":
    print(summarise(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 15))
