"""Functions of the processes the tests declare in YAML files (see test_custom_processes)."""

from jobstream_contracts.process import no_progress


def shout(text: str, times: int = 1, on_progress=no_progress) -> dict:
    """`text` in capitals, with `times` exclamation marks."""
    on_progress(1, 1, "shouted")
    return {"shouted": text.upper() + "!" * times}


# The same function under a second name: a file naming it declares another process version.
SHOUT_AGAIN = shout


def whisper(text: str, on_progress=no_progress) -> dict:
    """`text` in lower case: a process kept off the HTTP API."""
    return {"whispered": text.lower()}


NOT_CALLABLE = "a string, not a function"
