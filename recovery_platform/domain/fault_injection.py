"""Named crash points, so tests can stop a process exactly where a real crash would hurt.

Set `RECOVERY_PLATFORM_CRASH_AT=<point>` to make `crash_point(<point>)` raise (or, with the
`:kill` suffix, SIGKILL the process). Unset in production, it costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "RECOVERY_PLATFORM_CRASH_AT"


class InjectedCrash(RuntimeError):
    """Raised at a named crash point when a test asks for it."""


def crash_point(point: str) -> None:
    """Crash here if the environment names this point."""
    wanted = os.environ.get(CRASH_ENV, "")
    name, _, mode = wanted.partition(":")
    if name != point:
        return
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise InjectedCrash(f"injected crash at {point}")
