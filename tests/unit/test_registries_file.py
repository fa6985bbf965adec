"""k3s-style registries.yaml: mirrors to hosts.toml, credentials per registry host."""

from __future__ import annotations

import base64
import tomllib
from pathlib import Path

import pytest

from pyk8s.kubelet.registries import RegistriesError, load, write_hosts_dir

FILE = """\
mirrors:
  docker.io:
    endpoint: ["http://127.0.0.1:5000"]
  quay.io:
    endpoint: ["https://127.0.0.2:5443", "https://quay.io"]
configs:
  "127.0.0.1:5000":
    auth: {username: me, password: secret}
  "127.0.0.2:5443":
    auth: {auth: AUTH}
    tls: {insecure_skip_verify: true}
""".replace("AUTH", base64.b64encode(b"bob:pw").decode())


def test_mirrors_become_exclusive_hosts_toml(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(FILE)
    reg = load(tmp_path / "r.yaml")
    out = write_hosts_dir(reg, tmp_path / "hosts")
    docker = tomllib.loads((out / "docker.io" / "hosts.toml").read_text())
    assert docker["server"] == "http://127.0.0.1:5000"  # never the real registry
    assert docker["host"]["http://127.0.0.1:5000"]["capabilities"] == ["pull", "resolve"]
    quay = tomllib.loads((out / "quay.io" / "hosts.toml").read_text())
    assert quay["server"] == "https://quay.io"  # listed itself: kept as the fallback
    assert quay["host"]["https://127.0.0.2:5443"]["skip_verify"] is True


def test_credentials_for_an_image_follow_its_mirrors(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(FILE)
    reg = load(tmp_path / "r.yaml")
    assert reg.credentials_for("nginx:1.16.0") == [{"username": "me", "password": "secret"}]
    quay = reg.credentials_for("quay.io/team/app:1")
    assert quay[0]["username"] == "bob" and quay[0]["password"] == "pw"
    assert reg.credentials_for("ghcr.io/x/y:1") == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("mirrors: [1, 2]", "mirrors must be a mapping of registry hosts"),
        ("- a\n- b\n", "expected a mapping"),
        ("mirrors:\n  docker.io:\n    endpoint: http://x\n", "must be a list of URLs"),
    ],
)
def test_bad_files_are_refused_with_a_reason(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "r.yaml").write_text(text)
    with pytest.raises(RegistriesError) as err:
        load(tmp_path / "r.yaml")
    assert message in str(err.value)
