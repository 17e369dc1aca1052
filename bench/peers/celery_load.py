"""Submit N no-op tasks from C client threads, each waiting for its result. Prints JSON.

Runs in the peer venv: `python celery_load.py JOBS CLIENTS`.
"""

import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from celery_app import noop  # noqa: E402


def main() -> None:
    jobs, clients = int(sys.argv[1]), int(sys.argv[2])
    noop.delay("warm-up").get(timeout=60)
    latencies: list[float] = []
    lock = threading.Lock()

    def client(count: int) -> None:
        for i in range(count):
            began = time.perf_counter()
            result = noop.delay(str(i))
            submitted = time.perf_counter() - began
            result.get(timeout=120)
            with lock:
                latencies.append(submitted)

    shares = [jobs // clients + (1 if i < jobs % clients else 0) for i in range(clients)]
    threads = [threading.Thread(target=client, args=(n,)) for n in shares]
    began, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    print(
        json.dumps(
            {"jobs": jobs, "seconds": elapsed, "cpu_seconds": cpu, "submit_latencies": latencies}
        )
    )


if __name__ == "__main__":
    main()
