"""`pyk8s images import`: node discovery, error paths, and the ctr calls it makes
(driven against a stand-in `ctr` script that records what it was given)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from pyk8s.cli import images as images_cli
from pyk8s.cli.main import main
from pyk8s.images.cluster import (
    ImportFailed,
    airgap_archives,
    import_archive,
    node_socket_file,
    node_sockets,
    write_node_socket_file,
)
from pyk8s.images.hostbin import parse_ldd

FAKE_CTR = """#!/bin/sh
# Records its arguments and the bytes it read, as the real ctr would consume them.
printf '%s\\n' "$@" > "{log}.args"
last=""
for a in "$@"; do last="$a"; done
if [ "$last" = "-" ]; then cat > "{log}.stdin"; else cp "$last" "{log}.stdin"; fi
if [ -n "$FAKE_CTR_FAIL" ]; then echo "ctr: $FAKE_CTR_FAIL" >&2; exit 1; fi
echo "unpacking docker.io/library/demo:1 (sha256:abc)...done"
"""


@pytest.fixture
def fake_ctr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `ctr` on PATH that logs to tmp_path/ctr.args and ctr.stdin."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    ctr = bindir / "ctr"
    ctr.write_text(FAKE_CTR.format(log=tmp_path / "ctr"))
    ctr.chmod(ctr.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    return tmp_path / "ctr"


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    path = tmp_path / "images.tar"
    path.write_bytes(os.urandom(3 << 20))
    return path


def announce(data_dir: Path, node: str, live: bool = True) -> str:
    """Announce a node; a live one gets a file where its socket would be."""
    socket = data_dir / "run" / f"{node}.sock"
    if live:
        socket.parent.mkdir(parents=True, exist_ok=True)
        socket.touch()
    write_node_socket_file(data_dir, node, str(socket))
    return str(socket)


def test_socket_files_round_trip_and_malformed_ones_are_skipped(tmp_path: Path) -> None:
    write_node_socket_file(tmp_path, "w1-k8s", "/run/pyk8s/w1/containerd.sock")
    write_node_socket_file(tmp_path, "m-k8s", "/run/pyk8s/m/containerd.sock")
    bad = node_socket_file(tmp_path, "w2-k8s")
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json")
    assert json.loads(node_socket_file(tmp_path, "m-k8s").read_text()) == {
        "socket": "/run/pyk8s/m/containerd.sock"
    }
    assert node_sockets(tmp_path) == {
        "m-k8s": "/run/pyk8s/m/containerd.sock",
        "w1-k8s": "/run/pyk8s/w1/containerd.sock",
    }
    assert node_sockets(tmp_path / "missing") == {}


def test_airgap_archives_are_the_tars_in_the_images_folder(tmp_path: Path) -> None:
    assert airgap_archives(tmp_path) == []
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("b.tar", "a.tar", "notes.txt"):
        (folder / name).write_text("x")
    assert airgap_archives(tmp_path) == [folder / "a.tar", folder / "b.tar"]


def test_parse_ldd_lists_libraries_and_the_loader() -> None:
    output = (
        "\tlinux-vdso.so.1 (0x00007ffd)\n"
        "\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x00007f1)\n"
        "\t/lib64/ld-linux-x86-64.so.2 (0x00007f2)\n"
    )
    assert parse_ldd(output, Path("/usr/sbin/x")) == [
        "/lib/x86_64-linux-gnu/libz.so.1",
        "/lib64/ld-linux-x86-64.so.2",
    ]
    with pytest.raises(RuntimeError, match="libgone.so.1"):
        parse_ldd("\tlibgone.so.1 => not found\n", Path("/usr/sbin/x"))


def test_no_cluster_in_the_data_dir(tmp_path: Path, archive: Path, capsys) -> None:
    code = main(["images", "import", "--data-dir", str(tmp_path / "none"), str(archive)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: no cluster in ") and str(tmp_path / "none") in err


def test_a_missing_archive_is_named(tmp_path: Path, capsys) -> None:
    announce(tmp_path, "m-k8s")
    code = main(["images", "import", "--data-dir", str(tmp_path), str(tmp_path / "nope.tar")])
    assert code == 1
    assert capsys.readouterr().err == f'error: the path "{tmp_path / "nope.tar"}" does not exist\n'


def test_a_stopped_cluster_is_not_a_running_one(tmp_path: Path, archive: Path, capsys) -> None:
    announce(tmp_path, "m-k8s", live=False)
    announce(tmp_path, "w1-k8s", live=False)
    code = main(["images", "import", "--data-dir", str(tmp_path), str(archive)])
    assert code == 1
    assert "error: no running cluster" in capsys.readouterr().err


def test_ctr_missing(tmp_path: Path, archive: Path, capsys, monkeypatch) -> None:
    announce(tmp_path, "m-k8s")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code = main(["images", "import", "--data-dir", str(tmp_path), str(archive)])
    assert code == 1
    assert capsys.readouterr().err.startswith("error: ctr not found on PATH: install containerd")


def test_every_running_node_gets_the_archive(
    tmp_path: Path, archive: Path, fake_ctr: Path, capsys
) -> None:
    announce(tmp_path, "m-k8s")
    w1 = announce(tmp_path, "w1-k8s")
    announce(tmp_path, "w2-k8s", live=False)
    code = main(["images", "import", "--data-dir", str(tmp_path), str(archive)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f'Loading "{archive}" (3.1 MB) into node "m-k8s"...' in out
    assert f'Loading "{archive}" (3.1 MB) into node "w1-k8s"...' in out
    assert "w2-k8s" not in out and 'warning: node "w2-k8s" is not running' in err
    assert "unpacking docker.io/library/demo:1" in out
    # The last call was for w1-k8s: the node's socket, the CRI namespace, the archive.
    args = Path(f"{fake_ctr}.args").read_text().split("\n")[:-1]
    assert args == ["--address", w1, "-n", "k8s.io", "images", "import", str(archive)]
    assert Path(f"{fake_ctr}.stdin").read_bytes() == archive.read_bytes()


def test_large_archives_stream_through_stdin_with_progress(
    tmp_path: Path, archive: Path, fake_ctr: Path, monkeypatch, capsys
) -> None:
    announce(tmp_path, "m-k8s")
    monkeypatch.setattr(images_cli, "PROGRESS_THRESHOLD", 1 << 20)
    code = main(["images", "import", "--data-dir", str(tmp_path), str(archive)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert Path(f"{fake_ctr}.args").read_text().split("\n")[-2] == "-"
    assert Path(f"{fake_ctr}.stdin").read_bytes() == archive.read_bytes()
    assert "3.1 MB / 3.1 MB (100%)" in out


def test_ctr_failures_carry_ctrs_message(
    tmp_path: Path, archive: Path, fake_ctr: Path, monkeypatch, capsys
) -> None:
    socket = announce(tmp_path, "m-k8s")
    monkeypatch.setenv("FAKE_CTR_FAIL", "content digest mismatch")
    seen: list[tuple[int, int]] = []
    with pytest.raises(ImportFailed, match="ctr: content digest mismatch"):
        import_archive(socket, archive, progress=lambda sent, total: seen.append((sent, total)))
    assert seen[-1] == (archive.stat().st_size, archive.stat().st_size)
    code = main(["images", "import", "--data-dir", str(tmp_path), str(archive)])
    assert code == 1
    err = capsys.readouterr().err
    assert 'error: node "m-k8s": ctr: content digest mismatch' in err
    assert err.rstrip().endswith("error: import failed on node(s) m-k8s")
