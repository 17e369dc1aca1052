"""The benchmark harness keeps working: its smoke mode runs every scenario on tiny sizes and
writes the report and the plot. It measures nothing worth reading."""

import subprocess
import sys

import pytest

from .support.stack import ROOT


# Every scenario on tiny sizes, each on stacks of real processes: minutes on a loaded machine.
@pytest.mark.timeout(300)
def test_bench_smoke_writes_a_report_and_a_plot(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=290,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    reports = list(tmp_path.glob("*-smoke.md"))
    plots = list(tmp_path.glob("*-smoke.png"))
    assert len(reports) == 1 and len(plots) == 1
    text = reports[0].read_text()
    for heading in (
        "## 1. Async no-op",
        "## 2. Latency with history",
        "## 3. Projector rebuild",
        "## 4. Executor concurrency",
        "## 5. Ingest",
        "## 6. Memory",
        "Headline ratios",
        "5. ingest periods/s, jobstream / bare loop",
    ):
        assert heading in text
    assert "not measured" in text  # peers are off in smoke mode, and said so
    assert plots[0].stat().st_size > 10_000
