"""Benchmark results as JSON and as a Markdown table that states the machine and versions."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path

import psutil

from benchmarks.measure import PhaseResult

PACKAGES = ("dagster", "deltalake", "pyarrow", "pyspark", "delta-spark", "pandas")


def machine() -> dict[str, object]:
    """Cores, memory, Python and package versions of this run."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except Exception:  # a package missing from the environment is reported as such
            versions[name] = "not installed"
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
    }


PERFORMANCE_DOC = Path(__file__).resolve().parents[1] / "docs" / "performance.md"
REMAINS_HEADING = "## What remains, and why"


def _what_remains() -> list[str]:
    """The analysis of missed targets, kept in one place (docs/performance.md) and quoted here."""
    text = PERFORMANCE_DOC.read_text() if PERFORMANCE_DOC.exists() else ""
    if REMAINS_HEADING not in text:
        return [REMAINS_HEADING, "", "(docs/performance.md has no analysis yet)"]
    return text[text.index(REMAINS_HEADING):].rstrip().splitlines()


def write_reports(
    out: Path, scale: str, engine: str, phases: list[PhaseResult], targets: list[str]
) -> tuple[Path, Path]:
    """Write `<scale>-<engine>.json` and `.md` under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    info = machine()
    packages = info["packages"]
    assert isinstance(packages, dict)
    data = {"scale": scale, "engine": engine, "machine": info,
            "phases": [dict(asdict(p), rows_per_second=round(p.rows_per_second))
                       for p in phases], "targets": targets}
    json_path = out / f"{scale}-{engine}.json"
    json_path.write_text(json.dumps(data, indent=2, default=str))
    lines = [
        f"# Benchmark: {scale} on {engine}",
        "",
        f"Machine: {info['cores']} cores, {info['memory_gb']} GB, Python {info['python']}, "
        + ", ".join(f"{k} {v}" for k, v in packages.items()),
        "",
        "| phase | wall s | rows/s | peak RSS MB | notes |",
        "|---|---:|---:|---:|---|",
    ]
    for p in phases:
        notes = ", ".join(f"{k}={v}" for k, v in p.notes.items())
        lines.append(f"| {p.name} | {p.seconds:.3f} | {p.rows_per_second:,.0f} | "
                     f"{p.peak_rss_mb:,.0f} | {notes} |")
    if targets:
        title = "Spark vs delta-rs" if engine == "both" else "Targets"
        lines += ["", f"## {title}", "", *(f"- {t}" for t in targets)]
    if any("MISSED" in t for t in targets):
        lines += ["", *_what_remains()]
    md_path = out / f"{scale}-{engine}.md"
    md_path.write_text("\n".join(lines) + "\n")
    return json_path, md_path
