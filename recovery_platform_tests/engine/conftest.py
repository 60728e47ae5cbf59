"""Fixtures for the engine contract suite: every test runs against every real engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from recovery_platform.engine import StorageEngine
from recovery_platform_tests.engines import ENGINE_NAMES, make_engine


@pytest.fixture(params=ENGINE_NAMES)
def engine(request: pytest.FixtureRequest) -> StorageEngine:
    return make_engine(request.param)


@pytest.fixture
def uri(tmp_path: Path) -> str:
    return str(tmp_path / "bronze_account")
