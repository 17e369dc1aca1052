"""What `sync_interval: always` costs: JetStream publish throughput with an fsync per write,
against the server's default (fsync every 2 minutes), in the same run on the same disk.

    .venv/bin/python -m bench.fsync [--events 3000] [--rounds 3]
"""

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import nats

from jobstream_contracts.events import JobSubmitted
from jobstream_infra.embedded import EmbeddedNats
from jobstream_infra.journal import publish_event
from jobstream_infra.provisioning import ensure_stream


async def _rate(url: str, events: int, concurrent: int) -> float:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_stream(js)
    batch = [JobSubmitted(job_id=f"j{i}", process_id="echo") for i in range(events)]
    began = time.perf_counter()
    for start in range(0, events, concurrent):
        await asyncio.gather(*(publish_event(js, e) for e in batch[start : start + concurrent]))
    elapsed = time.perf_counter() - began
    await nc.close()
    return events / elapsed


def measure(sync_interval: str, events: int, concurrent: int) -> float:
    with tempfile.TemporaryDirectory() as store:
        with EmbeddedNats(Path(store), sync_interval=sync_interval) as server:
            return asyncio.run(_rate(server.url, events, concurrent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for concurrent in (1, 32):
        rates = {"always": [], "2m": []}
        for _ in range(args.rounds):
            for setting in rates:  # interleaved, so machine noise hits both alike
                rates[setting].append(measure(setting, args.events, concurrent))
        always, default = statistics.median(rates["always"]), statistics.median(rates["2m"])
        for setting, values in rates.items():
            print(
                f"in flight {concurrent:>2}  sync_interval={setting:<6} events/s "
                f"min {min(values):8.0f}  median {statistics.median(values):8.0f}  "
                f"max {max(values):8.0f}"
            )
        print(f"in flight {concurrent:>2}  always / 2m = {always / default:.2f}")


if __name__ == "__main__":
    main()
