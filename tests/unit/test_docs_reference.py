"""The documentation's generated reference pages: every command and every operation is there.

The hooks run inside `mkdocs build --strict` (`python3 dev.py check`); a build passes even if
a hook wrote an empty section, so these tests hold the pages to the parser and the document.
"""

import argparse
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from jobstream_client.cli.main import build_parser

HOOKS = Path(__file__).resolve().parents[2] / "docs" / "hooks"


def hook(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, HOOKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def commands(prog: str, parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[f"{prog} {name}"] = sub
                found |= commands(f"{prog} {name}", sub)
    return found


def test_the_cli_page_has_every_command_with_its_options():
    page = hook("cli_reference").commands_reference()
    every = commands("jobstream", build_parser())
    assert "jobstream apikey revoke" in every  # nested commands are walked too
    for prog, parser in every.items():
        assert f" `{prog}`\n" in page, prog
        for action in parser._actions:
            for option in action.option_strings:
                assert option in page, (prog, option)


async def test_the_http_page_has_every_operation_the_gateway_serves():
    http = hook("http_reference")
    document = await http.served_api_document()
    page = http.operations_reference(document)
    operations = [
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in http.METHODS
    ]
    assert ("post", "/processes/{process_id}/execution") in operations
    for method, path in operations:
        assert f"### `{method.upper()} {path}`" in page
    assert page.count("Public: no credential needed.") == sum(
        document["paths"][path][method].get("security") == [] for method, path in operations
    )


@pytest.mark.parametrize(
    ("name", "page"),
    [("cli_reference", "reference/cli.md"), ("http_reference", "reference/http-api.md")],
)
def test_a_page_that_lost_its_marker_fails_the_build(name, page):
    class Page:
        class file:
            src_uri = page

    with pytest.raises(ValueError, match="marker"):
        hook(name).on_page_markdown("# no marker here", Page)
