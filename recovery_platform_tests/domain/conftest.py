"""A real lakehouse in tmp_path, its metadata store and leases, and a small demo CRM."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from recovery_platform.domain.lakehouse import Lakehouse
from recovery_platform.domain.lease import LeaseStore
from recovery_platform.domain.metadata_store import MetadataStore
from recovery_platform.domain.table_config import load_platform_config
from recovery_platform.engine.deltars import DeltaRsEngine
from recovery_platform.sources import DemoManifest, generate_demo_crm

DEMO_START = date(2026, 1, 5)
DEMO_SCALE = 100


@pytest.fixture
def lakehouse(tmp_path: Path) -> Lakehouse:
    return Lakehouse(
        root=str(tmp_path / "lake"), config=load_platform_config(), engine=DeltaRsEngine()
    )


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
    return generate_demo_crm(landing, start=DEMO_START, days=3, scale=DEMO_SCALE)
