"""Custom processes declared in YAML files: loading, overriding, and every kind of bad file."""

import textwrap
from pathlib import Path

import pytest

from jobstream_contracts.access import Role
from jobstream_contracts.ogc import ConcurrencyLimit, JobControlOption, RetryPolicy
from jobstream_executor.builtin import ECHO
from jobstream_executor.custom import load_custom_processes
from jobstream_executor.loading import load_processes
from jobstream_executor.process_file import ProcessFileError
from jobstream_infra.settings import ExecutorSettings
from tests.support.custom_functions import shout, whisper

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "processes" / "shout.yaml"

SHOUT = """\
id: shout
title: Shout
description: Capitals.
version: 1.0.0
inputs:
  text: {title: Text, schema: {type: string}}
  times: {minOccurs: 0, schema: {type: integer, minimum: 0}}
outputs:
  shouted: {schema: {type: string}}
execution:
  function: tests.support.custom_functions:shout
"""


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def with_line(old: str, new: str, text: str = SHOUT) -> str:
    assert old in text
    return text.replace(old, new)


def test_loads_a_process_with_its_description_and_function(tmp_path):
    write(tmp_path, "shout.yaml", SHOUT)
    processes = load_custom_processes(tmp_path)
    assert list(processes) == ["shout"]
    process = processes["shout"]
    assert process.function is shout
    assert process.exposed is True
    description = process.description
    assert (description.title, description.description, description.version) == (
        "Shout",
        "Capitals.",
        "1.0.0",
    )
    assert description.inputs["text"].schema_ == {"type": "string"}
    assert description.inputs["text"].title == "Text"
    assert description.inputs["times"].minOccurs == 0
    assert description.outputs["shouted"].schema_ == {"type": "string"}
    # Defaults like the built-ins'.
    assert description.jobControlOptions == ECHO.description.jobControlOptions
    assert description.retryPolicy == RetryPolicy()
    # What the gateway is sent: no YAML-only members (execution, ogcapi).
    announced = description.to_json()
    assert "execution" not in announced and "ogcapi" not in announced
    assert announced["inputs"]["text"]["schema"] == {"type": "string"}
    assert process.outputs_of(shout("hi")) == {"shouted": "HI!"}


def test_optional_members(tmp_path):
    write(
        tmp_path,
        "shout.yaml",
        SHOUT
        + """\
keywords: [text]
jobControlOptions: [async-execute]
retryPolicy: {maxAttempts: 2, backoff: [0.5]}
ogcapi: {expose: false}
concurrency: [{key: "shout:{text}", max: 2}]
""",
    )
    process = load_custom_processes(tmp_path)["shout"]
    assert process.description.concurrency == [ConcurrencyLimit(key="shout:{text}", max=2)]
    assert process.description.keywords == ["text"]
    assert process.description.jobControlOptions == [JobControlOption.ASYNC]
    assert process.description.retryPolicy == RetryPolicy(maxAttempts=2, backoff=[0.5])
    assert process.exposed is False


def test_the_documented_example_loads(tmp_path):
    write(tmp_path, "shout.yaml", EXAMPLE.read_text())
    process = load_custom_processes(tmp_path)["shout"]
    assert process.function is shout
    assert process.description.retryPolicy == RetryPolicy(maxAttempts=3, backoff=[1, 5])


def test_missing_or_empty_directory_declares_nothing(tmp_path):
    assert load_custom_processes(tmp_path / "absent") == {}
    assert load_custom_processes(tmp_path) == {}


