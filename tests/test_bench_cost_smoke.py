"""`python -m bench.observability` and `python -m bench.auth` keep working: their smoke modes
start their stacks, run a few requests on each and write the report. They measure nothing
worth reading."""

import re
import subprocess
import sys
from pathlib import Path

from .support.stack import ROOT

NUMBER = r"[-+]?[\d,]+(?:\.\d+)?"


def _smoke(module: str, out: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", module, "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (report,) = out.glob("*smoke*.md")
    return report.read_text()


def _cells(text: str, first_cell: str) -> list[str]:
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
