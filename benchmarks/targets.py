"""Where each measured phase stands against the issue's targets (2-core machine, delta-rs)."""

from __future__ import annotations

from benchmarks.measure import PhaseResult


def _find(phases: list[PhaseResult], prefix: str) -> PhaseResult | None:
    return next((p for p in phases if p.name.startswith(prefix)), None)


def _line(label: str, value: float | None, limit: float, unit: str = "s") -> str:
    if value is None:
        return f"{label}: not measured in this run"
    verdict = "met" if value <= limit else "MISSED"
    return f"{label}: {value:.2f} {unit} (target ≤ {limit:g} {unit}) — {verdict}"


def assess(scale: str, phases: list[PhaseResult]) -> list[str]:
    """One line per target that this scale measures."""
    lines: list[str] = []
    if scale in ("standard", "large", "smoke"):
        whole = _find(phases, "whole rollback")
        lines.append(_line("whole rollback through rollback_job", whole and whole.seconds, 10))
        syncs = [p for p in phases if p.name.startswith("daily sync")]
        lines.append(_line("daily sync of all tables", max((p.seconds for p in syncs),
                                                            default=None), 30))
        cp = _find(phases, "checkpoint creation")
        lines.append(_line("checkpoint creation for all tables", cp and cp.seconds, 5))
        rss = max((p.peak_rss_mb for p in phases if "rollback" in p.name), default=None)
        lines.append(_line("peak RSS of the rollback job", rss, 1024, "MB"))
    if scale.startswith("probe"):
        diff = _find(phases, f"[{'1M' if scale == 'probe-1m' else '10M'}] key diff")
        naive = _find(phases, f"[{'1M' if scale == 'probe-1m' else '10M'}] baseline (a)")
        if diff and naive:
            ratio = naive.seconds / diff.seconds if diff.seconds else float("inf")
            lines.append(f"impact analysis vs naive pandas diff: {ratio:.0f}x faster "
                         f"(target ≥ 50x) — {'met' if ratio >= 50 else 'MISSED'}")
        sync = _find(phases, "[1M] daily sync")
        if sync:
            lines.append(_line("daily sync of a 1M-row table with 1% churn", sync.seconds, 3))
        restore = _find(phases, f"[{'1M' if scale == 'probe-1m' else '10M'}] restore call")
        if restore:
            lines.append(f"restore call: {restore.seconds:.3f} s, parquet bytes written "
                         f"{restore.notes.get('parquet_bytes_written')}; compare 10M/1M runs "
                         "for the ≤ 1.5x target")
    return lines
