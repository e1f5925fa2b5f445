"""Large batches are assessed in a process pool; the results must not depend on it."""

from __future__ import annotations

from pathlib import Path

from smmcheck.mapping import load_mappings
from smmcheck.policies import load_policies
from smmcheck.runner import PARALLEL_THRESHOLD, CheckOptions, run_check

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo"


def test_process_pool_and_sequential_runs_agree(tmp_path: Path) -> None:
    # ot-sw01 holds only cheap (type 0/5) secrets, so a large batch stays quick.
    text = (DEMO / "ot-sw01.cfg").read_text()
    for index in range(PARALLEL_THRESHOLD + 2):
        (tmp_path / f"ot-sw{index:02d}.cfg").write_text(
            text.replace("hostname ot-sw01", f"hostname ot-sw{index:02d}")
        )
    policies = load_policies()
    mappings = load_mappings(policies)
    pooled = run_check(
        [tmp_path], CheckOptions(policies=policies, mappings=mappings, use_cache=False, workers=2)
    )
    sequential = run_check(
        [tmp_path], CheckOptions(policies=policies, mappings=mappings, use_cache=False, workers=1)
    )
    assert len(pooled.devices) == PARALLEL_THRESHOLD + 2
    assert pooled.results == sequential.results
    assert pooled.devices == sequential.devices
