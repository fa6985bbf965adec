"""The runtime flags `pyk8s up` and `pyk8s agent` share."""

from __future__ import annotations

import argparse

import pytest

from pyk8s.cli import runtimes
from pyk8s.cli.agent import add_sim_flags, sim_config


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    runtimes.add_runtime_flags(p)
    add_sim_flags(p)
    return p.parse_args(list(argv))


def test_sim_globs_reach_the_simulator() -> None:
    args = parse("--sim-unpullable", "nginx:1.17.23", "--sim-probe-failing", "web*")
    cfg = sim_config(args)
    assert cfg.unpullable == ["nginx:1.17.23"] and cfg.probe_failing == ["web*"]


def test_auto_falls_back_to_sim_and_says_why(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(runtimes, "containerd_available", lambda: "runc is not installed")
    assert runtimes.choose_runtime(parse()) == "sim"
    assert "containerd cannot run here (runc is not installed)" in capsys.readouterr().out
    with pytest.raises(runtimes.RuntimeUnavailable, match="runc is not installed"):
        runtimes.choose_runtime(parse("--runtime", "containerd"))
    monkeypatch.setattr(runtimes, "containerd_available", lambda: None)
    assert runtimes.choose_runtime(parse()) == "containerd"
    assert runtimes.choose_runtime(parse("--runtime", "sim")) == "sim"


def test_registry_mirror_writes_exclusive_hosts(tmp_path) -> None:
    args = parse("--registry-mirror", "http://127.0.0.1:5000")
    out = runtimes.registry_config_dir(args, tmp_path)
    assert out is not None
    text = (out / "docker.io" / "hosts.toml").read_text()
    assert 'server = "http://127.0.0.1:5000"' in text
    assert runtimes.registry_config_dir(parse(), tmp_path / "empty") is None
