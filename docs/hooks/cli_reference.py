"""mkdocs hook: the command reference, generated from the ``jobstream`` argparse parser.

``reference/cli.md`` holds the prose; the marker below is replaced at build time by each
command's ``--help``, so the page cannot drift from the parser.
"""

import argparse
import os
from contextlib import contextmanager

from jobstream_client.cli.main import build_parser

PAGE = "reference/cli.md"
MARKER = "<!-- generated: jobstream commands -->"
# argparse wraps help to the terminal's width: a fixed one keeps the page the same everywhere.
WIDTH = "96"


@contextmanager
def _columns(width: str):
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = width
    try:
        yield
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """A parser's subcommands in the order they were added: name, summary, parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            summaries = {choice.dest: choice.help or "" for choice in action._choices_actions}
            return [(name, summaries[name], sub) for name, sub in action.choices.items()]
    return []


def _sentence(summary: str) -> str:
    summary = summary[:1].upper() + summary[1:]
    return summary if summary.endswith((".", "…")) else summary + "."


def _sections(prog: str, parser: argparse.ArgumentParser, level: int = 3) -> list[str]:
    sections = []
    for name, summary, command in _subcommands(parser):
        sections.append(
            f"{'#' * level} `{prog} {name}`\n\n{_sentence(summary)}\n\n"
            f"```text\n{command.format_help()}```\n"
        )
        sections.extend(_sections(f"{prog} {name}", command, level + 1))
    return sections


def commands_reference() -> str:
    """Every command of ``jobstream``, nested ones too: its summary and its ``--help``."""
    with _columns(WIDTH):
        return "\n".join(_sections("jobstream", build_parser()))


def on_page_markdown(markdown: str, page, **_) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise ValueError(f"{PAGE} lost its marker {MARKER!r}")
    return markdown.replace(MARKER, commands_reference())
