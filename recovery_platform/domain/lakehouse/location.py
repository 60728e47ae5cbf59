"""Where tables live: the only place table locations are derived, from validated names only."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.table_config import PlatformConfig
from recovery_platform.engine import StorageEngine

LAKEHOUSE_ROOT_ENV = "RECOVERY_LAKEHOUSE_ROOT"
DEFAULT_LAKEHOUSE_ROOT = Path(__file__).resolve().parents[3] / ".demo" / "lakehouse"

PLATFORM_TABLE_PROPERTIES: dict[str, str] = {
    "delta.enableChangeDataFeed": "true",
    "delta.enableDeletionVectors": "false",
}
"""Pinned on every table the platform creates: change data feed on, deletion vectors off."""


def lakehouse_root_from_env() -> str:
    """`RECOVERY_LAKEHOUSE_ROOT`, or the documented local default `<repo>/.demo/lakehouse`."""
    return os.environ.get(LAKEHOUSE_ROOT_ENV) or str(DEFAULT_LAKEHOUSE_ROOT)


def _join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])


@dataclass(frozen=True)
class Lakehouse:
    """A lakehouse root, its declared tables and the engine that reads and writes them."""

    root: str
    config: PlatformConfig
    engine: StorageEngine

    def bronze_uri(self, table: str) -> str:
        """`<root>/bronze/<table>` for a declared table; anything else is refused."""
        return _join(self.root, "bronze", self.config.validate_table_name(table))

    def metadata_uri(self, table: MetadataTable) -> str:
        """`<root>/metadata/<Table>` for one of the fixed metadata tables."""
        return _join(self.root, "metadata", MetadataTable(table).value)

    @property
    def lease_root(self) -> str:
        """Folder holding per-table write leases."""
        return _join(self.root, "_leases")
