"""structlog set-up: JSON lines in production, readable console output in development.

Request middleware binds tenant, user and request ids; the job middleware clears
the context before each job and binds the job's own ids. Records from the standard
`logging` module (Dramatiq, piccolo, httpx) go through the same renderer, so a
production log is JSON from end to end.
"""

from __future__ import annotations

import logging
import sys

import structlog


class _MendanHandler(logging.StreamHandler):
    """Ours, so configuring again replaces it and leaves other handlers (pytest's) alone."""


def configure_logging(production: bool, level: int = logging.INFO, *, stdlib: bool = True) -> None:
    """`stdlib=False` where another owner set up `logging` already (the `dramatiq` command)."""
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if production:
        finish = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        finish = [structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]
    structlog.configure(
        processors=[*shared, *finish],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    if not stdlib:
        return
    handler = _MendanHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *finish],
    ))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _MendanHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
