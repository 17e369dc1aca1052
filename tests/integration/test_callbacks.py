"""OGC callbacks: the notifier POSTs results and status documents to a real receiver on
loopback, signed as Standard Webhooks, at least once, through refusals, outages and a
SIGKILLed notifier."""

import base64
import json
import signal
import time

import pytest
from standardwebhooks import Webhook

from jobstream_contracts.events import CallbackAbandoned, CallbackDelivered, JobSucceeded

from ..support.ogc_schemas import assert_valid
from ..support.receiver import Receiver
from ..support.stack import own_server_stack
from ..support.stuck_receiver import StuckReceiver
from ..support.waiting import eventually

REFUSED = "callback refused; retrying"
SECRET = "whsec_" + base64.b64encode(b"a secret of twenty-four b").decode()
CALLBACK_SETTINGS = dict(
    callback_allowed_networks='["127.0.0.1/32"]',
    callback_secret=SECRET,
    callback_backoff="[0.3, 0.6]",
    callback_max_attempts=4,
    callback_progress_interval=0.5,
    # A killed notifier's deliveries come back after AckWait, twice this plus 5 s.
    callback_timeout=2,
)


@pytest.fixture(scope="module")
def callback_stack(tmp_path_factory):
    """One stack for the module: each test has receivers, jobs and callbacks of its own."""
    with own_server_stack(tmp_path_factory.mktemp("callbacks"), **CALLBACK_SETTINGS) as stack:
        yield stack.start("projector", "executor", "notifier", "gateway")


@pytest.fixture
def notified(callback_stack):
    stack = callback_stack
    receivers: list[Receiver] = []

    def receiver(**options) -> Receiver:
        receivers.append(Receiver(**options))
        return receivers[-1]

    yield stack, receiver
    for made in receivers:
        made.stop()


def submit(stack, process: str, inputs: dict, **subscriber: str) -> str:
    return stack.submit(process, inputs, subscriber=subscriber)


def recorded(stack, job_id: str, kind: type, count: int = 1, timeout: float = 30) -> list:
    def found() -> list | None:
        events = [e for e in stack.events(job_id) if isinstance(e, kind)]
        return events if len(events) >= count else None

    return eventually(found, timeout, f"{count} {kind.__name__} of job {job_id}", interval=0.1)


def test_success_posts_the_results_document_once_signed(notified):
    stack, receiver = notified
    receiver = receiver().start()
    job_id = submit(stack, "echo", {"message": "called back"}, successUri=receiver.url("/done"))
    delivered = recorded(stack, job_id, CallbackDelivered)
    (call,) = receiver.wait_for("/done")
    assert call.document == {"echo": "called back"}
    assert_valid(call.document, "results")
    succeeded = next(e for e in stack.events(job_id) if isinstance(e, JobSucceeded))
    assert call.headers["webhook-id"] == str(succeeded.event_id)
    assert Webhook(SECRET).verify(call.body, call.headers) == {"echo": "called back"}
    assert (delivered[0].kind, delivered[0].uri, delivered[0].tries) == (
        "success",
        receiver.url("/done"),
        1,
    )
    assert delivered[0].for_event == succeeded.event_id
    time.sleep(1.0)
    assert len(receiver.at("/done")) == 1
    assert stack.wait_job(job_id)["status"] == "successful"  # callbacks change nothing


def test_progress_is_throttled_and_a_failure_posts_the_status_document(notified):
    stack, receiver = notified
    receiver = receiver().start()
    job_id = submit(
        stack,
        "count",
        {"n": 20, "interval": 0.1},
        successUri=receiver.url("/ok"),
        inProgressUri=receiver.url("/progress"),
    )
    receiver.wait_for("/ok")
    progress = receiver.at("/progress")
    assert 2 <= len(progress) <= 6, len(progress)  # ~2 s of progress, one per 0.5 s at most
    for call in progress:
        assert_valid(call.document, "statusInfo")
        assert call.document["jobID"] == job_id and call.document["status"] == "running"
    failing = submit(
        stack,
        "refuse",
        {"message": "no"},
        successUri=receiver.url("/ok"),
        failedUri=receiver.url("/failed"),
    )
    (failure,) = receiver.wait_for("/failed")
    assert failure.document["status"] == "failed" and failure.document["jobID"] == failing
    assert_valid(failure.document, "statusInfo")


def test_a_refusing_receiver_is_retried_through_redelivery(notified):
    stack, receiver = notified
    receiver = receiver(answer=lambda n: 503 if n <= 2 else 200).start()
    job_id = submit(stack, "echo", {"message": "third time"}, successUri=receiver.url("/done"))
    (delivered,) = recorded(stack, job_id, CallbackDelivered)
    calls = receiver.wait_for("/done", 3)
    assert delivered.tries == 3 and len(calls) == 3
    assert len({call.headers["webhook-id"] for call in calls}) == 1


