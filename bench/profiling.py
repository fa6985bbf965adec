"""py-spy sampling of the server under load: per thread, the top frames by self time
and the pyk8s functions by inclusive time."""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

_LINE_NO = re.compile(r":\d+\)$")
_THREAD = re.compile(r"^thread \(\d+\): (.*)$")


def available() -> bool:
    return shutil.which("py-spy") is not None


def start_record(pid: int, out: Path, seconds: float, rate: int = 200) -> subprocess.Popen:
    """py-spy record (raw collapsed stacks, one root frame per thread, idle excluded);
    --nonblocking so that sampling does not pause the server."""
    args = ["py-spy", "record", "--format", "raw", "--threads", "--nonblocking"]
    args += ["-o", str(out), "-r", str(rate), "-d", str(max(1, round(seconds)))]
    args += ["-p", str(pid)]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@dataclass
class ThreadProfile:
    samples: int = 0
    self_time: collections.Counter[str] = field(default_factory=collections.Counter)
    inclusive: collections.Counter[str] = field(default_factory=collections.Counter)


def parse(raw: Path) -> dict[str, ThreadProfile]:
    """Per thread name: samples, self samples and inclusive samples by function
    ("name (file)", line numbers merged)."""
    threads: dict[str, ThreadProfile] = collections.defaultdict(ThreadProfile)
    for line in raw.read_text().splitlines():
        stack, _, num = line.rpartition(" ")
        if not stack or not num.isdigit():
            continue
        frames = stack.split(";")
        m = _THREAD.match(frames[0])
        name = m.group(1) if m else "all"
        frames = [_LINE_NO.sub(")", f) for f in (frames[1:] if m else frames)]
        if not frames:  # a thread sampled outside any Python frame
            continue
        prof = threads[name]
        prof.samples += int(num)
        prof.self_time[frames[-1]] += int(num)
        for f in set(frames):
            prof.inclusive[f] += int(num)
    return dict(threads)


def format_profile(title: str, raw: Path, seconds: float, rate: int = 200, n: int = 15) -> str:
    threads = parse(raw)
    out = [f"#### {title}", ""]
    for name, prof in sorted(threads.items(), key=lambda kv: -kv[1].samples):
        busy = 100 * prof.samples / (seconds * rate)
        out.append(f"Thread `{name}`: {prof.samples} samples (busy ~{busy:.0f}% of the run).")
        out.append("")
        if prof.samples < 0.05 * seconds * rate:
            continue
        out += ["| self % | frame |", "|---:|---|"]
        out += [
            f"| {100 * c / prof.samples:.1f} | `{f}` |" for f, c in prof.self_time.most_common(n)
        ]
        ours = [
            (f, c)
            for f, c in prof.inclusive.most_common()
            if "(pyk8s/" in f and "(pyk8s/cli/" not in f
        ][:n]
        if ours:
            out += ["", "| inclusive % | pyk8s function |", "|---:|---|"]
            out += [f"| {100 * c / prof.samples:.1f} | `{f}` |" for f, c in ours]
        out.append("")
    return "\n".join(out) + "\n"
