"""HTTP clients in front of several gateways, as behind a load balancer: each submission carries
an Idempotency-Key and is retried on the next gateway when one refuses or fails, so a request
whose 201 was lost is never a second job. After each 201 the client reads the job back from
another gateway: it must find it (it reads its own writes wherever it lands)."""

import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from .waiting import eventually

ECHO = {"inputs": {"message": "node loss"}}


@dataclass
class Outcome:
    accepted: list[str] = field(default_factory=list)
    accepted_at: list[float] = field(default_factory=list)
    refusals: Counter = field(default_factory=Counter)
    # Jobs answered 201 that another gateway then answered 404 for.
    unread: list[str] = field(default_factory=list)
    # Submissions no gateway accepted before the deadline.
    given_up: list[str] = field(default_factory=list)


class Clients:
    def __init__(
        self, gateways: list[str], jobs: int, threads: int = 4, give_up_after: float = 120
    ) -> None:
        self.gateways = gateways
        self.keys = iter(range(jobs))
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(threads)]
        self.give_up_after = give_up_after
        self.outcome = Outcome()
        self.lock = threading.Lock()

    def start(self) -> "Clients":
        for thread in self.threads:
            thread.start()
        return self

    def join(self, timeout: float = 300) -> Outcome:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), "clients did not finish"
        return self.outcome

    def wait_accepted(self, count: int, timeout: float = 120) -> float:
        """Until ``count`` submissions were accepted; the time of the count-th 201."""
        eventually(
            lambda: len(self.outcome.accepted) >= count,
            timeout,
            lambda: f"{count} accepted (got {len(self.outcome.accepted)})",
        )
        return self.outcome.accepted_at[count - 1]

    def accepted_after(self, instant: float) -> float | None:
        """The time of the first 201 after ``instant``, if any yet."""
        with self.lock:
            return next((t for t in self.outcome.accepted_at if t > instant), None)

    def _next_key(self) -> int | None:
        with self.lock:
            return next(self.keys, None)

    def _client(self) -> None:
        clients = [httpx.Client(base_url=url, timeout=10) for url in self.gateways]
        try:
            while (number := self._next_key()) is not None:
                self._submit(clients, number)
        finally:
            for client in clients:
                client.close()

    def _submit(self, clients: list[httpx.Client], number: int) -> None:
        key = f"node-loss-{number}"
        deadline = time.monotonic() + self.give_up_after
        start = number % len(clients)
        for index in itertools.cycle(range(start, start + len(clients))):
            client = clients[index % len(clients)]
            if (job_id := self._try(client, key)) is not None:
                self._read_back(clients[(index + 1) % len(clients)], job_id)
                return
            if time.monotonic() > deadline:
                with self.lock:
                    self.outcome.given_up.append(key)
                return
            time.sleep(0.1)

    def _try(self, client: httpx.Client, key: str) -> str | None:
        try:
            response = client.post(
                "/processes/echo/execution",
                json=ECHO,
                headers={"Prefer": "respond-async", "Idempotency-Key": key},
            )
        except httpx.TransportError as exc:
            self._refused(type(exc).__name__)
            return None
        if response.status_code != 201:
            self._refused(response.status_code)
            return None
        with self.lock:
            self.outcome.accepted.append(response.json()["jobID"])
            self.outcome.accepted_at.append(time.monotonic())
        return response.json()["jobID"]

    def _refused(self, reason: object) -> None:
        with self.lock:
            self.outcome.refusals[reason] += 1

    def _read_back(self, client: httpx.Client, job_id: str) -> None:
        try:
            status = client.get(f"/jobs/{job_id}").status_code
        except httpx.TransportError:
            return  # that gateway is down: nothing to learn
        if status == 404:
            with self.lock:
                self.outcome.unread.append(job_id)
