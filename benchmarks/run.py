"""Benchmark harness entry point: `python -m benchmarks.run --scale smoke`.

Scales: `smoke` (seconds; CI proves the harness works, no timing assertions), `standard`
(50 tables x 200,000 rows), `probe-1m` and `probe-10m` (single-table probes with the naive
baselines), `large` (opt-in), `compare` (a small scenario on delta-rs and on Spark).
Results go to `benchmarks/results/<scale>-<engine>.{json,md}`.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from benchmarks.engine_comparison import compare_engines, ratio_lines
from benchmarks.lakehouse_scenario import SCENARIOS, run_scenario
from benchmarks.measure import PhaseResult
from benchmarks.report import write_reports
from benchmarks.targets import assess

PROBES = {"probe-1m": 1_000_000, "probe-10m": 10_000_000}


def main(argv: list[str] | None = None) -> int:
    """Run one scale and write its reports."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=[*SCENARIOS, *PROBES], default="smoke",
                        help="`compare` runs one small scenario on both engines (baseline c).")
    parser.add_argument("--engine", choices=["deltars", "spark"], default="deltars")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--tables", type=int, default=None,
                        help="Override the scenario's table count (per-table figures scale up).")
    parser.add_argument("--work", type=Path, default=None,
                        help="Working folder, new or empty (default: a temporary one, removed "
                             "afterwards).")
    args = parser.parse_args(argv)
    if args.work is not None and args.work.exists() and any(args.work.iterdir()):
        # a lakehouse left by an earlier run would turn the first sync into a daily one
        parser.error(f"--work {args.work} is not empty: give a new or empty folder")
    work = args.work or Path(tempfile.mkdtemp(prefix="recovery-bench-"))
    try:
        phases = _run(args.scale, args.engine, work, args.tables)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    # a reduced table count is a different scale: its figures are not held against the targets
    label = args.scale if args.tables is None else f"{args.scale}-{args.tables}t"
    engine_label = "both" if args.scale == "compare" else args.engine
    findings = (ratio_lines(phases) if args.scale == "compare"
                else assess(label, phases, args.out))
    json_path, md_path = write_reports(args.out, label, engine_label, phases, findings)
    print(md_path.read_text())
    print(f"wrote {json_path} and {md_path}")
    return 0


def _run(scale: str, engine_name: str, work: Path, tables: int | None) -> list[PhaseResult]:
    if scale == "compare":
        return compare_engines(work)
    if scale in PROBES:
        from benchmarks.probes import probe
        from recovery_platform.defs.resources import build_engine

        engine = build_engine(engine_name, {})
        return probe(PROBES[scale], work, engine, naive=True,
                     fresh_engine=lambda: build_engine(engine_name, {}))
    scenario = SCENARIOS[scale]
    if tables is not None:
        scenario = replace(scenario, name=f"{scenario.name}-{tables}t", tables=tables,
                           bad_tables=min(scenario.bad_tables, tables))
    return run_scenario(scenario, work, engine_name)


if __name__ == "__main__":
    raise SystemExit(main())
