"""Dagster resources: where the lakehouse lives, which engine runs it, where extracts land.

The engine is chosen here and nowhere else. Storage is described once, with dagster-deltalake's
storage configuration classes; secrets come from `dg.EnvVar`, never from code.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from dagster_deltalake import AzureConfig, GcsConfig, LocalConfig, S3Config
from pydantic import Field

from recovery_platform.domain.lakehouse import Lakehouse, lakehouse_root_from_env
from recovery_platform.domain.lease import LeaseStore
from recovery_platform.domain.metadata_store import MetadataStore
from recovery_platform.domain.table_config import PlatformConfig, load_platform_config
from recovery_platform.engine import StorageEngine
from recovery_platform.sources.local_snapshot import LocalSnapshotSource

ENGINE_ENV = "RECOVERY_ENGINE"
LANDING_ROOT_ENV = "RECOVERY_LANDING_ROOT"
DEFAULT_LANDING_ROOT = Path(__file__).resolve().parents[2] / ".demo" / "landing"
ENGINES = ("deltars", "spark")


def build_engine(name: str, storage_options: dict[str, str]) -> StorageEngine:
    """The one place an engine is constructed; heavy imports stay lazy."""
    if name == "deltars":
        from recovery_platform.engine.deltars import DeltaRsEngine

        return DeltaRsEngine(storage_options=storage_options)
    if name == "spark":
        from recovery_platform.engine.spark import SparkEngine
        from recovery_platform.engine.spark_session import build_spark_session

        return SparkEngine(build_spark_session(app_name="recovery_platform"))
    raise ValueError(f"field 'engine': unknown engine {name!r}; allowed: {', '.join(ENGINES)}")


class LakehouseResource(dg.ConfigurableResource):
    """The lakehouse: root location, storage credentials and the storage engine.

    `root` defaults to `RECOVERY_LAKEHOUSE_ROOT`, else `<repo>/.demo/lakehouse`. `engine` is
    `deltars` (embedded, the default) or `spark`.
    """

    root: str = Field(default_factory=lakehouse_root_from_env)
    storage: LocalConfig | S3Config | AzureConfig | GcsConfig = Field(
        default_factory=LocalConfig, discriminator="provider"
    )
    engine: str = Field(default_factory=lambda: os.environ.get(ENGINE_ENV, "deltars"))
    config_path: str | None = None

    def platform_config(self) -> PlatformConfig:
        """The declared tables (read from the checked-in file, never from the lakehouse)."""
        return load_platform_config(self.config_path)

    def lakehouse(self) -> Lakehouse:
        """A `Lakehouse` bound to the configured engine."""
        return Lakehouse(
            root=self.root,
            config=self.platform_config(),
            engine=build_engine(self.engine, self.storage.str_dict()),
        )

    def metadata(self, lakehouse: Lakehouse) -> MetadataStore:
        """The metadata store of this lakehouse."""
        return MetadataStore(lakehouse)

    def leases(self, lakehouse: Lakehouse) -> LeaseStore:
        """Per-table write leases of this lakehouse."""
        return LeaseStore(lakehouse.lease_root)


class SourceResource(dg.ConfigurableResource):
    """Where daily full extracts land (`<landing_root>/<table>/<YYYY-MM-DD>.parquet`)."""

    landing_root: str = Field(
        default_factory=lambda: os.environ.get(LANDING_ROOT_ENV) or str(DEFAULT_LANDING_ROOT)
    )

    def connector(self, config: PlatformConfig) -> LocalSnapshotSource:
        """The source connector, restricted to the declared tables."""
        return LocalSnapshotSource(self.landing_root, allowed_tables=config.table_names)
