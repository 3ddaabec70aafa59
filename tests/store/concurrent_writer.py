"""One writer process of the concurrency test: N executions with K checkpoints each.

Run as a script: `python concurrent_writer.py URL PREFIX N K`. Waits for a start file so all
writers begin together; prints how many rows it wrote.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from cagents.store import open_database


def main() -> None:
    url, prefix, count, checkpoints, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
    while not go.exists():
        time.sleep(0.005)
    db = open_database(url)
    try:
        states = 0
        for i in range(count):
            execution_id = f"{prefix}-{i}"
            db.executions.create(id=execution_id, workflow_name=f"wf-{prefix}", config_snapshot="flow: {}",
                                 config_hash="h", inputs={"i": i})
            for step in range(checkpoints):
                db.executions.add_state(execution_id, node_id=f"n{step}", step=step,
                                        state_data={"i": i, "step": step}, duration_seconds=0.01,
                                        tokens=1, cost_usd=0.001, resume_data={"frontier": []})
                states += 1
            db.executions.finish(execution_id, status="completed", outputs={"i": i}, error_message=None,
                                 completed_at=db.executions.get(execution_id).started_at, duration_seconds=0.1,
                                 total_tokens=checkpoints, total_cost_usd=0.01, bottleneck_info=None,
                                 simulated=True)
        print(count, states)
    finally:
        db.close()


if __name__ == "__main__":
    main()
