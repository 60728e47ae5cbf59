"""Dagster resources: where the lakehouse lives, which engine runs it, where extracts land.

The engine is chosen here and nowhere else. Storage is described once, with dagster-deltalake's
storage configuration classes; secrets come from `dg.EnvVar`, never from code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal, get_args

import dagster as dg
from dagster_deltalake import AzureConfig, GcsConfig, LocalConfig, S3Config
from dagster_pyspark import LazyPySparkResource
from pydantic import Field, field_validator

from recovery_platform.domain.lakehouse.lease import LeaseStore
from recovery_platform.domain.lakehouse.location import Lakehouse, lakehouse_root_from_env
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.table_config import PlatformConfig, load_platform_config
from recovery_platform.engine import EngineCapabilities, StorageEngine
from recovery_platform.sources.local_snapshot import LocalSnapshotSource

ENGINE_ENV = "RECOVERY_ENGINE"
LANDING_ROOT_ENV = "RECOVERY_LANDING_ROOT"
SPARK_MASTER_ENV = "RECOVERY_SPARK_MASTER"
SPARK_REMOTE_ENV = "RECOVERY_SPARK_REMOTE"
SPARK_CONF_ENV = "RECOVERY_SPARK_CONF"
DEFAULT_LANDING_ROOT = Path(__file__).resolve().parents[2] / ".demo" / "landing"
EngineName = Literal["deltars", "spark"]
ENGINES: tuple[EngineName, ...] = get_args(EngineName)


def engine_name(value: str) -> EngineName:
    """A validated engine name, for callers holding a plain string (command lines, scripts)."""
    for name in ENGINES:
        if value == name:
            return name
    raise ValueError(f"field 'engine': unknown engine {value!r}; allowed: {', '.join(ENGINES)}")


def engine_capabilities(name: str) -> EngineCapabilities:
    """What an engine declares it can do, read from its class: nothing is started."""
    if name == "deltars":
        from recovery_platform.engine.deltars import DeltaRsEngine

        return DeltaRsEngine.capabilities
    if name == "spark":
        from recovery_platform.engine.spark import SparkEngine

        return SparkEngine.capabilities
    raise ValueError(f"field 'engine': unknown engine {name!r}; allowed: {', '.join(ENGINES)}")


def run_executor(engines: tuple[str, ...] = ENGINES) -> dg.ExecutorDefinition:
    """The executor every selectable engine accepts.

    The engine can be switched per run (resource config or `RECOVERY_ENGINE`) while the executor
    is fixed when the definitions load, so it must suit every engine: in-process as soon as one
    declares `requires_in_process_executor` (Spark: one session per run, shared by every step).
    """
    if any(engine_capabilities(name).requires_in_process_executor for name in engines):
        return dg.in_process_executor
    return dg.multiprocess_executor


def spark_config_from_env() -> dict[str, str]:
    """Spark settings from the environment, for dagster-pyspark's session resource.

    `RECOVERY_SPARK_REMOTE` (a Spark Connect URL) wins over `RECOVERY_SPARK_MASTER` (default
    `local[*]`); `RECOVERY_SPARK_CONF` is a JSON object of extra settings, applied last.
    """
    from recovery_platform.engine.spark.session import DEFAULT_MASTER, session_config

    extra = json.loads(os.environ.get(SPARK_CONF_ENV) or "{}")
    if not isinstance(extra, dict):
        raise ValueError(f"{SPARK_CONF_ENV} must be a JSON object of Spark settings")
    return session_config(
        master=os.environ.get(SPARK_MASTER_ENV) or DEFAULT_MASTER,
        remote=os.environ.get(SPARK_REMOTE_ENV) or None,
        extra_conf={str(k): str(v) for k, v in extra.items()},
    )


def spark_resource_from_env() -> LazyPySparkResource:
    """dagster-pyspark's session resource configured from the environment.

    The lazy variant starts no JVM until the Spark engine first asks for the session, so runs
    on delta-rs never pay for Spark; a Spark run starts one session, shared by every step.
    """
    return LazyPySparkResource(spark_config=spark_config_from_env())


def build_engine(
    name: str,
    storage_options: dict[str, str],
    *,
    spark: LazyPySparkResource | None = None,
) -> StorageEngine:
    """The one place an engine is constructed; heavy imports stay lazy.

    Args:
        name: `deltars` or `spark`.
        storage_options: the storage configuration's `str_dict()`, for either engine.
        spark: the run's Spark session resource; None builds one from the environment.
    """
    if name == "deltars":
        from recovery_platform.engine.deltars import DeltaRsEngine

        return DeltaRsEngine(storage_options=storage_options)
    if name == "spark":
        from recovery_platform.engine.spark import SparkEngine
        from recovery_platform.engine.spark.session import prepare_local_workers
        from recovery_platform.engine.spark.storage import storage_session_conf

        resource = spark if spark is not None else spark_resource_from_env()
        prepare_local_workers(resource.spark_config)
        return SparkEngine(
            resource.spark_session, storage_conf=storage_session_conf(storage_options)
        )
    raise ValueError(f"field 'engine': unknown engine {name!r}; allowed: {', '.join(ENGINES)}")


class LakehouseResource(dg.ConfigurableResource):
    """The lakehouse: root location, storage credentials and the storage engine.

    `root` defaults to `RECOVERY_LAKEHOUSE_ROOT`, else `<repo>/.demo/lakehouse`. `engine` is
    `deltars` (embedded, the default) or `spark` (default: `RECOVERY_ENGINE`). `spark` is
    dagster-pyspark's session resource the Spark engine runs on (the definitions configure it
    from `RECOVERY_SPARK_*`); unused by delta-rs, and never started for it.
    """

    root: str = Field(default_factory=lakehouse_root_from_env)
    storage: LocalConfig | S3Config | AzureConfig | GcsConfig = Field(
        default_factory=LocalConfig, discriminator="provider"
    )
    engine: EngineName = Field(
        default_factory=lambda: os.environ.get(ENGINE_ENV, "deltars"), validate_default=True
    )
    config_path: str | None = None
    spark: LazyPySparkResource | None = None

    @field_validator("engine", mode="before")
    @classmethod
    def _known_engine(cls, value: object) -> object:
        if value not in ENGINES:
            raise ValueError(
                f"field 'engine': unknown engine {value!r}; allowed: {', '.join(ENGINES)} "
                f"(resource config or {ENGINE_ENV})"
            )
        return value

    def platform_config(self) -> PlatformConfig:
        """The declared tables (read from the checked-in file, never from the lakehouse)."""
        return load_platform_config(self.config_path)

    def lakehouse(self) -> Lakehouse:
        """A `Lakehouse` bound to the configured engine."""
        return Lakehouse(
            root=self.root,
            config=self.platform_config(),
            engine=build_engine(self.engine, self.storage.str_dict(), spark=self.spark),
        )

    def metadata_lakehouse(self) -> Lakehouse:
        """The lakehouse on the embedded engine, for work that touches only metadata tables.

        Sensors run in the daemon on every tick: they must never start a Spark session there.
        The metadata tables are the platform's own, which delta-rs reads and writes whichever
        engine the jobs use.
        """
        return Lakehouse(
            root=self.root,
            config=self.platform_config(),
            engine=build_engine("deltars", self.storage.str_dict()),
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
