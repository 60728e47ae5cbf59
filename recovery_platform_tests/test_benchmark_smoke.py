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
                     "rollback plan", "rollback apply", "whole rollback", "baseline (d)"):
        assert any(n.startswith(expected) for n in names), (expected, names)
    assert all(p["seconds"] > 0 and p["peak_rss_mb"] > 0 for p in data["phases"])
    assert data["machine"]["cores"] >= 1
    markdown = (out / "smoke-deltars.md").read_text()
    assert "| phase | wall s | rows/s | peak RSS MB |" in markdown
    assert "whole rollback through rollback_job" in markdown
