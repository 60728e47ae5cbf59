"""Processes that read through delta-rs end cleanly (issue 14, part 5).

Reading a Delta table through a pyarrow dataset (`to_pyarrow_dataset`, `to_pyarrow_table`)
leaves Arrow thread-pool work that touches deltalake's Python filesystem handler after the
read returns; when that work meets the interpreter's finalization, the process aborts
("terminate called without an active exception", exit code 134), segfaults or never exits,
after its work was committed. See `recovery_platform/engine/deltars/scan.py`,
delta-io/delta-rs#2184 and apache/arrow#33975.

Two checks, each in fresh processes because the failure only shows at interpreter exit:
twenty real syncs and rollbacks (random aborts need many runs to show), and a streaming read
abandoned after its first batch, which the pyarrow dataset reader turns into a hang or a crash
at exit nearly every time (a generator dropped mid-read: a caller that stops early, an
exception raised mid-stream and kept by its traceback).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import write_deltalake

from recovery_platform_tests.engine.deltars.clean_exit_worker import prepare

SYNC_AND_ROLLBACK_RUNS = 20
ABANDONED_READ_RUNS = 5
WORKER = "recovery_platform_tests.engine.deltars.clean_exit_worker"
ABORT_TEXT = re.compile(r"terminate called|panicked|PanicException|Fatal Python error")
ROOT = Path(__file__).resolve().parents[3]
PARALLEL = max(1, min(2, os.cpu_count() or 1))

ABANDONED_READ = """
import sys
from recovery_platform.engine.deltars.table import iter_batches, open_table

batches = iter_batches(open_table(sys.argv[1], None), ["id", "name"])
first = next(batches)  # the generator stays referenced, unfinished, until the exit
print("ok")
"""


@dataclass(frozen=True)
class Exit:
    """How one process ended; `code` is None when it had not ended by the deadline."""

    run: int
    code: int | None
    stdout: str
    stderr: str

    @property
    def clean(self) -> bool:
        """Exit code 0, "ok" printed, and no abort or panic text on stderr."""
        return (self.code == 0 and self.stdout.strip().endswith("ok")
                and ABORT_TEXT.search(self.stderr) is None)

    def describe(self) -> str:
        ended = "still running at the deadline" if self.code is None else f"exit code {self.code}"
        return f"run {self.run}: {ended}; stderr ends: {self.stderr[-600:]!r}"


def _python(run: int, args: Sequence[str], timeout: float) -> Exit:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECOVERY_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    try:
        done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as hung:  # run() has killed it
        return Exit(run, None, _text(hung.stdout), _text(hung.stderr))
    return Exit(run, done.returncode, done.stdout, done.stderr)


def _text(output: str | bytes | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def _all_clean(runs: int, one: Callable[[int], Exit]) -> None:
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        exits = list(pool.map(one, range(runs)))
    unclean = [e for e in exits if not e.clean]
    assert not unclean, f"{len(unclean)} of {runs} processes did not end cleanly:\n" + "\n".join(
        e.describe() for e in unclean
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lakehouse with the first day synced, copied for every worker."""
    folder = tmp_path_factory.mktemp("clean_exit") / "template"
    prepare(folder)
    return folder


def test_twenty_sync_and_rollback_processes_all_exit_cleanly(
    template: Path, tmp_path: Path
) -> None:
    def one(run: int) -> Exit:
        folder = tmp_path / f"run{run}"
        shutil.copytree(template, folder)
        try:
            return _python(run, ["-m", WORKER, str(folder)], timeout=300)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    _all_clean(SYNC_AND_ROLLBACK_RUNS, one)


def test_a_streaming_read_abandoned_before_exit_does_not_hang_or_crash_it(
    tmp_path: Path,
) -> None:
    uri = str(tmp_path / "eight_files")
    for part in range(8):  # several files, so the first batch leaves reads still pending
        ids = pa.array(range(part * 20_000, (part + 1) * 20_000), pa.int64())
        write_deltalake(uri, pa.table({"id": ids, "name": pc.cast(ids, pa.string())}),
                        mode="append")
    script = tmp_path / "abandoned_read.py"
    script.write_text(ABANDONED_READ)

    _all_clean(ABANDONED_READ_RUNS, lambda run: _python(run, [str(script), uri], timeout=30))
