"""Process versions: declared, or derived from the definition so a change is a new version."""

from functools import partial

from jobstream_contracts.ogc import OutputDescription, ProcessDescription
from jobstream_contracts.process import Process
from jobstream_executor.custom import load_custom_processes

from .test_custom_processes import SHOUT, with_line, write

UNVERSIONED = with_line("version: 1.0.0\n", "", SHOUT)
OUT = {"out": OutputDescription(schema={"type": "number"})}


def double(x: float) -> float:
    return 2 * x


def triple(x: float) -> float:
    return 3 * x


def versioned(function, **description) -> str:
    return Process(ProcessDescription(id="p", outputs=OUT, **description), function).version


def yaml_version(tmp_path, text: str) -> str:
    write(tmp_path, "shout.yaml", text)
    return load_custom_processes(tmp_path)["shout"].version


def test_a_declared_version_is_kept():
    assert versioned(double, version="2.1.0") == "2.1.0"


def test_an_undeclared_python_version_follows_the_function_and_the_description():
    derived = versioned(double)
    assert derived.startswith("sha256:")
    assert versioned(double) == derived
    assert versioned(triple) != derived
    assert versioned(double, title="Doubling") != derived
    # A partial is versioned by the function it wraps.
    assert versioned(partial(double)) == versioned(partial(double))
    assert versioned(partial(triple)) != versioned(partial(double))


def test_an_undeclared_python_version_is_announced_in_the_description():
    process = Process(ProcessDescription(id="p", outputs=OUT), double)
    assert process.description.version == process.version
    assert process.description.to_json()["version"] == process.version


def test_a_yaml_file_declares_its_version(tmp_path):
    assert yaml_version(tmp_path, SHOUT) == "1.0.0"


def test_an_undeclared_yaml_version_follows_the_content_not_the_layout(tmp_path):
    derived = yaml_version(tmp_path, UNVERSIONED)
    assert derived.startswith("sha256:")
    commented = "# the shouting process\n" + UNVERSIONED.replace("title: Shout", "title:   Shout")
    assert yaml_version(tmp_path, commented) == derived
    changed = with_line("description: Capitals.", "description: Louder.", UNVERSIONED)
    assert yaml_version(tmp_path, changed) != derived
    # The same function under another name is another definition.
    renamed = with_line("custom_functions:shout", "custom_functions:SHOUT_AGAIN", UNVERSIONED)
    assert yaml_version(tmp_path, renamed) != derived
