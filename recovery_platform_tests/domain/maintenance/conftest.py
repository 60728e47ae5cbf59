"""A lakehouse synced for three days from the demo CRM, built once and copied into each test."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from recovery_platform_tests.domain.site import DEMO_START, Site, copy_site, demo, make_site
from recovery_platform_tests.domain.sync_runs import sync_run

DAYS_SYNCED = 3
DAYS_EXTRACTED = 4
"""The fourth day's extract is there for a test that syncs once more after aging the table."""


@pytest.fixture(scope="session")
def synced_template(tmp_path_factory: pytest.TempPathFactory) -> Site:
    site = make_site(tmp_path_factory.mktemp("maintenance_template"))
    demo(site.landing, days=DAYS_EXTRACTED)
    for offset in range(DAYS_SYNCED):
        sync_run(site.lakehouse, site.store, site.leases, site.landing,
                 DEMO_START + timedelta(days=offset))
    return site


@pytest.fixture
def site(synced_template: Site, tmp_path: Path) -> Site:
    """A private copy of the three-day lakehouse."""
    return copy_site(synced_template, tmp_path)