def test_a_receiver_that_is_down_gets_the_callback_once_it_is_up(notified):
    stack, receiver = notified
    later = receiver()
    # The module's stack is shared: count this test's refusals, not earlier ones.
    refusals = stack.log("notifier").count(REFUSED)
    job_id = submit(stack, "echo", {"message": "wait for me"}, successUri=later.url("/done"))
    stack.wait_job(job_id)
    eventually(
        lambda: stack.log("notifier").count(REFUSED) > refusals,
        30,
        "the notifier trying the absent receiver",
    )
    later.start()
    (delivered,) = recorded(stack, job_id, CallbackDelivered)
    assert delivered.tries >= 2
    assert [c.document for c in later.wait_for("/done")] == [{"echo": "wait for me"}]


def test_a_callback_refused_too_often_is_abandoned_and_recorded(notified):
    stack, receiver = notified
    receiver = receiver(answer=lambda n: 500).start()
    job_id = submit(stack, "echo", {"message": "never"}, successUri=receiver.url("/done"))
    (abandoned,) = recorded(stack, job_id, CallbackAbandoned)
    assert abandoned.tries == 4 and "500" in abandoned.error
    time.sleep(1.5)
    assert len(receiver.at("/done")) == 4  # and then no more


def test_every_callback_arrives_when_the_notifier_is_killed_mid_run(notified):
    stack, receiver = notified
    receiver = receiver(delay=0.15).start()
    jobs = [
        submit(stack, "echo", {"message": f"m{i}"}, successUri=receiver.url("/done"))
        for i in range(30)
    ]
    receiver.wait_for("/done", 5)
    assert stack.kill_one("notifier").wait(10) == -signal.SIGKILL
    stack.start_component("notifier")
    by_id: dict[str, set[bytes]] = {}

    def every_job_called_back() -> bool:  # repeats carry the same id
        for call in receiver.at("/done"):
            by_id.setdefault(call.headers["webhook-id"], set()).add(call.body)
        return len(by_id) == len(jobs)

    eventually(every_job_called_back, 60, lambda: f"{len(jobs)} jobs called back ({len(by_id)})")
    differing = {id: bodies for id, bodies in by_id.items() if len(bodies) > 1}
    assert not differing, differing
    received = {json.loads(next(iter(bodies)))["echo"] for bodies in by_id.values()}
    assert received == {f"m{i}" for i in range(30)}


def test_stuck_receivers_get_one_delivery_at_a_time_and_delay_no_one(notified):
    """One receiver trickles its answer's head a byte a second, another sends an endless body:
    each delivery ends within the 2 s callback timeout, long before the 9 s AckWait could hand
    it to a second delivery, and a third job's callback arrives meanwhile."""
    stack, receiver = notified
    trickling, endless = StuckReceiver("trickle").start(), StuckReceiver("endless").start()
    prompt = receiver().start()
    try:
        trickled = submit(stack, "echo", {"message": "slow"}, successUri=trickling.url("/done"))
        submit(stack, "echo", {"message": "huge"}, successUri=endless.url("/done"))
        eventually(lambda: trickling.arrivals, 30, "a delivery to the trickling receiver")
        submit(stack, "echo", {"message": "on time"}, successUri=prompt.url("/done"))
        prompt.wait_for("/done", timeout=5)
        (abandoned,) = recorded(stack, trickled, CallbackAbandoned)  # 4 tries of 2 s
    finally:
        trickling.stop()
        endless.stop()
    assert abandoned.tries == 4 and "no answer within 2 s" in abandoned.error
    assert (trickling.arrivals, trickling.most_at_once) == (4, 1)
    assert (endless.arrivals, endless.most_at_once) == (1, 1)


@pytest.mark.parametrize(
    ("subscriber", "field"),
    [
        ({"successUri": "http://127.0.0.1:9/done"}, "subscriber.successUri"),
        ({"successUri": "http://10.1.2.3/done"}, "subscriber.successUri"),
        ({"successUri": "http://169.254.169.254/latest"}, "subscriber.successUri"),
        (
            {"successUri": "https://example.org/", "failedUri": "ftp://example.org/"},
            "subscriber.failedUri",
        ),
        ({"inProgressUri": "https://example.org/"}, "subscriber.successUri"),
        ({"successUri": "https://example.org/", "extra": 1}, "subscriber.extra"),
    ],
)
def test_unsafe_or_malformed_subscribers_are_400_and_create_no_job(stack, subscriber, field):
    before = len(stack.events())
    response = stack.http.post(
        "/processes/echo/execution", json={"inputs": {"message": "x"}, "subscriber": subscriber}
    )
    assert response.status_code == 400, response.text
    assert field in response.json()["detail"], response.json()["detail"]
    time.sleep(0.2)
    assert len(stack.events()) == before


def test_the_callback_conformance_class_is_declared(stack):
    classes = stack.http.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/callback" in classes
