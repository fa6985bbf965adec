"""CRI container log files: parsing, and reading them as `kubectl logs` shows them.

containerd writes one record per line: `<RFC3339Nano time> <stdout|stderr> <tag> <content>`,
where the tag is `F` (the content ends a line) or `P` (a partial line, continued by the
next record; containerd splits long lines). The reading rules follow upstream's kubelet
(pkg/kubelet/kuberuntime/logs): content bytes in file order; with timestamps each
output line starts with the record's time (Go's RFC3339Nano, trailing zeros trimmed);
tailLines counts lines of the file; sinceTime keeps records at or after it; limitBytes
cuts the output; follow waits for new records until the container stopped and the file
is drained, and reopens the file when it is replaced (rotation).
"""

from __future__ import annotations

import asyncio
import calendar
import os
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

POLL_INTERVAL = 0.1
READ_SIZE = 64 * 1024
_TAIL_BLOCK = 1024

_TIME = re.compile(
    rb"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)\Z"
)


@dataclass(frozen=True)
class LogRecord:
    time_ns: int  # Unix time in nanoseconds
    timestamp: bytes  # the time as kubectl shows it (Go's RFC3339Nano)
    stream: str  # "stdout" or "stderr"
    partial: bool
    content: bytes  # a full record keeps its newline; a partial one has none


@dataclass
class LogOptions:
    tail: int = -1  # lines from the end of the file; -1: all
    since_ns: int = 0  # keep records at or after this Unix time (ns); 0: all
    limit_bytes: int = -1  # -1: no limit
    timestamps: bool = False
    follow: bool = False
    stream: str = "All"  # "All", "Stdout" or "Stderr" (upstream's split streams)


