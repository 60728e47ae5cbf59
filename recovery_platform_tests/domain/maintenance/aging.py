"""Making commits look old without waiting: the retention window must not protect their files.

A vacuum deletes a removed file once the commit that removed it is older than the retention
(delta-rs reads the remove action's `deletionTimestamp`, Spark also the file's modification
time), and the history's timestamps say how old a version is. Both are set back here, in the
log and on disk, as if the commits had been written `seconds` ago.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote


def age_commit(uri: str, version: int, seconds: float) -> list[Path]:
    """Backdate one commit: its timestamp, its removes and the files they removed."""
    then = time.time() - seconds
    log = Path(uri) / "_delta_log" / f"{version:020d}.json"
    actions, removed = [], []
    for line in log.read_text().splitlines():
        action = json.loads(line)
        if "remove" in action:
            action["remove"]["deletionTimestamp"] = int(then * 1000)
            path = Path(uri) / unquote(action["remove"]["path"])
            if path.exists():
                os.utime(path, (then, then))
            removed.append(path)
        if "commitInfo" in action and "timestamp" in action["commitInfo"]:
            action["commitInfo"]["timestamp"] = int(then * 1000)
        if "add" in action:
            path = Path(uri) / unquote(action["add"]["path"])
            os.utime(path, (then, then))
        actions.append(json.dumps(action))
    log.write_text("\n".join(actions) + "\n")
    os.utime(log, (then, then))
    return removed


def age_commits(uri: str, versions: Iterable[int], seconds: float) -> list[Path]:
    """Backdate several commits; the files their removes name."""
    return [path for version in versions for path in age_commit(uri, version, seconds)]


def data_files(uri: str) -> set[str]:
    """Every file under a table's folder, relative to it (log included)."""
    root = Path(uri)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
