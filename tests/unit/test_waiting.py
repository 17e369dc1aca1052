"""The tests' one polling loop: what it returns, what it retries, how it gives up."""

import pytest

from tests.support.waiting import NeverHappened, eventually, eventually_async


def test_the_first_answer_that_is_neither_none_nor_false_is_returned():
    answers = iter([None, False, 0, 5])
    assert eventually(lambda: next(answers), timeout=5, interval=0) == 0


def test_a_failed_assertion_is_looked_at_again():
    looks = iter([AssertionError("not yet"), AssertionError("still not"), "done"])

    def look() -> str:
        answer = next(looks)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert eventually(look, timeout=5, interval=0) == "done"


def test_it_gives_up_naming_what_it_waited_for_with_the_last_error_as_cause():
    def look() -> None:
        raise AssertionError("the last look")

    with pytest.raises(NeverHappened, match="waited 0.05 s for the job.s end") as raised:
        eventually(look, timeout=0.05, what=lambda: "the job's end", interval=0.01)
    assert str(raised.value.__cause__) == "the last look"


def test_other_errors_are_not_swallowed():
    def look() -> None:
        raise KeyError("a bug in the test")

    with pytest.raises(KeyError):
        eventually(look, timeout=5)


async def test_the_async_loop_awaits_each_look():
    answers = iter([None, "ready"])

    async def look() -> str | None:
        return next(answers)

    assert await eventually_async(look, timeout=5, interval=0) == "ready"
