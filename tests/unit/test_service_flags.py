"""The Service flags of `pyk8s server` and `pyk8s up`, and the advertise address
the `kubernetes` Service points at when none is given."""

from __future__ import annotations

import argparse
from pathlib import Path

from pyk8s.cli import server, up
from pyk8s.controlplane import ControlPlane, ControlPlaneConfig


def parse(module, *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    module.add_parser(parser.add_subparsers())
    return parser.parse_args(list(argv))


def test_server_flags_reach_the_config(tmp_path: Path):
    args = parse(
        server, "server", "--data-dir", str(tmp_path), "--service-cidr", "198.19.0.0/24",
        "--advertise-address", "198.18.0.5", "--service-lb-pool", "198.18.200.0/29",
    )  # fmt: skip
    config = server.server_config(args)
    assert config.service_cidr == "198.19.0.0/24"
    assert config.advertise_address == "198.18.0.5"
    assert config.service_lb_pool == "198.18.200.0/29"
    defaults = server.server_config(parse(server, "server", "--data-dir", str(tmp_path)))
    assert defaults.advertise_address == "" and defaults.service_lb_pool == ""


def test_up_pool_flag_reaches_the_config(tmp_path: Path):
    args = parse(up, "up", "--data-dir", str(tmp_path), "--service-lb-pool", "198.18.200.0/29")
    assert up.plane_config(args).service_lb_pool == "198.18.200.0/29"


def test_advertise_address_defaults_to_a_specific_bind_host(tmp_path: Path):
    def advertised(**kw) -> str:
        return ControlPlane(ControlPlaneConfig(data_dir=tmp_path, **kw)).advertise_ip

    assert advertised() == "127.0.0.1"
    assert advertised(host="198.18.0.9") == "198.18.0.9"
    assert advertised(host="0.0.0.0") == "127.0.0.1"
    assert advertised(host="localhost") == "127.0.0.1"
    assert advertised(host="0.0.0.0", advertise_address="198.18.0.7") == "198.18.0.7"
