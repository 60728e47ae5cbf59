"""Every public engine call raises only the seam's errors, naming the table, version and cause.

Engines sit on libraries that raise their own exceptions (delta-rs's `DeltaError`, pyarrow's
`ArrowInvalid`, Spark's `AnalysisException`, plain `OSError`), and any of them reaching the
domain ends up in the Dagster UI as a traceback an operator cannot act on. Rather than trusting
each of dozens of code paths to catch them, `guard_operations` wraps every public
`StorageEngine` method of an engine class: an `EngineError` passes through, anything else is
handed to the engine's translator, which picks the seam's error class and words, and the
original exception is chained as the cause.

`is_restorable` answers instead of raising: every error it can explain becomes
`Restorability(False, reason)`; only an unreachable store (nothing is known about the version)
and an argument it cannot accept are raised.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from recovery_platform.engine.errors import (
    EngineError,
    InvalidRequestError,
    StorageUnreachableError,
)
from recovery_platform.engine.interface import StorageEngine
from recovery_platform.engine.values import Restorability

__all__ = ["GUARDED", "Call", "Translator", "guard_operations", "public_operations"]

GUARDED = "__engine_operation__"
"""Attribute set on a wrapped method: the operation's name."""


@dataclass(frozen=True)
class Call:
    """The operation that failed, as an operator would name it."""

    operation: str
    uri: str | None
    version: int | None

    def where(self) -> str:
        """`table <uri>` or `version N of table <uri>`."""
        table = f"table {self.uri}" if self.uri else "the table"
        return table if self.version is None else f"version {self.version} of {table}"

    def failed(self) -> str:
        """`<operation> of <where> failed`, the opening of a generic message."""
        return f"{self.operation} of {self.where()} failed"


Translator = Callable[[Exception, Call], EngineError]
"""Turns a library's exception into the seam's error (the guard chains the original)."""

E = TypeVar("E", bound=type[StorageEngine])

_NOT_TRANSLATED = (MemoryError, RecursionError)
_URI_ARGUMENTS = ("uri", "child_uri")


def public_operations() -> list[str]:
    """Names of the `StorageEngine` methods callers use: each is guarded on every engine."""
    return sorted(
        name
        for name, member in inspect.getmembers(StorageEngine, inspect.isfunction)
        if not name.startswith("_")
    )


def _call(name: str, signature: inspect.Signature, args: tuple[Any, ...],
          kwargs: dict[str, Any]) -> Call:
    try:
        bound = signature.bind(None, *args, **kwargs).arguments
    except TypeError:
        bound = {}
    uri = next((bound[a] for a in _URI_ARGUMENTS if isinstance(bound.get(a), str)), None)
    version = bound.get("version")
    return Call(name, uri, version if isinstance(version, int) else None)


def _guard(name: str, method: Callable[..., Any], translate: Translator) -> Callable[..., Any]:
    signature = inspect.signature(method)

    @functools.wraps(method)
    def guarded(self: StorageEngine, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except EngineError:
            raise
        except _NOT_TRANSLATED:
            raise
        except Exception as exc:
            raise translate(exc, _call(name, signature, args, kwargs)) from exc

    setattr(guarded, GUARDED, name)
    return guarded


def _answering(method: Callable[..., Restorability]) -> Callable[..., Restorability]:
    """`is_restorable`: an explained error is the answer.

    An unreachable store (nothing is known) and an argument it cannot accept (the caller's
    mistake, not the table's state) are raised.
    """

    @functools.wraps(method)
    def answering(self: StorageEngine, *args: Any, **kwargs: Any) -> Restorability:
        try:
            return method(self, *args, **kwargs)
        except (StorageUnreachableError, InvalidRequestError):
            raise
        except EngineError as exc:
            return Restorability(False, str(exc))

    setattr(answering, GUARDED, getattr(method, GUARDED))
    return answering


def guard_operations(translate: Translator) -> Callable[[E], E]:
    """A class decorator guarding every public operation of an engine with `translate`."""

    def decorate(cls: E) -> E:
        for name in public_operations():
            method = getattr(cls, name)
            if getattr(method, GUARDED, None) == name and name in cls.__dict__:
                continue
            wrapped = _guard(name, method, translate)
            if name == "is_restorable":
                wrapped = _answering(wrapped)
            setattr(cls, name, wrapped)
        return cls

    return decorate
