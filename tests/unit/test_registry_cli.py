"""`pyk8s images serve` as a process: serves an archive until SIGTERM, writes the
mirror config, refuses what it cannot serve."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

from registry_helpers import text_image, write_oci_archive

from pyk8s.cli.registry import main


def test_serve_until_sigterm(tmp_path: Path) -> None:
    archive = tmp_path / "images.tar"
    write_oci_archive(archive, {"docker.io/library/tiny:1": text_image(b"one\n")})
    hosts_dir = tmp_path / "certs.d"
    cmd = [sys.executable, "-m", "pyk8s.cli.registry", "--port", "0"]
    cmd += ["--hosts-dir", str(hosts_dir), "--mirror", "docker.io", str(archive)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().split()
        assert first[:2] == ["serving", "on"], first
        url = first[2]
        assert proc.stdout.readline().strip() == "docker.io/library/tiny:1"
        assert "mirror config" in proc.stdout.readline()
        with urllib.request.urlopen(url + "/v2/library/tiny/tags/list?ns=docker.io") as resp:
            assert json.loads(resp.read()) == {"name": "library/tiny", "tags": ["1"]}
        mirrored = tomllib.loads((hosts_dir / "docker.io" / "hosts.toml").read_text())
        assert mirrored["server"] == url
        assert sorted(p.name for p in hosts_dir.iterdir()) == [
            "127.0.0.1:" + url.rsplit(":", 1)[1],
            "docker.io",
        ]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_errors_are_reported(tmp_path: Path, capsys) -> None:
    assert main([str(tmp_path / "missing.tar")]) == 1
    assert "does not exist" in capsys.readouterr().err
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 100)
    assert main([str(junk)]) == 1
    assert "not a readable tar archive" in capsys.readouterr().err
    archive = tmp_path / "images.tar"
    write_oci_archive(archive, {"docker.io/library/tiny:1": text_image(b"one\n")})
    assert main(["--user", "nocolon", str(archive)]) == 1
    assert "USER:PASSWORD" in capsys.readouterr().err
