"""Where each measured phase stands against the issue's targets (2-core machine, delta-rs)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.measure import PhaseResult


def _find(phases: list[PhaseResult], prefix: str) -> PhaseResult | None:
    return next((p for p in phases if p.name.startswith(prefix)), None)


def _line(label: str, value: float | None, limit: float, unit: str = "s") -> str:
    if value is None:
        return f"{label}: not measured in this run"
    verdict = "met" if value <= limit else "MISSED"
    return f"{label}: {value:.2f} {unit} (target ≤ {limit:g} {unit}) — {verdict}"


def assess(
    scale: str, phases: list[PhaseResult], results_dir: Path | None = None
) -> list[str]:
    """One line per target that this scale measures."""
    lines: list[str] = []
    if scale in ("standard", "large", "smoke"):
        whole = _find(phases, "whole rollback")
        lines.append(_line("whole rollback through rollback_job",
                           whole.seconds if whole else None, 10))
        syncs = [p for p in phases if p.name.startswith("daily sync")]
        lines.append(_line("daily sync of all tables", max((p.seconds for p in syncs),
                                                            default=None), 30))
        cp = _find(phases, "checkpoint creation")
        lines.append(_line("checkpoint creation for all tables", cp.seconds if cp else None, 5))
        rss = max((p.peak_rss_mb for p in phases if "via rollback_job" in p.name), default=None)
        lines.append(_line("peak RSS of the rollback job", rss, 1024, "MB"))
        lines.extend(_maintenance_lines(phases))
    if scale.startswith("probe"):
        lines.extend(_probe_lines(scale, phases, results_dir))
    return lines


def _maintenance_lines(phases: list[PhaseResult]) -> list[str]:
    weekly = _find(phases, "weekly maintenance")
    shallow = _find(phases, "checkpoint integrity (shallow")
    pins = _find(phases, "restore every pinned version")
    lost = pins.notes.get("pinned_versions_lost") if pins else None
    return [
        _line("whole weekly maintenance of every table", weekly.seconds if weekly else None, 60),
        _line("shallow integrity of every active checkpoint",
              shallow.seconds if shallow else None, 10),
        f"pinned versions lost after maintenance: {lost} (target 0) — "
        + ("met" if lost == 0 else "not measured in this run" if lost is None else "MISSED"),
    ]


def _probe_lines(scale: str, phases: list[PhaseResult], results_dir: Path | None) -> list[str]:
    label = "1M" if scale == "probe-1m" else "10M"
    lines: list[str] = []
    diff = _find(phases, f"[{label}] key diff")
    naive = _find(phases, f"[{label}] baseline (a)")
    if diff and naive:
        ratio = naive.seconds / diff.seconds if diff.seconds else float("inf")
        verdict = ("met" if ratio >= 50 else "MISSED") if label == "1M" else "target is at 1M"
        lines.append(f"[{label}] impact analysis vs naive pandas diff: {ratio:.0f}x faster "
                     f"(target ≥ 50x at 1M rows) — {verdict}")
    sync = _find(phases, "[1M] daily sync")
    if sync:
        lines.append(_line("[1M] daily sync of a 1M-row table with 1% churn", sync.seconds, 3))
    restore = _find(phases, f"[{label}] restore call")
    if restore:
        lines.append(f"[{label}] restore call: {restore.seconds:.3f} s, parquet files/bytes "
                     f"written {restore.notes.get('parquet_files_written')}/"
                     f"{restore.notes.get('parquet_bytes_written')} (must be 0/0)")
        other = _other_probe_restore(results_dir, "probe-1m" if label == "10M" else "probe-10m")
        if other is not None:
            one, ten = (restore.seconds, other) if label == "1M" else (other, restore.seconds)
            ratio = ten / one if one else float("inf")
            lines.append(f"restore 10M vs 1M: {ten:.3f} s / {one:.3f} s = {ratio:.2f}x "
                         f"(target ≤ 1.5x) — {'met' if ratio <= 1.5 else 'MISSED'}")
    return lines


def _other_probe_restore(results_dir: Path | None, scale: str) -> float | None:
    """The restore call's seconds from the other probe's last report, if there is one."""
    if results_dir is None:
        return None
    path = results_dir / f"{scale}-deltars.json"
    if not path.exists():
        return None
    for phase in json.loads(path.read_text()).get("phases", []):
        if "restore call" in phase.get("name", ""):
            return float(phase["seconds"])
    return None
