"""Spark's and Delta Lake's exceptions in the seam's words (see `engine.guard`).

Spark names most failures by an error condition (`DELTA_VERSION_NOT_FOUND`,
`DELTA_CANNOT_MODIFY_APPEND_ONLY`, ...) and raises the Java exception as-is where the Delta
Python API has no wrapper; both are matched here, so callers never parse Spark's messages. As on
delta-rs, only a real conflict with another commit is a `ConcurrentCommitError`.
"""

from __future__ import annotations

import re

from recovery_platform.engine.errors import (
    CommitRefusedError,
    ConcurrentCommitError,
    CorruptTableError,
    EngineError,
    InvalidRequestError,
    StorageUnreachableError,
    TableNotFoundError,
    UnsupportedTableFeatureError,
    VersionNotAvailableError,
    log_retention_message,
)
from recovery_platform.engine.guard import Call

__all__ = ["ENGINE_NAME", "condition_of", "translate"]

ENGINE_NAME = "Spark"

_GONE = ("FILE_NOT_EXIST", "FILE_NOT_FOUND", "FileNotFoundException", "PATH_NOT_FOUND")
_CONFLICT = ("DELTA_CONCURRENT", "ConcurrentAppendException", "ConcurrentDeleteReadException",
             "ConcurrentDeleteDeleteException", "ConcurrentTransactionException",
             "MetadataChangedException", "ProtocolChangedException",
             "ConcurrentWriteException", "DeltaConcurrentModificationException")
_FEATURES = ("DELTA_UNSUPPORTED_FEATURES", "DELTA_FEATURES_REQUIRE", "DELTA_INVALID_PROTOCOL",
             "DELTA_UNSUPPORTED_READER_TABLE_FEATURES", "DELTA_UNSUPPORTED_WRITER_TABLE_FEATURES",
             "InvalidProtocolVersionException")
_REFUSED = ("DELTA_CANNOT_MODIFY_APPEND_ONLY", "DELTA_VIOLATE_CONSTRAINT",
            "DELTA_NOT_NULL_CONSTRAINT_VIOLATED", "DELTA_VIOLATE_TABLE_PROPERTY_VALIDATION",
            "DELTA_IDENTITY_COLUMNS", "InvariantViolationException")
_CORRUPT = ("DELTA_VERSIONS_NOT_CONTIGUOUS", "DELTA_LOG_FILE_NOT_FOUND", "MALFORMED",
            "JsonParseException", "JSON", "not a Parquet file", "magic number",
            "CANNOT_READ_FILE_FOOTER", "DELTA_STATE_RECOVER_ERROR", "DELTA_CHECKPOINT")
_FEATURE_NAMED = re.compile(
    r"feature\(s\)[^:\n]*:\s*`?([A-Za-z][A-Za-z0-9_-]*)|feature '([A-Za-z][A-Za-z0-9_-]*)'",
    re.IGNORECASE,
)
_AVAILABLE = re.compile(r"available versions?:?\s*\[?\s*(\d+)", re.IGNORECASE)


def condition_of(exc: BaseException) -> str:
    """Spark's error condition of `exc` ('' when it has none)."""
    getter = getattr(exc, "getCondition", None) or getattr(exc, "getErrorClass", None)
    try:
        return str(getter() or "") if getter else ""
    except Exception:
        return ""


def _any(markers: tuple[str, ...], *texts: str) -> bool:
    return any(marker in text for marker in markers for text in texts)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:500] if text.strip() else text


def translate(exc: Exception, call: Call) -> EngineError:
    """The seam's error for `exc`, raised by `call`; the guard chains `exc` to it."""
    condition = condition_of(exc)
    java = getattr(exc, "java_exception", None)
    # a Py4JJavaError's own first line only names the Java call; its exception says what failed
    text = f"{java}\n{exc}" if java is not None else str(exc)
    short = _first_line(text)
    if _any(_CONFLICT, condition, type(exc).__name__, text):
        return ConcurrentCommitError.during(call.failed(), short)
    if condition == "DELTA_MISSING_DELTA_TABLE" or "is not a Delta table" in text:
        return TableNotFoundError(f"no Delta table at {call.uri}")
    if condition in ("DELTA_VERSION_NOT_FOUND", "DELTA_CANNOT_TIME_TRAVEL_VERSION") or (
        "VersionNotFoundException" in text
    ):
        return _version_gone(call, text)
    if "BEYOND_DELETED_FILE_RETENTION" in condition:
        return VersionNotAvailableError(
            f"{call.where()} is older than the table's delta.deletedFileRetentionDuration, and "
            "Spark refuses to time-travel beyond it"
        )
    if _any(_FEATURES, condition, text):
        feature = _FEATURE_NAMED.search(text)
        return UnsupportedTableFeatureError(
            call.uri or "?", next(g for g in feature.groups() if g) if feature else "unknown",
            ENGINE_NAME,
            detail=short,
        )
    if _any(_REFUSED, condition, text):
        return CommitRefusedError.during(call.failed(), short)
    if _any(_CORRUPT, condition, text):
        return CorruptTableError(
            f"{call.failed()}: the Delta log or a data file of {call.where()} is damaged or "
            f"unreadable ({short})"
        )
    if _any(_GONE, condition, text):
        return VersionNotAvailableError(
            f"{call.failed()}: data files of {call.where()} are gone (vacuumed or deleted)"
        )
    if isinstance(exc, PermissionError | ConnectionError | TimeoutError) or _any(
        ("AccessDenied", "Permission denied", "UnknownHostException", "ConnectException"), text
    ):
        return StorageUnreachableError.during(call.failed(), short)
    if isinstance(exc, ValueError | TypeError | KeyError):
        return InvalidRequestError(f"{call.failed()}: {short}")
    return EngineError(f"{call.failed()}: Spark reported: {short}")


def _version_gone(call: Call, text: str) -> VersionNotAvailableError:
    """A version Spark cannot load: cleaned up from the log, or not written yet."""
    available = _AVAILABLE.search(text)
    if call.version is not None and available and call.version < int(available.group(1)):
        return VersionNotAvailableError(log_retention_message(call.uri or "?", call.version))
    return VersionNotAvailableError(
        f"{call.where()} does not exist or is no longer in the table's log (log retention)"
    )
