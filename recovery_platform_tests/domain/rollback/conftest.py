"""Lakehouses synced from the demo CRM, built once per session and copied into each test."""

from __future__ import annotations

from pathlib import Path

import pytest

from recovery_platform_tests.domain.rollback.lab import Lab, add_bad_sync, build_base, copy_lab


@pytest.fixture(scope="session")
def base_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rollback_base") / "house"
    build_base(root)
    return root


@pytest.fixture(scope="session")
def bad_template(base_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rollback_bad") / "house"
    copy_lab(base_template, root)
    add_bad_sync(root)
    return root


@pytest.fixture
def lab(base_template: Path, tmp_path: Path) -> Lab:
    """Three days synced: three validated DailyBatch checkpoints."""
    return copy_lab(base_template, tmp_path / "house")


@pytest.fixture
def bad_lab(bad_template: Path, tmp_path: Path) -> Lab:
    """Three good days, then a bad sync that marked half the accounts deleted."""
    return copy_lab(bad_template, tmp_path / "house")
