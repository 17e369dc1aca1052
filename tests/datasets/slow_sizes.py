"""A synthetic source whose size requests are slow and logged, for estimates under a budget.

An executor imports it by name (``tests.datasets.slow_sizes:SlowSizes``) from a test template.
"""

import time
from pathlib import Path
from typing import Any

from jobstream_datasets.plugins.synthetic import SyntheticSource
from jobstream_datasets.templates import Bbox


class SlowSizes(SyntheticSource):
    max_concurrency = 2

    def size_of(
        self,
        period_id: str,
        bbox: Bbox,
        resolution: float = 0.25,
        calls: str = "",
        pause: float = 0.5,
        **params: Any,
    ) -> int:
        with Path(calls).open("a") as log:
            log.write(f"{period_id}\n")
        time.sleep(pause)
        return super().size_of(period_id, bbox, resolution)
