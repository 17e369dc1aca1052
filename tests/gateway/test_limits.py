"""The request body cap: refused with an OGC body before the body is read, or while it
streams in."""

from collections.abc import AsyncIterator

from ..support.ogc_schemas import assert_valid

MB = 1024 * 1024


class Body:
    """A request body of ``chunks`` megabytes that counts how many of them were taken."""

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        self.taken = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.taken += 1
            yield b"x" * MB


async def test_a_declared_100_mb_body_is_413_before_it_is_read(gateway):
    body = Body(100)
    answer = await gateway.http.post(
        "/processes/echo/execution",
        content=body,
        headers={"Content-Type": "application/json", "Content-Length": str(100 * MB)},
    )
    assert answer.status_code == 413
    assert_valid(answer.json(), "exception")
    assert body.taken <= 1


async def test_a_body_of_no_declared_length_is_refused_once_it_passes_the_cap(gateway):
    body = Body(100)
    answer = await gateway.http.post(
        "/processes/echo/execution", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert_valid(answer.json(), "exception")
    assert body.taken <= 3  # the cap is 1 MiB: refused at the second megabyte or so
    assert (await gateway.http.get("/health")).status_code == 200
