"""The CloudEvents sequence extension: a String that orders lexicographically, read back in
either form (text, or the number exports wrote before)."""

from jobstream_contracts.cloudevents import event_of, sequence_text, to_cloudevent
from jobstream_contracts.events import JobSubmitted


def test_a_sequence_is_text_that_orders_as_its_number():
    numbers = [1, 9, 10, 99, 100, 123_456_789, 2**64 - 1]
    texts = [sequence_text(n) for n in numbers]
    assert sorted(texts) == texts and all(len(t) == 20 and t.isdigit() for t in texts)
    assert sequence_text(42) == "00000000000000000042"


def test_a_cloudevent_carries_its_sequence_as_text_and_gives_it_back_as_a_number():
    event = JobSubmitted(job_id="j1", process_id="echo", inputs={"message": "x"})
    cloudevent = to_cloudevent(event, 42)
    assert cloudevent["sequence"] == "00000000000000000042"
    assert event_of(cloudevent) == (42, event)
    assert event_of({**cloudevent, "sequence": 42}) == (42, event)  # an export of before
