"""The rollback job in a process of its own, as a Dagster deployment runs each run.

The benchmark process has run every earlier phase and keeps what its allocators hold; the
rollback job's memory target is about the run's own process, so the plan and the apply each run
in a fresh interpreter that measures itself (its tree, so a Spark JVM counts) and reports back.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks.measure import PhaseResult, measure

REPO = Path(__file__).resolve().parents[1]


def run_rollback_job(
    lakehouse: Any, run_config: dict[str, Any], name: str, rows: int
) -> tuple[PhaseResult, str | None]:
    """Run `rollback_job` once in a child process; its measured phase and the op's output."""
    payload = {"root": lakehouse.root, "config_path": lakehouse.config_path,
               "engine": lakehouse.engine, "run_config": run_config, "name": name, "rows": rows}
    child = subprocess.run([sys.executable, "-m", "benchmarks.rollback_process"],
                           input=json.dumps(payload), capture_output=True, text=True, cwd=REPO,
                           check=False)
    if child.returncode != 0:
        raise RuntimeError(f"rollback_job failed in its process: {child.stderr[-3000:]}")
    report = json.loads(child.stdout.strip().splitlines()[-1])
    return PhaseResult(**report["phase"]), report["output"]


def main() -> int:
    """Child side: run the job under `measure` and print the phase as one JSON line."""
    payload = json.loads(sys.stdin.read())
    import dagster as dg

    from recovery_platform.defs.resources import LakehouseResource
    from recovery_platform.defs.rollback import rollback_job

    lakehouse = LakehouseResource(root=payload["root"], config_path=payload["config_path"],
                                  engine=payload["engine"])
    # a deployment's run worker finds its instance (run and event storage) already in place;
    # creating the ephemeral one here is setup, not part of the run
    instance = dg.DagsterInstance.ephemeral()
    with measure(payload["name"], rows=payload["rows"]) as phase:
        result = rollback_job.execute_in_process(run_config=payload["run_config"],
                                                 resources={"lakehouse": lakehouse},
                                                 instance=instance, raise_on_error=False)
    if not result.success:
        failure = next((e for e in result.all_events if e.is_step_failure), None)
        print(failure.event_specific_data if failure else "run failed", file=sys.stderr)
        return 1
    output = result.output_for_node("rollback")
    print(json.dumps({"phase": asdict(phase), "output": output}, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
