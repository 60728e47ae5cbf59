"""A real lakehouse in tmp_path, its metadata store and leases, and a small demo CRM."""

from __future__ import annotations

from pathlib import Path

import pytest

from recovery_platform.domain.lakehouse.lease import LeaseStore
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.sources import DemoManifest
from recovery_platform_tests.domain.site import demo, make_lakehouse


@pytest.fixture
def lakehouse(tmp_path: Path) -> Lakehouse:
    return make_lakehouse(tmp_path)


@pytest.fixture
def store(lakehouse: Lakehouse) -> MetadataStore:
    return MetadataStore(lakehouse)


@pytest.fixture
def leases(lakehouse: Lakehouse) -> LeaseStore:
    return LeaseStore(lakehouse.lease_root)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


@pytest.fixture
def demo_crm(landing: Path) -> DemoManifest:
    return demo(landing)
