"""Reading what an in-process Dagster run reported, for the job tests."""

from __future__ import annotations

import dagster as dg


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    """Every error message of the run's failed steps, causes included."""
    texts = []
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        while error is not None:
            texts.append(error.message)
            error = error.cause
    return "\n".join(texts)
