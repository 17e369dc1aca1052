"""The harnesses beside the main benchmark keep working: `bench.cluster`, `bench.observability`
and `bench.auth` in smoke mode start their stacks (bench.cluster: one nats-server and a
three-node R3 cluster), run a few jobs or requests on each and write the report; `bench.archive`
archives a few dozen jobs. They measure nothing worth reading."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .support.stack import ROOT

# A smoke run starts stacks of real processes; pytest's own limit stays above each run's.
pytestmark = pytest.mark.timeout(180)
NUMBER = r"[-+]?[\d,]+(?:\.\d+)?"


def _smoke(module: str, out: Path, timeout: float = 170) -> str:
    result = subprocess.run(
        [sys.executable, "-m", module, "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (report,) = out.glob("*smoke*.md")
    return report.read_text()


def _cells(text: str, first_cell: str) -> list[str]:
    """The cells after the first of the table row whose first cell is ``first_cell``."""
    line = next(line for line in text.splitlines() if line.startswith(f"| {first_cell} |"))
    return [cell.strip().strip("*") for cell in line.strip("|").split("|")][1:]


def test_bench_observability_smoke_reports_each_stack(tmp_path):
    text = _smoke("bench.observability", tmp_path)
    for stack in ("plain", "metrics (ports + 1 s scrapes)", "traces (OTLP export)"):
        cells = _cells(text, stack)
        assert len(cells) == 5 and all(re.fullmatch(NUMBER, cell) for cell in cells), cells
    spans = re.search(r"The receiver decoded (\d+) spans", text)
    assert spans is not None and int(spans.group(1)) > 0


def test_bench_auth_smoke_reports_each_method(tmp_path):
    text = _smoke("bench.auth", tmp_path)
    for method in ("none", "apikey", "oidc"):
        cpu, _, ratio, wall = _cells(text, method)
        assert re.fullmatch(rf"{NUMBER} / {NUMBER} / {NUMBER}", cpu), cpu
        assert re.fullmatch(NUMBER, ratio) and re.fullmatch(NUMBER, wall)
    assert re.search(r"oidc [\d.]+ / [\d.]+ / [\d.]+", text)


def test_bench_cluster_smoke_reports_the_single_node_and_the_cluster(tmp_path):
    text = _smoke("bench.cluster", tmp_path, timeout=110)
    for heading in ("## 1. Async no-op jobs end to end", "## 2. Sizing", "## Analysis"):
        assert heading in text
    for system in ("one node, R1", "three nodes, R3"):
        rate, _, _, p50, p99, _ = _cells(text, system)
        assert re.fullmatch(rf"{NUMBER} / {NUMBER} / {NUMBER}", rate), rate
        assert re.fullmatch(NUMBER, p50) and re.fullmatch(NUMBER, p99)
        events, stream_bytes = _cells(text, f"echo job, {system}")[:2]
        assert float(events) >= 3 and int(stream_bytes.replace(",", "")) > 0
    assert "| ingest, one node, R1 |" in text


def _messages(report: str, when: str) -> int:
    found = re.search(rf"stream {when}: +(\d+) messages", report)
    assert found is not None, report
    return int(found.group(1))


def test_bench_archive_reports_the_stream_trimmed_and_each_kind_of_read():
    arguments = ["--jobs", "40", "--live", "10", "--batch", "15", "--reads", "5"]
    result = subprocess.run(
        [sys.executable, "-m", "bench.archive", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = result.stdout
    assert "archived 40 jobs into 3 files" in report
    # Four events a job: the 40 archived jobs' are trimmed, the 10 live ones' stay.
    assert (_messages(report, "before"), _messages(report, "after")) == (200, 40)
    assert len(re.findall(r"read one history, .*: median [\d.]+ ms", report)) == 3
