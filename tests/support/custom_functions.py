"""Functions of the processes the tests declare in YAML files (see test_custom_processes)."""

from jobstream_contracts.process import JobContext, no_progress


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


def monthly_mean(source_dataset_id: str, *, job: JobContext, on_progress=no_progress) -> dict:
    """The data library's resample to monthly means, as an operator's YAML process would run
    it: a derived dataset written under the YAML process's id and version."""
    from jobstream_datasets.processes import processes
    from jobstream_infra.settings import ExecutorSettings

    resample = next(p for p in processes(ExecutorSettings()) if p.id == "resample")
    return resample.function(
        source_dataset_id=source_dataset_id,
        frequency="MS",
        method="mean",
        job=job,
        on_progress=on_progress,
    )