def test_load_processes_merges_yaml_over_the_modules(tmp_path):
    echo = with_line("id: shout", "id: echo", SHOUT)
    write(tmp_path / "processes", "echo.yaml", echo)
    write(
        tmp_path / "processes",
        "whisper.yaml",
        with_line(
            "tests.support.custom_functions:shout",
            "tests.support.custom_functions:whisper",
            with_line(
                "id: shout",
                "id: whisper",
                SHOUT.replace(
                    "  times: {minOccurs: 0, schema: {type: integer, minimum: 0}}\n", ""
                ).replace("shouted:", "whispered:"),
            ),
        )
        + "ogcapi: {expose: false}\n",
    )
    settings = ExecutorSettings(plugins_dir=tmp_path)
    processes = load_processes(["jobstream_executor.builtin"], settings)
    assert sorted(processes) == ["count", "echo", "whisper"]
    assert processes["echo"].function is shout  # the YAML echo replaced the built-in
    assert processes["echo"].description.title == "Shout"
    assert processes["count"].exposed and processes["echo"].exposed
    assert processes["whisper"].function is whisper and not processes["whisper"].exposed


def test_without_plugins_dir_only_the_modules(tmp_path):
    assert sorted(load_processes(["jobstream_executor.builtin"], ExecutorSettings())) == [
        "count",
        "echo",
    ]
    assert sorted(load_processes(["jobstream_executor.builtin"])) == ["count", "echo"]
    # A plugins dir without processes/ (only dataset templates) is fine too.
    (tmp_path / "datasets").mkdir()
    settings = ExecutorSettings(plugins_dir=tmp_path)
    assert sorted(load_processes(["jobstream_executor.builtin"], settings)) == ["count", "echo"]


