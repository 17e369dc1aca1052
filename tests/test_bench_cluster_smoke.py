"""`python -m bench.cluster` keeps working: its smoke mode starts one nats-server and a
three-node R3 cluster, runs a few jobs on each and sizes the stream. It measures nothing worth
reading."""

import re
import subprocess
import sys

from .support.stack import ROOT

NUMBER = r"[\d,]+(?:\.\d+)?"


def _row(text: str, first_cell: str) -> list[str]:
    """The cells of the table row whose first cell is ``first_cell``."""
    line = next(line for line in text.splitlines() if line.startswith(f"| {first_cell} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_bench_cluster_smoke_reports_the_single_node_and_the_cluster(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bench.cluster", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (report,) = tmp_path.glob("*-cluster-smoke.md")
    text = report.read_text()
    for heading in ("## 1. Async no-op jobs end to end", "## 2. Sizing", "## Analysis"):
        assert heading in text
    for system in ("one node, R1", "three nodes, R3"):
        rate, _, _, p50, p99, _ = _row(text, system)[1:]
        assert re.fullmatch(rf"{NUMBER} / {NUMBER} / {NUMBER}", rate), rate
        assert re.fullmatch(NUMBER, p50) and re.fullmatch(NUMBER, p99)
        events, stream_bytes = _row(text, f"echo job, {system}")[1:3]
        assert float(events) >= 3 and int(stream_bytes.replace(",", "")) > 0
    assert "| ingest, one node, R1 |" in text
