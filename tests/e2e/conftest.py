"""Session fixtures for the e2e tests: locally built image archives, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyk8s.images.hostbin import MissingHostPackage
from pyk8s.images.pause import BuildError, ensure_pause_archive
from pyk8s.images.samples import build_samples


@pytest.fixture(scope="session")
def pause_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sandbox image archive (localhost/pyk8s/pause:3.10); skips without a C compiler."""
    try:
        return ensure_pause_archive(tmp_path_factory.mktemp("pause-cache"))
    except BuildError as err:
        pytest.skip(str(err))


@pytest.fixture(scope="session")
def samples_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One archive with every sample image (busybox, nginx tags, echo-hname);
    skips without busybox-static and nginx."""
    try:
        return build_samples(tmp_path_factory.mktemp("samples") / "samples.tar")
    except MissingHostPackage as err:
        pytest.skip(str(err))