BAD_FILES = {
    "yaml-syntax": (SHOUT + "inputs: [unclosed\n", "not readable YAML"),
    "not-a-mapping": ("- just\n- a list\n", "a process file is a YAML mapping"),
    "missing-field": (with_line("title: Shout\n", ""), "title: Field required"),
    "missing-schema": (
        with_line("  text: {title: Text, schema: {type: string}}", "  text: {title: Text}"),
        "inputs.text.schema: Field required",
    ),
    "missing-outputs": (
        SHOUT.split("outputs:")[0] + "execution: {function: "
        "tests.support.custom_functions:shout}\n",
        "outputs: Field required",
    ),
    "wrong-type": (
        with_line("minOccurs: 0", "minOccurs: many"),
        "inputs.times.minOccurs: Input should be a valid integer",
    ),
    "wrong-type-version": (
        with_line("version: 1.0.0", "version: [1]"),
        "version: Input should be a valid string",
    ),
    "unknown-key": (SHOUT + "colour: red\n", "colour: Extra inputs are not permitted"),
    "unknown-nested-key": (
        with_line("function:", "functon:"),
        "execution.functon: Extra inputs are not permitted",
    ),
    "unknown-expose-key": (
        SHOUT + "ogcapi: {exposed: false}\n",
        "ogcapi.exposed: Extra inputs are not permitted",
    ),
    "invalid-id": (with_line("id: shout", "id: shout.loud"), "id: Value error, a process id"),
    "bad-control-option": (
        SHOUT + "jobControlOptions: [async-execute, whenever]\n",
        "jobControlOptions.1: Input should be",
    ),
    "bad-retry": (
        SHOUT + "retryPolicy: {maxAttempts: 0}\n",
        "retryPolicy.maxAttempts: Input should be greater than or equal to 1",
    ),
    "bad-occurs": (
        with_line("minOccurs: 0", "minOccurs: 2, maxOccurs: 1"),
        "inputs.times: Value error, maxOccurs (1) is below minOccurs (2)",
    ),
    "reserved-input": (
        with_line("  times:", "  on_progress:"),
        "inputs: Value error, 'on_progress' is passed by the executor",
    ),
    "bad-schema": (
        with_line("{type: integer, minimum: 0}", "{type: integr}"),
        "inputs.times.schema: not a valid JSON schema",
    ),
    "no-module": (
        with_line("tests.support.custom_functions:shout", "tests.support.nowhere:shout"),
        "execution.function: cannot import module 'tests.support.nowhere': ModuleNotFoundError",
    ),
    "no-attribute": (
        with_line(":shout", ":bellow"),
        "execution.function: 'tests.support.custom_functions:bellow': module "
        "'tests.support.custom_functions' has no attribute 'bellow'",
    ),
    "not-callable": (
        with_line(":shout", ":NOT_CALLABLE"),
        "execution.function: 'tests.support.custom_functions:NOT_CALLABLE' is a str, not callable",
    ),
    "not-module-colon-callable": (
        with_line("tests.support.custom_functions:shout", "tests.support.custom_functions.shout"),
        "execution.function: Value error, 'tests.support.custom_functions.shout' is not "
        "of the form 'package.module:callable'",
    ),
    "input-not-a-parameter": (
        with_line("  times:", "  volume:"),
        "execution.function: tests.support.custom_functions:shout takes "
        "no parameter for input(s) volume",
    ),
    "parameter-not-an-input": (
        with_line("  text: {title: Text, schema: {type: string}}\n", ""),
        "execution.function: tests.support.custom_functions:shout parameter(s) text have no "
        "default and are not inputs",
    ),
    "key-naming-no-input": (
        SHOUT + 'concurrency: [{key: "volume:{volume}", max: 1}]\n',
        "concurrency key 'volume:{volume}' names volume, not an input of the process",
    ),
    "key-with-attribute": (
        SHOUT + 'concurrency: [{key: "{text.upper}", max: 1}]\n',
        "concurrency.0.key: String should match pattern",
    ),
    "optional-without-default": (
        with_line("  text: {title: Text,", "  text: {minOccurs: 0,"),
        "input(s) text are optional (minOccurs: 0) but their parameters have no default",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_names_the_file_and_field(tmp_path, case):
    text, expected = BAD_FILES[case]
    path = write(tmp_path, f"{case}.yaml", text)
    with pytest.raises(ProcessFileError) as raised:
        load_custom_processes(tmp_path)
    message = str(raised.value)
    assert message.startswith(f"{path}: "), message
    assert expected in message, message


def test_every_bad_file_is_reported_at_once(tmp_path):
    good = write(tmp_path, "a-good.yaml", SHOUT)
    first = write(tmp_path, "b.yaml", with_line("title: Shout\n", ""))
    second = write(tmp_path, "c.yml", with_line(":shout", ":bellow"))
    with pytest.raises(ProcessFileError) as raised:
        load_custom_processes(tmp_path)
    lines = str(raised.value).splitlines()
    assert [line.split(": ")[0] for line in lines] == [str(first), str(second)]
    assert str(good) not in str(raised.value)


def test_two_files_with_one_id(tmp_path):
    first = write(tmp_path, "a.yaml", SHOUT)
    second = write(tmp_path, "b.yaml", SHOUT)
    with pytest.raises(
        ProcessFileError, match=f"{second}: id: process 'shout' is already declared in {first}"
    ):
        load_custom_processes(tmp_path)


def test_a_bad_file_stops_load_processes(tmp_path):
    path = write(tmp_path / "processes", "bad.yaml", SHOUT + "colour: red\n")
    with pytest.raises(ProcessFileError, match=str(path)):
        load_processes(["jobstream_executor.builtin"], ExecutorSettings(plugins_dir=tmp_path))


def test_a_process_declares_the_least_role_that_may_run_it(tmp_path):
    write(tmp_path / "open", "shout.yaml", SHOUT)
    write(
        tmp_path / "guarded",
        "shout.yaml",
        with_line("version: 1.0.0", "version: 1.0.0\nrole: operator"),
    )
    assert load_custom_processes(tmp_path / "open")["shout"].description.role == Role.SUBMITTER
    assert load_custom_processes(tmp_path / "guarded")["shout"].description.role == Role.OPERATOR
    write(tmp_path / "bad", "shout.yaml", with_line("version: 1.0.0", "version: 1.0.0\nrole: king"))
    with pytest.raises(ProcessFileError, match="role"):
        load_custom_processes(tmp_path / "bad")