def parse_time(ts: bytes) -> tuple[int, bytes]:
    """(Unix ns, Go RFC3339Nano text) of an RFC3339 time with optional fraction."""
    m = _TIME.match(ts)
    if m is None:
        raise ValueError(f"invalid log timestamp {ts!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, zone = m.group(7) or b"", m.group(8)
    seconds = calendar.timegm((year, month, day, hour, minute, second))
    if zone != b"Z":
        sign = 1 if zone[:1] == b"+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    ns = seconds * 1_000_000_000 + int(frac.ljust(9, b"0") or b"0")
    # Go prints a zero offset as Z and drops the fraction's trailing zeros.
    frac = frac.rstrip(b"0")
    text = (
        ts[:19]
        + (b"." + frac if frac else b"")
        + (b"Z" if zone in (b"+00:00", b"-00:00") else zone)
    )
    return ns, text


def parse_line(line: bytes) -> LogRecord:
    """One line of a CRI log file (its newline included, when it has one)."""
    parts = line.split(b" ", 3)
    if len(parts) < 4:
        raise ValueError(f"invalid CRI log line {line!r}")
    ts, stream, tags, content = parts
    if stream not in (b"stdout", b"stderr"):
        raise ValueError(f"unexpected stream type {stream!r}")
    partial = tags.split(b":")[0] == b"P"
    if partial and content.endswith(b"\n"):
        content = content[:-1]
    time_ns, text = parse_time(ts)
    return LogRecord(time_ns, text, stream.decode(), partial, content)


class LogFormatter:
    """Turns records into output bytes, applying since, timestamps, stream and limitBytes."""

    def __init__(self, opts: LogOptions) -> None:
        self.opts = opts
        self.remaining = opts.limit_bytes if opts.limit_bytes >= 0 else -1
        self.at_line_start = True
        self.exhausted = False

    def format(self, rec: LogRecord) -> bytes:
        starts_line = self.at_line_start
        if rec.content:
            self.at_line_start = rec.content.endswith(b"\n")
        else:
            self.at_line_start = True
        if self.exhausted or rec.time_ns < self.opts.since_ns:
            return b""
        if self.opts.stream not in ("All", rec.stream.capitalize()):
            return b""
        out = rec.content
        if self.opts.timestamps and starts_line:
            out = rec.timestamp + b" " + out
        if self.remaining >= 0:
            out = out[: self.remaining]
            self.remaining -= len(out)
            self.exhausted = self.remaining <= 0
        return out


def tail_start(f: BinaryIO, n: int) -> int:
    """Offset of the start of the file's last n lines (an unterminated last line does not
    count); 0 when n < 0."""
    if n < 0:
        return 0
    right = f.seek(0, os.SEEK_END)
    count = 0
    left = right
    buf = b""
    while right > 0 and count <= n:
        left = max(0, right - _TAIL_BLOCK)
        f.seek(left)
        buf = f.read(right - left)
        count += buf.count(b"\n")
        right = left
    while count > n:
        idx = buf.index(b"\n") + 1
        buf = buf[idx:]
        left += idx
        count -= 1
    return left


def since_ns(since_seconds: int | None, since_time: str | None, now_ns: int | None = None) -> int:
    """The later of now - sinceSeconds and sinceTime, as upstream combines them."""
    since = 0
    if since_seconds is not None:
        since = (now_ns if now_ns is not None else time.time_ns()) - since_seconds * 1_000_000_000
    if since_time:
        since = max(since, parse_time(since_time.encode())[0])
    return since


def format_records(lines: list[bytes], fmt: LogFormatter) -> bytes:
    """Output bytes for complete file lines (lines that do not parse are skipped, as
    upstream logs and skips them)."""
    out = []
    for line in lines:
        try:
            rec = parse_line(line)
        except ValueError:
            continue
        out.append(fmt.format(rec))
        if fmt.exhausted:
            break
    return b"".join(out)


async def read_log(
    path: Path,
    opts: LogOptions,
    running: Callable[[], bool] = lambda: False,
    poll: float = POLL_INTERVAL,
) -> AsyncIterator[bytes]:
    """The container's log as `kubectl logs` shows it, in chunks; with follow, until
    `running()` turns false and the file is drained."""
    reader = LogReader(path, opts, running, poll=poll)
    try:
        async for chunk in reader.chunks():
            yield chunk
    finally:
        reader.close()


class LogReader:
    """One reading of a log file. The file is opened here (a missing file raises now,
    before any output); `alive()` false stops a follow early (the client went away)."""

    def __init__(
        self,
        path: Path,
        opts: LogOptions,
        running: Callable[[], bool] = lambda: False,
        alive: Callable[[], bool] = lambda: True,
        poll: float = POLL_INTERVAL,
    ) -> None:
        self.path = path
        self.opts = opts
        self.running = running
        self.alive = alive
        self.poll = poll
        self.fmt = LogFormatter(opts)
        self.f: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.f.seek(tail_start(self.f, opts.tail))
        # Without follow, tail reads exactly that many lines (the file may grow meanwhile).
        self.lines_left = opts.tail if opts.tail >= 0 and not opts.follow else -1
        self.pending = b""

    def close(self) -> None:
        self.f.close()

    async def chunks(self) -> AsyncIterator[bytes]:
        stopped = False
        while not self.fmt.exhausted and self.lines_left != 0:
            data = self.f.read(READ_SIZE)
            if data:
                out = self._consume(data)
                if out:
                    yield out
                continue
            if not self.opts.follow or stopped or not self.alive():
                break
            if self._rotated():
                self._reopen()
                continue
            # Checked before waiting: records written before the stop are read next round.
            stopped = not self.running()
            if not stopped:
                await asyncio.sleep(self.poll)
        if self.pending and not self.opts.follow and not self.fmt.exhausted and self.lines_left:
            # An unterminated last record is shown once the container has stopped writing.
            out = format_records([self.pending], self.fmt)
            if out:
                yield out

    def _consume(self, data: bytes) -> bytes:
        lines = (self.pending + data).split(b"\n")
        self.pending = lines.pop()
        complete = [line + b"\n" for line in lines]
        if self.lines_left >= 0:
            complete = complete[: self.lines_left]
            self.lines_left -= len(complete)
        return format_records(complete, self.fmt)

    def _rotated(self) -> bool:
        try:
            return os.stat(self.path).st_ino != os.fstat(self.f.fileno()).st_ino
        except FileNotFoundError:
            return False

    def _reopen(self) -> None:
        try:
            new = open(self.path, "rb")  # noqa: SIM115 - replaces self.f
        except FileNotFoundError:
            return
        self.f.close()
        self.f = new
        self.pending = b""
