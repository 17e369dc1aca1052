"""A process whose function does not fit its declared inputs is refused when it loads,
naming the process and the input; every process jobstream ships fits."""

import sys
import types

import pytest

from jobstream_contracts.ogc import InputDescription, OutputDescription, ProcessDescription
from jobstream_contracts.process import JobContext, Process, no_progress
from jobstream_executor.loading import load_processes
from jobstream_executor.signatures import SignatureMismatch, check_signature
from jobstream_infra.settings import ExecutorSettings

from ..support.datasets import PLUGINS


def _process(function, **inputs: dict) -> Process:
    declared = {name: InputDescription.model_validate(spec) for name, spec in inputs.items()}
    description = ProcessDescription(
        id="scale",
        version="1.0.0",
        inputs=declared,
        outputs={"result": OutputDescription(schema={"type": "number"})},
    )
    return Process(description, function)


NUMBER = {"schema": {"type": "number"}}


def scale(value: float, factor: int = 2, on_progress=no_progress) -> float:
    return value * factor


def test_a_function_that_fits_its_inputs_loads():
    check_signature(_process(scale, value=NUMBER, factor={"schema": {"type": "integer"}}))


@pytest.mark.parametrize(
    ("inputs", "complaint"),
    [
        (
            {"value": {"schema": {"type": "string"}}},
            "process scale: its function annotates input value as float, but its schema says "
            "string",
        ),
        (
            {"value": NUMBER, "factor": {"schema": {"type": "number"}}},
            "annotates input factor as int, but its schema says number",
        ),
        (
            {"value": NUMBER, "colour": {"schema": {"type": "string"}}},
            "process scale: its function takes no parameter for input(s) colour",
        ),
        ({}, "parameter(s) value have no default and are not inputs"),
        (
            {"value": {"minOccurs": 0, **NUMBER}},
            "input(s) value are optional (minOccurs: 0) but their parameters have no default",
        ),
    ],
)
def test_a_mismatch_names_the_process_and_the_input(inputs, complaint):
    with pytest.raises(SignatureMismatch) as raised:
        check_signature(_process(scale, **inputs))
    assert complaint in str(raised.value)


def test_optional_union_and_sequence_annotations_fit_their_schemas():
    def window(
        bbox: list[float] | None = None,
        flag: bool = False,
        *,
        job: JobContext,
        on_progress=no_progress,
    ) -> None:
        pass

    array = {"minOccurs": 0, "schema": {"type": "array", "items": {"type": "number"}}}
    check_signature(
        _process(window, bbox=array, flag={"minOccurs": 0, "schema": {"type": "boolean"}})
    )
    with pytest.raises(SignatureMismatch, match="annotates input flag as bool, but its schema"):
        check_signature(_process(window, flag={"minOccurs": 0, "schema": {"type": "integer"}}))


def test_a_module_whose_process_does_not_fit_stops_the_executor_at_load(monkeypatch):
    module = types.ModuleType("mismatched_processes")
    vars(module)["PROCESSES"] = [_process(scale, value={"schema": {"type": "string"}})]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    with pytest.raises(SignatureMismatch, match="process scale: .* input value"):
        load_processes([module.__name__])


def test_every_process_jobstream_ships_fits_its_inputs():
    modules = [
        "jobstream_executor.builtin",
        "jobstream_datasets.processes",
        "tests.support.processes",
        "bench.processes",
    ]
    loaded = load_processes(modules, ExecutorSettings(plugins_dir=PLUGINS))
    assert {"echo", "count", "ingest", "sync", "resample", "sleep"} <= set(loaded)
