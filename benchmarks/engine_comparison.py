"""Baseline (c): the same scenario on delta-rs and on Spark + Delta Lake, phase by phase.

Spark pays for a JVM, a session and job scheduling that delta-rs does not; at a scale that fits
a 2-core machine the comparison shows that fixed cost, which is what a user deciding between the
engines for a small lakehouse needs to see. Bigger machines run `--scale large --engine spark`.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.lakehouse_scenario import SCENARIOS, run_scenario
from benchmarks.measure import PhaseResult

ENGINES = ("deltars", "spark")


def compare_engines(work: Path) -> list[PhaseResult]:
    """Run the `compare` scenario on each engine; phases are named `[engine] phase`."""
    results: dict[str, list[PhaseResult]] = {}
    for engine in ENGINES:
        results[engine] = run_scenario(SCENARIOS["compare"], work / engine, engine)
    phases: list[PhaseResult] = []
    for engine in ENGINES:
        for phase in results[engine]:
            phase.name = f"[{engine}] {phase.name}"
            phases.append(phase)
    return phases


def ratio_lines(phases: list[PhaseResult]) -> list[str]:
    """One line per phase: Spark seconds over delta-rs seconds."""
    by_name = {p.name: p for p in phases}
    lines = []
    for phase in phases:
        if not phase.name.startswith("[deltars] "):
            continue
        base = phase.name.removeprefix("[deltars] ")
        spark = by_name.get(f"[spark] {base}")
        if spark is None or not phase.seconds:
            continue
        lines.append(f"{base}: spark {spark.seconds:.2f} s vs delta-rs {phase.seconds:.2f} s "
                     f"= {spark.seconds / phase.seconds:.1f}x; peak RSS {spark.peak_rss_mb:,.0f} "
                     f"vs {phase.peak_rss_mb:,.0f} MB")
    return lines
