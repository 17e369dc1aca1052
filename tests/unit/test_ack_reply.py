"""A consumer's message's place and delivery count, read from its reply subject, agree with
what nats-py's metadata parses, in both layouts JetStream writes."""

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from jobstream_infra.records import delivery_count, stream_sequence

REPLIES = [
    "$JS.ACK.JOBSTREAM.executor-echo.3.1234.17.1765000000000000000.5",
    "$JS.ACK.hub.ACCOUNTHASH.JOBSTREAM.executor-echo.3.1234.17.1765000000000000000.5.token",
]


@pytest.mark.parametrize("reply", REPLIES)
def test_the_reply_subject_gives_what_the_metadata_gives(reply):
    msg = Msg(Client(), subject="jobstream.jobs.echo.j.submitted", reply=reply, data=b"")
    assert (stream_sequence(msg), delivery_count(msg)) == (1234, 3)
    assert (stream_sequence(msg), delivery_count(msg)) == (
        msg.metadata.sequence.stream,
        msg.metadata.num_delivered,
    )
