"""Bringing a lakehouse's metadata tables to this release's schema version, in place.

Every job that touches metadata calls `migrate` first. When the lakehouse is current that is one
read of `metadata/SchemaVersions`. Otherwise the pending steps (`migration_steps.MIGRATIONS`)
run one at a time under the lakehouse-wide metadata lease, so two runs never migrate at once;
each completed step is recorded before the next starts, so a failure leaves the lakehouse at the
last completed version and a re-run resumes there. A lakehouse written by a later release is
refused before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata

import pyarrow as pa

from recovery_platform.domain.lakehouse.errors import MetadataSchemaError, TableLeaseError
from recovery_platform.domain.lakehouse.fault_injection import crash_point
from recovery_platform.domain.lakehouse.lease import METADATA_SCHEMA_LEASE, LeaseStore
from recovery_platform.domain.lakehouse.location import PLATFORM_TABLE_PROPERTIES, Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable, schema_of
from recovery_platform.domain.lakehouse.migration_steps import (
    BASELINE_VERSION,
    MIGRATION_KEY,
    MIGRATIONS,
    AddTable,
    Migration,
    schema_at,
)

NEW_LAKEHOUSE_STEP = "new_lakehouse"
DEFAULT_WAIT_SECONDS = 300.0
"""How long a run waits for another run's migration before refusing."""


@dataclass(frozen=True)
class SchemaStatus:
    """Where a lakehouse stands against a list of steps."""

    current: int
    """0 for a lakehouse without metadata yet, 1 for a first-release one, else the recorded one."""
    latest: int
    pending: tuple[Migration, ...]

    @property
    def is_new(self) -> bool:
        """No metadata table exists yet: every table is created at the latest version."""
        return self.current == 0

    @property
    def too_new(self) -> bool:
        """Written by a later release: this code must not write it."""
        return self.current > self.latest

    def describe(self) -> str:
        """Current and latest versions with each pending step, as the command line prints it."""
        if self.too_new:
            return _too_new_message(self)
        if self.is_new:
            return f"no metadata yet: every table will be created at version {self.latest}"
        lines = [f"schema version {self.current}, this release: {self.latest}"]
        lines += [f"  pending {m.version} {m.name}: {m.describe()}" for m in self.pending]
        if not self.pending:
            lines.append("  up to date: nothing to do")
        return "\n".join(lines)


def _latest(migrations: Sequence[Migration]) -> int:
    return migrations[-1].version if migrations else BASELINE_VERSION


def recorded_version(lakehouse: Lakehouse) -> int:
    """The lakehouse's schema version (see `SchemaStatus.current`)."""
    engine = lakehouse.engine
    uri = lakehouse.metadata_uri(MetadataTable.SchemaVersions)
    if engine.table_exists(uri):
        versions = engine.read(uri, columns=["Version"]).column("Version").to_pylist()
        return max(versions, default=BASELINE_VERSION)
    others = (t for t in MetadataTable if t is not MetadataTable.SchemaVersions)
    return BASELINE_VERSION if any(
        engine.table_exists(lakehouse.metadata_uri(t)) for t in others) else 0


def schema_status(
    lakehouse: Lakehouse, migrations: Sequence[Migration] = MIGRATIONS
) -> SchemaStatus:
    """Read the version (nothing is written) and list the steps still to apply."""
    current = recorded_version(lakehouse)
    pending = () if current == 0 else tuple(m for m in migrations if m.version > current)
    return SchemaStatus(current=current, latest=_latest(migrations), pending=pending)


def _too_new_message(status: SchemaStatus) -> str:
    return (f"the lakehouse metadata is at schema version {status.current}, written by a later "
            f"release; this release knows versions up to {status.latest} and does not write it: "
            "upgrade recovery_platform to the release that wrote it")


def migrate(
    lakehouse: Lakehouse,
    *,
    run_id: str,
    leases: LeaseStore | None = None,
    migrations: Sequence[Migration] = MIGRATIONS,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
) -> SchemaStatus:
    """Apply every pending step; returns the status found before migrating.

    Raises:
        MetadataSchemaError: the lakehouse is newer than this release, another run holds the
            migration lease past `wait_seconds`, or a step failed (named, with the version the
            lakehouse stays at).
    """
    status = schema_status(lakehouse, migrations)
    if status.too_new:
        raise MetadataSchemaError(_too_new_message(status))
    if not status.pending and not status.is_new:
        return status
    leases = leases or LeaseStore(lakehouse.lease_root)
    with ExitStack() as stack:
        # held (and renewed by its heartbeat) for the whole migration, however long it takes
        try:
            lease = stack.enter_context(
                leases.hold(METADATA_SCHEMA_LEASE, run_id, wait_seconds=wait_seconds))
        except TableLeaseError as error:
            raise MetadataSchemaError(
                "the metadata schema is being migrated by run "
                f"{leases.holder(METADATA_SCHEMA_LEASE)}; waited {wait_seconds:g} s. Retry when "
                "that run ends.") from error
        status = schema_status(lakehouse, migrations)
        if status.too_new:
            raise MetadataSchemaError(_too_new_message(status))
        if status.is_new:
            _create_all(lakehouse, run_id, status.latest)
        for step in status.pending:
            lease.check()
            _apply(lakehouse, step, run_id)
    return status


def _create_all(lakehouse: Lakehouse, run_id: str, latest: int) -> None:
    for table in MetadataTable:
        uri = lakehouse.metadata_uri(table)
        if not lakehouse.engine.table_exists(uri):
            lakehouse.engine.create_table(uri, schema_of(table),
                                          properties=PLATFORM_TABLE_PROPERTIES)
    _record(lakehouse, latest, NEW_LAKEHOUSE_STEP,
            f"created every metadata table at version {latest}", run_id)


def _apply(lakehouse: Lakehouse, step: Migration, run_id: str) -> None:
    commit = {MIGRATION_KEY: f"{step.version}:{step.name}"}
    try:
        for change in step.changes:
            change.apply(lakehouse, step.version, commit)
        crash_point(f"migration_{step.version}_applied")
        _record(lakehouse, step.version, step.name, step.describe(), run_id)
    except Exception as error:
        raise MetadataSchemaError(
            f"metadata migration step {step.version} '{step.name}' ({step.describe()}) failed: "
            f"{error}. The lakehouse stays at schema version {step.version - 1}; fix the cause "
            "and re-run any job (or `python -m recovery_platform.metadata migrate`): completed "
            "steps are not repeated.") from error
    crash_point(f"migration_{step.version}_recorded")


def _record(lakehouse: Lakehouse, version: int, name: str, description: str, run_id: str) -> None:
    """One commit: the step is complete once its row is in `SchemaVersions`."""
    AddTable(MetadataTable.SchemaVersions).apply(lakehouse, version, {})
    schema = schema_at(MetadataTable.SchemaVersions, version) or schema_of(
        MetadataTable.SchemaVersions)
    row = {"Version": version, "StepName": name, "Description": description,
           "AppliedAt": datetime.now(UTC), "PipelineRunId": run_id,
           "AppliedBy": f"recovery_platform {_release()}"}
    data = pa.Table.from_pylist([{k: v for k, v in row.items() if k in schema.names}],
                                schema=schema)
    lakehouse.engine.append(lakehouse.metadata_uri(MetadataTable.SchemaVersions), data,
                            commit_metadata={MIGRATION_KEY: f"{version}:{name}"})


def _release() -> str:
    try:
        return metadata.version("recovery_platform")
    except metadata.PackageNotFoundError:
        return "unknown"
