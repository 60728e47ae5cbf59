"""Opening delta-rs tables safely: feature checks, error mapping, streaming reads, SQL text.

Every delta-rs operation of the engine goes through `open_table`, so a table with a feature the
engine cannot handle is refused before anything is read or written, and delta-rs errors reach
callers as the engine seam's own errors.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, PostCommitHookProperties
from deltalake.exceptions import DeltaError
from deltalake.exceptions import TableNotFoundError as DeltaTableNotFoundError
from deltalake.fs import DeltaStorageHandler
from pyarrow.fs import FileType

from recovery_platform.engine.deltars.errors import ENGINE_NAME
from recovery_platform.engine.deltars.scan import record_batches
from recovery_platform.engine.errors import (
    CorruptTableError,
    TableNotFoundError,
    UnsupportedTableFeatureError,
    VersionNotAvailableError,
    log_retention_message,
)
from recovery_platform.engine.interface import Scalar
from recovery_platform.engine.protocol import TableProtocol
from recovery_platform.engine.values import NO_DATA_CHANGE_OPERATIONS, CommitInfo, TableState

READER_FEATURES = frozenset({"columnMapping", "timestampNtz"})
"""Reader features delta-rs 1.6 reads correctly (deletion vectors, v2 checkpoints, type
widening and the vacuum protocol check are refused by it or misread; variant is untested)."""
WRITER_FEATURES = READER_FEATURES | {
    "appendOnly", "invariants", "checkConstraints", "changeDataFeed", "generatedColumns",
}
"""Features whose tables delta-rs 1.6 commits to correctly. It refuses commits to tables with
identity columns, row tracking, domain metadata, in-commit timestamps, type widening and the
vacuum protocol check, and would write deletion-vector and v2-checkpoint tables regardless."""
BATCH_ROWS = 131_072
KEEP_LOG = PostCommitHookProperties(create_checkpoint=True, cleanup_expired_logs=False)
"""Post-commit settings of every commit this engine makes: log checkpoints as usual, but never
delete expired log entries, since a checkpoint may pin a version older than the table's log
retention; cleaning up the log is a maintenance decision that knows the pins."""
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COMMIT_INFO_KEYS = frozenset(
    {
        "timestamp",
        "operation",
        "operationParameters",
        "operationMetrics",
        "readVersion",
        "isolationLevel",
        "isBlindAppend",
        "engineInfo",
        "clientVersion",
        "txnId",
        "userId",
        "userName",
        "userMetadata",
        "job",
        "notebook",
        "clusterId",
        "tags",
        "version",
        "inCommitTimestamp",
    }
)


def table_protocol(dt: DeltaTable) -> TableProtocol:
    """The loaded version's protocol in engine-neutral form."""
    protocol = dt.protocol()
    return TableProtocol.of(
        protocol.min_reader_version,
        protocol.min_writer_version,
        protocol.reader_features,
        protocol.writer_features,
    )


def unsupported_feature(dt: DeltaTable, *, writing: bool) -> str | None:
    """The first feature the loaded version needs that this engine must not touch, if any."""
    return table_protocol(dt).first_unsupported(READER_FEATURES, WRITER_FEATURES, writing=writing)


def open_table(
    uri: str,
    storage_options: Mapping[str, str] | None,
    version: int | None = None,
    *,
    writing: bool = False,
) -> DeltaTable:
    """Load a table (at a version), refusing unsupported features before any data is read.

    `writing` asks for a table to commit to (or to restore from), which needs every feature of
    its protocol supported for writing; reading needs its reader features only.

    Raises:
        TableNotFoundError: nothing Delta lives at `uri`.
        VersionNotAvailableError: the version does not exist or its log is gone.
        CorruptTableError: the log cannot be replayed up to the version.
        UnsupportedTableFeatureError: the table needs a feature this engine lacks.
    """
    options = dict(storage_options) if storage_options else None
    try:
        # a version is loaded directly: replaying the log only up to it is cheaper than
        # loading the latest version first
        dt = DeltaTable(uri, version=version, storage_options=options)
    except (DeltaTableNotFoundError, DeltaError, OSError, ValueError) as exc:
        if version is None:
            if isinstance(exc, DeltaTableNotFoundError):
                raise TableNotFoundError(f"no Delta table at {uri}") from exc
            raise
        raise _version_error(uri, version, options) from exc
    _refuse_unsupported(dt, uri, writing=writing)
    return dt


