"""Where bronze data comes from: the source-connector seam, a local source, and a demo CRM.

Never imports dagster: the sync asset wraps a `SourceConnector` in a resource.
"""

from recovery_platform.sources.connector import (
    TABLE_NAME_PATTERN,
    ExtractNotFoundError,
    SourceConnector,
    SourceExtract,
    validate_table_name,
)
from recovery_platform.sources.declared_schema import ARROW_TYPES, declared_schemas
from recovery_platform.sources.demo_crm.generator import (
    DEMO_TABLES,
    BadSync,
    DayStats,
    DemoManifest,
    DemoScale,
    generate_demo_crm,
    write_bad_sync_extract,
    write_extract,
)
from recovery_platform.sources.local_snapshot import LocalSnapshotSource, extract_path

__all__ = [
    "ARROW_TYPES",
    "DEMO_TABLES",
    "TABLE_NAME_PATTERN",
    "BadSync",
    "DayStats",
    "DemoManifest",
    "DemoScale",
    "ExtractNotFoundError",
    "LocalSnapshotSource",
    "SourceConnector",
    "SourceExtract",
    "declared_schemas",
    "extract_path",
    "generate_demo_crm",
    "validate_table_name",
    "write_bad_sync_extract",
    "write_extract",
]
