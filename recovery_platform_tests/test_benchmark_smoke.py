"""The benchmark harness runs end to end at smoke scale (no timing assertions)."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_smoke_benchmark_writes_json_and_markdown(tmp_path: Path) -> None:
    out = tmp_path / "results"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--scale", "smoke", "--out", str(out),
         "--work", str(tmp_path / "work")],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    data = json.loads((out / "smoke-deltars.json").read_text())
    names = [p["name"] for p in data["phases"]]
    for expected in ("first sync", "daily sync", "checkpoint creation", "bad sync",
                     "rollback plan", "rollback apply", "whole rollback", "baseline (d)",
                     "maintenance dry run", "weekly maintenance", "checkpoint integrity (shallow",
                     "checkpoint integrity (deep", "restore every pinned version"):
        assert any(n.startswith(expected) for n in names), (expected, names)
    assert all(p["seconds"] > 0 and p["peak_rss_mb"] > 0 for p in data["phases"])
    by_name = {p["name"]: p for p in data["phases"]}
    weekly = next(p for n, p in by_name.items() if n.startswith("weekly maintenance"))
    assert weekly["notes"]["tables_failed"] == 0 and weekly["notes"]["files_removed"] > 0
    pins = next(p for n, p in by_name.items() if n.startswith("restore every pinned version"))
    assert pins["notes"]["pinned_versions"] > 0 and pins["notes"]["pinned_versions_lost"] == 0
    assert data["machine"]["cores"] >= 1
    markdown = (out / "smoke-deltars.md").read_text()
    assert "| phase | wall s | rows/s | peak RSS MB |" in markdown
    assert "whole rollback through rollback_job" in markdown


def test_the_single_table_probe_runs_with_its_baselines(tmp_path: Path) -> None:
    """`probe-1m` and `probe-10m` at a size CI can afford: every phase, no timing assertions."""
    from benchmarks.probes import probe
    from recovery_platform.engine.deltars import DeltaRsEngine

    phases = probe(20_000, tmp_path, DeltaRsEngine(), naive=True, fresh_engine=DeltaRsEngine)

    names = [p.name for p in phases]
    for expected in ("first load", "daily sync", "row counts", "record-state fingerprint",
                     "key diff", "baseline (a)", "baseline (b)", "restore call alone"):
        assert any(expected in n for n in names), (expected, names)
    restore = next(p for p in phases if "restore call alone" in p.name)
    assert (restore.notes["parquet_files_written"], restore.notes["parquet_bytes_written"]) == (
        0, 0)
    sync = next(p for p in phases if "daily sync" in p.name)
    assert 0 < sync.notes["bytes_written"]


def test_a_used_work_folder_is_refused_before_anything_runs(tmp_path: Path) -> None:
    """A lakehouse left by an earlier run would turn the measured first sync into a daily one."""
    work = tmp_path / "work"
    (work / "lake").mkdir(parents=True)
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--scale", "smoke", "--out",
         str(tmp_path / "results"), "--work", str(work)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 2
    assert f"--work {work} is not empty" in completed.stderr
    assert not (tmp_path / "results").exists()
    assert [p.name for p in work.iterdir()] == ["lake"]
