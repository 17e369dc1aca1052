"""The CPU-per-job guard fails when the hot path gets slower: a copy of the gateway whose
status and execute routes spin 5 ms per request, put first on the path of every process the
guard starts, is over the bound. (The guard itself runs after the suite: `dev.py test`.)

5 ms, not the 2 ms of issue #25's example: at today's 7 ms CPU per job, 2 ms per request
measured 18.6x and 20.1x against a bound of 19x-20x, too near to fail every time; the bound
tightens, and the spin can shrink, as the hot path gets cheaper."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# A line of each route's body, before which the spin goes.
ANCHORS = {
    "jobs.py": "    url = base_url(request)\n    if at is not None:",
    "processes.py": "    process = process_or_404(ctx, process_id)\n",
}
SPIN = """

def _spin(seconds: float) -> None:
    import time

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
"""


@pytest.mark.serial
def test_the_guard_fails_on_a_slowed_status_route(tmp_path: Path):
    slowed = tmp_path / "jobstream_gateway"
    shutil.copytree(ROOT / "gateway" / "jobstream_gateway", slowed)
    for name, anchor in ANCHORS.items():
        module = slowed / name
        source = module.read_text()
        assert source.count(anchor) == 1, f"the route in {name} changed: move the spin"
        module.write_text(source.replace(anchor, "    _spin(0.005)\n" + anchor) + SPIN)

    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    command = [sys.executable, "-m", "bench.guard", "--jobs", "150", "--rounds", "2"]
    guard = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert guard.returncode == 1, guard.stdout + guard.stderr
    assert "over the bound" in guard.stderr, guard.stderr
