"""CRI log files read as `kubectl logs` shows them (pyk8s.kubelet.server.crilog)."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import pytest

from pyk8s.kubelet.server import crilog
from pyk8s.kubelet.server.crilog import LogOptions

T0 = "2024-05-01T10:00:00.000000100Z"
T1 = "2024-05-01T10:00:01.500000000Z"
T2 = "2024-05-01T10:00:02Z"
T3 = "2024-05-01T19:00:03.123+09:00"  # 10:00:03.123 UTC

LINES = [
    f"{T0} stdout F first\n",
    f"{T1} stderr P sec",
    f"{T1} stderr F ond\n",
    f"{T2} stdout F third\n",
    f"{T3} stdout F fourth\n",
]


def write_log(path: Path, lines: list[str]) -> Path:
    with open(path, "a") as f:
        for line in lines:
            f.write(line if line.endswith("\n") else line + "\n")
    return path


async def collect(path: Path, opts: LogOptions, **kw) -> bytes:
    return b"".join([c async for c in crilog.read_log(path, opts, **kw)])


def read(path: Path, **opts) -> bytes:
    return asyncio.run(collect(path, LogOptions(**opts)))


@pytest.fixture
def logfile(tmp_path: Path) -> Path:
    return write_log(tmp_path / "0.log", LINES)


def test_parse_line_full_and_partial() -> None:
    full = crilog.parse_line(b"2024-05-01T10:00:00.5Z stdout F hello world\n")
    assert (full.stream, full.partial, full.content) == ("stdout", False, b"hello world\n")
    partial = crilog.parse_line(b"2024-05-01T10:00:00.5Z stderr P hel\n")
    assert (partial.stream, partial.partial, partial.content) == ("stderr", True, b"hel")
    # Tags may carry more after ':' (forward compatible, as upstream reads them).
    assert crilog.parse_line(b"2024-05-01T10:00:00Z stdout P:x a\n").partial


@pytest.mark.parametrize(
    "line",
    [b"garbage\n", b"2024-05-01T10:00:00Z stdin F x\n", b"notatime stdout F x\n", b"2024 stdout\n"],
)
def test_parse_line_rejects_malformed(line: bytes) -> None:
    with pytest.raises(ValueError):
        crilog.parse_line(line)


def test_time_is_go_rfc3339nano() -> None:
    ns, text = crilog.parse_time(b"2024-05-01T10:00:00.123400000Z")
    assert text == b"2024-05-01T10:00:00.1234Z"
    assert ns % 1_000_000_000 == 123_400_000
    assert crilog.parse_time(b"2024-05-01T10:00:00.000Z")[1] == b"2024-05-01T10:00:00Z"
    assert crilog.parse_time(b"2024-05-01T10:00:00+00:00")[1] == b"2024-05-01T10:00:00Z"
    ns_utc, _ = crilog.parse_time(b"2024-05-01T10:00:03.123Z")
    ns_kst, text = crilog.parse_time(T3.encode())
    assert ns_utc == ns_kst and text == b"2024-05-01T19:00:03.123+09:00"


def test_whole_log_joins_partial_lines(logfile: Path) -> None:
    assert read(logfile) == b"first\nsecond\nthird\nfourth\n"


def test_timestamps_prefix_each_line_once(logfile: Path) -> None:
    out = read(logfile, timestamps=True).decode().splitlines()
    assert out == [
        "2024-05-01T10:00:00.0000001Z first",
        "2024-05-01T10:00:01.5Z second",
        "2024-05-01T10:00:02Z third",
        "2024-05-01T19:00:03.123+09:00 fourth",
    ]


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        (0, b""),
        (1, b"fourth\n"),
        (2, b"third\nfourth\n"),
        # tailLines counts lines of the file: the partial record is one of them.
        (3, b"ond\nthird\nfourth\n"),
        (100, b"first\nsecond\nthird\nfourth\n"),
    ],
)
def test_tail_lines(logfile: Path, tail: int, expected: bytes) -> None:
    assert read(logfile, tail=tail) == expected


def test_tail_start_over_block_boundaries() -> None:
    lines = [f"line {i:05d}\n".encode() for i in range(1000)]
    f = io.BytesIO(b"".join(lines))
    start = crilog.tail_start(f, 3)
    assert f.getvalue()[start:] == b"".join(lines[-3:])
    assert crilog.tail_start(f, -1) == 0
    assert crilog.tail_start(f, 5000) == 0
    # An unterminated last line does not count as a line.
    g = io.BytesIO(b"a\nb\nc")
    assert g.getvalue()[crilog.tail_start(g, 1) :] == b"b\nc"


def test_since_keeps_records_at_or_after(logfile: Path) -> None:
    since, _ = crilog.parse_time(T1.encode())
    assert read(logfile, since_ns=since) == b"second\nthird\nfourth\n"
    since = crilog.since_ns(None, "2024-05-01T10:00:02Z")
    assert read(logfile, since_ns=since) == b"third\nfourth\n"


def test_since_seconds_and_time_take_the_later() -> None:
    now = crilog.parse_time(b"2024-05-01T10:00:10Z")[0]
    assert crilog.since_ns(5, None, now) == crilog.parse_time(b"2024-05-01T10:00:05Z")[0]
    both = crilog.since_ns(5, "2024-05-01T10:00:07Z", now)
    assert both == crilog.parse_time(b"2024-05-01T10:00:07Z")[0]
    assert crilog.since_ns(None, None) == 0


def test_limit_bytes_cuts_output(logfile: Path) -> None:
    assert read(logfile, limit_bytes=8) == b"first\nse"
    assert read(logfile, limit_bytes=1000) == b"first\nsecond\nthird\nfourth\n"
    with_ts = read(logfile, limit_bytes=10, timestamps=True)
    assert with_ts == b"2024-05-01"


def test_stream_filter(logfile: Path) -> None:
    assert read(logfile, stream="Stderr") == b"second\n"
    assert read(logfile, stream="Stdout") == b"first\nthird\nfourth\n"


def test_malformed_lines_are_skipped(tmp_path: Path) -> None:
    path = write_log(tmp_path / "x.log", [f"{T0} stdout F a\n", "junk\n", f"{T2} stdout F b\n"])
    assert read(path) == b"a\nb\n"


def test_unterminated_last_record_shown_without_follow(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(f"{T0} stdout F a\n{T2} stdout F b".encode())
    assert read(path) == b"a\nb"


async def test_follow_reads_appended_lines_until_the_container_stops(tmp_path: Path) -> None:
    path = write_log(tmp_path / "0.log", [f"{T0} stdout F one\n"])
    running = True
    reader = crilog.LogReader(path, LogOptions(follow=True), running=lambda: running, poll=0.01)
    chunks = reader.chunks()
    assert await asyncio.wait_for(chunks.__anext__(), 5) == b"one\n"
    nxt = asyncio.ensure_future(chunks.__anext__())
    await asyncio.sleep(0.05)
    assert not nxt.done()  # waiting for more
    write_log(path, [f"{T1} stdout P tw", f"{T1} stdout F o\n"])
    assert await asyncio.wait_for(nxt, 5) == b"two\n"
    # Lines written just before the stop are still delivered, then the stream ends.
    write_log(path, [f"{T2} stdout F three\n"])
    running = False
    rest = [c async for c in chunks]
    assert b"".join(rest) == b"three\n"
    reader.close()


async def test_follow_tail_zero_shows_only_new_lines(tmp_path: Path) -> None:
    path = write_log(tmp_path / "0.log", [f"{T0} stdout F old\n"])
    state = {"running": True}
    task = asyncio.ensure_future(
        collect(path, LogOptions(follow=True, tail=0), running=lambda: state["running"], poll=0.01)
    )
    await asyncio.sleep(0.05)
    write_log(path, [f"{T1} stdout F new\n"])
    await asyncio.sleep(0.05)
    state["running"] = False
    assert await asyncio.wait_for(task, 5) == b"new\n"


async def test_follow_reopens_a_rotated_file(tmp_path: Path) -> None:
    path = write_log(tmp_path / "0.log", [f"{T0} stdout F before\n"])
    state = {"running": True}
    task = asyncio.ensure_future(
        collect(path, LogOptions(follow=True), running=lambda: state["running"], poll=0.01)
    )
    await asyncio.sleep(0.05)
    os.rename(path, tmp_path / "0.log.1")
    write_log(path, [f"{T1} stdout F after\n"])
    await asyncio.sleep(0.1)
    state["running"] = False
    assert await asyncio.wait_for(task, 5) == b"before\nafter\n"


async def test_follow_stops_when_the_client_is_gone(tmp_path: Path) -> None:
    path = write_log(tmp_path / "0.log", [f"{T0} stdout F x\n"])
    alive = {"v": True}
    reader = crilog.LogReader(
        path, LogOptions(follow=True), running=lambda: True, alive=lambda: alive["v"], poll=0.01
    )
    task = asyncio.ensure_future(_drain(reader))
    await asyncio.sleep(0.05)
    alive["v"] = False
    assert await asyncio.wait_for(task, 5) == b"x\n"
    reader.close()


async def _drain(reader: crilog.LogReader) -> bytes:
    return b"".join([c async for c in reader.chunks()])