def _version_error(
    uri: str, version: int, options: dict[str, str] | None
) -> TableNotFoundError | VersionNotAvailableError | CorruptTableError:
    """Why `version` does not load: no table, a version not written yet, or a cleaned-up commit.

    They are told apart by loading the latest version and looking for the commit file; with
    the commit there, the log cannot be replayed up to it: it is damaged.
    """
    try:
        latest = DeltaTable(uri, storage_options=options)
    except DeltaTableNotFoundError:
        return TableNotFoundError(f"no Delta table at {uri}")
    except (DeltaError, OSError, ValueError) as exc:
        return CorruptTableError(
            f"version {version} of {uri} cannot be loaded: the table's log is damaged ({exc})"
        )
    if version < 0 or version > latest.version():
        return VersionNotAvailableError(
            f"version {version} of {uri} does not exist: the latest version is "
            f"{latest.version()}"
        )
    if not log_entry_exists(latest, version, options):
        return VersionNotAvailableError(log_retention_message(uri, version))
    return CorruptTableError(
        f"version {version} of {uri} cannot be loaded: its log entries are there but cannot be "
        "replayed (a damaged or missing commit file before it)"
    )


def log_entry_exists(dt: DeltaTable, version: int, options: Mapping[str, str] | None) -> bool:
    """Whether the table's log still holds the commit file of `version`."""
    name = f"_delta_log/{version:020d}.json"
    handler = DeltaStorageHandler(dt.table_uri, dict(options or {}))
    return bool(handler.get_file_info([name])[0].type != FileType.NotFound)


def _refuse_unsupported(dt: DeltaTable, uri: str, *, writing: bool) -> None:
    feature = unsupported_feature(dt, writing=writing)
    if feature is not None:
        raise UnsupportedTableFeatureError(
            uri, feature, ENGINE_NAME, operation="write to" if writing else "read"
        )


def uses_column_mapping(dt: DeltaTable) -> bool:
    """Whether physical column names differ from logical ones (pyarrow datasets misread them)."""
    mode = dt.metadata().configuration.get("delta.columnMapping.mode", "none")
    features = set(dt.protocol().reader_features or ())
    return mode.lower() != "none" or "columnMapping" in features


def arrow_schema(dt: DeltaTable) -> pa.Schema:
    """The table's logical schema as a pyarrow schema."""
    return pa.schema(dt.schema().to_arrow())


def equality_filter(equals: Mapping[str, Scalar] | None) -> pc.Expression | None:
    """A pyarrow expression for `column == value` conjunctions; None matches null."""
    expression: pc.Expression | None = None
    for column, value in (equals or {}).items():
        term = pc.field(column).is_null() if value is None else pc.field(column) == value
        expression = term if expression is None else expression & term
    return expression


def iter_batches(
    dt: DeltaTable,
    columns: Sequence[str] | None = None,
    row_filter: pc.Expression | None = None,
    filter_columns: Sequence[str] = (),
) -> Iterator[pa.RecordBatch]:
    """Stream the loaded version's rows in batches with logical column names and types.

    Tables with column mapping go through delta-rs's own scan (pyarrow datasets would read the
    physical columns as nulls). Every batch is cast to the logical schema, and `row_filter`
    (over `columns` plus `filter_columns`) is applied after that cast: files delta-rs rewrote
    may store strings as string_view, which a pushed-down filter cannot compare.
    """
    schema = arrow_schema(dt)
    names = list(columns) if columns is not None else schema.names
    read_names = names + [c for c in filter_columns if c not in names]
    missing = [name for name in read_names if name not in schema.names]
    if missing:
        raise ValueError(f"columns {missing} are not in the table; it has {schema.names}")
    target = pa.schema([schema.field(name) for name in read_names])
    for batch in _raw_batches(dt, read_names):
        batch = batch.select(read_names).cast(target)
        if row_filter is None:
            yield batch
            continue
        kept = pa.Table.from_batches([batch]).filter(row_filter).select(names)
        yield from kept.to_batches()


def _raw_batches(dt: DeltaTable, names: list[str]) -> Iterator[pa.RecordBatch]:
    # through delta-rs's own scan, never a pyarrow dataset: see `scan` for why
    yield from record_batches(dt, names, BATCH_ROWS)


def read_table(
    dt: DeltaTable,
    columns: Sequence[str] | None = None,
    equals: Mapping[str, Scalar] | None = None,
) -> pa.Table:
    """All rows of the loaded version whose columns equal `equals` (small reads only)."""
    schema = arrow_schema(dt)
    names = list(columns) if columns is not None else schema.names
    target = pa.schema([schema.field(name) for name in names if name in schema.names])
    batches = iter_batches(dt, names, equality_filter(equals), filter_columns=list(equals or {}))
    return pa.Table.from_batches(list(batches), schema=target)


def identifier(name: str) -> str:
    """A validated column name, double-quoted for delta-rs SQL.

    Raises:
        ValueError: the name is not a plain identifier, so it cannot be trusted in SQL text.
    """
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"column name {name!r} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)")
    return f'"{name}"'


