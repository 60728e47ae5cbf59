"""Named crash points, so tests can stop a process exactly where a real crash would hurt.

Set `RECOVERY_PLATFORM_CRASH_AT=<point>` to make `crash_point(<point>)` raise, `<point>:kill` to
SIGKILL the process there, or `<point>:pause` to hold it there while the file named by
`RECOVERY_PLATFORM_PAUSE_FILE` exists (at most ten minutes), so another process can act while
this one is mid-operation. Unset in production, it costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

CRASH_ENV = "RECOVERY_PLATFORM_CRASH_AT"
PAUSE_FILE_ENV = "RECOVERY_PLATFORM_PAUSE_FILE"
MAX_PAUSE_SECONDS = 600.0


class InjectedCrash(RuntimeError):
    """Raised at a named crash point when a test asks for it."""


def crash_point(point: str) -> None:
    """Crash (or pause) here if the environment names this point."""
    wanted = os.environ.get(CRASH_ENV, "")
    name, _, mode = wanted.partition(":")
    if name != point:
        return
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "pause":
        _pause(Path(os.environ[PAUSE_FILE_ENV]))
        return
    raise InjectedCrash(f"injected crash at {point}")


def _pause(flag: Path) -> None:
    flag.with_suffix(".reached").touch()
    deadline = time.monotonic() + MAX_PAUSE_SECONDS
    while flag.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
