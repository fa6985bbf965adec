"""The generated containerd config and the supervisor's small helpers (no containerd needed)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pyk8s.kubelet.containerd import (
    CRI_PLUGIN,
    Containerd,
    _imported_names,
    containerd_available,
    default_state_dir,
    to_toml,
)


def _containerd(tmp_path: Path, **kw) -> Containerd:
    return Containerd(
        tmp_path / "a" / "very" / ("long-" * 20) / "containerd",
        cni_conf_dir=tmp_path / "cni",
        sandbox_image="pyk8s.local/pause:3.10",
        registry_config_dir=tmp_path / "registries",
        **kw,
    )


def test_state_dir_is_short_and_per_root(tmp_path):
    ctd = _containerd(tmp_path)
    assert ctd.state_dir == default_state_dir(ctd.root)
    assert str(ctd.state_dir).startswith("/run/pyk8s/") and len(ctd.state_dir.name) == 12
    assert len(str(ctd.socket).encode()) < 108
    assert ctd.endpoint == f"unix://{ctd.socket}"
    assert default_state_dir(tmp_path / "other") != ctd.state_dir
    assert _containerd(tmp_path, state_dir=tmp_path / "s").socket == tmp_path / "s/containerd.sock"


def test_config_toml_round_trips_with_the_options_containerd_reads(tmp_path):
    ctd = _containerd(tmp_path, state_dir=tmp_path / "state")
    path = ctd.write_config()
    parsed = tomllib.loads(path.read_text())
    assert parsed == ctd.config()
    assert parsed["version"] == 2
    assert parsed["root"] == str(ctd.root) and parsed["state"] == str(tmp_path / "state")
    assert parsed["grpc"]["address"] == str(ctd.socket)
    assert parsed["ttrpc"]["address"] == f"{ctd.socket}.ttrpc"
    assert "io.containerd.snapshotter.v1.btrfs" in parsed["disabled_plugins"]
    assert CRI_PLUGIN not in parsed["disabled_plugins"]
    cri = parsed["plugins"][CRI_PLUGIN]
    assert cri["sandbox_image"] == "pyk8s.local/pause:3.10"
    assert (cri["stream_server_address"], cri["stream_server_port"]) == ("127.0.0.1", "0")
    assert cri["cni"] == {"bin_dir": "/usr/lib/cni", "conf_dir": str(tmp_path / "cni"),
                          "max_conf_num": 1}  # fmt: skip
    runc = cri["containerd"]["runtimes"]["runc"]
    assert cri["containerd"]["default_runtime_name"] == "runc"
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"]["SystemdCgroup"] is False
    assert runc["options"]["Root"] == str(tmp_path / "state" / "runc")
    assert cri["registry"]["config_path"] == str(tmp_path / "registries")
    assert ctd.root.is_dir() and (tmp_path / "cni").is_dir()


def test_toml_quotes_dotted_keys_and_escapes_strings():
    text = to_toml({"a": {"x.y": {"s": 'q"\\\n', "n": 3, "l": ["p", "q"], "b": True}}})
    assert '[a."x.y"]' in text
    assert tomllib.loads(text) == {
        "a": {"x.y": {"s": 'q"\\\n', "n": 3, "l": ["p", "q"], "b": True}}
    }


def test_imported_names_from_ctr_output():
    output = (
        "unpacking pyk8s.local/a:1 (sha256:" + "ab" * 32 + ")...done\n"
        "unpacking docker.io/library/b:latest (sha256:" + "cd" * 32 + ")...done\n"
    )
    assert _imported_names(output) == ["pyk8s.local/a:1", "docker.io/library/b:latest"]
    assert _imported_names("") == []


def test_containerd_available_names_what_is_missing(tmp_path):
    reason = containerd_available(cni_bin_dir=tmp_path)  # an empty dir: no CNI plugins
    assert reason is not None and reason
