"""A real lakehouse in a folder, with what a sync needs, for fixtures of any scope."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from recovery_platform.domain.lakehouse.lease import LeaseStore
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.table_config import load_platform_config
from recovery_platform.engine.deltars import DeltaRsEngine
from recovery_platform.sources import DemoManifest, generate_demo_crm

DEMO_START = date(2026, 1, 5)
DEMO_SCALE = 100


@dataclass(frozen=True)
class Site:
    """A lakehouse with its metadata store, leases and landing folder."""

    lakehouse: Lakehouse
    store: MetadataStore
    leases: LeaseStore
    landing: Path


def make_lakehouse(folder: Path) -> Lakehouse:
    """A delta-rs lakehouse under `folder/lake` with the checked-in table configuration."""
    return Lakehouse(
        root=str(folder / "lake"), config=load_platform_config(), engine=DeltaRsEngine()
    )


def make_site(folder: Path) -> Site:
    """A lakehouse under `folder/lake`, extracts landing in `folder/landing`."""
    lakehouse = make_lakehouse(folder)
    return Site(
        lakehouse, MetadataStore(lakehouse), LeaseStore(lakehouse.lease_root), folder / "landing"
    )


def copy_site(template: Site, folder: Path) -> Site:
    """A private copy of a prepared site (lakehouse and landing), cheaper than re-syncing."""
    source = Path(template.lakehouse.root).parent
    shutil.copytree(source / "lake", folder / "lake")
    shutil.copytree(template.landing, folder / "landing")
    return make_site(folder)


def demo(landing: Path, *, start: date = DEMO_START, days: int = 3) -> DemoManifest:
    """Daily extracts of the demo CRM at a small scale (100 accounts)."""
    return generate_demo_crm(landing, start=start, days=days, scale=DEMO_SCALE)