def literal(value: Scalar) -> str:
    """A typed SQL literal; strings have quotes doubled so a value can never become SQL.

    Raises:
        ValueError: the value is a non-finite float, which has no SQL literal.
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be written as a SQL literal")
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"unsupported literal type {type(value).__name__}")


def equality_predicate(equals: Mapping[str, Scalar]) -> str:
    """`"col" = literal AND ...` from validated identifiers and escaped literals."""
    terms = [
        f"{identifier(column)} IS NULL"
        if value is None
        else f"{identifier(column)} = {literal(value)}"
        for column, value in equals.items()
    ]
    return " AND ".join(terms)


def commit_properties(commit_metadata: Mapping[str, str] | None) -> CommitProperties | None:
    """delta-rs commit properties carrying our string metadata into the commit info.

    Each key goes in as its own commit-info field and, again, as one JSON object in Delta's
    standard `userMetadata` field: Spark's `history()` shows only the latter, so a rollback's
    operation id stays visible whichever engine reads the log.
    """
    if not commit_metadata:
        return None
    bad = [key for key in commit_metadata if key in _COMMIT_INFO_KEYS]
    if bad:
        raise ValueError(f"commit metadata keys {bad} are reserved by Delta's commit info")
    metadata = {str(k): str(v) for k, v in commit_metadata.items()}
    packed = json.dumps(metadata, sort_keys=True)
    return CommitProperties(custom_metadata={**metadata, "userMetadata": packed})


def user_metadata(entry: Mapping[str, Any]) -> dict[str, str]:
    """The string keys a writer added to a commit, without Delta's and delta-rs's own fields.

    A JSON object in Delta's standard `userMetadata` field is unpacked too, so metadata another
    engine stored there reads back the same way.
    """
    found = {
        key: value
        for key, value in entry.items()
        if key not in _COMMIT_INFO_KEYS and isinstance(value, str)
    }
    packed = entry.get("userMetadata")
    if isinstance(packed, str):
        try:
            unpacked = json.loads(packed)
        except ValueError:
            unpacked = None
        if isinstance(unpacked, dict):
            found.update({k: v for k, v in unpacked.items() if isinstance(v, str)})
    return found


def commit_info(entry: Mapping[str, Any]) -> CommitInfo:
    """One delta-rs history entry as an engine-neutral `CommitInfo`."""
    operation = str(entry.get("operation", "UNKNOWN"))
    raw_parameters = entry.get("operationParameters") or {}
    parameters = {
        str(key): value if isinstance(value, str) else json.dumps(value)
        for key, value in raw_parameters.items()
    }
    return CommitInfo(
        version=int(entry["version"]),
        timestamp=datetime.fromtimestamp(int(entry.get("timestamp", 0)) / 1000, tz=UTC),
        operation=operation,
        data_change=operation not in NO_DATA_CHANGE_OPERATIONS,
        parameters=parameters,
        user_metadata=user_metadata(entry),
    )


def history(dt: DeltaTable, limit: int | None = None) -> list[CommitInfo]:
    """Commits of the latest-loaded table, newest first.

    delta-rs mislabels versions in the history of a time-travelled table, so this is only
    called on a table loaded at its latest version.
    """
    return [commit_info(entry) for entry in dt.history(limit)]


def table_state(
    uri: str, latest: DeltaTable, dt: DeltaTable, version: int | None
) -> TableState:
    """Version, commit timestamp and table id of `dt` (at `version`, None for the latest).

    The commit is looked up in the history of `latest`, the table at its latest version.

    Raises:
        VersionNotAvailableError: log cleanup removed the version's commit.
    """
    target = latest.version() if version is None else version
    commits = history(latest, latest.version() - target + 1)
    commit = next((c for c in commits if c.version == target), None)
    if commit is None:
        raise VersionNotAvailableError(
            f"version {target} of {uri} has no commit in the log (log cleanup removed it)"
        )
    return TableState(version=target, timestamp=commit.timestamp, table_id=str(dt.metadata().id))


def local_log_dir(uri: str) -> Path | None:
    """The `_delta_log` folder of a table in a local folder; None for object stores."""
    if uri.startswith("file://"):
        return Path(unquote(uri[len("file://"):])) / "_delta_log"
    if "://" in uri:
        return None
    return Path(uri) / "_delta_log"


def commit_marker(log_dir: Path, version: int) -> tuple[int, int, int] | None:
    """Identity of a version's commit file (inode, size, mtime), or None if there is none.

    A table recreated at the same location writes new commit files, so a marker that still
    matches names the same commit of the same table.
    """
    try:
        info = (log_dir / f"{version:020d}.json").stat()
    except OSError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns)
