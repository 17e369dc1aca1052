"""Summaries of repeated measurements: min / median / max, percentiles, ratios."""

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    min: float
    median: float
    max: float

    @classmethod
    def of(cls, values: list[float]) -> "Summary":
        return cls(min(values), statistics.median(values), max(values))

    def fmt(self, digits: int = 1) -> str:
        return f"{self.min:.{digits}f} / {self.median:.{digits}f} / {self.max:.{digits}f}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")
