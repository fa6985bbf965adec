"""`pyk8s setup`: what is missing is named with its package, and installed only as root."""

from __future__ import annotations

import pytest

from pyk8s.cli import setup


def test_reports_missing_packages_exactly(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(setup, "_present", lambda what: what not in ("runc", "/usr/lib/cni/bridge"))
    installs: list[list[str]] = []
    monkeypatch.setattr(setup, "install", lambda pkgs: installs.append(pkgs) or 0)
    assert setup.run(check_only=True) == 1
    out = capsys.readouterr().out
    assert "missing: runc (package runc" in out
    assert "missing: /usr/lib/cni/bridge (package containernetworking-plugins" in out
    assert "install with: apt-get install containernetworking-plugins runc" in out
    assert installs == []


def test_installs_as_root_with_apt(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    state = {"installed": False}
    monkeypatch.setattr(setup, "_present", lambda what: state["installed"] or what != "runc")
    monkeypatch.setattr(setup.os, "geteuid", lambda: 0)
    monkeypatch.setattr(setup.shutil, "which", lambda name: "/usr/bin/" + name)

    def fake_install(pkgs: list[str]) -> int:
        assert pkgs == ["runc"]
        state["installed"] = True
        return 0

    monkeypatch.setattr(setup, "install", fake_install)
    assert setup.run(check_only=False) == 0
    assert state["installed"]


def test_nothing_missing(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(setup, "_present", lambda what: True)
    assert setup.run(check_only=True) == 0
    assert "everything real containers need is installed" in capsys.readouterr().out
