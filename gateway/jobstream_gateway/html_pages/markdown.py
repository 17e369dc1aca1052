"""Descriptions as Markdown: what process and input descriptions are written in.

Decisions:
- markdown-it-py's CommonMark with raw HTML off: a description comes from an executor's
  process file, so a ``<script>`` in it is shown as text, never run. Links keep markdown-it's
  own check (no ``javascript:`` or ``data:`` URLs).
- Rendered as blocks (paragraphs, lists); ``inline`` is for one-line texts inside a label.
"""

from markdown_it import MarkdownIt
from markupsafe import Markup

_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def markdown(text: str | None) -> Markup:
    """``text`` as HTML blocks; empty for no text."""
    return Markup(_MARKDOWN.render(text or ""))


def inline(text: str | None) -> Markup:
    """``text`` as HTML within a line: code spans, emphasis and links, no paragraph."""
    return Markup(_MARKDOWN.renderInline(text or ""))
