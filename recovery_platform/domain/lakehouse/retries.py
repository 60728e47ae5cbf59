"""Retrying what fails for transient reasons: a checkpoint is worth a second try (seed CR-001)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from recovery_platform.engine import EngineError

T = TypeVar("T")


def with_retries(
    action: Callable[[], T], *, attempts: int = 3, delay_seconds: float = 0.2
) -> T:
    """Run `action`, retrying twice on engine or I/O errors (transient by nature)."""
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except (EngineError, OSError):
            if attempt == attempts:
                raise
            time.sleep(delay_seconds * attempt)
    raise AssertionError("unreachable")
