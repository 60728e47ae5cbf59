"""delta-rs's, pyarrow's and the OS's exceptions in the seam's words (see `engine.guard`).

delta-rs reports most failures as one `DeltaError` class whose text says what happened, and
commits as `CommitFailedError` whether another writer won the race or the table refused the
commit. The difference matters to an operator: a conflict is solved by re-planning, a refusal
never is. Only the conflicts delta-rs names (its `CommitConflictError` and
`VersionAlreadyExists` texts) become `ConcurrentCommitError`; every other failed commit is a
`CommitRefusedError`.
"""

from __future__ import annotations

import re

import pyarrow as pa
from deltalake.exceptions import CommitFailedError, DeltaError, DeltaProtocolError
from deltalake.exceptions import TableNotFoundError as DeltaTableNotFoundError

from recovery_platform.engine.errors import (
    CommitRefusedError,
    ConcurrentCommitError,
    CorruptTableError,
    EngineError,
    InvalidRequestError,
    StorageUnreachableError,
    TableNotFoundError,
    UnrepresentableValuesError,
    UnsupportedTableFeatureError,
    VersionNotAvailableError,
)
from recovery_platform.engine.guard import Call

__all__ = ["ENGINE_NAME", "is_concurrent_commit", "translate"]

ENGINE_NAME = "delta-rs"

_CONFLICT = re.compile(
    r"metadata changed since last commit|protocol changed since last commit|concurrent"
    r"|tried committing existing table version|version already exists"
    r"|failed to commit transaction: \d+\s*$",
    re.IGNORECASE,
)
_UNSUPPORTED = re.compile(r"unsupported table features required: \[?([^\]]*)", re.IGNORECASE)
_FEATURE_NOT_SUPPORTED = re.compile(r"feature '([^']+)' is not supported", re.IGNORECASE)
_DAMAGED_LOG = re.compile(
    r"contiguous commit files|log segment|json error|invalid json|checkpoint|"
    r"failed to parse|missing metadata|no metadata found|protocol action",
    re.IGNORECASE,
)
_REFUSED = re.compile(
    r"failed validation check|invariant violat|constraint violat|violates check constraint"
    r"|append[- ]?only",
    re.IGNORECASE,
)
"""A table's own rule refused the rows: a check constraint, an invariant, append-only."""
_GONE = re.compile(r"not found|no such file|does not exist", re.IGNORECASE)
_OUT_OF_RANGE = re.compile(r"out of bounds|overflow|out of range", re.IGNORECASE)
_UNREACHABLE = re.compile(
    r"connection|timed out|timeout|dns|permission denied|access denied|forbidden|"
    r"unauthori[sz]ed|credential",
    re.IGNORECASE,
)


def is_concurrent_commit(exc: BaseException) -> bool:
    """Whether a failed commit lost a race with another writer (and only then)."""
    return isinstance(exc, CommitFailedError) and bool(_CONFLICT.search(str(exc)))


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _first_feature(text: str) -> str:
    match = _UNSUPPORTED.search(text)
    if match is None:
        return "unknown"
    names = re.findall(r"[A-Za-z][A-Za-z0-9_-]*", match.group(1))
    return names[0] if names else "unknown"


def translate(exc: Exception, call: Call) -> EngineError:
    """The seam's error for `exc`, raised by `call`; the guard chains `exc` to it."""
    where, text = call.where(), str(exc)
    if isinstance(exc, DeltaTableNotFoundError):
        return TableNotFoundError(f"no Delta table at {call.uri} ({call.operation}: {text})")
    if isinstance(exc, CommitFailedError):
        return _commit_error(exc, call)
    if isinstance(exc, DeltaError) and _REFUSED.search(text):
        return CommitRefusedError.during(call.failed(), _first_line(text))
    unknown = _FEATURE_NOT_SUPPORTED.search(text)
    if isinstance(exc, DeltaError) and unknown:
        return UnsupportedTableFeatureError(
            call.uri or "?", unknown.group(1), ENGINE_NAME, detail=text
        )
    if isinstance(exc, DeltaProtocolError):
        feature = _first_feature(text)
        return UnsupportedTableFeatureError(call.uri or "?", feature, ENGINE_NAME, detail=text)
    if isinstance(exc, PermissionError | ConnectionError | TimeoutError):
        return StorageUnreachableError.during(call.failed(), text)
    if isinstance(exc, FileNotFoundError) or (isinstance(exc, DeltaError) and _GONE.search(text)
                                              and "parquet" not in text.lower()):
        return VersionNotAvailableError(
            f"{call.failed()}: a file it needs is gone (vacuumed or deleted): {text}"
        )
    if isinstance(exc, pa.ArrowException):
        return _arrow_error(exc, call)
    if isinstance(exc, DeltaError):
        if _UNREACHABLE.search(text):
            return StorageUnreachableError.during(call.failed(), text)
        if "parquet" in text.lower():
            return CorruptTableError(
                f"{call.failed()}: a data file of {where} cannot be read as Parquet ({text})"
            )
        if _DAMAGED_LOG.search(text):
            return CorruptTableError(
                f"{call.failed()}: the Delta log of {where} is damaged or incomplete ({text})"
            )
        return EngineError(f"{call.failed()}: delta-rs reported: {text}")
    if isinstance(exc, ValueError | TypeError | KeyError):
        return InvalidRequestError(f"{call.failed()}: {text}")
    if isinstance(exc, OSError):
        return StorageUnreachableError(f"{call.failed()}: the storage reported an error ({text})")
    return EngineError(f"{call.failed()}: {type(exc).__name__}: {text}")


def _commit_error(exc: CommitFailedError, call: Call) -> EngineError:
    text = str(exc)
    if is_concurrent_commit(exc):
        return ConcurrentCommitError.during(call.failed(), text)
    if _UNSUPPORTED.search(text):
        return UnsupportedTableFeatureError(
            call.uri or "?", _first_feature(text), ENGINE_NAME, detail=text
        )
    return CommitRefusedError.during(call.failed(), text)


def _arrow_error(exc: pa.ArrowException, call: Call) -> EngineError:
    text = str(exc)
    if _OUT_OF_RANGE.search(text):
        return UnrepresentableValuesError(
            f"{call.failed()}: the table holds values the engine cannot represent exactly "
            f"(e.g. timestamps outside the supported range), so it refused them ({text})"
        )
    if isinstance(exc, pa.ArrowInvalid | pa.ArrowIOError) or "parquet" in text.lower():
        return CorruptTableError(
            f"{call.failed()}: a data file of {call.where()} cannot be read as Parquet ({text})"
        )
    if isinstance(exc, pa.ArrowTypeError | pa.ArrowNotImplementedError):
        return InvalidRequestError(f"{call.failed()}: {text}")
    return EngineError(f"{call.failed()}: pyarrow reported: {text}")
