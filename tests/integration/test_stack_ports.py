"""The test stack's gateway whose port another process took before it bound it (two xdist
workers drawing one free port): the stack starts it again on a fresh port."""

from jobstream_infra.embedded import EmbeddedNats

from ..support.stack import Stack
from .test_embedded_ports import taken


def test_a_stack_whose_gateway_port_was_taken_serves_on_another(tmp_path):
    with EmbeddedNats(tmp_path / "nats") as server:
        stack = Stack(tmp_path, server.url)
        first = stack.port
        try:
            with taken(first):
                stack.start()
            assert stack.port != first and stack.url.endswith(f":{stack.port}")
            assert stack.http.get("/health").status_code == 200
            assert "address already in use" in stack.log("gateway")
        finally:
            stack.close()
