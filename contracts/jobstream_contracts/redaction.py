"""Secrets in URLs found in free text (error messages, log lines): stripped or masked.

Operators put credentials into URLs (``https://user:pass@host/…``, ``?token=…``, signed
query strings, ``nats://token@host``), and those URLs reach error messages verbatim.

Decisions:

- Two strengths. What is stored in events or shown to clients is *stripped*: the URL keeps
  its scheme, host, port and path, and loses its user information, query and fragment. What
  goes to logs is *masked*: the URL keeps its shape and parameter names, and every password,
  lone user name (a NATS token is written as one) and query value becomes ``***``.
- Text is searched for ``scheme://`` and the URL runs to the next space or quote; trailing
  punctuation of the sentence around it stays outside. Parsing is the standard library's
  ``urlsplit``; a URL it cannot parse is reduced to its scheme. The URL is put back together
  by hand, not by ``urlunsplit``, which drops the empty authority of ``sqlite:////path``.
- Pure functions, no I/O: every component may call them.
"""

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import SplitResult, urlsplit

MASK = "***"

_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`]+")
# Sentence punctuation after a URL is not part of it.
_TRAILING = ".,:;!?)]}"


def strip_url_secrets(text: str) -> str:
    """``text`` with every URL's user information, query and fragment removed."""
    return _each_url(text, _stripped)


def strip_secrets_within(value: Any) -> Any:
    """A JSON value (a job's inputs) with every string in it, at any depth, stripped of URL
    secrets; mapping keys are names, and stay as they are."""
    if isinstance(value, str):
        return strip_url_secrets(value)
    if isinstance(value, dict):
        return {key: strip_secrets_within(item) for key, item in value.items()}
    if isinstance(value, list):
        return [strip_secrets_within(item) for item in value]
    return value


def mask_url_secrets(text: str) -> str:
    """``text`` with every URL's password, lone user name and query values masked."""
    return _each_url(text, _masked)


def _each_url(text: str, change: Callable[[SplitResult], SplitResult]) -> str:
    if "://" not in text:  # the common case, and the cheap one
        return text

    def replace(match: re.Match[str]) -> str:
        url = match.group(0)
        kept = len(url.rstrip(_TRAILING))
        url, tail = url[:kept], url[kept:]
        scheme = url.split("://", 1)[0]
        try:
            return _joined(scheme, change(urlsplit(url))) + tail
        except ValueError:  # e.g. an unclosed IPv6 bracket
            return f"{scheme}://{MASK}{tail}"

    return _URL.sub(replace, text)


def _joined(scheme: str, url: SplitResult) -> str:
    query = f"?{url.query}" if url.query else ""
    fragment = f"#{url.fragment}" if url.fragment else ""
    return f"{scheme}://{url.netloc}{url.path}{query}{fragment}"


def _host_part(netloc: str) -> str:
    return netloc.rpartition("@")[2]


def _stripped(url: SplitResult) -> SplitResult:
    return url._replace(netloc=_host_part(url.netloc), query="", fragment="")


def _masked(url: SplitResult) -> SplitResult:
    netloc = url.netloc
    if "@" in netloc:
        user, _, password = netloc.rpartition("@")[0].partition(":")
        userinfo = f"{user}:{MASK}" if password else MASK
        netloc = f"{userinfo}@{_host_part(netloc)}"
    fragment = MASK if url.fragment else ""
    return url._replace(netloc=netloc, query=_masked_query(url.query), fragment=fragment)


def _masked_query(query: str) -> str:
    parameters = (part.partition("=") for part in query.split("&") if part)
    return "&".join(f"{name}={MASK}" if sep else MASK for name, sep, _ in parameters)
