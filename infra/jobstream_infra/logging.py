"""Logging configured once per process: readable on a terminal, one JSON object a line for
collectors (JOBSTREAM_LOG_FORMAT=json), for structlog's lines and the standard library's alike.

Secrets in URLs are masked in every line (jobstream_contracts.redaction): database and NATS
URLs, and the source URLs error messages quote in full. The rendered line is masked, not the
fields before rendering, so nested values and tracebacks are covered too.
"""

import logging
import sys
import threading
from typing import TextIO

import structlog
from structlog.typing import EventDict, Processor, ProcessorReturnValue, WrappedLogger

from jobstream_contracts.redaction import mask_url_secrets

from .settings import ObservabilitySettings

# Added to every line, whether it comes from structlog or from the standard library.
_SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


class _LineWriter:
    """structlog's final logger: writes its rendered lines to the root handler's stream.

    Our own lines skip the standard library's LogRecord machinery, which costs about twice as
    much per line (the executor logs every job); taking the handler's lock keeps them from
    interleaving with the standard library's lines from other threads.
    """

    def __init__(self, handler: logging.StreamHandler, name: str) -> None:
        self._handler = handler
        self.name = name  # for add_logger_name

    def msg(self, line: str) -> None:
        self._handler.acquire()
        try:
            self._handler.stream.write(line + "\n")
            self._handler.stream.flush()
        finally:
            self._handler.release()

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def _masked(renderer: Processor) -> Processor:
    """``renderer``, its line with the secrets of URLs masked."""

    def render(logger: WrappedLogger, method: str, event_dict: EventDict) -> ProcessorReturnValue:
        line = renderer(logger, method, event_dict)
        return mask_url_secrets(line) if isinstance(line, str) else line

    return render


def _renderers(as_json: bool) -> list:
    if as_json:
        # A traceback rendered into a field keeps an error one line, one event.
        return [
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            _masked(structlog.processors.JSONRenderer()),
        ]
    # The console renderer prints exc_info itself, as a readable traceback: a plain one, as
    # Rich's shows local variables (settings with their secrets) and wraps long lines, which
    # would split a URL past masking.
    console = structlog.dev.ConsoleRenderer(
        colors=False, exception_formatter=structlog.dev.plain_traceback
    )
    return [structlog.processors.StackInfoRenderer(), _masked(console)]


def _strip_trailing_newline(
    _logger: WrappedLogger, _method: str, event_dict: EventDict
) -> EventDict:
    # Captured warnings end in one, which splits a console line in two.
    if isinstance(event := event_dict.get("event"), str):
        event_dict["event"] = event.rstrip("\n")
    return event_dict


def _root_handler(renderers: list, level: int, stream: TextIO) -> logging.StreamHandler:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*_SHARED, _strip_trailing_newline],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderers],
        )
    )
    root = logging.getLogger()
    # Replacing, not adding: configuring twice must not print every line twice.
    root.handlers = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)
    return handler


def _log_uncaught(exc_type, exc, tb) -> None:
    logging.getLogger("jobstream").critical("uncaught exception", exc_info=(exc_type, exc, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if issubclass(args.exc_type, SystemExit):
        return  # as the default hook: a thread's sys.exit() is not an error
    logging.getLogger("jobstream").error(
        "uncaught exception in thread %s",
        args.thread.name if args.thread else "?",
        exc_info=args.exc_value,
    )


def _log_unraisable(args) -> None:
    logging.getLogger("jobstream").warning(
        "%s: %r",
        args.err_msg or "Exception ignored in",
        args.object,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )


def _route_tracebacks() -> None:
    # The interpreter prints these raw, many lines each, which a collector reads as many events.
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
    sys.unraisablehook = _log_unraisable


def configure_logging(settings: ObservabilitySettings, stream: TextIO | None = None) -> None:
    """Every line to ``stream``: stdout by default, stderr for commands whose stdout is data."""
    level = logging.getLevelName(settings.log_level.upper())
    as_json = settings.log_format == "json"
    renderers = _renderers(as_json)
    handler = _root_handler(renderers, level, stream or sys.stdout)
    structlog.configure(
        processors=[*_SHARED, *renderers],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=lambda name="root", *_: _LineWriter(handler, name),
        cache_logger_on_first_use=True,
    )
    if as_json:
        _route_tracebacks()
